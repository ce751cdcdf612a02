/* imap.h - the IMAP agent's pure parsers, on (buf, len), for the agent
 * and its fuzz target: where a command ends (its literals included),
 * its tokens, sequence sets and FETCH items (server), and response
 * lines (client).  RFC 3501 with LITERAL+ (RFC 7888). */
#ifndef DYNAMO_IMAP_H
#define DYNAMO_IMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAP_MAX_LINE 8192        /* a command, its literals left out */
#define IMAP_MAX_LITERAL 65536    /* a literal kept in the input buffer */
#define IMAP_MAX_LITS 8           /* literals in one command */
#define IMAP_MAX_TOKS 96
#define IMAP_MAX_DEPTH 8          /* nested parentheses */
#define IMAP_MAX_RANGES 32        /* in a sequence set */
#define IMAP_MAX_ITEMS 24         /* FETCH items */
#define IMAP_MAX_TAG 32

/* ---- where a command ends ---- */

enum imap_scan_res {
	IMAP_SCAN_DONE,   /* a whole command: len bytes, its last CRLF included */
	IMAP_SCAN_MORE,   /* wait for more; cont: a literal waits for "+" */
	IMAP_SCAN_BIG,    /* literal number lits-1 is larger than IMAP_MAX_LITERAL */
	IMAP_SCAN_LONG,   /* a line too long, or too many literals */
};

struct imap_scan {
	size_t len;               /* DONE: bytes of the command */
	unsigned lits;            /* literals met so far */
	size_t lit_at;            /* MORE/BIG: where the last literal's data starts */
	uint64_t lit_len;         /* its length */
	bool sync;                /* it is {n}, not {n+}: it waits for "+" */
	bool cont;                /* MORE: because of such a literal */
};

enum imap_scan_res imap__scan(const char *buf, size_t len, struct imap_scan *s);

/* The literal a line ends with ("... {123}" or "{123+}", the line
 * without its CRLF): true with its length and whether it is sync. */
bool imap__line_literal(const char *line, size_t n, uint64_t *len, bool *sync);

/* ---- tokens of a whole command ---- */

enum imap_tok_type { IMAP_ATOM, IMAP_QUOTED, IMAP_LITERAL, IMAP_LPAREN, IMAP_RPAREN };

struct imap_tok {
	uint8_t type;
	const char *p;            /* into the command; quoted: without quotes, escaped */
	uint32_t n;
};

struct imap_cmd {
	const char *tag;          /* NULL when even the tag is bad */
	size_t taglen;
	const char *name;         /* the command, after UID when uid */
	size_t namelen;
	bool uid;
	unsigned ntok;
	struct imap_tok tok[IMAP_MAX_TOKS];
};

/* Parse a command found by imap__scan (len bytes, CRLF included): 0, or
 * -EINVAL (-E2BIG for too many tokens) with tag set if it was read. */
int imap__parse(const char *buf, size_t len, struct imap_cmd *cmd);
/* Token t as a string (quoted unescaped) into out; false if it is not
 * an atom, string or literal, or does not fit. */
bool imap__tok_str(const struct imap_tok *t, char *out, size_t n);
bool imap__tok_is(const struct imap_tok *t, const char *word);   /* atom, any case */

/* ---- sequence sets ---- */

#define IMAP_STAR UINT32_MAX
struct imap_seqset {
	unsigned n;
	uint32_t lo[IMAP_MAX_RANGES], hi[IMAP_MAX_RANGES];   /* '*' is IMAP_STAR */
};
int imap__seqset(const char *p, size_t n, struct imap_seqset *s);
/* Is v in s when '*' stands for star (the largest number in use)? */
bool imap__seq_has(const struct imap_seqset *s, uint32_t v, uint32_t star);

/* ---- FETCH items ---- */

enum imap_item_kind {
	IMAP_I_UID, IMAP_I_FLAGS, IMAP_I_INTERNALDATE, IMAP_I_SIZE, IMAP_I_ENVELOPE,
	IMAP_I_BODYSTRUCTURE, IMAP_I_BODY, IMAP_I_SECTION, IMAP_I_RFC822,
	IMAP_I_RFC822_HEADER, IMAP_I_RFC822_TEXT,
};

enum imap_section {
	IMAP_S_ALL, IMAP_S_HEADER, IMAP_S_TEXT, IMAP_S_FIELDS, IMAP_S_FIELDS_NOT,
	IMAP_S_PART, IMAP_S_PART_MIME, IMAP_S_PART_OTHER,
};

struct imap_item {
	uint8_t kind, section;
	bool peek, partial;
	uint32_t part;            /* IMAP_S_PART*: the top-level part, from 1 */
	uint32_t off, len;        /* partial <off.len> */
	const char *spec;         /* the section text between [ and ], echoed */
	uint32_t specn;
	const char *fields;       /* FIELDS: the names, space-separated, in () */
	uint32_t fieldsn;
};

/* FETCH items from token t on (an atom or a parenthesised list; ALL,
 * FAST and FULL expanded): how many, or -EINVAL. */
int imap__fetch_items(const struct imap_cmd *cmd, unsigned t, struct imap_item *items,
		      unsigned max);
/* Is header field name (n bytes) in the list of an IMAP_S_FIELDS item? */
bool imap__field_listed(const struct imap_item *it, const char *name, size_t n);

/* ---- responses (client) ---- */

enum imap_resp_kind { IMAP_R_UNTAGGED, IMAP_R_CONT, IMAP_R_TAGGED };
enum imap_status { IMAP_NONE, IMAP_OK, IMAP_NO, IMAP_BAD, IMAP_BYE, IMAP_PREAUTH };

struct imap_resp {
	uint8_t kind, status;
	const char *tag;
	size_t taglen;
	uint32_t num;             /* "* 12 EXISTS": 12 */
	char what[16];            /* EXISTS, FETCH, SEARCH, LIST, ... (upper case) */
	uint32_t uid;             /* FETCH: the UID item, 0 when absent */
	bool seen;                /* FETCH: FLAGS has \Seen */
	bool has_flags;
	uint32_t uidnext, uidvalidity;   /* [UIDNEXT n], [UIDVALIDITY n] */
	bool has_literal;         /* the line ends with a literal of literal bytes */
	uint64_t literal;
};

/* Parse one response line (without its CRLF): 0 or -EINVAL. */
int imap__parse_response(const char *line, size_t n, struct imap_resp *r);

#endif
