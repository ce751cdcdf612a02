/* redis.h - the RESP2 parsers of the Redis agent, shared by its server,
 * its client and the fuzz target: pure functions on (buf, len) that never
 * read past len and allocate nothing.  Internal to agents/redis.c and
 * tests/fuzz/fuzz-redis.c. */
#ifndef DYNAMO_AGENTS_REDIS_H
#define DYNAMO_AGENTS_REDIS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a request may hold.  A bulk argument must fit in the connection's
 * input buffer with its command (CONN_MAX_IN), so our proto-max-bulk-len
 * is below the real server's default of 512 MB; the other two are the
 * real server's limits (PROTO_INLINE_MAX_SIZE, the multibulk count; the
 * input buffer bounds what a count can make us do). */
#define REDIS__MAX_BULK ((1u << 20) - 4096)
#define REDIS__MAX_INLINE (64u << 10)
#define REDIS__MAX_MULTIBULK INT32_MAX
/* Arguments a command keeps; a longer one is parsed and refused. */
#define REDIS__ARGV 4096

struct redis__arg {
	const char *p;
	uint32_t n;
};

struct redis__cmd {
	uint32_t argc;          /* as sent; argv holds the first REDIS__ARGV */
	size_t used;            /* bytes of the request, to consume */
	char err[64];           /* why it was refused */
	struct redis__arg argv[REDIS__ARGV];
};

/* Where a partial request was left, so that one arriving in many pieces
 * is scanned once, not from the start at each piece.  Zero it for a new
 * connection; the parser resets it after each request. */
struct redis__pstate {
	uint32_t off;           /* bytes of buf already checked */
	uint32_t argc;          /* multibulk: the count read, args left + 1 */
	uint32_t left;          /* multibulk: args still to check */
};

/* The next request at buf: 1 with *cmd filled (argc 0 for an empty
 * line or multibulk, which real servers skip), 0 when more bytes are
 * needed, -1 on a protocol error with *err the real server's message
 * (after "-ERR ").  Inline requests are split as redis-cli quotes them
 * ("..." with escapes, '...'); buf is modified there, where escapes are
 * undone in place, which is why it is not const. */
int redis__request(char *buf, size_t len, struct redis__pstate *ps, struct redis__cmd *cmd,
		   const char **err);

/* Strict integer, as the real server's string2ll: an optional '-', no
 * '+', no spaces, no leading zeros, in range.  true when p..n is one. */
bool redis__ll(const char *p, size_t n, long long *v);

/* A reply (RESP2): its type ('+', '-', ':', '$', '*'), n (the integer,
 * the bulk length or the array count; -1 for nil), for '+', '-' and '$'
 * the text at p..len, hdr the bytes of its first line (where an array's
 * elements begin) and used the bytes of the whole reply, nested arrays
 * included. */
struct redis__reply {
	char type;
	long long n;
	const char *p;
	size_t len;
	size_t hdr, used;
};

/* Arrays nest at most this deep and hold at most this many elements in
 * all; a reply past either is refused. */
#define REDIS__MAX_DEPTH 8
#define REDIS__MAX_ELEMS (1u << 20)

/* 1 with *r filled, 0 when more bytes are needed, -1 when malformed. */
int redis__reply(const char *buf, size_t len, struct redis__reply *r);

#endif
