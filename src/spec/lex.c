/* lex.c - turn spec text into tokens.  Columns count UTF-8 characters so
 * carets line up under '≥'; bad bytes become diagnostics, not crashes. */
#include "lex.h"
#include "../lib/util.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lexer {
	struct spec *s;
	const char *p, *end;
	uint32_t line, col;
};

static bool is_name_start(int c)
{
	return isalpha(c) || c == '_';
}

static bool is_name_char(int c)
{
	return isalnum(c) || c == '_';
}

/* Length of the UTF-8 sequence at p (1 for an invalid byte), and its
 * code point in *cp (or -1 when invalid). */
static size_t utf8_seq(const char *p, const char *end, long *cp)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t n, i;
	long v;

	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	} else if ((u[0] & 0xe0) == 0xc0) {
		n = 2;
		v = u[0] & 0x1f;
	} else if ((u[0] & 0xf0) == 0xe0) {
		n = 3;
		v = u[0] & 0x0f;
	} else if ((u[0] & 0xf8) == 0xf0) {
		n = 4;
		v = u[0] & 0x07;
	} else {
		*cp = -1;
		return 1;
	}
	if ((size_t)(end - p) < n) {
		*cp = -1;
		return 1;
	}
	for (i = 1; i < n; i++) {
		if ((u[i] & 0xc0) != 0x80) {
			*cp = -1;
			return 1;
		}
		v = (v << 6) | (u[i] & 0x3f);
	}
	/* overlong forms and surrogates are invalid */
	if ((n == 2 && v < 0x80) || (n == 3 && v < 0x800) || (n == 4 && v < 0x10000) ||
	    (v >= 0xd800 && v <= 0xdfff) || v > 0x10ffff) {
		*cp = -1;
		return 1;
	}
	*cp = v;
	return n;
}

static struct spec_loc here(const struct lexer *lx, const char *start)
{
	struct spec_loc l = {
		.line = lx->line,
		.col = lx->col,
		.off = (uint32_t)(start - lx->s->text),
		.len = 1,
	};
	return l;
}

/* Advance over n bytes that hold no newline, counting characters. */
static void advance(struct lexer *lx, size_t n)
{
	while (n--) {
		if (((unsigned char)*lx->p & 0xc0) != 0x80)
			lx->col++;
		lx->p++;
	}
}

static void skip_space(struct lexer *lx)
{
	while (lx->p < lx->end) {
		char c = *lx->p;

		if (c == '\n') {
			lx->p++;
			lx->line++;
			lx->col = 1;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
			advance(lx, 1);
		} else if (c == '#') {
			while (lx->p < lx->end && *lx->p != '\n')
				advance(lx, 1);
		} else {
			break;
		}
	}
}

/* A word: a name, a keyword or a unit.  '-' joins parts ("file-transfer")
 * but "--" and "->" do not belong to a word; one "/word" suffix is part
 * of a unit ("Mbit/s"). */
static size_t scan_name(const char *p, const char *end)
{
	const char *q = p + 1;

	for (;;) {
		while (q < end && is_name_char((unsigned char)*q))
			q++;
		if (q + 1 < end && *q == '-' && is_name_char((unsigned char)q[1]))
			q++;
		else
			break;
	}
	if (q + 1 < end && *q == '/' && isalpha((unsigned char)q[1])) {
		q++;
		while (q < end && isalpha((unsigned char)*q))
			q++;
	}
	return (size_t)(q - p);
}

/* Numbers, addresses and CIDRs all start with digits; tell them apart by
 * their dots.  Returns the kind, or T_BAD after reporting an error. */
static enum tok_kind scan_number(struct lexer *lx, const char *p, size_t *len)
{
	const char *q = p, *end = lx->end;
	int dots = 0, digits_in_part = 0, parts_ok = 1;

	if (*q == '-')
		q++;
	while (q < end && (isdigit((unsigned char)*q) || *q == '.')) {
		if (*q == '.') {
			/* ".." ends a number: "1..5" is two numbers and a range */
			if (q + 1 < end && q[1] == '.')
				break;
			if (!digits_in_part)
				parts_ok = 0;
			dots++;
			digits_in_part = 0;
		} else {
			digits_in_part++;
		}
		q++;
	}
	if (!digits_in_part)
		parts_ok = 0;
	*len = (size_t)(q - p);
	if (parts_ok && dots <= 1)
		return T_NUMBER;
	if (parts_ok && dots == 3 && *p != '-') {
		if (q + 1 < end && *q == '/' && isdigit((unsigned char)q[1])) {
			q++;
			while (q < end && isdigit((unsigned char)*q))
				q++;
			*len = (size_t)(q - p);
			return T_CIDR;
		}
		return T_ADDR;
	}
	return T_BAD;
}

static void lex_error(struct lexer *lx, struct spec_loc loc, const char *hint,
		      const char *what)
{
	spec_diag(lx->s, SPEC_ERROR, loc, hint, "%s", what);
}

struct token *lex_all(struct spec *s, size_t *ntok)
{
	struct lexer lx = { .s = s, .p = s->text, .end = s->text + s->len, .line = 1, .col = 1 };
	struct token *toks = NULL;
	size_t n = 0, cap = 0;

	for (;;) {
		struct token *t;
		const char *start;
		unsigned char c;
		size_t len = 1;

		skip_space(&lx);
		t = VEC_PUSH(toks, n, cap);
		start = lx.p;
		t->s = start;
		t->loc = here(&lx, start);
		if (lx.p >= lx.end) {
			t->kind = T_EOF;
			t->n = 0;
			t->loc.len = 0;
			break;
		}
		c = (unsigned char)*lx.p;
		if (is_name_start(c)) {
			t->kind = T_NAME;
			len = scan_name(lx.p, lx.end);
		} else if (isdigit(c) || (c == '-' && lx.p + 1 < lx.end &&
					  isdigit((unsigned char)lx.p[1]))) {
			t->kind = scan_number(&lx, lx.p, &len);
			if (t->kind == T_BAD) {
				t->loc.len = (uint32_t)len;
				lex_error(&lx, t->loc, NULL, "malformed number or address");
			}
		} else if (c == '"') {
			const char *q = lx.p + 1;

			t->kind = T_STRING;
			while (q < lx.end && *q != '"' && *q != '\n') {
				if (*q == '\\' && q + 1 < lx.end && q[1] != '\n')
					q++;
				q++;
			}
			if (q < lx.end && *q == '"') {
				len = (size_t)(q - lx.p) + 1;
			} else {
				len = (size_t)(q - lx.p);
				t->kind = T_BAD;
				t->loc.len = 1;
				lex_error(&lx, t->loc, "strings end on the line they start",
					  "unterminated string");
			}
		} else if (c == ';') {
			t->kind = T_SEMI;
		} else if (c == ',') {
			t->kind = T_COMMA;
		} else if (c == ':') {
			t->kind = T_COLON;
		} else if (c == '%') {
			t->kind = T_PERCENT;
		} else if (c == '=') {
			t->kind = T_EQ;
			if (lx.p + 1 < lx.end && lx.p[1] == '=')
				len = 2; /* "==" reads as "=" */
		} else if (c == '.' && lx.p + 1 < lx.end && lx.p[1] == '.') {
			t->kind = T_DOTDOT;
			len = 2;
		} else if (c == '-' && lx.p + 1 < lx.end && lx.p[1] == '-') {
			t->kind = T_DASHDASH;
			len = 2;
		} else if (c == '-' && lx.p + 1 < lx.end && lx.p[1] == '>') {
			t->kind = T_ARROW;
			len = 2;
		} else if (c == '>' && lx.p + 1 < lx.end && lx.p[1] == '=') {
			t->kind = T_GE;
			len = 2;
		} else if (c == '<' && lx.p + 1 < lx.end && lx.p[1] == '=') {
			t->kind = T_LE;
			len = 2;
		} else if (c >= 0x80) {
			long cp;

			len = utf8_seq(lx.p, lx.end, &cp);
			t->loc.len = (uint32_t)len;
			if (cp == 0x2265) {
				t->kind = T_GE;
			} else if (cp == 0x2264) {
				t->kind = T_LE;
			} else if (cp < 0) {
				char msg[64];

				t->kind = T_BAD;
				snprintf(msg, sizeof(msg), "invalid UTF-8 byte 0x%02x", c);
				lex_error(&lx, t->loc, "spec files are UTF-8 text", msg);
			} else {
				char *msg = xasprintf("unexpected character '%.*s' (U+%04lX)",
						      (int)len, lx.p, cp);

				t->kind = T_BAD;
				lex_error(&lx, t->loc, NULL, msg);
				free(msg);
			}
		} else {
			char msg[64];

			t->kind = T_BAD;
			if (isprint(c))
				snprintf(msg, sizeof(msg), "unexpected character '%c'", c);
			else
				snprintf(msg, sizeof(msg), "unexpected byte 0x%02x", c);
			lex_error(&lx, t->loc,
				  c == '>' || c == '<' ? "flow bounds are written >=, <= or =" : NULL,
				  msg);
		}
		t->n = len;
		t->loc.len = (uint32_t)len;
		advance(&lx, len);
	}
	*ntok = n;
	return toks;
}

const char *tok_kind_name(enum tok_kind k)
{
	switch (k) {
	case T_EOF: return "end of file";
	case T_NAME: return "a name";
	case T_NUMBER: return "a number";
	case T_ADDR: return "an address";
	case T_CIDR: return "a subnet (CIDR)";
	case T_STRING: return "a string";
	case T_SEMI: return "';'";
	case T_COMMA: return "','";
	case T_COLON: return "':'";
	case T_DOTDOT: return "'..'";
	case T_DASHDASH: return "'--'";
	case T_ARROW: return "'->'";
	case T_GE: return "'>='";
	case T_LE: return "'<='";
	case T_EQ: return "'='";
	case T_PERCENT: return "'%'";
	case T_BAD: return "a bad token";
	}
	return "?";
}
