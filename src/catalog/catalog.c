/* catalog.c - see catalog.h.  An entry is read line by line: each line is
 * split into words (a double-quoted string is one word), its first word
 * picks a key, and the key's parser checks its values at once; what
 * depends on several lines (protocols against the class, start against
 * the kind and protocols, the profile all or nothing, the file's name)
 * is checked once every line is in.  The first error ends the parse:
 * entries are short and written by hand or by 'catalog measure', so one
 * precise message is worth more than a list. */
#include "catalog.h"
#include "../lib/util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The comment catalog_format_profile() writes above the profile, and
 * catalog_replace_profile() takes away with it. */
#define PROFILE_COMMENT "# written by 'dynamo catalog measure': the profile of one instance"

#define MAX_USERS     1000000.0
#define MIN_THINK     0.001
#define MAX_THINK     1000.0
#define MAX_DURATION  (366.0 * 86400) /* seconds, as a spec's longest time */

enum key {
	K_NAME, K_DESCRIPTION, K_CLASS, K_PROTOCOLS, K_KIND, K_START, K_KNOB,
	K_DRIVER, K_REPOSITORY, K_COMMIT, K_SUBDIR,
	K_MEASURED, K_PROFILE, K_RATE, K_RATE_MAX, K_PACKETS, K_FLOWS, K_FLOWS_MAX,
	K_SESSIONS, K_PACKET_SIZE, K_FLOW_SIZE,
	K__COUNT
};

#define K_FIRST_PROFILE K_MEASURED

/* Each key with the shape of its line, for messages. */
static const struct {
	const char *name;
	const char *shape;
} keys[K__COUNT] = {
	[K_NAME]        = { "name", "name NAME" },
	[K_DESCRIPTION] = { "description", "description \"TEXT\"" },
	[K_CLASS]       = { "class", "class CLASS" },
	[K_PROTOCOLS]   = { "protocols", "protocols PROTO[,PROTO...]" },
	[K_KIND]        = { "kind", "kind agent|program|project" },
	[K_START]       = { "start", "start agent PROTO|NAME | start program NAME | start project PATH" },
	[K_KNOB]        = { "knob", "knob NAME default N min N max N" },
	[K_DRIVER]      = { "driver", "driver project|users" },
	[K_REPOSITORY]  = { "repository", "repository URL" },
	[K_COMMIT]      = { "commit", "commit HEX" },
	[K_SUBDIR]      = { "subdir", "subdir PATH" },
	[K_MEASURED]    = { "measured", "measured \"COMMAND\" YYYY-MM-DD" },
	[K_PROFILE]     = { "profile", "profile users N think-scale N duration SECONDS" },
	[K_RATE]        = { "rate", "rate BITS_PER_SECOND" },
	[K_RATE_MAX]    = { "rate-max", "rate-max BITS_PER_SECOND" },
	[K_PACKETS]     = { "packets", "packets PER_SECOND" },
	[K_FLOWS]       = { "flows", "flows N" },
	[K_FLOWS_MAX]   = { "flows-max", "flows-max N" },
	[K_SESSIONS]    = { "sessions", "sessions PER_SECOND" },
	[K_PACKET_SIZE] = { "packet-size", "packet-size UPPER:FRACTION ..." },
	[K_FLOW_SIZE]   = { "flow-size", "flow-size UPPER:FRACTION ..." },
};

static const char *const kind_names[] = {
	[CATALOG_AGENT] = "agent", [CATALOG_PROGRAM] = "program", [CATALOG_PROJECT] = "project",
};

/* The knobs an instance may have; values are checked against these
 * bounds, and a knob's own min..max must lie inside them. */
static const struct knob_def {
	const char *name;
	bool whole;
	double lo, hi;
} knob_defs[] = {
	{ "users", true, 1, MAX_USERS },
	{ "think-scale", false, MIN_THINK, MAX_THINK },
};

struct tok {
	char *s;
	bool quoted;
};

struct ctx {
	const char *file;
	char *err;
	size_t errlen;
	struct catalog_entry *e;
	unsigned seen[K__COUNT];             /* the line of each key, 0: none yet */
	unsigned knob_line[CATALOG_MAX_KNOBS];
	int start_kind;                       /* the kind 'start' names, or -1 */
	/* the current line, split */
	char buf[CATALOG_MAX_LINE + 2];
	struct tok tok[CATALOG_MAX_LINE / 2 + 2];
	size_t ntok;
	char quoted[4][64];                   /* words quoted in the message, see quote() */
	unsigned nquoted;
};

const char *catalog_kind_name(enum catalog_kind k)
{
	return (unsigned)k < ARRAY_SIZE(kind_names) ? kind_names[k] : "?";
}

int catalog_kind_find(const char *s)
{
	for (size_t i = 0; i < ARRAY_SIZE(kind_names); i++)
		if (!strcmp(kind_names[i], s))
			return (int)i;
	return -1;
}

bool catalog_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > CATALOG_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return false;
	}
	return true;
}

/* ---- messages ---------------------------------------------------------- */

static int fail(struct ctx *c, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct ctx *c, unsigned line, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (c->errlen)
		snprintf(c->err, c->errlen, "%s:%u: %s", c->file, line, msg);
	free(msg);
	return -EINVAL;
}

/* The length of the UTF-8 character at s (n bytes left), or 0 when the
 * bytes there are not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* A word as quoted in a message: at most about 40 bytes, cut between
 * characters.  Words were checked to be UTF-8 without control
 * characters, so they print as they are.  Returns one of a few
 * rotating buffers of c, enough for the words of one message. */
static const char *quote(struct ctx *c, const char *s)
{
	char *b = c->quoted[c->nquoted++ % ARRAY_SIZE(c->quoted)];
	size_t n = 0, len = strlen(s);

	while (n < len) {
		size_t l = utf8_len((const unsigned char *)s + n, len - n);

		if (!l || n + l > 40)
			break;
		n += l;
	}
	snprintf(b, sizeof(c->quoted[0]), "%.*s%s", (int)n, s, n < len ? "..." : "");
	return b;
}

/* ---- words ------------------------------------------------------------- */

/* Split line (n bytes, already checked for control characters and UTF-8)
 * into c->tok: words separated by blanks, "strings" with \" and \\, and
 * a '#' at the start of a word begins a comment. */
static int split(struct ctx *c, unsigned line, const char *p, size_t n)
{
	char *o = c->buf;
	size_t i = 0;

	c->ntok = 0;
	for (;;) {
		struct tok *t;

		while (i < n && (p[i] == ' ' || p[i] == '\t'))
			i++;
		if (i == n || p[i] == '#')
			return 0;
		t = &c->tok[c->ntok++];
		t->s = o;
		t->quoted = p[i] == '"';
		if (t->quoted) {
			for (i++;; i++) {
				if (i == n)
					return fail(c, line, "unterminated string (a string ends with '\"' "
						    "on its own line)");
				if (p[i] == '"')
					break;
				if (p[i] == '\\') {
					if (i + 1 == n || (p[i + 1] != '"' && p[i + 1] != '\\'))
						return fail(c, line, "unknown escape in a string (the "
							    "escapes are \\\" and \\\\)");
					i++;
				}
				*o++ = p[i];
			}
			i++;
			if (i < n && p[i] != ' ' && p[i] != '\t' && p[i] != '#')
				return fail(c, line, "'%c' right after a string (a blank separates "
					    "words)", p[i]);
		} else {
			for (; i < n && p[i] != ' ' && p[i] != '\t'; i++) {
				if (p[i] == '"')
					return fail(c, line, "'\"' inside a word (write the whole value "
						    "as a string: \"...\")");
				*o++ = p[i];
			}
		}
		*o++ = '\0';
	}
}

/* ---- values ------------------------------------------------------------ */

/* A decimal number, finite and in range: [+-]DIGITS[.DIGITS][e[+-]DIGITS]
 * (or .DIGITS).  No hex, no inf, no nan, nothing after it. */
static int parse_double(struct ctx *c, unsigned line, const char *what, const char *s, double *v)
{
	const char *p = s;
	size_t digits = 0;
	char *end;
	double d;

	if (*p == '+' || *p == '-')
		p++;
	for (; *p >= '0' && *p <= '9'; p++)
		digits++;
	if (*p == '.')
		for (p++; *p >= '0' && *p <= '9'; p++)
			digits++;
	if (digits && (*p == 'e' || *p == 'E')) {
		const char *x = p + 1;

		if (*x == '+' || *x == '-')
			x++;
		if (*x >= '0' && *x <= '9') {
			while (*x >= '0' && *x <= '9')
				x++;
			p = x;
		}
	}
	if (!digits || *p)
		return fail(c, line, "%s '%s' is not a number (a decimal such as 8, 0.25 or 1.5e6)",
			    what, quote(c, s));
	errno = 0;
	d = strtod(s, &end);
	if (end != p || errno == ERANGE || !isfinite(d))
		return fail(c, line, "%s '%s' is out of range (a finite decimal, not too small "
			    "or too large)", what, quote(c, s));
	*v = d;
	return 0;
}

/* A whole number of at most 64 bits, digits only. */
static int parse_u64(struct ctx *c, unsigned line, const char *what, const char *s, uint64_t *v)
{
	uint64_t n = 0;
	const char *p = s;

	if (!*p)
		return fail(c, line, "%s is empty (a whole number such as 1200)", what);
	for (; *p; p++) {
		unsigned dgt;

		if (*p < '0' || *p > '9')
			return fail(c, line, "%s '%s' is not a whole number (digits only, such as "
				    "1200)", what, quote(c, s));
		dgt = (unsigned)(*p - '0');
		if (n > (UINT64_MAX - dgt) / 10)
			return fail(c, line, "%s '%s' is too large (at most %llu)", what, quote(c, s),
				    (unsigned long long)UINT64_MAX);
		n = n * 10 + dgt;
	}
	*v = n;
	return 0;
}

/* A number of at least 0. */
static int parse_nonneg(struct ctx *c, unsigned line, const char *what, const char *s, double *v)
{
	int r = parse_double(c, line, what, s, v);

	if (!r && *v < 0)
		return fail(c, line, "%s '%s' is negative (0 or more)", what, quote(c, s));
	return r;
}

static int parse_date(struct ctx *c, unsigned line, const char *s)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	unsigned y, m, d;
	bool ok = strlen(s) == 10 && s[4] == '-' && s[7] == '-';

	for (int i = 0; ok && i < 10; i++)
		ok = i == 4 || i == 7 || (s[i] >= '0' && s[i] <= '9');
	if (ok) {
		y = (unsigned)atoi(s);
		m = (unsigned)atoi(s + 5);
		d = (unsigned)atoi(s + 8);
		ok = m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1];
		if (ok && m == 2 && d == 29)
			ok = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	}
	if (!ok)
		return fail(c, line, "'%s' is not a date (YYYY-MM-DD, such as 2026-11-24)", quote(c, s));
	return 0;
}

static const struct knob_def *knob_def(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(knob_defs); i++)
		if (!strcmp(knob_defs[i].name, name))
			return &knob_defs[i];
	return NULL;
}

/* v, called what in the message, is a value the knob may take. */
static int check_knob_value(struct ctx *c, unsigned line, const struct knob_def *k,
			    const char *what, double v)
{
	if (v < k->lo || v > k->hi || (k->whole && v != floor(v)))
		return fail(c, line, "%s %g is out of range (%s from %.15g to %.15g)", what, v,
			    k->whole ? "a whole number" : "a number", k->lo, k->hi);
	return 0;
}

/* ---- the keys ---------------------------------------------------------- */

static int want_values(struct ctx *c, unsigned line, enum key k, size_t n)
{
	if (c->ntok - 1 != n)
		return fail(c, line, "'%s' takes %zu value%s, not %zu (%s)", keys[k].name, n,
			    n == 1 ? "" : "s", c->ntok - 1, keys[k].shape);
	return 0;
}

/* Free text: bounded, so that a formatted entry (which may escape every
 * byte of it) still fits a line. */
static int check_text(struct ctx *c, unsigned line, enum key k, const char *s)
{
	if (!s[0])
		return fail(c, line, "'%s' is an empty string (%s)", keys[k].name, keys[k].shape);
	if (strlen(s) > CATALOG_MAX_TEXT)
		return fail(c, line, "the text of '%s' is %zu bytes long (at most %d)", keys[k].name,
			    strlen(s), CATALOG_MAX_TEXT);
	return 0;
}

static int want_string(struct ctx *c, unsigned line, enum key k, const struct tok *t)
{
	if (!t->quoted)
		return fail(c, line, "'%s' takes a double-quoted string, not '%s' (%s)", keys[k].name,
			    quote(c, t->s), keys[k].shape);
	return check_text(c, line, k, t->s);
}

static int key_name(struct ctx *c, unsigned line)
{
	int r = want_values(c, line, K_NAME, 1);

	if (r)
		return r;
	if (!catalog_name_ok(c->tok[1].s))
		return fail(c, line, "bad name '%s' (lowercase letters, digits, '.', '_' and '-', "
			    "starting with a letter or digit, at most %d bytes)", quote(c, c->tok[1].s),
			    CATALOG_MAX_NAME);
	c->e->name = xstrdup(c->tok[1].s);
	return 0;
}

static int key_description(struct ctx *c, unsigned line)
{
	int r = want_values(c, line, K_DESCRIPTION, 1);

	if (!r)
		r = want_string(c, line, K_DESCRIPTION, &c->tok[1]);
	if (!r)
		c->e->description = xstrdup(c->tok[1].s);
	return r;
}

static int key_class(struct ctx *c, unsigned line)
{
	const char *names[CLASS__COUNT], *sug;
	struct buf b = { 0 };
	int r = want_values(c, line, K_CLASS, 1), cls;

	if (r)
		return r;
	if ((cls = spec_class_find(c->tok[1].s)) >= 0) {
		c->e->cls = (enum spec_class)cls;
		return 0;
	}
	for (int i = 0; i < CLASS__COUNT; i++) {
		names[i] = spec_class_name((enum spec_class)i);
		buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
	}
	sug = str_suggest(c->tok[1].s, names, CLASS__COUNT);
	if (sug)
		r = fail(c, line, "unknown class '%s' (did you mean '%s'?)", quote(c, c->tok[1].s), sug);
	else
		r = fail(c, line, "unknown class '%s' (classes: %s)", quote(c, c->tok[1].s), b.p);
	buf_free(&b);
	return r;
}

static int unknown_proto(struct ctx *c, unsigned line, const char *s)
{
	const char *names[PROTO__COUNT], *sug;

	for (int i = 0; i < PROTO__COUNT; i++)
		names[i] = spec_proto_name((enum spec_proto)i);
	sug = str_suggest(s, names, PROTO__COUNT);
	if (sug)
		return fail(c, line, "unknown protocol '%s' (did you mean '%s'?)", quote(c, s), sug);
	return fail(c, line, "unknown protocol '%s' (a protocol of the class, such as http or dns)",
		    quote(c, s));
}

static int key_protocols(struct ctx *c, unsigned line)
{
	char *s, *comma;

	if (c->ntok > 2)
		return fail(c, line, "protocols are one comma-separated list without blanks, "
			    "such as http,https");
	if (c->ntok < 2)
		return want_values(c, line, K_PROTOCOLS, 1);
	for (s = c->tok[1].s;; s = comma + 1) {
		int p;

		comma = strchr(s, ',');
		if (comma)
			*comma = '\0';
		if (!*s)
			return fail(c, line, "an empty protocol in the list (%s)", keys[K_PROTOCOLS].shape);
		if ((p = spec_proto_find(s)) < 0)
			return unknown_proto(c, line, s);
		if (c->e->protos & (1u << p))
			return fail(c, line, "protocol '%s' is listed twice", quote(c, s));
		c->e->protos |= 1u << p;
		if (!comma)
			return 0;
	}
}

static int key_kind(struct ctx *c, unsigned line)
{
	int r = want_values(c, line, K_KIND, 1), k;

	if (r)
		return r;
	if ((k = catalog_kind_find(c->tok[1].s)) < 0)
		return fail(c, line, "unknown kind '%s' (agent, program or project)", quote(c, c->tok[1].s));
	c->e->kind = (enum catalog_kind)k;
	return 0;
}

static int key_start(struct ctx *c, unsigned line)
{
	int r = want_values(c, line, K_START, 2), k, p;
	const char *v;

	if (r)
		return r;
	v = c->tok[2].s;
	if ((k = catalog_kind_find(c->tok[1].s)) < 0)
		return fail(c, line, "a source starts as an agent, a program or a project, "
			    "not '%s' (%s)", quote(c, c->tok[1].s), keys[K_START].shape);
	c->start_kind = k;
	switch (k) {
	case CATALOG_AGENT:
		/* a protocol's own agent, or one with a name of its own */
		if ((p = spec_proto_find(v)) >= 0) {
			v = spec_proto_name((enum spec_proto)p);
		} else {
			const char *names[PROTO__COUNT];

			for (int i = 0; i < PROTO__COUNT; i++)
				names[i] = spec_proto_name((enum spec_proto)i);
			if (str_suggest(v, names, PROTO__COUNT))
				return unknown_proto(c, line, v);       /* a typo */
			if (!catalog_name_ok(v))
				return fail(c, line, "bad agent name '%s' (a protocol, such as http, "
					    "or an agent's name, such as hls)", quote(c, v));
		}
		break;
	case CATALOG_PROGRAM:
		if (!catalog_name_ok(v))
			return fail(c, line, "bad program name '%s' (as program_defs names it, "
				    "such as nginx or redis-server)", quote(c, v));
		break;
	default:
		if (!*v)
			return fail(c, line, "an empty project path (%s)", keys[K_START].shape);
		if ((r = check_text(c, line, K_START, v)))
			return r;
		break;
	}
	c->e->start = xstrdup(v);
	return 0;
}

/* A project's provenance and driver; refused on other kinds when the
 * whole entry is checked. */
static int key_project(struct ctx *c, unsigned line, enum key k)
{
	int r = want_values(c, line, k, 1);
	const char *v;
	size_t n;

	if (r)
		return r;
	v = c->tok[1].s;
	n = strlen(v);
	switch (k) {
	case K_DRIVER:
		if (strcmp(v, "project") && strcmp(v, "users"))
			return fail(c, line, "a project is driven by its own clients or by dynamo's "
				    "users, not '%s' (%s)", quote(c, v), keys[k].shape);
		c->e->driver_project = !strcmp(v, "project");
		return 0;
	case K_COMMIT:
		if (n < 7 || n > 64 || strspn(v, "0123456789abcdef") != n)
			return fail(c, line, "bad commit '%s' (7 to 64 lowercase hex digits, as git "
				    "names a commit)", quote(c, v));
		c->e->commit = xstrdup(v);
		return 0;
	default:
		if ((r = check_text(c, line, k, v)))
			return r;
		*(k == K_REPOSITORY ? &c->e->repository : &c->e->subdir) = xstrdup(v);
		return 0;
	}
}

/* knob NAME default N min N max N: the three in any order, each once. */
static int key_knob(struct ctx *c, unsigned line)
{
	static const char *const fields[] = { "default", "min", "max" };
	const struct knob_def *kd;
	struct catalog_knob *kn;
	double v[3];
	bool have[3] = { false };
	char what[48];
	int r;

	if (c->ntok < 2)
		return fail(c, line, "'knob' needs a name (%s)", keys[K_KNOB].shape);
	if (!strcmp(c->tok[1].s, "instances"))
		return fail(c, line, "'instances' is not a knob: the planner chooses how many "
			    "instances to run (knobs: users, think-scale)");
	if (!(kd = knob_def(c->tok[1].s))) {
		const char *names[ARRAY_SIZE(knob_defs)], *sug;

		for (size_t i = 0; i < ARRAY_SIZE(knob_defs); i++)
			names[i] = knob_defs[i].name;
		sug = str_suggest(c->tok[1].s, names, ARRAY_SIZE(names));
		if (sug)
			return fail(c, line, "unknown knob '%s' (did you mean '%s'?)", quote(c, c->tok[1].s),
				    sug);
		return fail(c, line, "unknown knob '%s' (knobs: users, think-scale)", quote(c, c->tok[1].s));
	}
	for (size_t i = 0; i < c->e->nknobs; i++)
		if (!strcmp(c->e->knobs[i].name, kd->name))
			return fail(c, line, "a second knob '%s' (the first is on line %u; each "
				    "knob once)", kd->name, c->knob_line[i]);
	if ((r = want_values(c, line, K_KNOB, 7)))
		return r;
	for (size_t i = 2; i < 8; i += 2) {
		size_t f;

		for (f = 0; f < 3 && strcmp(c->tok[i].s, fields[f]); f++)
			;
		if (f == 3)
			return fail(c, line, "'%s' is not a field of a knob (%s)", quote(c, c->tok[i].s),
				    keys[K_KNOB].shape);
		if (have[f])
			return fail(c, line, "'%s' twice in the knob (%s)", fields[f], keys[K_KNOB].shape);
		have[f] = true;
		if ((r = parse_double(c, line, fields[f], c->tok[i + 1].s, &v[f])))
			return r;
		snprintf(what, sizeof(what), "%s %s", kd->name, fields[f]);
		if ((r = check_knob_value(c, line, kd, what, v[f])))
			return r;
	}
	if (!(v[1] <= v[0] && v[0] <= v[2]))
		return fail(c, line, "knob %s: min %g, default %g, max %g are out of order "
			    "(min <= default <= max)", kd->name, v[1], v[0], v[2]);
	if (c->e->nknobs == CATALOG_MAX_KNOBS) /* only when knob_defs grows past it */
		return fail(c, line, "too many knobs (at most %d)", CATALOG_MAX_KNOBS);
	c->knob_line[c->e->nknobs] = line;
	kn = &c->e->knobs[c->e->nknobs++];
	snprintf(kn->name, sizeof(kn->name), "%s", kd->name);
	kn->def = v[0];
	kn->min = v[1];
	kn->max = v[2];
	return 0;
}

static int key_measured(struct ctx *c, unsigned line)
{
	int r = want_values(c, line, K_MEASURED, 2);

	if (!r)
		r = want_string(c, line, K_MEASURED, &c->tok[1]);
	if (!r)
		r = parse_date(c, line, c->tok[2].s);
	if (r)
		return r;
	c->e->measured = true;
	c->e->measured_by = xstrdup(c->tok[1].s);
	c->e->measured_on = xstrdup(c->tok[2].s);
	return 0;
}

/* profile users N think-scale N duration SECONDS, in any order. */
static int key_profile(struct ctx *c, unsigned line)
{
	static const char *const fields[] = { "users", "think-scale", "duration" };
	double *dst[] = { &c->e->prof_users, &c->e->prof_think_scale, &c->e->prof_duration };
	bool have[3] = { false };
	int r = want_values(c, line, K_PROFILE, 6);

	if (r)
		return r;
	for (size_t i = 1; i < 7; i += 2) {
		size_t f;

		for (f = 0; f < 3 && strcmp(c->tok[i].s, fields[f]); f++)
			;
		if (f == 3)
			return fail(c, line, "'%s' is not a field of the profile (%s)", quote(c, c->tok[i].s),
				    keys[K_PROFILE].shape);
		if (have[f])
			return fail(c, line, "'%s' twice in the profile (%s)", fields[f],
				    keys[K_PROFILE].shape);
		have[f] = true;
		if ((r = parse_double(c, line, fields[f], c->tok[i + 1].s, dst[f])))
			return r;
		if (f < 2) {
			char what[48];

			snprintf(what, sizeof(what), "the profile's %s", fields[f]);
			if ((r = check_knob_value(c, line, knob_def(fields[f]), what, *dst[f])))
				return r;
		}
		if (f == 2 && !(*dst[f] > 0 && *dst[f] <= MAX_DURATION))
			return fail(c, line, "duration %g is out of range (seconds, more than 0 and at "
				    "most a year)", *dst[f]);
	}
	return 0;
}

static int key_number(struct ctx *c, unsigned line, enum key k)
{
	int r = want_values(c, line, k, 1);
	struct catalog_entry *e = c->e;
	double *d = k == K_PACKETS ? &e->packets : k == K_FLOWS ? &e->flows :
		    k == K_FLOWS_MAX ? &e->flows_max : &e->sessions;

	if (r)
		return r;
	if (k == K_RATE || k == K_RATE_MAX)
		return parse_u64(c, line, keys[k].name, c->tok[1].s, k == K_RATE ? &e->rate : &e->rate_max);
	return parse_nonneg(c, line, keys[k].name, c->tok[1].s, d);
}

/* UPPER:FRACTION ...: 1..32 buckets, uppers strictly ascending (the last
 * may be inf), fractions in [0, 1] that sum to 1 within 0.01. */
static int key_hist(struct ctx *c, unsigned line, enum key k)
{
	struct catalog_hist *h = k == K_PACKET_SIZE ? &c->e->packet_size : &c->e->flow_size;
	double sum = 0;
	int r;

	if (c->ntok < 2)
		return fail(c, line, "'%s' has no buckets (%s)", keys[k].name, keys[k].shape);
	if (c->ntok - 1 > CATALOG_MAX_BUCKETS)
		return fail(c, line, "'%s' has %zu buckets (at most %d)", keys[k].name, c->ntok - 1,
			    CATALOG_MAX_BUCKETS);
	for (size_t i = 1; i < c->ntok; i++) {
		char *s = c->tok[i].s, *colon = strchr(s, ':');
		size_t b = i - 1;

		if (!colon)
			return fail(c, line, "bucket '%s' has no ':' (UPPER:FRACTION, such as 1500:0.75)",
				    quote(c, s));
		*colon = '\0';
		if (!strcmp(s, "inf")) {
			if (i + 1 < c->ntok)
				return fail(c, line, "only the last bucket may be 'inf' (uppers ascend)");
			h->upper[b] = UINT64_MAX;
		} else if ((r = parse_u64(c, line, "bucket upper", s, &h->upper[b]))) {
			return r;
		}
		if (b && h->upper[b] <= h->upper[b - 1])
			return fail(c, line, "bucket upper %s is not above the one before it (uppers "
				    "ascend strictly)", quote(c, s));
		if ((r = parse_double(c, line, "fraction", colon + 1, &h->frac[b])))
			return r;
		if (!(h->frac[b] >= 0 && h->frac[b] <= 1))
			return fail(c, line, "fraction %s is not between 0 and 1", quote(c, colon + 1));
		sum += h->frac[b];
		h->n = b + 1;
	}
	if (fabs(sum - 1) > 0.01)
		return fail(c, line, "the fractions of '%s' sum to %.6g (they sum to 1, within 0.01)",
			    keys[k].name, sum);
	return 0;
}

static int unknown_key(struct ctx *c, unsigned line, const char *s)
{
	const char *names[K__COUNT], *sug;

	for (int i = 0; i < K__COUNT; i++)
		names[i] = keys[i].name;
	sug = str_suggest(s, names, K__COUNT);
	if (sug)
		return fail(c, line, "unknown key '%s' (did you mean '%s'?)", quote(c, s), sug);
	return fail(c, line, "unknown key '%s' (keys: name, description, class, protocols, kind, "
		    "start, knob, and the profile's measured, profile, rate, rate-max, packets, "
		    "flows, flows-max, sessions, packet-size, flow-size)", quote(c, s));
}

static int do_line(struct ctx *c, unsigned line)
{
	const char *word = c->tok[0].s;
	int k;

	if (c->tok[0].quoted)
		return fail(c, line, "a line starts with a key, a plain word, not a string (such as "
			    "'name' or 'class')");
	for (k = 0; k < K__COUNT && strcmp(keys[k].name, word); k++)
		;
	if (k == K__COUNT)
		return unknown_key(c, line, word);
	if (k != K_KNOB && c->seen[k])
		return fail(c, line, "a second '%s' line (the first is line %u; each key once)",
			    word, c->seen[k]);
	if (!c->seen[k])
		c->seen[k] = line;
	switch ((enum key)k) {
	case K_NAME: return key_name(c, line);
	case K_DESCRIPTION: return key_description(c, line);
	case K_CLASS: return key_class(c, line);
	case K_PROTOCOLS: return key_protocols(c, line);
	case K_KIND: return key_kind(c, line);
	case K_START: return key_start(c, line);
	case K_KNOB: return key_knob(c, line);
	case K_DRIVER:
	case K_REPOSITORY:
	case K_COMMIT:
	case K_SUBDIR: return key_project(c, line, (enum key)k);
	case K_MEASURED: return key_measured(c, line);
	case K_PROFILE: return key_profile(c, line);
	case K_PACKET_SIZE:
	case K_FLOW_SIZE: return key_hist(c, line, (enum key)k);
	default: return key_number(c, line, (enum key)k);
	}
}

/* ---- the whole entry --------------------------------------------------- */

static void protos_list(struct buf *b, spec_protoset ps)
{
	bool first = true;

	for (int i = 0; i < PROTO__COUNT; i++)
		if (ps & (1u << i)) {
			buf_printf(b, "%s%s", first ? "" : ",", spec_proto_name((enum spec_proto)i));
			first = false;
		}
}

/* What needs every line: required keys, protocols of the class, start
 * against kind, the profile whole, the name of the file. */
static int check_entry(struct ctx *c, unsigned last)
{
	static const enum key required[] = { K_NAME, K_CLASS, K_PROTOCOLS, K_KIND, K_START };
	struct catalog_entry *e = c->e;
	spec_protoset extra;
	const char *base;
	size_t blen;

	for (size_t i = 0; i < ARRAY_SIZE(required); i++)
		if (!c->seen[required[i]])
			return fail(c, last, "no '%s' line (every entry has name, class, protocols, "
				    "kind and start)", keys[required[i]].name);
	extra = e->protos & ~spec_class_protos(e->cls);
	if (extra) {
		struct buf b = { 0 };
		int r;

		protos_list(&b, spec_class_protos(e->cls));
		r = fail(c, c->seen[K_PROTOCOLS], "protocol '%s' is not of class %s (%s: %s)",
			 spec_proto_name((enum spec_proto)__builtin_ctz(extra)), spec_class_name(e->cls),
			 spec_class_name(e->cls), b.p);
		buf_free(&b);
		return r;
	}
	if (c->start_kind != (int)e->kind)
		return fail(c, c->seen[K_START], "kind %s starts with 'start %s ...', not 'start %s' "
			    "(%s)", catalog_kind_name(e->kind), catalog_kind_name(e->kind),
			    catalog_kind_name((enum catalog_kind)c->start_kind), keys[K_START].shape);
	for (int k = K_DRIVER; k <= K_SUBDIR; k++)
		if (c->seen[k] && e->kind != CATALOG_PROJECT)
			return fail(c, c->seen[k], "'%s' is for projects, not for kind %s (a project's "
				    "driver and where it comes from)", keys[k].name,
				    catalog_kind_name(e->kind));
	/* An agent is named by its protocol (start agent http) or by a
	 * name of its own (start agent hls), which dynamo looks up when it
	 * runs the source. */
	if (e->kind == CATALOG_AGENT && spec_proto_find(e->start) >= 0 &&
	    !(e->protos & (1u << spec_proto_find(e->start))))
		return fail(c, c->seen[K_START], "the agent '%s' is not one of the entry's protocols "
			    "(an agent named by a protocol starts as one of them)", e->start);
	if (e->measured) {
		for (int k = K_FIRST_PROFILE; k < K__COUNT; k++)
			if (!c->seen[k])
				return fail(c, c->seen[K_MEASURED], "measured, but no '%s' line (a "
					    "measured entry has measured, profile, rate, rate-max, "
					    "packets, flows, flows-max, sessions, packet-size and "
					    "flow-size)", keys[k].name);
		for (int i = 0; i < 2; i++) {
			const char *kn = knob_defs[i].name;
			const struct catalog_knob *k = catalog_knob(e, kn);
			double v = i ? e->prof_think_scale : e->prof_users;

			if (k && (v < k->min || v > k->max))
				return fail(c, c->seen[K_PROFILE], "the profile's %s %g is outside the "
					    "knob's range (%g to %g)", kn, v, k->min, k->max);
		}
	} else {
		for (int k = K_FIRST_PROFILE; k < K__COUNT; k++)
			if (c->seen[k])
				return fail(c, c->seen[k], "'%s' without 'measured' (the profile is "
					    "written whole by 'dynamo catalog measure')", keys[k].name);
	}
	/* FILE ends in NAME.source: the name is the file's */
	base = strrchr(c->file, '/');
	base = base ? base + 1 : c->file;
	blen = strlen(base);
	if (blen > 7 && !strcmp(base + blen - 7, ".source") &&
	    (strlen(e->name) != blen - 7 || strncmp(e->name, base, blen - 7)))
		return fail(c, c->seen[K_NAME], "the name '%s' is not the file's (%.*s): a source "
			    "NAME lives in NAME.source", e->name, (int)(blen - 7), base);
	return 0;
}

int catalog_parse(struct catalog_entry *e, const char *file, const char *text, size_t len,
		  char *err, size_t errlen)
{
	struct ctx *c = xcalloc(1, sizeof(*c));
	unsigned line = 0;
	size_t off = 0;
	int r = 0;

	memset(e, 0, sizeof(*e));
	c->file = file ? file : "(text)";
	c->err = err;
	c->errlen = errlen;
	c->e = e;
	c->start_kind = -1;
	if (errlen)
		err[0] = '\0';
	if (len > CATALOG_MAX_FILE) {
		r = fail(c, 1, "the file is larger than 64 KiB (an entry is at most %u bytes)",
			 CATALOG_MAX_FILE);
		goto out;
	}
	while (off < len) {
		const char *p = text + off, *nl = memchr(p, '\n', len - off);
		size_t n = nl ? (size_t)(nl - p) : len - off;

		off += n + (nl != NULL);
		line++;
		if (n && p[n - 1] == '\r')
			n--;
		if (n > CATALOG_MAX_LINE) {
			r = fail(c, line, "the line is %zu bytes long (at most %d)", n, CATALOG_MAX_LINE);
			goto out;
		}
		for (size_t i = 0; i < n;) {
			unsigned char ch = (unsigned char)p[i];
			size_t l = utf8_len((const unsigned char *)p + i, n - i);

			if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
				r = fail(c, line, "control character 0x%02x (text only: tabs and "
					 "printable UTF-8)", ch);
				goto out;
			}
			if (!l) {
				r = fail(c, line, "bytes that are not UTF-8 (text only: tabs and "
					 "printable UTF-8)");
				goto out;
			}
			i += l;
		}
		if ((r = split(c, line, p, n)))
			goto out;
		if (c->ntok && (r = do_line(c, line)))
			goto out;
	}
	r = check_entry(c, line ? line : 1);
out:
	if (r) {
		catalog_entry_free(e);
	} else {
		e->file = file ? xstrdup(file) : NULL;
	}
	free(c);
	return r;
}

/* ---- formatting -------------------------------------------------------- */

/* The shortest decimal that reads back as v; whole numbers in full
 * (4096, not 4.096e+03). */
static void put_double(struct buf *b, double v)
{
	char s[40];

	if (v == floor(v) && fabs(v) < 1e15) {
		buf_printf(b, "%.0f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(s, sizeof(s), "%.*g", prec, v);
		if (strtod(s, NULL) == v)
			break;
	}
	buf_puts(b, s);
}

static void put_key(struct buf *b, enum key k)
{
	buf_printf(b, "%-12s ", keys[k].name);
}

/* A string in double quotes.  What the format cannot hold (control
 * characters but tabs, bytes that are not UTF-8) becomes a blank or '?'. */
static void put_string(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	buf_putc(b, '"');
	for (size_t i = 0; i < n;) {
		unsigned char ch = (unsigned char)s[i];
		size_t l = utf8_len((const unsigned char *)s + i, n - i);

		if (!l) {
			buf_putc(b, '?');
			i++;
			continue;
		}
		if (ch == '"' || ch == '\\')
			buf_putc(b, '\\');
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			buf_putc(b, ' ');
		else
			buf_put(b, s + i, l);
		i += l;
	}
	buf_putc(b, '"');
}

/* A word as it is when it can be, else a string. */
static void put_word(struct buf *b, const char *s)
{
	bool plain = *s && *s != '#';

	for (const char *p = s; *p && plain; p++)
		plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
			       "._/+:@%=,~-", *p) != NULL;
	if (plain)
		buf_puts(b, s);
	else
		put_string(b, s);
}

static void put_hist(struct buf *b, enum key k, const struct catalog_hist *h)
{
	put_key(b, k);
	for (size_t i = 0; i < h->n; i++) {
		if (i)
			buf_putc(b, ' ');
		if (h->upper[i] == UINT64_MAX)
			buf_puts(b, "inf");
		else
			buf_printf(b, "%llu", (unsigned long long)h->upper[i]);
		buf_putc(b, ':');
		put_double(b, h->frac[i]);
	}
	buf_putc(b, '\n');
}

static void put_profile(struct buf *b, const struct catalog_entry *e)
{
	if (!e->measured)
		return;
	buf_puts(b, PROFILE_COMMENT "\n");
	put_key(b, K_MEASURED);
	put_string(b, e->measured_by ? e->measured_by : "");
	buf_printf(b, " %s\n", e->measured_on ? e->measured_on : "");
	put_key(b, K_PROFILE);
	buf_puts(b, "users ");
	put_double(b, e->prof_users);
	buf_puts(b, " think-scale ");
	put_double(b, e->prof_think_scale);
	buf_puts(b, " duration ");
	put_double(b, e->prof_duration);
	buf_putc(b, '\n');
	put_key(b, K_RATE);
	buf_printf(b, "%llu\n", (unsigned long long)e->rate);
	put_key(b, K_RATE_MAX);
	buf_printf(b, "%llu\n", (unsigned long long)e->rate_max);
	put_key(b, K_PACKETS);
	put_double(b, e->packets);
	buf_putc(b, '\n');
	put_key(b, K_FLOWS);
	put_double(b, e->flows);
	buf_putc(b, '\n');
	put_key(b, K_FLOWS_MAX);
	put_double(b, e->flows_max);
	buf_putc(b, '\n');
	put_key(b, K_SESSIONS);
	put_double(b, e->sessions);
	buf_putc(b, '\n');
	put_hist(b, K_PACKET_SIZE, &e->packet_size);
	put_hist(b, K_FLOW_SIZE, &e->flow_size);
}

char *catalog_format_profile(const struct catalog_entry *e)
{
	struct buf b = { 0 };

	put_profile(&b, e);
	return b.p ? buf_steal(&b) : xstrdup("");
}

char *catalog_format(const struct catalog_entry *e)
{
	struct buf b = { 0 };

	put_key(&b, K_NAME);
	buf_printf(&b, "%s\n", e->name ? e->name : "");
	if (e->description) {
		put_key(&b, K_DESCRIPTION);
		put_string(&b, e->description);
		buf_putc(&b, '\n');
	}
	put_key(&b, K_CLASS);
	buf_printf(&b, "%s\n", spec_class_name(e->cls));
	put_key(&b, K_PROTOCOLS);
	protos_list(&b, e->protos);
	buf_putc(&b, '\n');
	put_key(&b, K_KIND);
	buf_printf(&b, "%s\n", catalog_kind_name(e->kind));
	put_key(&b, K_START);
	buf_printf(&b, "%s ", catalog_kind_name(e->kind));
	put_word(&b, e->start ? e->start : "");
	buf_putc(&b, '\n');
	if (e->kind == CATALOG_PROJECT) {
		put_key(&b, K_DRIVER);
		buf_puts(&b, e->driver_project ? "project\n" : "users\n");
		if (e->repository) {
			put_key(&b, K_REPOSITORY);
			put_word(&b, e->repository);
			buf_putc(&b, '\n');
		}
		if (e->commit) {
			put_key(&b, K_COMMIT);
			buf_printf(&b, "%s\n", e->commit);
		}
		if (e->subdir) {
			put_key(&b, K_SUBDIR);
			put_word(&b, e->subdir);
			buf_putc(&b, '\n');
		}
	}
	for (size_t i = 0; i < e->nknobs; i++) {
		const struct catalog_knob *k = &e->knobs[i];

		put_key(&b, K_KNOB);
		buf_printf(&b, "%s default ", k->name);
		put_double(&b, k->def);
		buf_puts(&b, " min ");
		put_double(&b, k->min);
		buf_puts(&b, " max ");
		put_double(&b, k->max);
		buf_putc(&b, '\n');
	}
	put_profile(&b, e);
	return buf_steal(&b);
}

/* The first word of a line (n bytes), when it is one of the profile's
 * keys or the comment that opens the profile. */
static bool profile_line(const char *p, size_t n)
{
	size_t i = 0, w;

	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (n - i >= strlen(PROFILE_COMMENT) && !memcmp(p + i, PROFILE_COMMENT, strlen(PROFILE_COMMENT)))
		return true;
	for (w = i; w < n && p[w] != ' ' && p[w] != '\t' && p[w] != '\r'; w++)
		;
	for (int k = K_FIRST_PROFILE; k < K__COUNT; k++)
		if (w - i == strlen(keys[k].name) && !memcmp(p + i, keys[k].name, w - i))
			return true;
	return false;
}

char *catalog_replace_profile(const char *text, size_t len, const struct catalog_entry *e)
{
	struct buf b = { 0 };
	size_t off = 0;

	while (off < len) {
		const char *p = text + off, *nl = memchr(p, '\n', len - off);
		size_t n = nl ? (size_t)(nl - p) : len - off;

		off += n + (nl != NULL);
		if (!profile_line(p, n)) {
			buf_put(&b, p, n);
			buf_putc(&b, '\n');
		}
	}
	/* no blank lines at the end, then one before the profile */
	while (b.len && b.p[b.len - 1] == '\n' && (b.len == 1 || b.p[b.len - 2] == '\n'))
		b.p[--b.len] = '\0';
	if (e->measured) {
		if (b.len)
			buf_putc(&b, '\n');
		put_profile(&b, e);
	}
	return b.p ? buf_steal(&b) : xstrdup("");
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool hist_eq(const struct catalog_hist *a, const struct catalog_hist *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->upper[i] != b->upper[i] || a->frac[i] != b->frac[i])
			return false;
	return true;
}

bool catalog_entry_equal(const struct catalog_entry *a, const struct catalog_entry *b)
{
	if (!str_eq(a->name, b->name) || !str_eq(a->description, b->description) ||
	    a->cls != b->cls || a->protos != b->protos || a->kind != b->kind ||
	    !str_eq(a->start, b->start) || a->nknobs != b->nknobs || a->measured != b->measured ||
	    a->driver_project != b->driver_project || !str_eq(a->repository, b->repository) ||
	    !str_eq(a->commit, b->commit) || !str_eq(a->subdir, b->subdir))
		return false;
	for (size_t i = 0; i < a->nknobs; i++)
		if (strcmp(a->knobs[i].name, b->knobs[i].name) || a->knobs[i].def != b->knobs[i].def ||
		    a->knobs[i].min != b->knobs[i].min || a->knobs[i].max != b->knobs[i].max)
			return false;
	if (!a->measured)
		return true;
	return str_eq(a->measured_by, b->measured_by) && str_eq(a->measured_on, b->measured_on) &&
	       a->prof_users == b->prof_users && a->prof_think_scale == b->prof_think_scale &&
	       a->prof_duration == b->prof_duration && a->rate == b->rate &&
	       a->rate_max == b->rate_max && a->packets == b->packets && a->flows == b->flows &&
	       a->flows_max == b->flows_max && a->sessions == b->sessions &&
	       hist_eq(&a->packet_size, &b->packet_size) && hist_eq(&a->flow_size, &b->flow_size);
}

/* ---- the directory ----------------------------------------------------- */

/* Read at most CATALOG_MAX_FILE + 1 bytes of path: enough for the parser
 * to say a larger file is too large.  O_NONBLOCK: a FIFO named x.source
 * must not hang us; it is refused as not a regular file. */
int catalog_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), r = 0;
	struct stat st;
	char *p = NULL;
	size_t n = 0;
	bool said = false;

	if (fd < 0 || fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(err, errlen, "%s: not a regular file", path);
		said = true;
		goto out;
	}
	p = xmalloc(CATALOG_MAX_FILE + 1);
	while (n < CATALOG_MAX_FILE + 1) {
		ssize_t got = read(fd, p + n, CATALOG_MAX_FILE + 1 - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			goto out;
		}
		if (!got)
			break;
		n += (size_t)got;
	}
out:
	if (r && !said)
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	if (fd >= 0)
		close(fd);
	if (r) {
		free(p);
		p = NULL;
	}
	*text = p;
	*len = n;
	return r;
}

int catalog_write_file(const char *path, const char *text, char *err, size_t errlen)
{
	char *tmp = xasprintf("%s.tmp", path);
	size_t n = strlen(text);
	FILE *f = fopen(tmp, "we");
	int r = 0;

	if (!f) {
		r = -errno;
		goto out;
	}
	if (fwrite(text, 1, n, f) != n)
		r = -EIO;
	if (fclose(f) && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
out:
	if (r)
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
	free(tmp);
	return r;
}

static int cmp_strings(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_entries(const void *a, const void *b)
{
	return strcmp(((const struct catalog_entry *)a)->name, ((const struct catalog_entry *)b)->name);
}

int catalog_load_dir(struct catalog *c, const char *dir, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t nnames = 0, cap = 0, ccap = 0;
	int r = 0;

	memset(c, 0, sizeof(*c));
	if (errlen)
		err[0] = '\0';
	if (!d) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(-r));
		return r;
	}
	errno = 0;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (n > 7 && !strcmp(de->d_name + n - 7, ".source"))
			*VEC_PUSH(names, nnames, cap) = xstrdup(de->d_name);
		errno = 0;
	}
	if (errno) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", dir, strerror(-r));
		goto out;
	}
	/* in order, so that the first bad file is always the same one */
	if (nnames)
		qsort(names, nnames, sizeof(*names), cmp_strings);
	for (size_t i = 0; i < nnames && !r; i++) {
		size_t dl = strlen(dir);
		char *path = xasprintf("%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", names[i]);
		char *text;
		size_t len;

		r = catalog_read_file(path, &text, &len, err, errlen);
		if (!r) {
			struct catalog_entry *e = VEC_PUSH(c->v, c->n, ccap);

			r = catalog_parse(e, path, text, len, err, errlen);
			if (r)
				c->n--; /* parse left it empty */
			else if (c->n > 1 && catalog_find(c, e->name) != e)
				r = -EINVAL, snprintf(err, errlen, "%s: a second source named '%s'",
						      path, e->name);
		}
		free(text);
		free(path);
	}
	/* by name: "redis" before "redis-server", though '-' sorts before '.' */
	if (!r && c->n)
		qsort(c->v, c->n, sizeof(*c->v), cmp_entries);
out:
	closedir(d);
	for (size_t i = 0; i < nnames; i++)
		free(names[i]);
	free(names);
	if (r)
		catalog_free(c);
	return r;
}

const struct catalog_entry *catalog_find(const struct catalog *c, const char *name)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->v[i].name, name))
			return &c->v[i];
	return NULL;
}

const struct catalog_knob *catalog_knob(const struct catalog_entry *e, const char *name)
{
	for (size_t i = 0; i < e->nknobs; i++)
		if (!strcmp(e->knobs[i].name, name))
			return &e->knobs[i];
	return NULL;
}

void catalog_entry_free(struct catalog_entry *e)
{
	if (!e)
		return;
	free(e->name);
	free(e->description);
	free(e->file);
	free(e->start);
	free(e->repository);
	free(e->commit);
	free(e->subdir);
	free(e->measured_by);
	free(e->measured_on);
	memset(e, 0, sizeof(*e));
}

void catalog_free(struct catalog *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		catalog_entry_free(&c->v[i]);
	free(c->v);
	c->v = NULL;
	c->n = 0;
}
