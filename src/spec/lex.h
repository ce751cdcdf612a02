/* lex.h - tokens of the spec language (internal to src/spec). */
#ifndef DYNAMO_SPEC_LEX_H
#define DYNAMO_SPEC_LEX_H

#include "spec.h"

enum tok_kind {
	T_EOF,
	T_NAME,     /* word: letters, digits, '_', inner '-', "kbit/s"-like units */
	T_NUMBER,   /* 12, 1.5, -3 */
	T_ADDR,     /* 10.0.0.1 */
	T_CIDR,     /* 10.0.0.0/24 */
	T_STRING,   /* "..." with \" and \\ */
	T_SEMI, T_COMMA, T_COLON, T_DOTDOT, T_DASHDASH, T_ARROW,
	T_GE, T_LE, T_EQ, T_PERCENT,
	T_BAD,      /* an error already reported by the lexer */
};

struct token {
	enum tok_kind kind;
	const char *s;   /* into the source text */
	size_t n;
	struct spec_loc loc;
};

/* Split the spec's text into tokens, reporting lexical errors into s.
 * The array always ends with T_EOF; the caller frees it. */
struct token *lex_all(struct spec *s, size_t *ntok);
const char *tok_kind_name(enum tok_kind k);

#endif
