/* parse.c - recursive descent over the token array into the AST in
 * struct spec.  Every error is reported where it is and parsing goes on:
 * a bad value inside a statement drops the statement but not the rest of
 * it, a token that cannot continue a statement skips to the next ';' or
 * statement keyword, and a missing ';' before a statement keyword is
 * reported and forgiven, so one pass finds every error. */
#include "spec-int.h"
#include "../lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Names a spec may expand from ranges in all, so that "h1..h60000" used a
 * million times cannot exhaust memory. */
#define MAX_EXPANDED 1000000

struct parser {
	struct spec *s;
	const struct token *t;
	size_t n, i;
	size_t expanded;
	bool bad; /* the current statement had an error */
	bool cls_bad; /* its class was unknown */
	bool packets; /* the last quantity was in packets per second */
};

static const char *const keywords[] = {
	"generate", "traffic", "mix", "from", "to", "with", "over", "using",
	"source", "flow", "flows", "for", "after", "at", "session", "sessions",
	"per", "label", "subnet", "host", "router", "link", "joins", "nat", "in",
	"address", "serves", "port", "rate", "delay", "jitter", "loss", "mtu",
	"external", "mirror",
};

static const char *const stmt_words[] = { "generate", "subnet", "host", "router", "link",
					   "mirror" };

static const char *const gen_clauses[] = {
	"from", "to", "with", "over", "using", "for", "after", "at", "label",
};

static const char *const link_words[] = { "rate", "delay", "jitter", "loss", "mtu" };

bool spec__is_keyword(const char *w, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(keywords); i++)
		if (strlen(keywords[i]) == n && !memcmp(keywords[i], w, n))
			return true;
	return false;
}

static const struct token *peek(const struct parser *p)
{
	return &p->t[p->i];
}

static const struct token *next(struct parser *p)
{
	const struct token *t = &p->t[p->i];

	if (t->kind != T_EOF)
		p->i++;
	return t;
}

static const struct token *prev(const struct parser *p)
{
	return &p->t[p->i ? p->i - 1 : 0];
}

static bool is_word(const struct token *t, const char *w)
{
	return t->kind == T_NAME && t->n == strlen(w) && !memcmp(t->s, w, t->n);
}

static bool is_stmt_start(const struct token *t)
{
	for (size_t i = 0; i < ARRAY_SIZE(stmt_words); i++)
		if (is_word(t, stmt_words[i]))
			return true;
	return false;
}

static bool at_end(const struct token *t)
{
	return t->kind == T_SEMI || t->kind == T_EOF || is_stmt_start(t);
}

/* How a token reads in a message: 'text' (shortened) or "end of file". */
static const char *desc(const struct token *t, char *buf, size_t n)
{
	if (t->kind == T_EOF)
		return "end of file";
	if (t->n > 40)
		snprintf(buf, n, "'%.37s...'", t->s);
	else
		snprintf(buf, n, "'%.*s'", (int)t->n, t->s);
	return buf;
}

/* Report an error at t unless the lexer already did (T_BAD). */
static void __attribute__((format(printf, 4, 5)))
perr(struct parser *p, const struct token *t, const char *hint, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	p->bad = true;
	if (t->kind == T_BAD)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	spec_diag(p->s, SPEC_ERROR, t->loc, hint, "%s", msg);
	free(msg);
}

static void expected(struct parser *p, const char *what, const char *hint)
{
	char b[64];

	perr(p, peek(p), hint, "expected %s, found %s", what, desc(peek(p), b, sizeof(b)));
}

/* The place just after token t, for "expected ';'". */
static struct spec_loc after(const struct token *t)
{
	struct spec_loc l = t->loc;

	for (size_t i = 0; i < t->n; i++)
		if (((unsigned char)t->s[i] & 0xc0) != 0x80)
			l.col++;
	l.off += (uint32_t)t->n;
	l.len = 0;
	return l;
}

/* Skip to just after the next ';', or to the next statement keyword. */
static void sync(struct parser *p)
{
	while (!at_end(peek(p)))
		next(p);
	if (peek(p)->kind == T_SEMI)
		next(p);
}

/* End of a statement: ';' or, forgiven with an error, a statement keyword. */
static void end_stmt(struct parser *p, const char *what)
{
	const struct token *t = peek(p);
	char b[64];

	if (t->kind == T_SEMI) {
		next(p);
		return;
	}
	if (t->kind == T_EOF || is_stmt_start(t)) {
		/* the statement itself is complete: keep it */
		spec_diag(p->s, SPEC_ERROR, after(prev(p)), "each statement ends with ';'",
			  "expected ';' after %s", what);
		return;
	}
	perr(p, t, NULL, "unexpected %s in %s", desc(t, b, sizeof(b)), what);
	sync(p);
}

static char *tok_dup(const struct token *t)
{
	return xstrndup(t->s, t->n);
}

/* ---- names and ranges ---------------------------------------------- */

static bool check_name(struct parser *p, const struct token *t, const char *what,
		       bool allow_external)
{
	char b[64];

	if (t->kind != T_NAME) {
		perr(p, t, NULL, "expected %s, found %s", what, desc(t, b, sizeof(b)));
		return false;
	}
	if (is_word(t, "external") && allow_external)
		return true;
	if (spec__is_keyword(t->s, t->n)) {
		perr(p, t, "choose another name", "'%.*s' is a keyword and cannot be %s",
		     (int)t->n, t->s, what);
		return false;
	}
	if (t->n > SPEC_MAX_NAME) {
		perr(p, t, NULL, "name is %zu bytes long; at most %u are allowed",
		     t->n, SPEC_MAX_NAME);
		return false;
	}
	return true;
}

/* Split "h012" into prefix length and numeric value; false if no digits. */
static bool split_num(const struct token *t, size_t *plen, unsigned long *num, size_t *width)
{
	size_t i = t->n;

	while (i > 0 && t->s[i - 1] >= '0' && t->s[i - 1] <= '9')
		i--;
	if (i == t->n || i == 0 || t->n - i > 9)
		return false;
	*plen = i;
	*width = t->n - i;
	*num = 0;
	for (; i < t->n; i++)
		*num = *num * 10 + (unsigned long)(t->s[i] - '0');
	return true;
}

/* Parse NAME or NAME..NAME and append the names to *v (n, cap). */
static bool take_names(struct parser *p, const char *what, bool allow_external,
		       struct spec_name **v, size_t *n, size_t *cap)
{
	const struct token *a = peek(p), *b;
	size_t pa, pb, wa, wb;
	unsigned long na, nb;
	struct spec_loc loc;

	if (!check_name(p, a, what, allow_external))
		return false;
	next(p);
	if (peek(p)->kind != T_DOTDOT) {
		struct spec_name *e = VEC_PUSH(*v, *n, *cap);

		e->name = tok_dup(a);
		e->loc = a->loc;
		return true;
	}
	next(p);
	b = peek(p);
	if (!check_name(p, b, "the end of a range", false))
		return false;
	next(p);
	loc = a->loc;
	loc.len = b->loc.off + b->loc.len - a->loc.off;
	if (!split_num(a, &pa, &na, &wa) || !split_num(b, &pb, &nb, &wb) || pa != pb ||
	    memcmp(a->s, b->s, pa)) {
		spec_diag(p->s, SPEC_ERROR, loc, "write a range as h1..h20: one prefix, two numbers",
			  "a range needs two names with the same prefix, ending in numbers");
		p->bad = true;
		return false;
	}
	if (nb < na) {
		spec_diag(p->s, SPEC_ERROR, loc, NULL, "range runs backwards (%lu > %lu)", na, nb);
		p->bad = true;
		return false;
	}
	if (nb - na + 1 > SPEC_MAX_HOSTS || p->expanded + (nb - na + 1) > MAX_EXPANDED) {
		spec_diag(p->s, SPEC_ERROR, loc, NULL,
			  "range names %lu hosts; at most %u are allowed", nb - na + 1,
			  (unsigned)SPEC_MAX_HOSTS);
		p->bad = true;
		return false;
	}
	p->expanded += nb - na + 1;
	/* "h01..h20" keeps the zero padding of its first name */
	if (!(wa > 1 && a->s[pa] == '0'))
		wa = 0;
	for (unsigned long k = na; k <= nb; k++) {
		struct spec_name *e = VEC_PUSH(*v, *n, *cap);

		e->name = xasprintf("%.*s%0*lu", (int)pa, a->s, (int)wa, k);
		e->loc = loc;
		if (strlen(e->name) > SPEC_MAX_NAME) {
			spec_diag(p->s, SPEC_ERROR, loc, NULL, "name '%s' in range is too long",
				  e->name);
			p->bad = true;
			return false;
		}
	}
	return true;
}

/* ---- numbers with units -------------------------------------------- */

enum num_status { NUM_OK, NUM_NEGATIVE, NUM_OVERFLOW };

/* t's decimal value times factor, rounded to the nearest integer. */
static enum num_status num_value(const struct token *t, uint64_t factor, uint64_t *out)
{
	const char *s = t->s, *end = t->s + t->n;
	unsigned __int128 mant = 0, scale = 1, v;
	bool frac = false, neg = false;

	if (s < end && *s == '-') {
		neg = true;
		s++;
	}
	for (; s < end; s++) {
		if (*s == '.') {
			frac = true;
			continue;
		}
		if (frac && scale >= 1000000000000000000ull)
			continue; /* digits past 1e-18 cannot matter */
		mant = mant * 10 + (unsigned)(*s - '0');
		if (mant > (unsigned __int128)10000000000000000000ull * 1000000)
			return NUM_OVERFLOW;
		if (frac)
			scale *= 10;
	}
	v = (mant * factor + scale / 2) / scale;
	if (neg && mant)
		return NUM_NEGATIVE;
	if (v > UINT64_MAX)
		return NUM_OVERFLOW;
	*out = (uint64_t)v;
	return NUM_OK;
}

struct unit {
	const char *name;
	uint64_t factor;
	bool packets;   /* a rate in packets per second */
};

static const struct unit rate_units[] = {
	{ "bps", 1 }, { "kbps", 1000 }, { "Mbps", 1000000 }, { "Gbps", 1000000000 },
	{ "Tbps", 1000000000000ull },
	{ "bit/s", 1 }, { "kbit/s", 1000 }, { "Mbit/s", 1000000 }, { "Gbit/s", 1000000000 },
	{ "Tbit/s", 1000000000000ull },
	{ "pps", 1, true }, { "kpps", 1000, true }, { "Mpps", 1000000, true },
};

static const struct unit time_units[] = {
	{ "us", 1 }, { "ms", 1000 }, { "s", 1000000 }, { "sec", 1000000 },
	{ "second", 1000000 }, { "seconds", 1000000 }, { "min", 60000000 },
	{ "minute", 60000000 }, { "minutes", 60000000 }, { "h", 3600000000ull },
	{ "hour", 3600000000ull }, { "hours", 3600000000ull },
};

static const char *const rate_unit_names[] = { "bps", "kbps", "Mbps", "Gbps", "Tbps",
					       "bit/s", "kbit/s", "Mbit/s", "Gbit/s", "pps", "kpps",
					       "Mpps" };
static const char *const time_unit_names[] = { "ms", "s", "min", "h", "us", "sec",
					       "seconds", "minutes", "hours" };

static const struct unit *find_unit(const struct unit *u, size_t n, const struct token *t)
{
	for (size_t i = 0; i < n; i++)
		if (is_word(t, u[i].name))
			return &u[i];
	return NULL;
}

/* Did the user write bytes per second?  "MBps", "MB/s", "KB/s"... */
static bool looks_like_bytes(const struct token *t)
{
	return t->n >= 3 && t->s[t->n - 3] == 'B' &&
	       (!memcmp(t->s + t->n - 2, "ps", 2) || !memcmp(t->s + t->n - 2, "/s", 2));
}

static void unit_hint(char *hint, size_t n, const struct token *t,
		      const char *const *names, size_t nnames, const char *all)
{
	char *w = tok_dup(t);
	const char *sug = str_suggest(w, names, nnames);

	if (sug)
		snprintf(hint, n, "did you mean '%s'?", sug);
	else
		snprintf(hint, n, "units: %s", all);
	free(w);
}

/* What a quantity with a unit is: its units and how to talk about it. */
struct qty {
	const char *noun;          /* "rate", "time" */
	const char *example;       /* "'100 Mbps'" */
	const struct unit *units;
	size_t nunits;
	const char *const *names;  /* suggested spellings */
	size_t nnames;
	const char *all;           /* the units, for a hint */
};

static const struct qty rate_qty = {
	"rate", "'100 Mbps'", rate_units, ARRAY_SIZE(rate_units), rate_unit_names,
	ARRAY_SIZE(rate_unit_names),
	"bps, kbps, Mbps, Gbps (or kbit/s, Mbit/s, Gbit/s); traffic also pps, kpps, Mpps",
};
static const struct qty time_qty = {
	"time", "'10 s'", time_units, ARRAY_SIZE(time_units), time_unit_names,
	ARRAY_SIZE(time_unit_names), "us, ms, s, min, h",
};

/* NUMBER UNIT in the unit's base (bits/s, microseconds).  Returns false on
 * a syntax error; true otherwise, with *v set only when *ok.  Negative
 * values are reported here (for what), overflow saturates. */
static bool take_quantity(struct parser *p, const struct qty *q, const char *what,
			  uint64_t *v, struct spec_loc *loc, bool *ok)
{
	const struct token *num = peek(p), *u;
	const struct unit *unit;
	char hint[128], b[64];

	*ok = false;
	if (num->kind != T_NUMBER) {
		char *e = xasprintf("a %s such as %s for %s", q->noun, q->example, what);

		expected(p, e, NULL);
		free(e);
		return false;
	}
	next(p);
	u = peek(p);
	*loc = num->loc;
	if (u->kind != T_NAME) {
		snprintf(hint, sizeof(hint), "a %s has a unit: %s", q->noun, q->all);
		perr(p, u, hint, "expected a %s unit after '%.*s', found %s", q->noun,
		     (int)num->n, num->s, desc(u, b, sizeof(b)));
		return false;
	}
	next(p);
	loc->len = u->loc.off + u->loc.len - num->loc.off;
	unit = find_unit(q->units, q->nunits, u);
	p->packets = unit && unit->packets;
	if (!unit) {
		if (q == &rate_qty && looks_like_bytes(u))
			snprintf(hint, sizeof(hint),
				 "rates are in bits: 1 MB/s is 8 Mbps; write 'Mbps'");
		else
			unit_hint(hint, sizeof(hint), u, q->names, q->nnames, q->all);
		perr(p, u, hint, "unknown %s unit '%.*s'", q->noun, (int)u->n, u->s);
		return true; /* the statement is bad, but its shape is fine */
	}
	switch (num_value(num, unit->factor, v)) {
	case NUM_NEGATIVE:
		spec_diag(p->s, SPEC_ERROR, *loc, NULL, "%s %s", what,
			  q == &rate_qty ? "must be positive" : "cannot be negative");
		p->bad = true;
		return true;
	case NUM_OVERFLOW:
		*v = UINT64_MAX;
		break;
	case NUM_OK:
		break;
	}
	*ok = true;
	return true;
}

/* A rate in bits per second, above zero and at most 1 Tbps; or, where
 * packets is not NULL (traffic), in packets per second, at most 100
 * Mpps, and *packets says which. */
static bool take_rate(struct parser *p, uint64_t *out, struct spec_loc *loc, bool *packets)
{
	bool ok;

	if (!take_quantity(p, &rate_qty, "rate", out, loc, &ok))
		return false;
	if (ok && p->packets && !packets) {
		spec_diag(p->s, SPEC_ERROR, *loc, "a link's rate is in bits per second: write 'Mbps'",
			  "a link's rate cannot be in packets per second");
		p->bad = true;
	} else if (ok && *out == 0) {
		spec_diag(p->s, SPEC_ERROR, *loc, NULL, "rate must be positive");
		p->bad = true;
	} else if (ok && !p->packets && *out > SPEC_MAX_RATE) {
		spec_diag(p->s, SPEC_ERROR, *loc, NULL, "rate is above the limit of 1 Tbps");
		p->bad = true;
	} else if (ok && p->packets && *out > SPEC_MAX_PPS) {
		spec_diag(p->s, SPEC_ERROR, *loc, NULL, "rate is above the limit of 100 Mpps");
		p->bad = true;
	}
	if (packets)
		*packets = ok && p->packets;
	return true;
}

/* A time in microseconds, at most a year; zero_ok for offsets and delays. */
static bool take_time(struct parser *p, const char *what, bool zero_ok, uint64_t *out,
		      struct spec_loc *loc)
{
	bool ok;

	if (!take_quantity(p, &time_qty, what, out, loc, &ok))
		return false;
	if (ok && *out == 0 && !zero_ok) {
		spec_diag(p->s, SPEC_ERROR, *loc, NULL, "%s must be longer than zero", what);
		p->bad = true;
	} else if (ok && *out > SPEC_MAX_TIME_US) {
		spec_diag(p->s, SPEC_ERROR, *loc, NULL, "%s is longer than a year", what);
		p->bad = true;
	}
	return true;
}

/* NUMBER '%' as parts per million (1% = 10000). */
static bool take_percent(struct parser *p, const char *what, uint32_t *out, struct spec_loc *loc)
{
	const struct token *num = peek(p);
	uint64_t v = 0;

	if (num->kind != T_NUMBER) {
		char *e = xasprintf("a percentage such as '5%%' for %s", what);

		expected(p, e, NULL);
		free(e);
		return false;
	}
	next(p);
	*loc = num->loc;
	if (peek(p)->kind != T_PERCENT) {
		perr(p, peek(p), NULL, "expected '%%' after '%.*s'", (int)num->n, num->s);
		return false;
	}
	loc->len = peek(p)->loc.off + 1 - num->loc.off;
	next(p);
	switch (num_value(num, 10000, &v)) {
	case NUM_NEGATIVE:
		spec_diag(p->s, SPEC_ERROR, *loc, NULL, "%s cannot be negative", what);
		p->bad = true;
		return true;
	case NUM_OVERFLOW:
		v = UINT64_MAX;
		break;
	case NUM_OK:
		break;
	}
	if (v > 1000000) {
		spec_diag(p->s, SPEC_ERROR, *loc, NULL, "%s is above 100%%", what);
		p->bad = true;
		v = 1000000;
	}
	*out = (uint32_t)v;
	return true;
}

/* A whole number in [lo, hi]. */
static bool take_uint(struct parser *p, const char *what, uint64_t lo, uint64_t hi,
		      uint64_t *out)
{
	const struct token *t = peek(p);
	uint64_t v = 0;
	enum num_status st;

	if (t->kind != T_NUMBER) {
		char *e = xasprintf("a number for %s", what);

		expected(p, e, NULL);
		free(e);
		return false;
	}
	next(p);
	if (memchr(t->s, '.', t->n)) {
		perr(p, t, NULL, "%s must be a whole number", what);
		return true;
	}
	st = num_value(t, 1, &v);
	if (st == NUM_NEGATIVE || st == NUM_OVERFLOW || v < lo || v > hi) {
		perr(p, t, NULL, "%s must be between %llu and %llu", what,
		     (unsigned long long)lo, (unsigned long long)hi);
		return true;
	}
	*out = v;
	return true;
}

/* ---- addresses ------------------------------------------------------ */

bool spec__parse_ipv4(const char *str, size_t n, uint32_t *out)
{
	uint32_t a = 0;
	unsigned part = 0, digits = 0, parts = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || str[i] == '.') {
			if (!digits || part > 255)
				return false;
			a = a << 8 | part;
			parts++;
			part = digits = 0;
			continue;
		}
		if (str[i] < '0' || str[i] > '9' || ++digits > 3)
			return false;
		part = part * 10 + (unsigned)(str[i] - '0');
	}
	if (parts != 4)
		return false;
	*out = a;
	return true;
}

static bool take_cidr(struct parser *p, uint32_t *addr, uint8_t *plen, struct spec_loc *loc)
{
	const struct token *t = peek(p);
	const char *slash;
	unsigned long len;

	if (t->kind != T_CIDR) {
		expected(p, "a subnet such as 10.0.1.0/24", NULL);
		return false;
	}
	next(p);
	*loc = t->loc;
	slash = memchr(t->s, '/', t->n);
	len = (size_t)(t->s + t->n - slash - 1) > 2 ? 99 : strtoul(slash + 1, NULL, 10);
	if (!spec__parse_ipv4(t->s, (size_t)(slash - t->s), addr)) {
		perr(p, t, "each part of an address is 0 to 255", "bad address in '%.*s'",
		     (int)t->n, t->s);
		return true;
	}
	if (len < 8 || len > 30) {
		perr(p, t, "prefix lengths run from /8 to /30", "bad prefix length in '%.*s'",
		     (int)t->n, t->s);
		return true;
	}
	*plen = (uint8_t)len;
	if (*addr & ~spec_mask(*plen)) {
		char hint[64], a[20];

		fmt_ipv4(a, sizeof(a), *addr & spec_mask(*plen));
		snprintf(hint, sizeof(hint), "did you mean %s/%lu?", a, len);
		perr(p, t, hint, "'%.*s' has host bits set", (int)t->n, t->s);
	}
	return true;
}

static bool take_addr(struct parser *p, uint32_t *addr, struct spec_loc *loc)
{
	const struct token *t = peek(p);

	if (t->kind != T_ADDR) {
		expected(p, "an address such as 10.0.1.5",
			 t->kind == T_CIDR ? "a host address has no prefix length" : NULL);
		return false;
	}
	next(p);
	*loc = t->loc;
	if (!spec__parse_ipv4(t->s, t->n, addr))
		perr(p, t, "each part of an address is 0 to 255", "bad address '%.*s'",
		     (int)t->n, t->s);
	return true;
}

/* ---- link conditions ------------------------------------------------ */

/* If the next word is a link property, parse it into dirs (bit 0: up,
 * bit 1: down).  Returns 1 when taken, 0 when not a property, -1 on a
 * syntax error. */
static int take_link_prop(struct parser *p, struct spec_link_props *lp, unsigned dirs)
{
	const struct token *kw = peek(p);
	int prop = -1;
	uint64_t v = 0;
	uint32_t ppm = 0;
	struct spec_loc loc;

	for (size_t i = 0; i < ARRAY_SIZE(link_words); i++)
		if (is_word(kw, link_words[i]))
			prop = (int)i;
	if (prop < 0)
		return 0;
	next(p);
	for (int d = 0; d < 2; d++) {
		if ((dirs & (1u << d)) && (lp->set[d] & (1u << prop))) {
			perr(p, kw, NULL, "'%s' is given twice", link_words[prop]);
			break;
		}
	}
	switch (prop) {
	case LP_RATE:
		if (!take_rate(p, &v, &loc, NULL))
			return -1;
		break;
	case LP_DELAY:
		if (!take_time(p, "delay", true, &v, &loc))
			return -1;
		if (v > 10000000) {
			spec_diag(p->s, SPEC_ERROR, loc, NULL, "delay is above the limit of 10 s");
			p->bad = true;
		}
		break;
	case LP_JITTER:
		if (!take_time(p, "jitter", true, &v, &loc))
			return -1;
		if (v > 10000000) {
			spec_diag(p->s, SPEC_ERROR, loc, NULL, "jitter is above the limit of 10 s");
			p->bad = true;
		}
		break;
	case LP_LOSS:
		if (!take_percent(p, "loss", &ppm, &loc))
			return -1;
		if (ppm >= 1000000) {
			spec_diag(p->s, SPEC_ERROR, loc, NULL, "loss must be below 100%%");
			p->bad = true;
		}
		break;
	case LP_MTU:
		loc = peek(p)->loc;
		if (!take_uint(p, "mtu", SPEC_MIN_MTU, SPEC_MAX_MTU, &v))
			return -1;
		if (dirs != 3) {
			spec_diag(p->s, SPEC_ERROR, kw->loc, "set it with '--'",
				  "an MTU belongs to both directions of a link");
			p->bad = true;
		}
		lp->mtu = (uint32_t)v;
		break;
	}
	loc.len = loc.off + loc.len - kw->loc.off;
	loc.off = kw->loc.off;
	loc.col = kw->loc.col;
	loc.line = kw->loc.line;
	for (int d = 0; d < 2; d++) {
		if (!(dirs & (1u << d)))
			continue;
		lp->set[d] |= 1u << prop;
		lp->loc[d][prop] = loc;
		switch (prop) {
		case LP_RATE: lp->rate[d] = v; break;
		case LP_DELAY: lp->delay_us[d] = v; break;
		case LP_JITTER: lp->jitter_us[d] = v; break;
		case LP_LOSS: lp->loss_ppm[d] = ppm; break;
		default: break;
		}
	}
	return 1;
}

/* ---- statements ------------------------------------------------------ */

static void free_names(struct spec_name *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
}

/* subnet NAME [CIDR] {link-prop} */
static void parse_subnet(struct parser *p)
{
	struct spec_subnet sn = { 0 };

	next(p);
	if (!check_name(p, peek(p), "a subnet name", false))
		goto fail;
	sn.name = tok_dup(peek(p));
	sn.loc = next(p)->loc;
	if (peek(p)->kind == T_CIDR || peek(p)->kind == T_ADDR) {
		if (peek(p)->kind == T_ADDR) {
			expected(p, "a subnet such as 10.0.1.0/24", "give the prefix length: /24");
			goto fail;
		}
		if (!take_cidr(p, &sn.addr, &sn.plen, &sn.cidr_loc))
			goto fail;
	}
	for (;;) {
		int r = take_link_prop(p, &sn.link, 3);

		if (r < 0)
			goto fail;
		if (r == 0)
			break;
	}
	end_stmt(p, "the subnet statement");
	if (p->bad)
		goto drop;
	*VEC_PUSH(p->s->subnets, p->s->nsubnets, p->s->subnets_cap) = sn;
	return;
fail:
	sync(p);
drop:
	free(sn.name);
	p->s->topo_failed = true;
}

static bool take_service(struct parser *p, struct spec_service *sv)
{
	const struct token *t = peek(p);
	char *w;

	if (t->kind != T_NAME) {
		expected(p, "a service (a class or protocol name)", NULL);
		return false;
	}
	next(p);
	w = tok_dup(t);
	sv->name = w;
	sv->loc = t->loc;
	sv->cls = spec_class_find(w);
	sv->proto = spec_proto_find(w);
	if (sv->cls < 0 && sv->proto < 0) {
		const char *cands[CLASS__COUNT + PROTO__COUNT];
		size_t n = 0;
		const char *sug;
		char hint[96] = "services are class names (web, mail, ...) or protocol names (https, smtp, ...)";

		for (int i = 0; i < CLASS__COUNT; i++)
			cands[n++] = spec_class_name(i);
		for (int i = 0; i < PROTO__COUNT; i++)
			cands[n++] = spec_proto_name(i);
		sug = str_suggest(w, cands, n);
		if (sug)
			snprintf(hint, sizeof(hint), "did you mean '%s'?", sug);
		perr(p, t, hint, "unknown service '%s'", w);
	}
	if (is_word(peek(p), "port")) {
		uint64_t port = 0;

		next(p);
		if (!take_uint(p, "a port", 1, 65535, &port))
			return false;
		sv->port = (uint16_t)port;
	}
	return true;
}

static void free_host(struct spec_host *h)
{
	free(h->name);
	free(h->subnet);
	for (size_t i = 0; i < h->nservices; i++)
		free(h->services[i].name);
	free(h->services);
}

/* host NAMES { in NAME | address ADDR | serves SERVICES | link-prop } */
static void parse_host(struct parser *p)
{
	struct spec_name *names = NULL;
	size_t nnames = 0, cap = 0, svcap = 0;
	struct spec_host tmpl = { 0 };
	unsigned seen = 0;
	char b[64];

	next(p);
	do {
		if (!take_names(p, "a host name", false, &names, &nnames, &cap))
			goto fail;
	} while (peek(p)->kind == T_COMMA && next(p));

	while (!at_end(peek(p))) {
		const struct token *kw = peek(p);
		int r;

		if (is_word(kw, "in") || is_word(kw, "address") || is_word(kw, "serves")) {
			unsigned bit = is_word(kw, "in") ? 1 : is_word(kw, "address") ? 2 : 4;

			if (seen & bit)
				perr(p, kw, NULL, "'%.*s' is given twice", (int)kw->n, kw->s);
			seen |= bit;
		}
		if (is_word(kw, "in")) {
			next(p);
			if (!check_name(p, peek(p), "a subnet name", true))
				goto fail;
			free(tmpl.subnet);
			tmpl.subnet = tok_dup(peek(p));
			tmpl.subnet_loc = next(p)->loc;
		} else if (is_word(kw, "address")) {
			next(p);
			if (!take_addr(p, &tmpl.addr, &tmpl.addr_loc))
				goto fail;
			if (nnames > 1) {
				spec_diag(p->s, SPEC_ERROR, tmpl.addr_loc,
					  "declare hosts with fixed addresses one by one",
					  "one address cannot go to %zu hosts", nnames);
				p->bad = true;
			}
		} else if (is_word(kw, "serves")) {
			next(p);
			do {
				struct spec_service *sv = VEC_PUSH(tmpl.services, tmpl.nservices, svcap);

				if (!take_service(p, sv))
					goto fail;
			} while (peek(p)->kind == T_COMMA && next(p));
		} else if ((r = take_link_prop(p, &tmpl.link, 3)) != 0) {
			if (r < 0)
				goto fail;
		} else {
			const char *words[] = { "in", "address", "serves", "rate", "delay",
						"jitter", "loss", "mtu" };
			char *w = tok_dup(kw);
			const char *sug = kw->kind == T_NAME ? str_suggest(w, words, ARRAY_SIZE(words)) : NULL;
			char hint[64];

			free(w);
			snprintf(hint, sizeof(hint), "did you mean '%s'?", sug ? sug : "");
			perr(p, kw, sug ? hint : "a host takes: in, address, serves, rate, delay, jitter, loss, mtu",
			     "unexpected %s in host statement", desc(kw, b, sizeof(b)));
			goto fail;
		}
	}
	end_stmt(p, "the host statement");
	if (p->bad)
		goto drop;
	for (size_t i = 0; i < nnames; i++) {
		struct spec_host *h = VEC_PUSH(p->s->hosts, p->s->nhosts, p->s->hosts_cap);

		*h = tmpl;
		h->name = names[i].name;
		names[i].name = NULL;
		h->loc = names[i].loc;
		h->subnet = tmpl.subnet ? xstrdup(tmpl.subnet) : NULL;
		h->services = NULL;
		if (tmpl.nservices) {
			h->services = xcalloc(tmpl.nservices, sizeof(*h->services));
			for (size_t k = 0; k < tmpl.nservices; k++) {
				h->services[k] = tmpl.services[k];
				h->services[k].name = xstrdup(tmpl.services[k].name);
			}
		}
	}
	goto drop;
fail:
	sync(p);
drop:
	if (p->bad)
		p->s->topo_failed = true;
	free_names(names, nnames);
	free_host(&tmpl);
}

/* router NAME joins NAME {, NAME} [nat] */
static void parse_router(struct parser *p)
{
	struct spec_router r = { 0 };
	size_t cap = 0;

	next(p);
	if (!check_name(p, peek(p), "a router name", false))
		goto fail;
	r.name = tok_dup(peek(p));
	r.loc = next(p)->loc;
	if (!is_word(peek(p), "joins")) {
		expected(p, "'joins'", "write: router gw joins lan, external ;");
		goto fail;
	}
	next(p);
	do {
		struct spec_name *j;

		if (!check_name(p, peek(p), "a subnet name", true))
			goto fail;
		j = VEC_PUSH(r.joins, r.njoins, cap);
		j->name = tok_dup(peek(p));
		j->loc = next(p)->loc;
	} while (peek(p)->kind == T_COMMA && next(p));
	if (is_word(peek(p), "nat")) {
		r.nat = true;
		r.nat_loc = next(p)->loc;
	}
	end_stmt(p, "the router statement");
	if (p->bad)
		goto drop;
	*VEC_PUSH(p->s->routers, p->s->nrouters, p->s->routers_cap) = r;
	return;
fail:
	sync(p);
drop:
	p->s->topo_failed = true;
	free(r.name);
	free_names(r.joins, r.njoins);
}

/* link A (-- | ->) B link-prop {link-prop} */
static void parse_link(struct parser *p)
{
	struct spec_link l = { 0 };
	int r, nprops = 0;

	l.loc = next(p)->loc;
	if (!check_name(p, peek(p), "a host, router or subnet name", true))
		goto fail;
	l.a.name = tok_dup(peek(p));
	l.a.loc = next(p)->loc;
	if (peek(p)->kind == T_ARROW) {
		l.directed = true;
	} else if (peek(p)->kind != T_DASHDASH) {
		expected(p, "'--' or '->'", "write: link h1 -- lan delay 20 ms ;");
		goto fail;
	}
	next(p);
	if (!check_name(p, peek(p), "a host, router or subnet name", true))
		goto fail;
	l.b.name = tok_dup(peek(p));
	l.b.loc = next(p)->loc;
	while ((r = take_link_prop(p, &l.props, l.directed ? 1 : 3)) > 0)
		nprops++;
	if (r < 0)
		goto fail;
	if (!nprops && !p->bad) {
		expected(p, "a link property", "a link takes: rate, delay, jitter, loss, mtu");
		goto fail;
	}
	end_stmt(p, "the link statement");
	if (p->bad)
		goto drop;
	*VEC_PUSH(p->s->links, p->s->nlinks, p->s->links_cap) = l;
	return;
fail:
	sync(p);
drop:
	p->s->topo_failed = true;
	free(l.a.name);
	free(l.b.name);
}

/* mirror NAME [-- NAME] to NAME */
static void parse_mirror(struct parser *p)
{
	struct spec_mirror m = { 0 };

	m.loc = next(p)->loc;
	if (!check_name(p, peek(p), "a subnet, or a node of a link", true))
		goto fail;
	m.what.name = tok_dup(peek(p));
	m.what.loc = next(p)->loc;
	if (peek(p)->kind == T_DASHDASH) {
		next(p);
		if (!check_name(p, peek(p), "the link's network", true))
			goto fail;
		m.net.name = tok_dup(peek(p));
		m.net.loc = next(p)->loc;
	}
	if (!is_word(peek(p), "to")) {
		expected(p, "'to'", "write: mirror lan to ids ; or: mirror h1 -- lan to ids ;");
		goto fail;
	}
	next(p);
	if (!check_name(p, peek(p), "the monitoring host", false))
		goto fail;
	m.to.name = tok_dup(peek(p));
	m.to.loc = next(p)->loc;
	end_stmt(p, "the mirror statement");
	if (p->bad)
		goto drop;
	*VEC_PUSH(p->s->mirrors, p->s->nmirrors, p->s->mirrors_cap) = m;
	return;
fail:
	sync(p);
drop:
	p->s->topo_failed = true;
	free(m.what.name);
	free(m.net.name);
	free(m.to.name);
}

static int take_class(struct parser *p, struct spec_loc *loc)
{
	const struct token *t = peek(p);
	const char *cands[CLASS__COUNT];
	char hint[256], *w;
	const char *sug;
	int c;

	if (t->kind != T_NAME) {
		expected(p, "a traffic class", NULL);
		return -2;
	}
	next(p);
	*loc = t->loc;
	w = tok_dup(t);
	c = spec_class_find(w);
	if (c < 0) {
		for (int i = 0; i < CLASS__COUNT; i++)
			cands[i] = spec_class_name(i);
		sug = str_suggest(w, cands, CLASS__COUNT);
		if (sug) {
			snprintf(hint, sizeof(hint), "did you mean '%s'?", sug);
		} else {
			size_t n = 0;

			n += (size_t)snprintf(hint, sizeof(hint), "classes are");
			for (int i = 0; i < CLASS__COUNT && n < sizeof(hint); i++)
				n += (size_t)snprintf(hint + n, sizeof(hint) - n, "%s %s",
						      i ? "," : ":", cands[i]);
		}
		perr(p, t, hint, "unknown traffic class '%s'", w);
	}
	free(w);
	return c;
}

/* over PROTO {, PROTO}, each of class cls (cls < 0: class unknown). */
static bool take_protos(struct parser *p, int cls, spec_protoset *set, struct spec_loc *loc)
{
	*loc = peek(p)->loc;
	do {
		const struct token *t = peek(p);
		char *w;
		int pr;

		if (t->kind != T_NAME) {
			expected(p, "a protocol name", NULL);
			return false;
		}
		next(p);
		w = tok_dup(t);
		pr = spec_proto_find(w);
		if (pr < 0) {
			const char *cands[PROTO__COUNT], *sug;
			char hint[160];
			size_t n = 0;

			for (int i = 0; i < PROTO__COUNT; i++)
				if (cls < 0 || (spec_class_protos((enum spec_class)cls) & (1u << i)))
					cands[n++] = spec_proto_name(i);
			sug = str_suggest(w, cands, n);
			if (sug) {
				snprintf(hint, sizeof(hint), "did you mean '%s'?", sug);
			} else {
				size_t k = (size_t)snprintf(hint, sizeof(hint), "protocols of %s are",
							    cls < 0 ? "dynamo" : spec_class_name(cls));
				for (size_t i = 0; i < n && k < sizeof(hint); i++)
					k += (size_t)snprintf(hint + k, sizeof(hint) - k, "%s %s",
							      i ? "," : ":", cands[i]);
			}
			perr(p, t, hint, "unknown protocol '%s'", w);
		} else if (cls >= 0 && !(spec_class_protos((enum spec_class)cls) & (1u << pr))) {
			char hint[160];
			spec_protoset ps = spec_class_protos((enum spec_class)cls);
			size_t k = (size_t)snprintf(hint, sizeof(hint), "protocols of %s are",
						    spec_class_name(cls));
			bool first = true;

			for (int i = 0; i < PROTO__COUNT && k < sizeof(hint); i++) {
				if (!(ps & (1u << i)))
					continue;
				k += (size_t)snprintf(hint + k, sizeof(hint) - k, "%s %s",
						      first ? ":" : ",", spec_proto_name(i));
				first = false;
			}
			perr(p, t, hint, "protocol '%s' does not belong to class %s", w,
			     spec_class_name(cls));
		} else if (*set & (1u << pr)) {
			perr(p, t, NULL, "protocol '%s' is listed twice", w);
		} else {
			*set |= 1u << pr;
		}
		free(w);
		loc->len = t->loc.off + t->loc.len - loc->off;
	} while (peek(p)->kind == T_COMMA && next(p));
	return true;
}

enum {
	C_FROM = 1, C_TO = 2, C_WITH = 4, C_OVER = 8, C_SOURCE = 16, C_FLOWS = 32,
	C_FOR = 64, C_AFTER = 128, C_AT = 256, C_LABEL = 512, C_MODEL = 1024,
};

static void free_gen(struct spec_gen *g)
{
	free(g->source);
	free(g->model);
	free_names(g->from, g->nfrom);
	free_names(g->to, g->nto);
	free(g->label);
	free(g->items);
}

static char *unquote(const struct token *t)
{
	struct buf b = { 0 };

	for (size_t i = 1; i + 1 < t->n; i++) {
		if (t->s[i] == '\\' && i + 2 < t->n)
			i++;
		buf_putc(&b, t->s[i]);
	}
	return buf_steal(&b);
}

/* One clause of a generate statement; false on a syntax error. */
static bool take_clause(struct parser *p, struct spec_gen *g, const struct token *kw)
{
	size_t cap;
	unsigned bit;

	bit = is_word(kw, "from") ? C_FROM : is_word(kw, "to") ? C_TO
	    : is_word(kw, "with") ? C_WITH : is_word(kw, "over") ? C_OVER
	    : is_word(kw, "for") ? C_FOR : is_word(kw, "after") ? C_AFTER
	    : is_word(kw, "at") ? C_AT : is_word(kw, "label") ? C_LABEL : 0;
	if (is_word(kw, "using")) {
		const struct token *t = &p->t[p->i + 1 < p->n ? p->i + 1 : p->i];

		bit = is_word(t, "source") ? C_SOURCE : is_word(t, "model") ? C_MODEL : C_FLOWS;
	}
	if (!bit)
		return false;
	next(p);
	if (g->seen & bit)
		perr(p, kw, NULL, "'%.*s%s' is given twice", (int)kw->n, kw->s,
		     bit == C_SOURCE ? " source" : bit == C_MODEL ? " model" : bit == C_FLOWS ? " ... flows" : "");
	g->seen |= bit;

	switch (bit) {
	case C_FROM:
	case C_TO: {
		struct spec_name **v = bit == C_FROM ? &g->from : &g->to;
		size_t *n = bit == C_FROM ? &g->nfrom : &g->nto;
		struct spec_loc *loc = bit == C_FROM ? &g->from_loc : &g->to_loc;

		free_names(*v, *n);
		*v = NULL;
		*n = cap = 0;
		*loc = peek(p)->loc;
		do {
			if (!take_names(p, "a host, subnet or 'external'", true, v, n, &cap))
				return false;
		} while (peek(p)->kind == T_COMMA && next(p));
		loc->len = prev(p)->loc.off + prev(p)->loc.len - loc->off;
		return true;
	}
	case C_WITH:
		return take_rate(p, &g->rate, &g->rate_loc, &g->packets);
	case C_OVER:
		if (g->mix) {
			perr(p, kw, "pin protocols per class: 'web over https 60%'",
			     "a mix takes 'over' inside its list of classes");
		}
		/* after an unknown class, judge the protocols on their own */
		return take_protos(p, g->mix || p->cls_bad ? -1 : (int)g->cls, &g->protos,
				   &g->protos_loc);
	case C_SOURCE:
		next(p); /* "source" */
		if (peek(p)->kind != T_NAME && peek(p)->kind != T_STRING) {
			expected(p, "a catalog source name", "'dynamo catalog list' shows them");
			return false;
		}
		free(g->source);
		g->source = peek(p)->kind == T_STRING ? unquote(peek(p)) : tok_dup(peek(p));
		g->source_loc = next(p)->loc;
		return true;
	case C_MODEL:
		next(p); /* "model" */
		if (peek(p)->kind != T_NAME && peek(p)->kind != T_STRING) {
			expected(p, "a behaviour model: a name from data/behaviours, or a \"file\"",
				 "write: using model \"office.models/web.model\"");
			return false;
		}
		free(g->model);
		g->model_file = peek(p)->kind == T_STRING;
		g->model = g->model_file ? unquote(peek(p)) : tok_dup(peek(p));
		g->model_loc = next(p)->loc;
		if (g->model_file && !g->model[0])
			perr(p, prev(p), NULL, "the model's file name is empty");
		if (g->mix)
			perr(p, prev(p), "give each class its own statement, with its model",
			     "a model is for the users of one class; a mix has several");
		return true;
	case C_FLOWS: {
		const struct token *op = peek(p), *num;
		uint64_t v = 0;

		g->flow_op = FLOWS_EQ;
		if (op->kind == T_GE || op->kind == T_LE || op->kind == T_EQ) {
			g->flow_op = op->kind == T_GE ? FLOWS_GE : op->kind == T_LE ? FLOWS_LE : FLOWS_EQ;
			next(p);
		}
		num = peek(p);
		g->flows_loc = op->loc;
		if (num->kind != T_NUMBER) {
			expected(p, "a number of flows", "write: using >= 5 flows");
			return false;
		}
		if (!take_uint(p, "the number of flows", 1, SPEC_MAX_FLOWS, &v))
			return false;
		g->flows = (uint32_t)v;
		if (!is_word(peek(p), "flows") && !is_word(peek(p), "flow")) {
			expected(p, "'flows'", "write: using >= 5 flows");
			return false;
		}
		g->flows_loc.len = peek(p)->loc.off + peek(p)->loc.len - g->flows_loc.off;
		next(p);
		return true;
	}
	case C_FOR: {
		struct spec_loc loc;

		return take_time(p, "duration", false, &g->duration_us, &loc);
	}
	case C_AFTER: {
		struct spec_loc loc;

		return take_time(p, "start offset", true, &g->offset_us, &loc);
	}
	case C_AT: {
		const struct token *num = peek(p), *u;
		uint64_t v = 0;
		double per;

		g->session_loc = num->loc;
		if (num->kind != T_NUMBER) {
			expected(p, "a session rate", "write: at 5 sessions per min");
			return false;
		}
		next(p);
		if (!is_word(peek(p), "sessions") && !is_word(peek(p), "session")) {
			expected(p, "'sessions'", "write: at 5 sessions per min");
			return false;
		}
		next(p);
		if (!is_word(peek(p), "per")) {
			expected(p, "'per'", "write: at 5 sessions per min");
			return false;
		}
		next(p);
		u = peek(p);
		if (is_word(u, "s") || is_word(u, "sec") || is_word(u, "second"))
			per = 1;
		else if (is_word(u, "min") || is_word(u, "minute"))
			per = 60;
		else if (is_word(u, "h") || is_word(u, "hour"))
			per = 3600;
		else {
			expected(p, "'s', 'min' or 'h'", "write: at 5 sessions per min");
			return false;
		}
		next(p);
		g->session_loc.len = u->loc.off + u->loc.len - num->loc.off;
		/* micro-sessions keep fractions such as 0.5 per s exact */
		if (num_value(num, 1000000, &v) != NUM_OK || v == 0 || v > 1000000ull * 1000000) {
			spec_diag(p->s, SPEC_ERROR, g->session_loc, NULL,
				  "session rate must be above zero and at most 1000000 per unit");
			p->bad = true;
			return true;
		}
		g->session_rate = (double)v / 1e6 / per;
		return true;
	}
	case C_LABEL:
		if (peek(p)->kind == T_STRING) {
			free(g->label);
			g->label = unquote(peek(p));
		} else if (peek(p)->kind == T_NAME) {
			free(g->label);
			g->label = tok_dup(peek(p));
		} else {
			expected(p, "a label (a name or a \"string\")", NULL);
			return false;
		}
		next(p);
		if (strlen(g->label) > 256) {
			perr(p, prev(p), NULL, "label is longer than 256 bytes");
		} else if (!*g->label) {
			perr(p, prev(p), NULL, "label is empty");
		} else {
			for (const char *c = g->label; *c; c++) {
				if ((unsigned char)*c < 0x20 || *c == ',' || *c == '"') {
					perr(p, prev(p), "labels go into CSV files unquoted",
					     "label holds a comma, quote or control character");
					break;
				}
			}
		}
		return true;
	}
	return false;
}

/* The list after ':' in a mix: CLASS [over PROTOS] PERCENT {, ...} */
static bool take_mix_items(struct parser *p, struct spec_gen *g)
{
	size_t cap = 0;

	do {
		struct spec_mix_item *it = VEC_PUSH(g->items, g->nitems, cap);
		struct spec_loc ploc;
		int c = take_class(p, &it->loc);

		if (c == -2)
			return false;
		/* an unknown class matches no other item */
		it->cls = c < 0 ? CLASS__COUNT : (enum spec_class)c;
		if (is_word(peek(p), "over")) {
			next(p);
			if (!take_protos(p, c, &it->protos, &ploc))
				return false;
		}
		if (!take_percent(p, "a share", &it->share_ppm, &it->share_loc))
			return false;
		if (it->share_ppm == 0) {
			spec_diag(p->s, SPEC_ERROR, it->share_loc, NULL, "a share must be above 0%%");
			p->bad = true;
		}
		for (size_t k = 0; it->cls != CLASS__COUNT && k + 1 < g->nitems; k++) {
			if (g->items[k].cls == it->cls) {
				spec_diag(p->s, SPEC_ERROR, it->loc, "give each class once",
					  "class %s is listed twice in the mix", spec_class_name(c));
				p->bad = true;
			}
		}
		if (c < 0)
			p->bad = true;
	} while (peek(p)->kind == T_COMMA && next(p));
	return true;
}

static void missing(struct parser *p, struct spec_gen *g, unsigned bit, const char *what,
		    const char *hint)
{
	struct spec_loc loc = g->loc;

	if (g->seen & bit)
		return;
	spec_diag(p->s, SPEC_ERROR, loc, hint, "generate statement has no %s", what);
	p->bad = true;
}

static void parse_generate(struct parser *p)
{
	struct spec_gen g = { 0 };
	char b[64];

	g.loc = next(p)->loc;
	if (is_word(peek(p), "mix")) {
		g.mix = true;
		g.cls_loc = next(p)->loc;
	} else {
		int c = take_class(p, &g.cls_loc);

		if (c == -2)
			goto fail;
		g.cls = c < 0 ? CLASS_WEB : (enum spec_class)c;
		if (c < 0)
			p->bad = p->cls_bad = true;
	}
	if (is_word(peek(p), "traffic"))
		next(p);

	for (;;) {
		const struct token *t = peek(p);

		if (t->kind == T_SEMI || t->kind == T_EOF || is_stmt_start(t))
			break;
		if (t->kind == T_COLON && g.mix) {
			next(p);
			if (!take_mix_items(p, &g))
				goto fail;
			break;
		}
		if (take_clause(p, &g, t))
			continue;
		if (p->i < p->n && &p->t[p->i] != t)
			goto fail; /* the clause started but broke */
		{
			char *w = tok_dup(t);
			const char *sug = t->kind == T_NAME
				? str_suggest(w, gen_clauses, ARRAY_SIZE(gen_clauses)) : NULL;
			char hint[96];

			free(w);
			if (sug)
				snprintf(hint, sizeof(hint), "did you mean '%s'?", sug);
			else if (t->kind == T_COLON)
				snprintf(hint, sizeof(hint), "only 'generate mix' takes a list after ':'");
			else
				snprintf(hint, sizeof(hint),
					 "a generate statement takes: from, to, with, over, using, for, after, at, label");
			perr(p, t, hint, "unexpected %s in generate statement", desc(t, b, sizeof(b)));
			goto fail;
		}
	}
	missing(p, &g, C_FROM, "'from'", "say who sends: from h1");
	missing(p, &g, C_TO, "'to'", "say who answers: to h2");
	missing(p, &g, C_WITH, "a rate", "give the rate: with 10 Mbps");
	if (g.mix && !g.nitems) {
		spec_diag(p->s, SPEC_ERROR, g.loc, "write: generate mix ... with 200 Mbps: web 60%, dns 40% ;",
			  "a mix needs its classes after ':'");
		p->bad = true;
	}
	end_stmt(p, "the generate statement");
	if (p->bad)
		goto drop;
	*VEC_PUSH(p->s->gens, p->s->ngens, p->s->gens_cap) = g;
	return;
fail:
	sync(p);
drop:
	free_gen(&g);
}

void spec__parse_tokens(struct spec *s, const struct token *t, size_t n)
{
	struct parser p = { .s = s, .t = t, .n = n };
	char b[64];

	while (peek(&p)->kind != T_EOF && !s->truncated) {
		const struct token *tk = peek(&p);

		p.bad = p.cls_bad = false;
		if (tk->kind == T_SEMI) {
			next(&p);
		} else if (is_word(tk, "generate")) {
			parse_generate(&p);
		} else if (is_word(tk, "subnet")) {
			parse_subnet(&p);
		} else if (is_word(tk, "host")) {
			parse_host(&p);
		} else if (is_word(tk, "router")) {
			parse_router(&p);
		} else if (is_word(tk, "link")) {
			parse_link(&p);
		} else if (is_word(tk, "mirror")) {
			parse_mirror(&p);
		} else {
			char *w = tok_dup(tk);
			const char *sug = tk->kind == T_NAME
				? str_suggest(w, stmt_words, ARRAY_SIZE(stmt_words)) : NULL;
			char hint[96];

			free(w);
			if (sug)
				snprintf(hint, sizeof(hint), "did you mean '%s'?", sug);
			else
				snprintf(hint, sizeof(hint),
					 "statements start with generate, subnet, host, router, link or mirror");
			perr(&p, tk, hint, "expected a statement, found %s", desc(tk, b, sizeof(b)));
			next(&p);
			sync(&p);
			if (sug)
				s->topo_failed = true;
		}
	}
}
