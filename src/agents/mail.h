/* mail.h - what the SMTP and IMAP agents share: the people of the
 * emulated organisation (names, addresses, logins), and MIME messages
 * made from a small spec.  A message is deterministic in its spec, so
 * the IMAP server can serve the same message again without storing it;
 * its large parts are references into shared content, never copies. */
#ifndef DYNAMO_MAIL_H
#define DYNAMO_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../engine/content.h"
#include "../engine/model.h"
#include "../engine/rng.h"

struct conn;

#define MAIL_DOMAIN "example.com"
#define MAIL_MAX_RCPT 24           /* a distribution list's members, at most */
#define MAIL_MAX_BODY (256u << 10) /* text of one part */
#define MAIL_MAX_ATTACH (24u << 20)
#define MAIL_BUF 6144              /* generated text: headers, boundaries */
#define MAIL_SEGS 48
#define MAIL_PARTS 3

/* What a message is, for the model and the checks: new mail to a
 * distribution list, to one person, to a few, or a reply. */
enum mail_kind { MAIL_GROUP, MAIL_ONE, MAIL_MANY, MAIL_REPLY };

struct mail_spec {
	uint64_t key;              /* seeds subject, text, boundary, ids */
	int64_t date;              /* Unix time */
	uint32_t from;             /* a person */
	uint32_t rcpt[MAIL_MAX_RCPT];
	uint8_t nrcpt, nto;        /* rcpt[0..nto) in To:, the rest in Cc: */
	uint8_t kind;              /* enum mail_kind */
	bool delivered;            /* a mailbox copy: Return-Path, Received */
	uint32_t owner;            /* whose mailbox, when delivered */
	uint32_t body_len;         /* text wanted, bytes (about) */
	uint32_t attach_len;       /* decoded attachment bytes; 0: none */
	uint64_t parent;           /* a reply: the key of the message answered */
};

/* A piece of the message: text in the message's own buffer (copied when
 * sent) or a reference into shared content. */
struct mail_seg {
	const char *p;
	size_t n;
};

/* A top-level MIME part, for BODYSTRUCTURE and BODY[n]. */
struct mail_part {
	const char *type, *subtype, *enc;
	char name[48];             /* attachment file name, or "" */
	size_t hdr, body, end;     /* offsets: part header, body, end */
	size_t lines;
};

struct mail_msg {
	size_t size;               /* bytes of the whole message */
	size_t hdr_len;            /* the header section, blank line included */
	unsigned nseg, nparts;
	const char *subtype;       /* "alternative" or "mixed" */
	char boundary[40];
	struct mail_seg seg[MAIL_SEGS];
	struct mail_part part[MAIL_PARTS];
	size_t used;
	char buf[MAIL_BUF];
};

/* People: an index in [0, mail_people()) names one person. */
uint32_t mail_people(void);
void mail_name(uint32_t p, char *out, size_t n);     /* "Ada Moreau" */
void mail_addr(uint32_t p, char *out, size_t n);     /* "ada.moreau@example.com" */
void mail_login(uint32_t p, char *out, size_t n);    /* "ada.moreau" */
/* The person a login names ("ada.moreau", with or without the domain),
 * else one chosen by the login's hash: every login has a mailbox. */
uint32_t mail_person_of(const char *login, size_t n);

/* A person's mailbox, the same for every session and both agents: the
 * seed of its messages and how many it holds at start (params
 * inbox_size, inbox_unseen). */
#define MAIL_BOX_MAX 1000
struct mail_box {
	uint64_t seed;
	uint32_t owner;
	uint32_t base;             /* messages at start, uids 1..base */
	uint32_t unseen;           /* the newest of them, not yet read */
};
void mail_box_open(struct mail_box *b, uint32_t owner, const struct model *m);

/* Fill s for new mail of kind from person from to people drawn by r,
 * sizes drawn from model m (params group_size, many_size, body_size,
 * attach_prob, attach_size). */
void mail_new(struct mail_spec *s, enum mail_kind kind, uint32_t from, const struct model *m,
	      struct rng *r, int64_t date);
/* Fill s for from's reply to parent (reply-all with param reply_all). */
void mail_reply(struct mail_spec *s, const struct mail_spec *parent, uint32_t from,
		const struct model *m, struct rng *r, int64_t date);
/* Message uid of owner's mailbox seeded by seed, as it was delivered.
 * Its kind follows the model's own mix of sends (see mail.c). */
void mail_inbox(struct mail_spec *s, uint32_t owner, uint64_t seed, uint32_t uid,
		const struct model *m, int64_t date);

void mail_subject(const struct mail_spec *s, char *out, size_t n);
void mail_msgid(uint64_t key, char *out, size_t n);   /* without <> */
void mail_date(int64_t t, char *out, size_t n);       /* RFC 5322 */

/* Build the message of s over content ct into m. */
void mail_build(const struct mail_spec *s, const struct content *ct, struct mail_msg *m);
/* Queue bytes [off, off + len) of m on c; dot-stuffed for SMTP DATA
 * when stuff (lines that begin with '.' get another). */
void mail_send(struct conn *c, const struct mail_msg *m, size_t off, size_t len, bool stuff);
/* Copy bytes [off, off + len) of m to out (for small ranges). */
size_t mail_copy(const struct mail_msg *m, size_t off, size_t len, char *out);

#endif
