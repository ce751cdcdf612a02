/* content.h - payloads that look like what people send: English-like
 * text and incompressible binary, built once per host from a seed and
 * shared by every session, so a body of any size is sent as references
 * into them (conn_write_ref), never generated or copied per request. */
#ifndef DYNAMO_CONTENT_H
#define DYNAMO_CONTENT_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

struct conn;

#define CONTENT_BLOB (1u << 20)

enum content_kind { CONTENT_TEXT, CONTENT_BINARY };

struct content {
	char *text;        /* CONTENT_BLOB bytes: words, sentences, paragraphs */
	char *binary;      /* CONTENT_BLOB bytes of random data */
};

void content_init(struct content *c, uint64_t seed);
void content_free(struct content *c);

/* Queue n bytes of kind on conn, starting at a place chosen by key, as
 * references into the shared blobs. */
void content_send(const struct content *c, struct conn *conn, enum content_kind kind,
		  uint64_t key, uint64_t n);
/* A pointer to n <= CONTENT_BLOB bytes of kind, chosen by key, that
 * stays valid while c lives (text begins at a word). */
const char *content_get(const struct content *c, enum content_kind kind, uint64_t key, size_t n);

/* Words for names, subjects and the like: a common English word chosen
 * by key (lowercase, no spaces). */
const char *content_word(uint64_t key);
/* A sentence of about n words into out (NUL-terminated, at most len). */
void content_sentence(struct rng *r, char *out, size_t len, unsigned n);

#endif
