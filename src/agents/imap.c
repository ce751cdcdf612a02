/* imap.c - the IMAP agent: a server with a generated mailbox per login
 * (the same messages every time, made by mail.c, never stored), and
 * clients whose users check their inbox, open some messages, file what
 * they send in Sent and flag what they answer, as the "mail" model says.
 * IMAP4rev1 (RFC 3501) with LITERAL+, IDLE, UNSELECT, ID, NAMESPACE. */
#include <errno.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/util.h"
#include "agent.h"
#include "imap.h"
#include "mail.h"

/* ---- parsers --------------------------------------------------------------- */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

bool imap__line_literal(const char *line, size_t n, uint64_t *len, bool *sync)
{
	size_t i, j;
	uint64_t v = 0;

	if (n < 3 || line[n - 1] != '}')
		return false;
	i = n - 1;   /* at '}' */
	*sync = true;
	if (line[i - 1] == '+') {
		*sync = false;
		i--;
	}
	j = i;
	while (j > 0 && is_digit(line[j - 1]))
		j--;
	if (j == i || j == 0 || line[j - 1] != '{' || i - j > 19)
		return false;
	for (size_t k = j; k < i; k++)
		v = v * 10 + (uint64_t)(line[k] - '0');
	*len = v;
	return true;
}

enum imap_scan_res imap__scan(const char *buf, size_t len, struct imap_scan *s)
{
	size_t pos = 0;

	memset(s, 0, sizeof(*s));
	for (;;) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t end, ll;
		uint64_t lit;
		bool sync;

		if (!nl)
			return len - pos > IMAP_MAX_LINE ? IMAP_SCAN_LONG : IMAP_SCAN_MORE;
		end = (size_t)(nl - buf);
		if (end - pos > IMAP_MAX_LINE)
			return IMAP_SCAN_LONG;
		ll = end - pos;
		if (ll && buf[end - 1] == '\r')
			ll--;
		if (!imap__line_literal(buf + pos, ll, &lit, &sync)) {
			s->len = end + 1;
			return IMAP_SCAN_DONE;
		}
		if (++s->lits > IMAP_MAX_LITS)
			return IMAP_SCAN_LONG;
		s->lit_at = end + 1;
		s->lit_len = lit;
		s->sync = sync;
		if (lit > IMAP_MAX_LITERAL)
			return IMAP_SCAN_BIG;
		if (len - s->lit_at < lit) {
			s->cont = sync;
			return IMAP_SCAN_MORE;
		}
		pos = s->lit_at + (size_t)lit;
	}
}

/* Tag characters: ASTRING-CHAR but '+' (RFC 3501 section 9). */
static bool tag_char(char c)
{
	return c > ' ' && c < 127 && !strchr("(){%*\"\\+", c);
}

static bool atom_char(char c)
{
	return c > ' ' && c < 127 && !strchr("(){\"\\", c);
}

int imap__parse(const char *buf, size_t len, struct imap_cmd *cmd)
{
	const char *p = buf, *e = buf + len, *s;
	int depth = 0;

	memset(cmd, 0, sizeof(*cmd));
	if (e > p && e[-1] == '\n')
		e--;
	if (e > p && e[-1] == '\r')
		e--;
	for (s = p; p < e && tag_char(*p); p++)
		;
	if (p == s || p - s > IMAP_MAX_TAG)
		return -EINVAL;
	cmd->tag = s;
	cmd->taglen = (size_t)(p - s);
	if (p == e || *p++ != ' ')
		return -EINVAL;
	for (s = p; p < e && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')); p++)
		;
	if (p == s || p - s > 16)
		return -EINVAL;
	cmd->name = s;
	cmd->namelen = (size_t)(p - s);
	if (cmd->namelen == 3 && !strncasecmp(s, "UID", 3)) {
		cmd->uid = true;
		if (p == e || *p++ != ' ')
			return -EINVAL;
		for (s = p; p < e && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')); p++)
			;
		if (p == s || p - s > 16)
			return -EINVAL;
		cmd->name = s;
		cmd->namelen = (size_t)(p - s);
	}
	if (p < e && *p != ' ')
		return -EINVAL;
	while (p < e) {
		struct imap_tok *t;

		if (*p == ' ') {
			p++;
			continue;
		}
		if (cmd->ntok == IMAP_MAX_TOKS)
			return -E2BIG;
		t = &cmd->tok[cmd->ntok++];
		if (*p == '(') {
			if (++depth > IMAP_MAX_DEPTH)
				return -EINVAL;
			t->type = IMAP_LPAREN;
			t->p = p++;
			t->n = 1;
		} else if (*p == ')') {
			if (--depth < 0)
				return -EINVAL;
			t->type = IMAP_RPAREN;
			t->p = p++;
			t->n = 1;
		} else if (*p == '"') {
			s = ++p;
			while (p < e && *p != '"') {
				if (*p == '\r' || *p == '\n')
					return -EINVAL;
				if (*p == '\\') {
					if (p + 1 >= e || (p[1] != '"' && p[1] != '\\'))
						return -EINVAL;
					p++;
				}
				p++;
			}
			if (p == e)
				return -EINVAL;
			t->type = IMAP_QUOTED;
			t->p = s;
			t->n = (uint32_t)(p - s);
			p++;
		} else if (*p == '{') {
			uint64_t n = 0;

			s = ++p;
			while (p < e && is_digit(*p) && p - s < 19)
				n = n * 10 + (uint64_t)(*p++ - '0');
			if (p == s || p == e)
				return -EINVAL;
			if (*p == '+')
				p++;
			if (p == e || *p++ != '}')
				return -EINVAL;
			if (p < e && *p == '\r')
				p++;
			if (p == e || *p++ != '\n' || n > (uint64_t)(e - p))
				return -EINVAL;
			t->type = IMAP_LITERAL;
			t->p = p;
			t->n = (uint32_t)n;
			p += n;
		} else {
			s = p;
			if (*p == '\\')
				p++;   /* a flag: "\\" atom */
			while (p < e && *p != ' ' && *p != '(' && *p != ')') {
				if (*p == '[') {
					/* A section: spaces and parentheses inside. */
					while (p < e && *p != ']' && *p != '\r' && *p != '\n')
						p++;
					if (p == e || *p != ']')
						return -EINVAL;
				} else if (!atom_char(*p)) {
					return -EINVAL;
				}
				p++;
			}
			if (p == s)
				return -EINVAL;
			t->type = IMAP_ATOM;
			t->p = s;
			t->n = (uint32_t)(p - s);
		}
	}
	return depth ? -EINVAL : 0;
}

bool imap__tok_str(const struct imap_tok *t, char *out, size_t n)
{
	size_t at = 0;

	if (!n || (t->type != IMAP_ATOM && t->type != IMAP_QUOTED && t->type != IMAP_LITERAL))
		return false;
	for (uint32_t i = 0; i < t->n; i++) {
		char c = t->p[i];

		if (t->type == IMAP_QUOTED && c == '\\' && i + 1 < t->n)
			c = t->p[++i];
		if (!c || at + 1 >= n)
			return false;
		out[at++] = c;
	}
	out[at] = 0;
	return true;
}

bool imap__tok_is(const struct imap_tok *t, const char *word)
{
	return t->type == IMAP_ATOM && strlen(word) == t->n && !strncasecmp(t->p, word, t->n);
}

static bool number(const char **pp, const char *e, uint32_t *v)
{
	const char *p = *pp;
	uint64_t n = 0;

	if (p == e || !is_digit(*p))
		return false;
	while (p < e && is_digit(*p)) {
		n = n * 10 + (uint64_t)(*p++ - '0');
		if (n >= UINT32_MAX)
			return false;
	}
	*v = (uint32_t)n;
	*pp = p;
	return true;
}

static bool seq_number(const char **pp, const char *e, uint32_t *v)
{
	if (*pp < e && **pp == '*') {
		(*pp)++;
		*v = IMAP_STAR;
		return true;
	}
	return number(pp, e, v) && *v > 0;
}

int imap__seqset(const char *p, size_t n, struct imap_seqset *s)
{
	const char *e = p + n;

	s->n = 0;
	if (!n)
		return -EINVAL;
	while (p < e) {
		uint32_t lo, hi;

		if (s->n == IMAP_MAX_RANGES || !seq_number(&p, e, &lo))
			return -EINVAL;
		hi = lo;
		if (p < e && *p == ':') {
			p++;
			if (!seq_number(&p, e, &hi))
				return -EINVAL;
		}
		s->lo[s->n] = lo;
		s->hi[s->n++] = hi;
		if (p < e && *p++ != ',')
			return -EINVAL;
		if (p == e && p[-1] == ',')
			return -EINVAL;
	}
	return 0;
}

bool imap__seq_has(const struct imap_seqset *s, uint32_t v, uint32_t star)
{
	for (unsigned i = 0; i < s->n; i++) {
		uint32_t lo = s->lo[i] == IMAP_STAR ? star : s->lo[i];
		uint32_t hi = s->hi[i] == IMAP_STAR ? star : s->hi[i];

		if (lo > hi) {
			uint32_t t = lo;

			lo = hi;
			hi = t;
		}
		if (v >= lo && v <= hi)
			return true;
	}
	return false;
}

static bool prefix(const char *p, size_t n, const char *word)
{
	size_t wl = strlen(word);

	return n >= wl && !strncasecmp(p, word, wl);
}

static int section(struct imap_item *it, const char *p, size_t n)
{
	uint32_t part;
	const char *e = p + n, *q = p;

	it->spec = p;
	it->specn = (uint32_t)n;
	if (!n) {
		it->section = IMAP_S_ALL;
	} else if (n == 6 && prefix(p, n, "HEADER")) {
		it->section = IMAP_S_HEADER;
	} else if (n == 4 && prefix(p, n, "TEXT")) {
		it->section = IMAP_S_TEXT;
	} else if (prefix(p, n, "HEADER.FIELDS")) {
		const char *l = p + 13;

		it->section = IMAP_S_FIELDS;
		if (prefix(l, (size_t)(e - l), ".NOT")) {
			it->section = IMAP_S_FIELDS_NOT;
			l += 4;
		}
		if (e - l < 4 || l[0] != ' ' || l[1] != '(' || e[-1] != ')')
			return -EINVAL;
		it->fields = l + 2;
		it->fieldsn = (uint32_t)(e - l - 3);
		if (!it->fieldsn)
			return -EINVAL;
	} else if (number(&q, e, &part) && part > 0) {
		it->part = part;
		if (q == e)
			it->section = IMAP_S_PART;
		else if ((size_t)(e - q) == 5 && prefix(q, 5, ".MIME"))
			it->section = IMAP_S_PART_MIME;
		else if (*q == '.')
			it->section = IMAP_S_PART_OTHER;   /* nested: none here */
		else
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int item(const struct imap_tok *t, struct imap_item *items, unsigned *n, unsigned max,
		bool alone)
{
	static const struct {
		const char *name;
		uint8_t kind;
	} simple[] = {
		{ "UID", IMAP_I_UID }, { "FLAGS", IMAP_I_FLAGS },
		{ "INTERNALDATE", IMAP_I_INTERNALDATE }, { "RFC822.SIZE", IMAP_I_SIZE },
		{ "ENVELOPE", IMAP_I_ENVELOPE }, { "BODYSTRUCTURE", IMAP_I_BODYSTRUCTURE },
		{ "BODY", IMAP_I_BODY }, { "RFC822", IMAP_I_RFC822 },
		{ "RFC822.HEADER", IMAP_I_RFC822_HEADER }, { "RFC822.TEXT", IMAP_I_RFC822_TEXT },
	};
	static const struct {
		const char *name;
		uint8_t kinds[5];
		unsigned n;
	} macros[] = {
		{ "ALL", { IMAP_I_FLAGS, IMAP_I_INTERNALDATE, IMAP_I_SIZE, IMAP_I_ENVELOPE }, 4 },
		{ "FAST", { IMAP_I_FLAGS, IMAP_I_INTERNALDATE, IMAP_I_SIZE }, 3 },
		{ "FULL", { IMAP_I_FLAGS, IMAP_I_INTERNALDATE, IMAP_I_SIZE, IMAP_I_ENVELOPE, IMAP_I_BODY }, 5 },
	};
	const char *p = t->p, *e = t->p + t->n, *lb, *rb;
	struct imap_item *it;

	if (t->type != IMAP_ATOM)
		return -EINVAL;
	for (size_t i = 0; alone && i < ARRAY_SIZE(macros); i++)
		if (imap__tok_is(t, macros[i].name)) {
			if (*n + macros[i].n > max)
				return -EINVAL;
			for (unsigned k = 0; k < macros[i].n; k++) {
				memset(&items[*n], 0, sizeof(items[*n]));
				items[(*n)++].kind = macros[i].kinds[k];
			}
			return 0;
		}
	if (*n == max)
		return -EINVAL;
	it = &items[*n];
	memset(it, 0, sizeof(*it));
	for (size_t i = 0; i < ARRAY_SIZE(simple); i++)
		if (imap__tok_is(t, simple[i].name)) {
			it->kind = simple[i].kind;
			(*n)++;
			return 0;
		}
	lb = memchr(p, '[', t->n);
	if (!lb)
		return -EINVAL;
	if ((size_t)(lb - p) == 4 && prefix(p, 4, "BODY"))
		it->peek = false;
	else if ((size_t)(lb - p) == 9 && prefix(p, 9, "BODY.PEEK"))
		it->peek = true;
	else
		return -EINVAL;
	rb = memchr(lb, ']', (size_t)(e - lb));
	if (!rb || section(it, lb + 1, (size_t)(rb - lb - 1)))
		return -EINVAL;
	it->kind = IMAP_I_SECTION;
	p = rb + 1;
	if (p < e) {
		if (*p++ != '<' || !number(&p, e, &it->off) || p == e || *p++ != '.' ||
		    !number(&p, e, &it->len) || !it->len || p == e || *p++ != '>' || p != e)
			return -EINVAL;
		it->partial = true;
	}
	(*n)++;
	return 0;
}

int imap__fetch_items(const struct imap_cmd *cmd, unsigned t, struct imap_item *items,
		      unsigned max)
{
	unsigned n = 0;

	if (t >= cmd->ntok)
		return -EINVAL;
	if (cmd->tok[t].type != IMAP_LPAREN) {
		if (t + 1 != cmd->ntok || item(&cmd->tok[t], items, &n, max, true))
			return -EINVAL;
		return (int)n;
	}
	for (t++; t < cmd->ntok && cmd->tok[t].type != IMAP_RPAREN; t++)
		if (item(&cmd->tok[t], items, &n, max, false))
			return -EINVAL;
	if (t + 1 != cmd->ntok || !n)
		return -EINVAL;
	return (int)n;
}

bool imap__field_listed(const struct imap_item *it, const char *name, size_t n)
{
	const char *p = it->fields, *e = it->fields + it->fieldsn;

	while (p < e) {
		const char *s;

		while (p < e && (*p == ' ' || *p == '"'))
			p++;
		s = p;
		while (p < e && *p != ' ' && *p != '"')
			p++;
		if ((size_t)(p - s) == n && n && !strncasecmp(s, name, n))
			return true;
	}
	return false;
}

/* A number after word in [s, e), e.g. "UID 12". */
static bool find_number(const char *s, const char *e, const char *word, uint32_t *v)
{
	size_t wl = strlen(word);

	for (const char *p = s; p + wl < e; p++) {
		const char *q;

		if ((p != s && p[-1] != ' ' && p[-1] != '(' && p[-1] != '[') ||
		    strncasecmp(p, word, wl) || p[wl] != ' ')
			continue;
		q = p + wl + 1;
		if (number(&q, e, v))
			return true;
	}
	return false;
}

int imap__parse_response(const char *line, size_t n, struct imap_resp *r)
{
	const char *p = line, *e = line + n, *s;
	size_t wl;

	memset(r, 0, sizeof(*r));
	if (!n)
		return -EINVAL;
	r->has_literal = imap__line_literal(line, n, &r->literal, &(bool){ false });
	if (*p == '+') {
		r->kind = IMAP_R_CONT;
		return n == 1 || p[1] == ' ' ? 0 : -EINVAL;
	}
	if (*p == '*') {
		if (n < 3 || p[1] != ' ')
			return -EINVAL;
		r->kind = IMAP_R_UNTAGGED;
		p += 2;
		if (is_digit(*p)) {
			if (!number(&p, e, &r->num) || p == e || *p++ != ' ')
				return -EINVAL;
		}
	} else {
		for (s = p; p < e && tag_char(*p); p++)
			;
		if (p == s || p - s > IMAP_MAX_TAG || p == e || *p != ' ')
			return -EINVAL;
		r->kind = IMAP_R_TAGGED;
		r->tag = s;
		r->taglen = (size_t)(p - s);
		p++;
	}
	for (s = p; p < e && *p != ' ' && *p != '(' && *p != '[' && p - s < 15; p++)
		r->what[p - s] = upper(*p);
	wl = (size_t)(p - s);
	if (!wl)
		return -EINVAL;
	if (!strcmp(r->what, "OK"))
		r->status = IMAP_OK;
	else if (!strcmp(r->what, "NO"))
		r->status = IMAP_NO;
	else if (!strcmp(r->what, "BAD"))
		r->status = IMAP_BAD;
	else if (!strcmp(r->what, "BYE"))
		r->status = IMAP_BYE;
	else if (!strcmp(r->what, "PREAUTH"))
		r->status = IMAP_PREAUTH;
	if (r->kind == IMAP_R_TAGGED && r->status != IMAP_OK && r->status != IMAP_NO &&
	    r->status != IMAP_BAD)
		return -EINVAL;
	if (r->status) {
		/* A response code: [UIDNEXT 12], [UIDVALIDITY 3], ... */
		while (p < e && *p == ' ')
			p++;
		if (p < e && *p == '[') {
			const char *rb = memchr(p, ']', (size_t)(e - p));

			if (!rb)
				return -EINVAL;
			find_number(p + 1, rb, "UIDNEXT", &r->uidnext);
			find_number(p + 1, rb, "UIDVALIDITY", &r->uidvalidity);
		}
	} else if (!strcmp(r->what, "FETCH")) {
		const char *lit = e, *f;

		/* Items before a literal only: its data is not on this line. */
		if (r->has_literal)
			lit = memrchr(line, '{', n);
		find_number(p, lit, "UID", &r->uid);
		for (f = p; f + 7 <= lit; f++)
			if (!strncasecmp(f, "FLAGS (", 7) && (f == p || f[-1] == ' ' || f[-1] == '(')) {
				const char *rp = memchr(f, ')', (size_t)(lit - f));

				r->has_flags = true;
				for (const char *q = f + 7; rp && q + 5 <= rp; q++)
					if (!strncasecmp(q, "\\Seen", 5))
						r->seen = true;
				break;
			}
	}
	return 0;
}

/* ---- server: mailboxes ------------------------------------------------------ */

#define IMAP_IDLE_NOAUTH_S 30.0    /* a silent peer before LOGIN */
#define IMAP_IDLE_AUTH_S 120.0     /* ... after it */
#define IMAP_IDLE_IDLE_S 1800.0    /* in IDLE (RFC 2177: re-issue within 29 min) */
#define IMAP_MAX_ERRORS 10
#define IMAP_MAX_APPEND (40u << 20)
#define IMAP_FETCH_HIGH (256u << 10)   /* queued output before a FETCH pauses */

enum { F_SEEN = 1, F_ANSWERED = 2, F_FLAGGED = 4, F_DELETED = 8, F_DRAFT = 16 };

static const struct {
	const char *name;
	uint8_t bit;
} flag_names[] = {
	{ "\\Seen", F_SEEN }, { "\\Answered", F_ANSWERED }, { "\\Flagged", F_FLAGGED },
	{ "\\Deleted", F_DELETED }, { "\\Draft", F_DRAFT },
};

/* The folders every login has; only INBOX holds mail (APPENDs to the
 * others are taken and dropped, as the server stores nothing). */
static const struct {
	const char *name, *attr;
} folders[] = {
	{ "INBOX", "\\HasNoChildren" }, { "Sent", "\\HasNoChildren \\Sent" },
	{ "Drafts", "\\HasNoChildren \\Drafts" }, { "Trash", "\\HasNoChildren \\Trash" },
	{ "Archive", "\\HasNoChildren \\Archive" },
};

struct imap_server {
	struct io io;
	struct host *h;
	struct stats *st;
	const struct model *m;
	uint64_t start;           /* loop clock at serve(): arrivals count from it */
	int64_t start_wall;       /* and the wall clock then, for dates */
	struct imap_server *next;
};

/* Listeners live as long as the process; this list keeps them reachable
 * (the agent API has no teardown, and leak checkers look for owners). */
static struct imap_server *servers;

enum { I_NOTAUTH, I_AUTH, I_SELECTED, I_LOGOUT };
enum { IN_CMD, IN_SWALLOW, IN_APPEND_TAIL, IN_SKIPLINE, IN_IDLE };

/* A FETCH answered in pieces as the output drains: its text, re-parsed
 * on each resume, and where it stopped. */
struct imap_pend {
	uint32_t next;
	size_t len;
	char cmd[];
};

struct imap_srv {
	struct conn c;
	struct timer idle;
	struct defer d;
	struct imap_server *srv;
	struct mail_box box;
	uint8_t *flags;           /* selected INBOX: one byte per message */
	uint32_t exists, cap;     /* messages; room in flags */
	uint32_t arrived;         /* of them, arrived since start */
	uint32_t announced;       /* EXISTS the client was told */
	uint64_t next_at;         /* loop clock of the next arrival */
	uint64_t deadline;        /* loop clock the peer is logged out */
	uint64_t last_queued;     /* output left at the last deadline */
	uint64_t swallow;         /* literal bytes still to drop */
	struct imap_pend *pend;
	char tag[IMAP_MAX_TAG + 1];  /* of the APPEND streaming or IDLE */
	uint8_t state, in, conts, errors, folder;
	bool readonly, append_ok;
};

static uint64_t arrival_gap(const struct imap_server *srv, const struct mail_box *b, uint32_t k)
{
	struct rng r;
	double s;

	rng_seed(&r, b->seed ^ (0xa5a5a5a5ull + k * 0x9e3779b97f4a7c15ull));
	s = model_draw(srv->m, "arrival", &r, 5.0);
	return host_ns(s < 0.001 ? 0.001 : s);
}

/* Loop clock of arrival k (from 1) in b; O(k), k <= MAIL_BOX_MAX. */
static uint64_t arrival_at(const struct imap_server *srv, const struct mail_box *b, uint32_t k)
{
	uint64_t t = srv->start;

	for (uint32_t i = 1; i <= k; i++)
		t += arrival_gap(srv, b, i);
	return t;
}

/* Messages in b now, counting arrivals. */
static uint32_t box_count(const struct imap_server *srv, const struct mail_box *b, uint64_t now,
			  uint64_t *next)
{
	uint32_t n = b->base, k = 0;
	uint64_t t = srv->start + arrival_gap(srv, b, 1);

	while (t <= now && n < MAIL_BOX_MAX) {
		n++;
		k++;
		t += arrival_gap(srv, b, k + 1);
	}
	if (next)
		*next = n < MAIL_BOX_MAX ? t : UINT64_MAX;
	return n;
}

static uint8_t base_flags(const struct mail_box *b, uint32_t uid)
{
	uint64_t h = rng_hash(&uid, sizeof(uid), b->seed);
	uint8_t f = 0;

	if (uid <= b->base - b->unseen) {
		f |= F_SEEN;
		if (h % 4 == 0)
			f |= F_ANSWERED;
	}
	if ((h >> 8) % 13 == 0)
		f |= F_FLAGGED;
	return f;
}

static int64_t msg_date(const struct imap_server *srv, const struct mail_box *b, uint32_t uid)
{
	uint64_t h = rng_hash(&uid, sizeof(uid), b->seed ^ 0xda7e);

	if (uid <= b->base)
		return srv->start_wall - (int64_t)(b->base - uid + 1) * 2400 - (int64_t)(h % 2400);
	return srv->start_wall + (int64_t)((arrival_at(srv, b, uid - b->base) - srv->start) / 1000000000u);
}

static void msg_spec(const struct imap_srv *s, uint32_t uid, struct mail_spec *spec)
{
	mail_inbox(spec, s->box.owner, s->box.seed, uid, s->srv->m, msg_date(s->srv, &s->box, uid));
}

/* Catch up with arrivals in the selected INBOX. */
static void box_update(struct imap_srv *s)
{
	uint64_t now = loop_now(s->c.loop);

	if (s->state != I_SELECTED || s->folder != 0)
		return;
	while (now >= s->next_at && s->exists < MAIL_BOX_MAX) {
		if (s->exists == s->cap) {
			s->cap = MIN(MAX(s->cap * 2, 16u), (uint32_t)MAIL_BOX_MAX);
			s->flags = xreallocarray(s->flags, s->cap, 1);
		}
		s->flags[s->exists++] = 0;
		s->arrived++;
		s->next_at = s->exists < MAIL_BOX_MAX ?
			s->next_at + arrival_gap(s->srv, &s->box, s->arrived + 1) : UINT64_MAX;
	}
}

static void announce(struct imap_srv *s)
{
	box_update(s);
	if (s->state == I_SELECTED && s->exists != s->announced) {
		conn_printf(&s->c, "* %u EXISTS\r\n", s->exists);
		s->announced = s->exists;
	}
}

/* ---- server: output helpers ------------------------------------------------ */

static void put_quoted(struct buf *b, const char *str)
{
	buf_putc(b, '"');
	for (const char *p = str; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_putc(b, '\\');
		buf_putc(b, *p);
	}
	buf_putc(b, '"');
}

static void put_flags(struct buf *b, uint8_t f)
{
	bool first = true;

	buf_put(b, "(", 1);
	for (size_t i = 0; i < ARRAY_SIZE(flag_names); i++)
		if (f & flag_names[i].bit) {
			buf_printf(b, "%s%s", first ? "" : " ", flag_names[i].name);
			first = false;
		}
	buf_put(b, ")", 1);
}

static void put_address(struct buf *b, uint32_t p)
{
	char name[64], addr[96], *at;

	mail_name(p, name, sizeof(name));
	mail_addr(p, addr, sizeof(addr));
	at = strchr(addr, '@');
	*at = 0;
	buf_put(b, "(", 1);
	put_quoted(b, name);
	buf_put(b, " NIL ", 5);
	put_quoted(b, addr);
	buf_put(b, " ", 1);
	put_quoted(b, at + 1);
	buf_put(b, ")", 1);
}

static void put_addresses(struct buf *b, const uint32_t *who, unsigned n)
{
	if (!n) {
		buf_put(b, "NIL", 3);
		return;
	}
	buf_put(b, "(", 1);
	for (unsigned i = 0; i < n; i++)
		put_address(b, who[i]);
	buf_put(b, ")", 1);
}

static void put_envelope(struct buf *b, const struct mail_spec *spec)
{
	char text[160];

	buf_put(b, "ENVELOPE (", 10);
	mail_date(spec->date, text, sizeof(text));
	put_quoted(b, text);
	buf_put(b, " ", 1);
	mail_subject(spec, text, sizeof(text));
	put_quoted(b, text);
	for (int i = 0; i < 3; i++) {   /* from, sender, reply-to */
		buf_put(b, " ", 1);
		put_addresses(b, &spec->from, 1);
	}
	buf_put(b, " ", 1);
	put_addresses(b, spec->rcpt, spec->nto);
	buf_put(b, " ", 1);
	put_addresses(b, spec->rcpt + spec->nto, (unsigned)(spec->nrcpt - spec->nto));
	buf_put(b, " NIL ", 5);   /* bcc */
	if (spec->kind == MAIL_REPLY) {
		mail_msgid(spec->parent, text + 1, sizeof(text) - 2);
		text[0] = '<';
		strcat(text, ">");
		put_quoted(b, text);
	} else {
		buf_put(b, "NIL", 3);
	}
	buf_put(b, " ", 1);
	mail_msgid(spec->key, text + 1, sizeof(text) - 2);
	text[0] = '<';
	strcat(text, ">");
	put_quoted(b, text);
	buf_put(b, ")", 1);
}

static void put_structure(struct buf *b, const struct mail_msg *m, bool ext)
{
	buf_put(b, "(", 1);
	for (unsigned i = 0; i < m->nparts; i++) {
		const struct mail_part *p = &m->part[i];
		size_t size = p->end - p->body;

		buf_printf(b, "(\"%s\" \"%s\" ", p->type, p->subtype);
		if (p->name[0])
			buf_printf(b, "(\"name\" \"%s\")", p->name);
		else
			buf_printf(b, "(\"charset\" \"utf-8\")");
		buf_printf(b, " NIL NIL \"%s\" %zu", p->enc, size);
		if (!strcmp(p->type, "text"))
			buf_printf(b, " %zu", p->lines);
		if (ext) {
			if (p->name[0])
				buf_printf(b, " NIL (\"attachment\" (\"filename\" \"%s\")) NIL NIL",
					    p->name);
			else
				buf_printf(b, " NIL NIL NIL NIL");
		}
		buf_put(b, ")", 1);
	}
	buf_printf(b, " \"%s\"", m->subtype);
	if (ext)
		buf_printf(b, " (\"boundary\" \"%s\") NIL NIL NIL", m->boundary);
	buf_put(b, ")", 1);
}

static void put_internaldate(struct buf *b, int64_t t)
{
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm))
		memset(&tm, 0, sizeof(tm));
	buf_printf(b, "INTERNALDATE \"%02d-%s-%04d %02d:%02d:%02d +0000\"", tm.tm_mday,
		    months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- server: sessions ------------------------------------------------------ */

static void srv_free(struct defer *d)
{
	struct imap_srv *s = container_of(d, struct imap_srv, d);

	free(s->flags);
	free(s->pend);
	free(s);
}

/* Sleep until the deadline, or in IDLE until the next arrival to tell
 * the client about. */
static void srv_arm(struct imap_srv *s)
{
	uint64_t now = loop_now(s->c.loop), when = s->deadline > now ? s->deadline - now : 0;

	if (s->in == IN_IDLE && s->state == I_SELECTED && s->folder == 0 && s->next_at != UINT64_MAX)
		when = MIN(when, s->next_at > now ? s->next_at - now : 0);
	loop_timer_start(s->c.loop, &s->idle, when);
}

/* The peer did something: the autologout timer starts again. */
static void srv_touch(struct imap_srv *s)
{
	double t = s->in == IN_IDLE ? IMAP_IDLE_IDLE_S :
		   s->state == I_NOTAUTH ? IMAP_IDLE_NOAUTH_S : IMAP_IDLE_AUTH_S;

	if (s->state == I_LOGOUT)
		return;
	s->deadline = loop_now(s->c.loop) + host_ns(t);
	s->last_queued = s->c.queued;
	srv_arm(s);
}

static void srv_bye(struct imap_srv *s, const char *why)
{
	conn_printf(&s->c, "* BYE %s\r\n", why);
	s->state = I_LOGOUT;
	conn_shutdown(&s->c);
	loop_timer_start(s->c.loop, &s->idle, host_ns(5));
}

static void srv_idle_cb(struct loop *l, struct timer *t)
{
	struct imap_srv *s = container_of(t, struct imap_srv, idle);

	if (s->state == I_LOGOUT) {
		conn_close(&s->c, -ETIMEDOUT);   /* it would not take our FIN */
		return;
	}
	/* A client still taking a long answer is not idle. */
	if (s->c.queued && s->c.queued != s->last_queued) {
		srv_touch(s);
		return;
	}
	if (loop_now(l) < s->deadline) {
		announce(s);   /* an arrival, in IDLE */
		srv_arm(s);
		return;
	}
	srv_bye(s, "Autologout; idle for too long");
}

/* A protocol error of the peer: counted, answered BAD; a peer that
 * keeps erring is sent away. */
static void srv_bad(struct imap_srv *s, const char *tag, size_t taglen, const char *why)
{
	s->srv->st->errors++;
	if (tag)
		conn_printf(&s->c, "%.*s BAD %s\r\n", (int)taglen, tag, why);
	else
		conn_printf(&s->c, "* BAD %s\r\n", why);
	if (++s->errors >= IMAP_MAX_ERRORS)
		srv_bye(s, "Too many invalid commands");
}

static void ok(struct imap_srv *s, const struct imap_cmd *cmd, const char *what)
{
	conn_printf(&s->c, "%.*s OK %s%.*s completed\r\n", (int)cmd->taglen, cmd->tag,
		    cmd->uid ? "UID " : "", (int)cmd->namelen, what ? what : cmd->name);
}

static int folder_of(const struct imap_tok *t)
{
	char name[64];

	if (!imap__tok_str(t, name, sizeof(name)))
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(folders); i++)
		if (i == 0 ? !strcasecmp(name, "INBOX") : !strcmp(name, folders[i].name))
			return (int)i;
	return -1;
}

static void unselect(struct imap_srv *s)
{
	free(s->flags);
	s->flags = NULL;
	s->exists = s->cap = s->arrived = s->announced = 0;
	s->state = I_AUTH;
}

/* LIST patterns: '*' matches anything, '%' anything but the '/'. */
static bool match(const char *pat, const char *name)
{
	if (!*pat)
		return !*name;
	if (*pat == '*' || *pat == '%') {
		for (const char *n = name;; n++) {
			if (match(pat + 1, n))
				return true;
			if (!*n || (*pat == '%' && *n == '/'))
				return false;
		}
	}
	return *name && (*pat == *name || upper(*pat) == upper(*name)) && match(pat + 1, name + 1);
}

static void cmd_list(struct imap_srv *s, const struct imap_cmd *cmd)
{
	char ref[64], pat[128], full[192];
	bool lsub = cmd->namelen == 4 && !strncasecmp(cmd->name, "LSUB", 4);

	if (cmd->ntok != 2 || !imap__tok_str(&cmd->tok[0], ref, sizeof(ref)) ||
	    (!imap__tok_str(&cmd->tok[1], pat, sizeof(pat)) && cmd->tok[1].n)) {
		srv_bad(s, cmd->tag, cmd->taglen, "Syntax: LIST reference mailbox");
		return;
	}
	if (!cmd->tok[1].n) {
		conn_printf(&s->c, "* %s (\\Noselect) \"/\" \"\"\r\n", lsub ? "LSUB" : "LIST");
	} else {
		snprintf(full, sizeof(full), "%s%s", ref, pat);
		for (size_t i = 0; i < ARRAY_SIZE(folders); i++)
			if (match(full, folders[i].name))
				conn_printf(&s->c, "* %s (%s) \"/\" \"%s\"\r\n", lsub ? "LSUB" : "LIST",
					    folders[i].attr, folders[i].name);
	}
	ok(s, cmd, NULL);
}

static void cmd_select(struct imap_srv *s, const struct imap_cmd *cmd)
{
	bool examine = cmd->namelen == 7 && !strncasecmp(cmd->name, "EXAMINE", 7);
	uint32_t first_unseen = 0;
	int f;

	if (cmd->ntok != 1) {
		srv_bad(s, cmd->tag, cmd->taglen, "Syntax: SELECT mailbox");
		return;
	}
	unselect(s);
	f = folder_of(&cmd->tok[0]);
	if (f < 0) {
		conn_printf(&s->c, "%.*s NO [NONEXISTENT] Mailbox does not exist\r\n",
			    (int)cmd->taglen, cmd->tag);
		return;
	}
	s->state = I_SELECTED;
	s->folder = (uint8_t)f;
	s->readonly = examine;
	if (f == 0) {
		s->exists = box_count(s->srv, &s->box, loop_now(s->c.loop), &s->next_at);
		s->arrived = s->exists - s->box.base;
		s->cap = MAX(s->exists, 16u);
		s->flags = xcalloc(s->cap, 1);
		for (uint32_t u = 1; u <= s->exists; u++) {
			s->flags[u - 1] = u <= s->box.base ? base_flags(&s->box, u) : 0;
			if (!first_unseen && !(s->flags[u - 1] & F_SEEN))
				first_unseen = u;
		}
	} else {
		s->next_at = UINT64_MAX;
	}
	s->announced = s->exists;
	conn_printf(&s->c, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
			   "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)] Flags permitted\r\n"
			   "* %u EXISTS\r\n* 0 RECENT\r\n", s->exists);
	if (first_unseen)
		conn_printf(&s->c, "* OK [UNSEEN %u] First unseen\r\n", first_unseen);
	conn_printf(&s->c, "* OK [UIDVALIDITY %u] UIDs valid\r\n* OK [UIDNEXT %u] Predicted next UID\r\n"
			   "%.*s OK [%s] %s completed\r\n",
		    (unsigned)(s->box.seed % 1000000000u) + 1, s->exists + 1, (int)cmd->taglen, cmd->tag,
		    examine ? "READ-ONLY" : "READ-WRITE", examine ? "EXAMINE" : "SELECT");
}

static void cmd_status(struct imap_srv *s, const struct imap_cmd *cmd)
{
	uint32_t exists = 0, unseen = 0;
	char name[64];
	int f;

	if (cmd->ntok < 3 || cmd->tok[1].type != IMAP_LPAREN ||
	    cmd->tok[cmd->ntok - 1].type != IMAP_RPAREN ||
	    !imap__tok_str(&cmd->tok[0], name, sizeof(name))) {
		srv_bad(s, cmd->tag, cmd->taglen, "Syntax: STATUS mailbox (items)");
		return;
	}
	f = folder_of(&cmd->tok[0]);
	if (f < 0) {
		conn_printf(&s->c, "%.*s NO [NONEXISTENT] Mailbox does not exist\r\n",
			    (int)cmd->taglen, cmd->tag);
		return;
	}
	if (f == 0) {
		exists = box_count(s->srv, &s->box, loop_now(s->c.loop), NULL);
		unseen = exists - s->box.base + s->box.unseen;
	}
	conn_printf(&s->c, "* STATUS \"%s\" (", folders[f].name);
	for (unsigned i = 2; i + 1 < cmd->ntok; i++) {
		const struct imap_tok *t = &cmd->tok[i];
		const char *sep = i > 2 ? " " : "";

		if (imap__tok_is(t, "MESSAGES"))
			conn_printf(&s->c, "%sMESSAGES %u", sep, exists);
		else if (imap__tok_is(t, "RECENT"))
			conn_printf(&s->c, "%sRECENT 0", sep);
		else if (imap__tok_is(t, "UIDNEXT"))
			conn_printf(&s->c, "%sUIDNEXT %u", sep, exists + 1);
		else if (imap__tok_is(t, "UIDVALIDITY"))
			conn_printf(&s->c, "%sUIDVALIDITY %u", sep,
				    (unsigned)(s->box.seed % 1000000000u) + 1);
		else if (imap__tok_is(t, "UNSEEN"))
			conn_printf(&s->c, "%sUNSEEN %u", sep, unseen);
	}
	conn_write(&s->c, ")\r\n", 3);
	ok(s, cmd, NULL);
}

/* The bytes of a section of m: a range, or (FIELDS) a filtered header
 * copied into out; returns the length, with *from the offset in m or
 * SIZE_MAX when the data is in out. */
static size_t section_data(const struct mail_msg *m, const struct imap_item *it, char *out,
			   size_t outlen, size_t *from)
{
	const struct mail_part *p;

	*from = 0;
	switch (it->kind) {
	case IMAP_I_RFC822:
		return m->size;
	case IMAP_I_RFC822_HEADER:
		return m->hdr_len;
	case IMAP_I_RFC822_TEXT:
		*from = m->hdr_len;
		return m->size - m->hdr_len;
	default:
		break;
	}
	switch (it->section) {
	case IMAP_S_ALL:
		return m->size;
	case IMAP_S_HEADER:
		return m->hdr_len;
	case IMAP_S_TEXT:
		*from = m->hdr_len;
		return m->size - m->hdr_len;
	case IMAP_S_FIELDS:
	case IMAP_S_FIELDS_NOT: {
		/* The header is generated text: m->buf[0..hdr_len). */
		const char *h = m->buf, *e = m->buf + m->hdr_len - 2;
		size_t at = 0;

		*from = SIZE_MAX;
		while (h < e) {
			const char *f = h, *colon;
			bool keep;

			/* A field: its line and the folded ones after it. */
			do {
				const char *nl = memchr(h, '\n', (size_t)(e - h));

				h = nl ? nl + 1 : e;
			} while (h < e && (*h == ' ' || *h == '\t'));
			colon = memchr(f, ':', (size_t)(h - f));
			keep = colon && imap__field_listed(it, f, (size_t)(colon - f));
			if (it->section == IMAP_S_FIELDS_NOT)
				keep = colon && !keep;
			if (keep && at + (size_t)(h - f) + 2 <= outlen) {
				memcpy(out + at, f, (size_t)(h - f));
				at += (size_t)(h - f);
			}
		}
		memcpy(out + at, "\r\n", 2);
		return at + 2;
	}
	case IMAP_S_PART:
	case IMAP_S_PART_MIME:
		if (it->part > m->nparts)
			return 0;
		p = &m->part[it->part - 1];
		if (it->section == IMAP_S_PART) {
			*from = p->body;
			return p->end - p->body;
		}
		*from = p->hdr;
		return p->body - p->hdr;
	default:
		return 0;
	}
}

static void put_section(struct imap_srv *s, struct buf *b, const struct mail_msg *m,
			const struct imap_item *it)
{
	static const char *const names[] = {
		[IMAP_I_RFC822] = "RFC822", [IMAP_I_RFC822_HEADER] = "RFC822.HEADER",
		[IMAP_I_RFC822_TEXT] = "RFC822.TEXT",
	};
	char buf[MAIL_BUF + 2];
	size_t from, len = section_data(m, it, buf, sizeof(buf), &from), off = 0;

	if (it->partial) {
		off = MIN((size_t)it->off, len);
		len = MIN((size_t)it->len, len - off);
	}
	if (it->kind == IMAP_I_SECTION) {
		buf_printf(b, "BODY[%.*s]", (int)it->specn, it->spec);
		if (it->partial)
			buf_printf(b, "<%u>", it->off);
	} else {
		buf_puts(b, names[it->kind]);
	}
	buf_printf(b, " {%zu}\r\n", len);
	conn_write(&s->c, b->p, b->len);
	b->len = 0;
	if (from == SIZE_MAX)
		conn_write(&s->c, buf + off, len);
	else
		mail_send(&s->c, m, from + off, len, false);
}

static bool literal_item(const struct imap_item *it)
{
	return it->kind == IMAP_I_SECTION || it->kind == IMAP_I_RFC822 ||
	       it->kind == IMAP_I_RFC822_HEADER || it->kind == IMAP_I_RFC822_TEXT;
}

static void fetch_one(struct imap_srv *s, uint32_t seq, const struct imap_item *items, int n,
		      bool uid)
{
	struct mail_spec spec;
	struct mail_msg m;
	struct buf b = { 0 };
	bool need_msg = false, want_flags = false, set_seen = false, first = true;

	for (int i = 0; i < n; i++) {
		const struct imap_item *it = &items[i];

		if (it->kind == IMAP_I_FLAGS)
			want_flags = true;
		if (literal_item(it) || it->kind == IMAP_I_SIZE || it->kind == IMAP_I_BODY ||
		    it->kind == IMAP_I_BODYSTRUCTURE)
			need_msg = true;
		if ((it->kind == IMAP_I_SECTION && !it->peek) || it->kind == IMAP_I_RFC822 ||
		    it->kind == IMAP_I_RFC822_TEXT)
			set_seen = true;
	}
	/* Reading a body sets \Seen, and the change is told (RFC 3501
	 * 6.4.5) even when FLAGS was not asked for. */
	set_seen = set_seen && !s->readonly && !(s->flags[seq - 1] & F_SEEN);
	if (set_seen)
		s->flags[seq - 1] |= F_SEEN;
	msg_spec(s, seq, &spec);
	if (need_msg)
		mail_build(&spec, &s->srv->h->content, &m);
	buf_printf(&b, "* %u FETCH (", seq);
	if (uid) {
		buf_printf(&b, "UID %u", seq);
		first = false;
	}
	/* Literals go last: a response line that ends in its literal is
	 * what readers of the protocol (tshark among them) expect. */
	for (int i = 0; i < n; i++) {
		const struct imap_item *it = &items[i];

		if (literal_item(it) || it->kind == IMAP_I_UID)
			continue;
		if (!first)
			buf_put(&b, " ", 1);
		first = false;
		switch (it->kind) {
		case IMAP_I_FLAGS:
			buf_put(&b, "FLAGS ", 6);
			put_flags(&b, s->flags[seq - 1]);
			break;
		case IMAP_I_INTERNALDATE:
			put_internaldate(&b, spec.date);
			break;
		case IMAP_I_SIZE:
			buf_printf(&b, "RFC822.SIZE %zu", m.size);
			break;
		case IMAP_I_ENVELOPE:
			put_envelope(&b, &spec);
			break;
		case IMAP_I_BODYSTRUCTURE:
		case IMAP_I_BODY:
			buf_printf(&b, "%s ", it->kind == IMAP_I_BODY ? "BODY" : "BODYSTRUCTURE");
			put_structure(&b, &m, it->kind == IMAP_I_BODYSTRUCTURE);
			break;
		default:
			break;
		}
	}
	if (set_seen && !want_flags) {
		buf_printf(&b, "%sFLAGS ", first ? "" : " ");
		put_flags(&b, s->flags[seq - 1]);
		first = false;
	}
	for (int i = 0; i < n; i++)
		if (literal_item(&items[i])) {
			if (!first)
				buf_put(&b, " ", 1);
			first = false;
			put_section(s, &b, &m, &items[i]);
		}
	buf_put(&b, ")\r\n", 3);
	conn_write(&s->c, b.p, b.len);
	buf_free(&b);
}

/* FETCH, from where a paused one stopped: 1 when it paused again. */
static int cmd_fetch(struct imap_srv *s, const struct imap_cmd *cmd, const char *raw, size_t rawlen)
{
	struct imap_item items[IMAP_MAX_ITEMS];
	struct imap_seqset set;
	bool uid = cmd->uid;
	uint32_t seq = s->pend ? s->pend->next : 1;
	int n;

	if (cmd->ntok < 2 || cmd->tok[0].type != IMAP_ATOM ||
	    imap__seqset(cmd->tok[0].p, cmd->tok[0].n, &set) ||
	    (n = imap__fetch_items(cmd, 1, items, IMAP_MAX_ITEMS)) <= 0) {
		srv_bad(s, cmd->tag, cmd->taglen, "Syntax: FETCH sequence-set items");
		return 0;
	}
	/* A plain FETCH with UID among its items says it like UID FETCH. */
	for (int i = 0; i < n; i++)
		if (items[i].kind == IMAP_I_UID)
			uid = true;
	for (; seq <= s->exists; seq++) {
		if (!imap__seq_has(&set, seq, s->exists))
			continue;
		if (s->c.queued > IMAP_FETCH_HIGH) {
			if (!s->pend) {
				s->pend = xmalloc(sizeof(*s->pend) + rawlen);
				memcpy(s->pend->cmd, raw, rawlen);
				s->pend->len = rawlen;
			}
			s->pend->next = seq;
			return 1;
		}
		fetch_one(s, seq, items, n, uid);
	}
	free(s->pend);
	s->pend = NULL;
	ok(s, cmd, NULL);
	return 0;
}

static int parse_flags(const struct imap_cmd *cmd, unsigned from, uint8_t *out)
{
	unsigned i = from, end = cmd->ntok;

	*out = 0;
	if (i < cmd->ntok && cmd->tok[i].type == IMAP_LPAREN) {
		i++;
		end = cmd->ntok - 1;
		if (cmd->tok[end].type != IMAP_RPAREN)
			return -EINVAL;
	}
	for (; i < end; i++) {
		const struct imap_tok *t = &cmd->tok[i];
		size_t k;

		if (t->type != IMAP_ATOM)
			return -EINVAL;
		if (t->p[0] != '\\')
			continue;   /* keywords are taken and forgotten */
		for (k = 0; k < ARRAY_SIZE(flag_names); k++)
			if (imap__tok_is(t, flag_names[k].name)) {
				*out |= flag_names[k].bit;
				break;
			}
		if (k == ARRAY_SIZE(flag_names))
			return -EINVAL;
	}
	return 0;
}

static void cmd_store(struct imap_srv *s, const struct imap_cmd *cmd)
{
	struct imap_seqset set;
	struct buf b = { 0 };
	char what[24];
	bool silent;
	uint8_t f;
	int mode;   /* +1 add, -1 remove, 0 replace */

	if (cmd->ntok < 3 || cmd->tok[0].type != IMAP_ATOM ||
	    imap__seqset(cmd->tok[0].p, cmd->tok[0].n, &set) ||
	    !imap__tok_str(&cmd->tok[1], what, sizeof(what)) || parse_flags(cmd, 2, &f)) {
		srv_bad(s, cmd->tag, cmd->taglen, "Syntax: STORE sequence-set [+-]FLAGS[.SILENT] (flags)");
		return;
	}
	mode = what[0] == '+' ? 1 : what[0] == '-' ? -1 : 0;
	if (strcasecmp(what + (mode ? 1 : 0), "FLAGS") && strcasecmp(what + (mode ? 1 : 0), "FLAGS.SILENT")) {
		srv_bad(s, cmd->tag, cmd->taglen, "Syntax: STORE sequence-set [+-]FLAGS[.SILENT] (flags)");
		return;
	}
	silent = strcasestr(what, ".SILENT") != NULL;
	if (s->readonly) {
		conn_printf(&s->c, "%.*s NO [READ-ONLY] Mailbox is read-only\r\n", (int)cmd->taglen,
			    cmd->tag);
		return;
	}
	for (uint32_t seq = 1; seq <= s->exists; seq++) {
		uint8_t *fl = &s->flags[seq - 1];

		if (!imap__seq_has(&set, seq, s->exists))
			continue;
		*fl = mode > 0 ? (uint8_t)(*fl | f) : mode < 0 ? (uint8_t)(*fl & ~f) : f;
		if (silent)
			continue;
		buf_printf(&b, "* %u FETCH (", seq);
		if (cmd->uid)
			buf_printf(&b, "UID %u ", seq);
		buf_puts(&b, "FLAGS ");
		put_flags(&b, *fl);
		buf_puts(&b, ")\r\n");
	}
	if (b.len)
		conn_write(&s->c, b.p, b.len);
	buf_free(&b);
	ok(s, cmd, NULL);
}

/* SEARCH keys, evaluated for message seq (validate: seq 0, syntax only).
 * 1 match, 0 no match, -EINVAL a bad key. */
static int search_key(struct imap_srv *s, const struct imap_cmd *cmd, unsigned *i, uint32_t seq,
		      const struct mail_spec *spec, int depth)
{
	static const struct {
		const char *name;
		uint8_t bit;
		bool set;
	} flagkeys[] = {
		{ "SEEN", F_SEEN, true }, { "UNSEEN", F_SEEN, false },
		{ "ANSWERED", F_ANSWERED, true }, { "UNANSWERED", F_ANSWERED, false },
		{ "FLAGGED", F_FLAGGED, true }, { "UNFLAGGED", F_FLAGGED, false },
		{ "DELETED", F_DELETED, true }, { "UNDELETED", F_DELETED, false },
		{ "DRAFT", F_DRAFT, true }, { "UNDRAFT", F_DRAFT, false },
		{ "NEW", F_SEEN, false }, { "OLD", 0, false },
	};
	const struct imap_tok *t;
	uint8_t f = seq ? s->flags[seq - 1] : 0;

	if (*i >= cmd->ntok || depth > IMAP_MAX_DEPTH)
		return -EINVAL;
	t = &cmd->tok[(*i)++];
	if (t->type == IMAP_LPAREN) {
		int all = 1;

		while (*i < cmd->ntok && cmd->tok[*i].type != IMAP_RPAREN) {
			int r = search_key(s, cmd, i, seq, spec, depth + 1);

			if (r < 0)
				return r;
			all &= r;
		}
		if (*i >= cmd->ntok)
			return -EINVAL;
		(*i)++;
		return all;
	}
	if (t->type != IMAP_ATOM)
		return -EINVAL;
	if (imap__tok_is(t, "ALL"))
		return 1;
	if (imap__tok_is(t, "RECENT"))
		return 0;
	for (size_t k = 0; k < ARRAY_SIZE(flagkeys); k++)
		if (imap__tok_is(t, flagkeys[k].name))
			return !!(f & flagkeys[k].bit) == flagkeys[k].set;
	if (imap__tok_is(t, "NOT")) {
		int r = search_key(s, cmd, i, seq, spec, depth + 1);

		return r < 0 ? r : !r;
	}
	if (imap__tok_is(t, "OR")) {
		int a = search_key(s, cmd, i, seq, spec, depth + 1), b;

		if (a < 0)
			return a;
		b = search_key(s, cmd, i, seq, spec, depth + 1);
		return b < 0 ? b : a || b;
	}
	if (imap__tok_is(t, "UID") || (t->p[0] >= '0' && t->p[0] <= '9') || t->p[0] == '*') {
		struct imap_seqset set;
		const struct imap_tok *st = t;

		if (imap__tok_is(t, "UID")) {
			if (*i >= cmd->ntok)
				return -EINVAL;
			st = &cmd->tok[(*i)++];
		}
		if (st->type != IMAP_ATOM || imap__seqset(st->p, st->n, &set))
			return -EINVAL;
		return seq && imap__seq_has(&set, seq, s->exists);
	}
	{
		static const char *const fields[] = { "FROM", "TO", "CC", "BCC", "SUBJECT" };
		char want[128], have[1024], one[160];
		size_t k;

		for (k = 0; k < ARRAY_SIZE(fields); k++)
			if (imap__tok_is(t, fields[k]))
				break;
		if (k == ARRAY_SIZE(fields) || *i >= cmd->ntok ||
		    !imap__tok_str(&cmd->tok[(*i)++], want, sizeof(want)))
			return -EINVAL;
		if (!seq)
			return 0;
		have[0] = 0;
		if (k == 0) {
			mail_name(spec->from, one, sizeof(one));
			strcat(have, one);
			mail_addr(spec->from, one, sizeof(one));
			strcat(have, one);
		} else if (k == 4) {
			mail_subject(spec, have, sizeof(have));
		} else if (k != 3) {
			unsigned a = k == 1 ? 0 : spec->nto, b = k == 1 ? spec->nto : spec->nrcpt;

			for (unsigned r = a; r < b && strlen(have) + 200 < sizeof(have); r++) {
				mail_name(spec->rcpt[r], one, sizeof(one));
				strcat(have, one);
				mail_addr(spec->rcpt[r], one, sizeof(one));
				strcat(have, one);
			}
		}
		return strcasestr(have, want) != NULL;
	}
}

static void cmd_search(struct imap_srv *s, const struct imap_cmd *cmd)
{
	unsigned start = 0, i;

	if (cmd->ntok >= 2 && imap__tok_is(&cmd->tok[0], "CHARSET")) {
		char cs[32];

		if (!imap__tok_str(&cmd->tok[1], cs, sizeof(cs)) ||
		    (strcasecmp(cs, "UTF-8") && strcasecmp(cs, "US-ASCII"))) {
			conn_printf(&s->c, "%.*s NO [BADCHARSET (UTF-8 US-ASCII)] Unknown charset\r\n",
				    (int)cmd->taglen, cmd->tag);
			return;
		}
		start = 2;
	}
	/* Validate once, then evaluate per message. */
	if (start >= cmd->ntok)
		goto bad;
	for (i = start; i < cmd->ntok;)
		if (search_key(s, cmd, &i, 0, NULL, 0) < 0)
			goto bad;
	conn_write(&s->c, "* SEARCH", 8);
	for (uint32_t seq = 1; seq <= s->exists; seq++) {
		struct mail_spec spec;
		int all = 1;

		msg_spec(s, seq, &spec);
		for (i = start; i < cmd->ntok && all;)
			all &= search_key(s, cmd, &i, seq, &spec, 0) > 0;
		if (all)
			conn_printf(&s->c, " %u", seq);
	}
	conn_write(&s->c, "\r\n", 2);
	ok(s, cmd, NULL);
	return;
bad:
	srv_bad(s, cmd->tag, cmd->taglen, "Unknown or bad search key");
}

static void cmd_login(struct imap_srv *s, const struct imap_cmd *cmd)
{
	char user[64], pass[64];

	if (cmd->ntok != 2 || !imap__tok_str(&cmd->tok[0], user, sizeof(user)) ||
	    !imap__tok_str(&cmd->tok[1], pass, sizeof(pass))) {
		srv_bad(s, cmd->tag, cmd->taglen, "Syntax: LOGIN user password");
		return;
	}
	if (!user[0] || !pass[0]) {
		conn_printf(&s->c, "%.*s NO [AUTHENTICATIONFAILED] Authentication failed\r\n",
			    (int)cmd->taglen, cmd->tag);
		return;
	}
	mail_box_open(&s->box, mail_person_of(user, strlen(user)), s->srv->m);
	s->state = I_AUTH;
	conn_printf(&s->c, "%.*s OK Logged in\r\n", (int)cmd->taglen, cmd->tag);
}

#define CAPS "IMAP4rev1 LITERAL+ IDLE UNSELECT ID NAMESPACE CHILDREN SPECIAL-USE APPENDLIMIT=41943040"

/* APPEND once its message is in (small) or has streamed past (large). */
static void append_done(struct imap_srv *s, const char *tag, size_t taglen, bool ok_folder,
			uint64_t size)
{
	if (!ok_folder)
		conn_printf(&s->c, "%.*s NO [TRYCREATE] Mailbox does not exist\r\n", (int)taglen, tag);
	else if (size > IMAP_MAX_APPEND)
		conn_printf(&s->c, "%.*s NO [TOOBIG] Message too large\r\n", (int)taglen, tag);
	else {
		s->srv->st->actions++;
		conn_printf(&s->c, "%.*s OK APPEND completed\r\n", (int)taglen, tag);
	}
}

/* APPEND mailbox [(flags)] [date] message, the message a literal. */
static bool append_args(const struct imap_cmd *cmd, unsigned ntok, int *folder)
{
	unsigned i = 1;

	if (ntok < 1)
		return false;
	*folder = folder_of(&cmd->tok[0]);
	if (i < ntok && cmd->tok[i].type == IMAP_LPAREN) {
		while (i < ntok && cmd->tok[i].type != IMAP_RPAREN)
			i++;
		if (i == ntok)
			return false;
		i++;
	}
	if (i < ntok && cmd->tok[i].type == IMAP_QUOTED)
		i++;   /* date-time */
	return i == ntok;
}

static void cmd_append(struct imap_srv *s, const struct imap_cmd *cmd)
{
	int folder;

	if (cmd->ntok < 2 || cmd->tok[cmd->ntok - 1].type != IMAP_LITERAL ||
	    !append_args(cmd, cmd->ntok - 1, &folder)) {
		srv_bad(s, cmd->tag, cmd->taglen, "Syntax: APPEND mailbox [(flags)] [date] literal");
		return;
	}
	append_done(s, cmd->tag, cmd->taglen, folder >= 0, cmd->tok[cmd->ntok - 1].n);
}

enum { A_ANY = 1, A_NOTAUTH = 2, A_AUTH = 4, A_SELECTED = 8 };

/* One whole command (raw: its text, for a FETCH that pauses): 1 when
 * the session must stop reading input for now. */
static int srv_command(struct imap_srv *s, const char *raw, size_t len)
{
	struct imap_cmd cmd;
	int r = imap__parse(raw, len, &cmd);
	unsigned st = s->state == I_NOTAUTH ? A_NOTAUTH : s->state == I_AUTH ? A_AUTH :
		      A_AUTH | A_SELECTED;
	static const struct {
		const char *name;
		unsigned states;
		bool uid;
	} table[] = {
		{ "CAPABILITY", A_ANY, 0 }, { "NOOP", A_ANY, 0 }, { "LOGOUT", A_ANY, 0 },
		{ "ID", A_ANY, 0 }, { "LOGIN", A_NOTAUTH, 0 }, { "AUTHENTICATE", A_NOTAUTH, 0 },
		{ "STARTTLS", A_NOTAUTH, 0 }, { "SELECT", A_AUTH, 0 }, { "EXAMINE", A_AUTH, 0 },
		{ "LIST", A_AUTH, 0 }, { "LSUB", A_AUTH, 0 }, { "STATUS", A_AUTH, 0 },
		{ "APPEND", A_AUTH, 0 }, { "NAMESPACE", A_AUTH, 0 }, { "ENABLE", A_AUTH, 0 },
		{ "IDLE", A_AUTH, 0 }, { "CREATE", A_AUTH, 0 }, { "DELETE", A_AUTH, 0 },
		{ "RENAME", A_AUTH, 0 }, { "SUBSCRIBE", A_AUTH, 0 }, { "UNSUBSCRIBE", A_AUTH, 0 },
		{ "CHECK", A_SELECTED, 0 }, { "CLOSE", A_SELECTED, 0 }, { "UNSELECT", A_SELECTED, 0 },
		{ "EXPUNGE", A_SELECTED, 0 }, { "FETCH", A_SELECTED, 1 }, { "STORE", A_SELECTED, 1 },
		{ "SEARCH", A_SELECTED, 1 }, { "COPY", A_SELECTED, 1 },
	};
	size_t k;
	const char *name;

	if (r) {
		srv_bad(s, cmd.tag, cmd.taglen, r == -E2BIG ? "Too many arguments" : "Syntax error");
		return 0;
	}
	for (k = 0; k < ARRAY_SIZE(table); k++)
		if (strlen(table[k].name) == cmd.namelen &&
		    !strncasecmp(table[k].name, cmd.name, cmd.namelen))
			break;
	if (k == ARRAY_SIZE(table) || (cmd.uid && !table[k].uid)) {
		srv_bad(s, cmd.tag, cmd.taglen, "Unknown command");
		return 0;
	}
	if (!(table[k].states & (A_ANY | st))) {
		srv_bad(s, cmd.tag, cmd.taglen,
			s->state == I_NOTAUTH ? "Log in first" :
			table[k].states == A_SELECTED ? "No mailbox selected" : "Already logged in");
		return 0;
	}
	name = table[k].name;
	s->srv->st->actions++;
	if (!strcmp(name, "CAPABILITY")) {
		conn_printf(&s->c, "* CAPABILITY " CAPS "\r\n");
		ok(s, &cmd, NULL);
	} else if (!strcmp(name, "NOOP") || !strcmp(name, "CHECK")) {
		announce(s);
		ok(s, &cmd, NULL);
	} else if (!strcmp(name, "LOGOUT")) {
		conn_printf(&s->c, "* BYE Logging out\r\n");
		ok(s, &cmd, NULL);
		s->state = I_LOGOUT;
		conn_shutdown(&s->c);
		loop_timer_start(s->c.loop, &s->idle, host_ns(5));
	} else if (!strcmp(name, "ID")) {
		conn_printf(&s->c, "* ID (\"name\" \"dynamo\")\r\n");
		ok(s, &cmd, NULL);
	} else if (!strcmp(name, "LOGIN")) {
		cmd_login(s, &cmd);
	} else if (!strcmp(name, "AUTHENTICATE")) {
		conn_printf(&s->c, "%.*s NO Unsupported authentication mechanism\r\n",
			    (int)cmd.taglen, cmd.tag);
	} else if (!strcmp(name, "STARTTLS")) {
		conn_printf(&s->c, "%.*s NO [CANNOT] TLS is not offered here\r\n", (int)cmd.taglen,
			    cmd.tag);
	} else if (!strcmp(name, "SELECT") || !strcmp(name, "EXAMINE")) {
		cmd_select(s, &cmd);
	} else if (!strcmp(name, "LIST") || !strcmp(name, "LSUB")) {
		cmd_list(s, &cmd);
	} else if (!strcmp(name, "STATUS")) {
		cmd_status(s, &cmd);
	} else if (!strcmp(name, "APPEND")) {
		cmd_append(s, &cmd);
	} else if (!strcmp(name, "NAMESPACE")) {
		conn_printf(&s->c, "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
		ok(s, &cmd, NULL);
	} else if (!strcmp(name, "ENABLE")) {
		conn_printf(&s->c, "* ENABLED\r\n");
		ok(s, &cmd, NULL);
	} else if (!strcmp(name, "IDLE")) {
		if (cmd.ntok) {
			srv_bad(s, cmd.tag, cmd.taglen, "Syntax: IDLE");
			return 0;
		}
		memcpy(s->tag, cmd.tag, cmd.taglen);
		s->tag[cmd.taglen] = 0;
		s->in = IN_IDLE;
		conn_printf(&s->c, "+ idling\r\n");
		announce(s);
		srv_touch(s);
	} else if (!strcmp(name, "CREATE") || !strcmp(name, "DELETE") || !strcmp(name, "RENAME")) {
		conn_printf(&s->c, "%.*s NO [CANNOT] The folders are fixed here\r\n",
			    (int)cmd.taglen, cmd.tag);
	} else if (!strcmp(name, "SUBSCRIBE") || !strcmp(name, "UNSUBSCRIBE")) {
		ok(s, &cmd, NULL);
	} else if (!strcmp(name, "CLOSE") || !strcmp(name, "UNSELECT")) {
		unselect(s);
		ok(s, &cmd, NULL);
	} else if (!strcmp(name, "EXPUNGE")) {
		ok(s, &cmd, NULL);   /* nothing is removed: the mailbox is generated */
	} else if (!strcmp(name, "FETCH")) {
		return cmd_fetch(s, &cmd, raw, len);
	} else if (!strcmp(name, "STORE")) {
		cmd_store(s, &cmd);
	} else if (!strcmp(name, "SEARCH")) {
		cmd_search(s, &cmd);
	} else if (!strcmp(name, "COPY")) {
		if (cmd.ntok != 2 || folder_of(&cmd.tok[1]) < 0)
			conn_printf(&s->c, "%.*s NO [TRYCREATE] Mailbox does not exist\r\n",
				    (int)cmd.taglen, cmd.tag);
		else
			ok(s, &cmd, NULL);
	}
	return 0;
}

/* A literal too large for the input buffer: an APPEND's message streams
 * past (counted, dropped); any other command is refused, and a literal
 * the peer sends anyway ({n+}) is dropped unread. */
static void srv_big_literal(struct imap_srv *s, const struct imap_scan *sc)
{
	const char *brace = memrchr(s->c.in.p, '{', sc->lit_at);
	size_t upto = brace ? (size_t)(brace - s->c.in.p) : sc->lit_at;
	struct imap_cmd cmd;
	int folder = -1, r = imap__parse(s->c.in.p, upto, &cmd);
	bool append;

	if (!cmd.tag) {
		s->srv->st->errors++;
		conn_printf(&s->c, "* BAD Literal too large\r\n");
		srv_bye(s, "Cannot follow this client");
		conn_consume(&s->c, s->c.in.len);
		return;
	}
	append = r == 0 && cmd.namelen == 6 && !strncasecmp(cmd.name, "APPEND", 6) && !cmd.uid &&
		 s->state != I_NOTAUTH && sc->lits == 1 && append_args(&cmd, cmd.ntok, &folder);
	memcpy(s->tag, cmd.tag, cmd.taglen);
	s->tag[cmd.taglen] = 0;
	if (append && sc->lit_len <= IMAP_MAX_APPEND) {
		if (sc->sync)
			conn_printf(&s->c, "+ Ready for literal data\r\n");
		s->append_ok = folder >= 0;
		s->swallow = sc->lit_len;
		s->in = IN_SWALLOW;   /* then IN_APPEND_TAIL, the tag kept */
	} else {
		if (append)
			conn_printf(&s->c, "%s NO [TOOBIG] Message too large\r\n", s->tag);
		else
			srv_bad(s, cmd.tag, cmd.taglen, "Literal too large");
		s->tag[0] = 0;
		s->swallow = sc->sync ? 0 : sc->lit_len;
		s->in = sc->sync ? IN_CMD : IN_SWALLOW;   /* then IN_SKIPLINE */
	}
	s->conts = 0;
	conn_consume(&s->c, sc->lit_at);
}

static void srv_input(struct imap_srv *s)
{
	struct conn *c = &s->c;

	while (conn_is_open(c) && c->in.len && s->state != I_LOGOUT && !s->pend) {
		struct imap_scan sc;
		const char *line;
		size_t n, used;

		switch (s->in) {
		case IN_SWALLOW: {
			size_t take = (size_t)MIN((uint64_t)c->in.len, s->swallow);

			conn_consume(c, take);
			s->swallow -= take;
			if (!s->swallow)
				s->in = s->tag[0] ? IN_APPEND_TAIL : IN_SKIPLINE;
			continue;
		}
		case IN_APPEND_TAIL:
		case IN_SKIPLINE:
		case IN_IDLE:
			line = conn_line(c, &n, &used);
			if (!line) {
				if (c->in.len > IMAP_MAX_LINE) {
					s->srv->st->errors++;
					conn_printf(c, "* BAD Line too long\r\n");
					srv_bye(s, "Cannot follow this client");
					conn_consume(c, c->in.len);
				}
				return;
			}
			if (s->in == IN_APPEND_TAIL) {
				/* After the message: the end of the command. */
				if (n)
					srv_bad(s, s->tag, strlen(s->tag), "Only one message per APPEND");
				else
					append_done(s, s->tag, strlen(s->tag), s->append_ok, 0);
			} else if (s->in == IN_IDLE) {
				if (n == 4 && !strncasecmp(line, "DONE", 4))
					conn_printf(c, "%s OK IDLE terminated\r\n", s->tag);
				else
					srv_bad(s, s->tag, strlen(s->tag), "Expected DONE");
			}
			s->in = IN_CMD;
			srv_touch(s);
			s->tag[0] = 0;
			conn_consume(c, used);
			continue;
		default:
			break;
		}
		switch (imap__scan(c->in.p, c->in.len, &sc)) {
		case IMAP_SCAN_DONE:
			s->conts = 0;
			if (srv_command(s, c->in.p, sc.len)) {
				conn_consume(c, sc.len);
				return;   /* a FETCH paused until the output drains */
			}
			if (conn_is_open(c))
				conn_consume(c, sc.len);
			continue;
		case IMAP_SCAN_MORE:
			if (sc.cont && s->conts < sc.lits) {
				conn_printf(c, "+ Ready for literal data\r\n");
				s->conts = (uint8_t)sc.lits;
			}
			return;
		case IMAP_SCAN_BIG:
			srv_big_literal(s, &sc);
			continue;
		case IMAP_SCAN_LONG:
			s->srv->st->errors++;
			conn_printf(c, "* BAD Command line too long\r\n");
			srv_bye(s, "Cannot follow this client");
			conn_consume(c, c->in.len);
			return;
		}
	}
	/* Whatever a leaving peer sends after LOGOUT is not read. */
	if (s->state == I_LOGOUT && conn_is_open(c))
		conn_consume(c, c->in.len);
}

static void srv_readable(struct conn *c)
{
	struct imap_srv *s = container_of(c, struct imap_srv, c);

	srv_touch(s);
	srv_input(s);
}

/* The output drained: a paused FETCH goes on, then the input after it. */
static void srv_drained(struct conn *c)
{
	struct imap_srv *s = container_of(c, struct imap_srv, c);
	struct imap_cmd cmd;

	if (!s->pend)
		return;
	srv_touch(s);   /* the client is taking what we send */
	if (imap__parse(s->pend->cmd, s->pend->len, &cmd) ||
	    cmd_fetch(s, &cmd, s->pend->cmd, s->pend->len))
		return;
	srv_input(s);
}

static void srv_connected(struct conn *c)
{
	struct imap_srv *s = container_of(c, struct imap_srv, c);

	conn_printf(c, "* OK [CAPABILITY " CAPS "] %s IMAP4rev1 dynamo ready\r\n", s->srv->h->name);
	srv_touch(s);
}

static void srv_closed(struct conn *c, int err)
{
	struct imap_srv *s = container_of(c, struct imap_srv, c);

	(void)err;
	loop_timer_stop(c->loop, &s->idle);
	loop_defer(c->loop, &s->d, srv_free);
}

static const struct conn_ops srv_ops = {
	.connected = srv_connected,
	.readable = srv_readable,
	.drained = srv_drained,
	.closed = srv_closed,
};

static void accept_cb(struct loop *l, struct io *io, unsigned revents)
{
	struct imap_server *srv = container_of(io, struct imap_server, io);

	(void)revents;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC);
		struct imap_srv *s;

		if (fd < 0)
			return;
		s = xcalloc(1, sizeof(*s));
		s->srv = srv;
		s->c.st = srv->st;
		s->idle.cb = srv_idle_cb;
		s->next_at = UINT64_MAX;
		if (conn_accept(&s->c, l, &srv_ops, fd)) {
			close(fd);
			free(s);
			continue;
		}
		srv->st->sessions++;
	}
}

static int imap_serve(struct host *h, struct stats *st, const struct model *m, uint16_t port,
		      char *err, size_t errlen)
{
	struct imap_server *srv;
	int fd, r;

	r = agent_listen_tcp(port, &fd);
	if (r) {
		snprintf(err, errlen, "cannot listen on port %u: %s", port, strerror(-r));
		return r;
	}
	srv = xcalloc(1, sizeof(*srv));
	srv->h = h;
	srv->st = st;
	srv->m = m;
	srv->start = loop_now(h->loop);
	srv->start_wall = (int64_t)time(NULL);
	srv->io.fd = fd;
	srv->io.cb = accept_cb;
	r = loop_io_set(h->loop, &srv->io, IO_IN);
	if (r) {
		snprintf(err, errlen, "cannot watch the listening socket: %s", strerror(-r));
		close(fd);
		free(srv);
		return r;
	}
	srv->next = servers;
	servers = srv;
	return 0;
}

/* ---- client ---------------------------------------------------------------- */

#define IMAP_REPLY_S 60.0          /* a server silent this long is dropped */
#define IMAP_IDLE_AFTER_S 20.0     /* thinks longer than this wait in IDLE */
#define IMAP_IDLE_MAX_S 1500.0     /* and re-issue IDLE this often (RFC 2177) */
#define IMAP_TICK_S 0.5            /* how soon a thinking user sees stopping */
#define IMAP_FIRST_SYNC 50         /* headers fetched of a mailbox never seen */
#define IMAP_MAX_OPEN 4            /* messages opened in one read_inbox */
#define IMAP_MAX_PENDING (64u << 10)  /* a response line we wait on */

/* What the users of one client() share; freed with the last of them
 * (env is copied: the caller's may not outlive the call). */
struct imap_client {
	struct agent_env env;
	unsigned alive;
};

enum { C_NONE, C_CONNECTING, C_GREETING, C_READY, C_BUSY, C_IDLE, C_DONE, C_LOGOUT };

enum {
	K_CAPABILITY, K_LOGIN, K_LIST, K_SELECT, K_NOOP, K_SEARCH, K_FETCH_HEADERS, K_FETCH_BODY,
	K_STORE_SEEN, K_APPEND, K_STORE_ANSWERED,
};

struct imap_step {
	uint8_t k;
	uint32_t uid;
};

#define IMAP_PLAN 16

struct imap_user {
	struct conn c;
	struct timer think, wait;  /* think time; server reply timeout */
	struct defer d;
	struct imap_client *cl;
	struct mail_spec spec;     /* the message being filed in Sent */
	uint64_t wake, idle_since;
	uint64_t skip;             /* literal bytes still to read past */
	uint64_t last_queued;      /* output left at the last reply timeout */
	uint32_t person, tagn;
	uint32_t exists, uidnext, uidvalidity;
	uint32_t last_uid;         /* headers known up to here */
	uint32_t top;              /* highest uid in the last header fetch */
	uint32_t fresh[IMAP_MAX_OPEN * 2];
	uint8_t nfresh;
	int action, next;
	struct imap_step plan[IMAP_PLAN];
	uint8_t nplan, iplan;
	uint8_t cst;               /* C_* */
	bool busy, session_end, done;
	bool cont_line;            /* the next line goes on after a literal */
	bool want_cont;            /* an APPEND waits for "+" */
};

static void cli_action(struct imap_user *u);
static const struct conn_ops cli_ops;

static struct host *uhost(const struct imap_user *u)
{
	return u->cl->env.host;
}

static struct loop *uloop(const struct imap_user *u)
{
	return u->cl->env.host->loop;
}

static struct stats *ust(const struct imap_user *u)
{
	return u->cl->env.st;
}

static void user_free(struct defer *d)
{
	struct imap_user *u = container_of(d, struct imap_user, d);
	struct imap_client *cl = u->cl;

	free(u);
	if (!--cl->alive)
		free(cl);
}

static void user_wait(struct imap_user *u)
{
	u->last_queued = u->c.queued;
	loop_timer_start(uloop(u), &u->wait, host_ns(IMAP_REPLY_S));
}

static void send_tagged(struct imap_user *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void send_tagged(struct imap_user *u, const char *fmt, ...)
{
	va_list ap;

	conn_printf(&u->c, "a%u ", ++u->tagn);
	va_start(ap, fmt);
	conn_vprintf(&u->c, fmt, ap);
	va_end(ap);
	conn_write(&u->c, "\r\n", 2);
	user_wait(u);
}

static void user_logout(struct imap_user *u)
{
	send_tagged(u, "LOGOUT");
	u->cst = C_LOGOUT;
}

/* The user stops for good once no connection is left. */
static void user_stop(struct imap_user *u)
{
	if (u->done)
		return;
	if (u->cst == C_READY) {
		user_logout(u);
		return;
	}
	if (u->cst == C_IDLE) {
		conn_printf(&u->c, "DONE\r\n");
		u->cst = C_DONE;
		user_wait(u);
		return;
	}
	if (u->cst != C_NONE)
		return;   /* closed() or the reply comes back here */
	u->done = true;
	loop_timer_stop(uloop(u), &u->think);
	loop_timer_stop(uloop(u), &u->wait);
	loop_defer(uloop(u), &u->d, user_free);
}

static void arm_think(struct imap_user *u)
{
	uint64_t now = loop_now(uloop(u)), left = u->wake > now ? u->wake - now : 0;

	loop_timer_start(uloop(u), &u->think, MIN(left, host_ns(IMAP_TICK_S)));
}

static void start_idle(struct imap_user *u)
{
	send_tagged(u, "IDLE");
	u->cst = C_IDLE;
	u->idle_since = loop_now(uloop(u));
}

/* The action is over: draw the think time and what comes next. */
static void user_think(struct imap_user *u)
{
	const struct agent_env *env = &u->cl->env;
	double think = model_think(env->model, u->action, &uhost(u)->rng) * agent_think_scale(env);

	u->busy = false;
	u->nplan = u->iplan = 0;
	u->next = model_next(env->model, u->action, &uhost(u)->rng);
	u->session_end = u->next == MODEL_END;
	u->wake = loop_now(uloop(u)) + host_ns(think);
	if (u->cst == C_READY) {
		if (u->session_end || uhost(u)->stopping)
			user_logout(u);
		else if (think > IMAP_IDLE_AFTER_S)
			start_idle(u);   /* mail clients wait for news in IDLE */
	}
	arm_think(u);
}

static void think_cb(struct loop *l, struct timer *t)
{
	struct imap_user *u = container_of(t, struct imap_user, think);
	uint64_t now = loop_now(l);

	if (u->busy)
		return;
	if (uhost(u)->stopping) {
		user_stop(u);
		return;
	}
	if (u->cst == C_IDLE && (now >= u->wake || now - u->idle_since >= host_ns(IMAP_IDLE_MAX_S))) {
		conn_printf(&u->c, "DONE\r\n");
		u->cst = C_DONE;
		user_wait(u);
		return;   /* its OK comes back here */
	}
	if (now < u->wake || (u->cst != C_NONE && u->cst != C_READY)) {
		arm_think(u);
		return;
	}
	if (u->session_end) {
		u->session_end = false;
		ust(u)->sessions++;
		u->action = model_start(u->cl->env.model);
	} else {
		u->action = u->next;
	}
	cli_action(u);
}

static void plan_add(struct imap_user *u, uint8_t k, uint32_t uid)
{
	if (u->nplan < IMAP_PLAN) {
		u->plan[u->nplan].k = k;
		u->plan[u->nplan++].uid = uid;
	}
}

static uint32_t top_uid(const struct imap_user *u)
{
	return u->uidnext > 1 ? u->uidnext - 1 : u->exists;
}

static void run_plan(struct imap_user *u)
{
	const struct imap_step *st;
	char login[64];

	if (u->iplan == u->nplan) {
		u->cst = C_READY;
		loop_timer_stop(uloop(u), &u->wait);
		user_think(u);
		return;
	}
	st = &u->plan[u->iplan];
	u->cst = C_BUSY;
	switch (st->k) {
	case K_CAPABILITY:
		send_tagged(u, "CAPABILITY");
		break;
	case K_LOGIN:
		mail_login(u->person, login, sizeof(login));
		send_tagged(u, "LOGIN %s \"pw-%08llx\"", login,
			    (unsigned long long)(rng_hash(login, strlen(login), 7) & 0xffffffffu));
		break;
	case K_LIST:
		send_tagged(u, "LIST \"\" \"*\"");
		break;
	case K_SELECT:
		send_tagged(u, "SELECT INBOX");
		break;
	case K_NOOP:
		send_tagged(u, "NOOP");
		break;
	case K_SEARCH:
		send_tagged(u, "UID SEARCH UNSEEN");
		break;
	case K_FETCH_HEADERS: {
		uint32_t top = top_uid(u), from = u->last_uid + 1;

		if (from > top) {
			u->iplan++;   /* nothing new */
			run_plan(u);
			return;
		}
		if (top - from >= IMAP_FIRST_SYNC)
			from = top - IMAP_FIRST_SYNC + 1;
		u->nfresh = 0;
		u->top = top;
		send_tagged(u, "UID FETCH %u:%u (UID FLAGS RFC822.SIZE ENVELOPE BODY.PEEK[HEADER])",
			    from, top);
		break;
	}
	case K_FETCH_BODY:
		send_tagged(u, "UID FETCH %u (BODY.PEEK[])", st->uid);
		break;
	case K_STORE_SEEN:
		send_tagged(u, "UID STORE %u +FLAGS (\\Seen)", st->uid);
		break;
	case K_STORE_ANSWERED:
		send_tagged(u, "UID STORE %u +FLAGS (\\Answered)", st->uid);
		break;
	case K_APPEND: {
		struct mail_msg m;

		mail_build(&u->spec, &uhost(u)->content, &m);
		/* Synchronizing literal: the message waits for "+". */
		send_tagged(u, "APPEND Sent (\\Seen) {%zu}", m.size);
		u->want_cont = true;
		break;
	}
	}
}

/* A tagged reply to the step in flight. */
static void step_done(struct imap_user *u, int status)
{
	const struct imap_step *st = &u->plan[u->iplan];

	if (status != IMAP_OK) {
		ust(u)->errors++;
		u->want_cont = false;
		if (st->k <= K_SELECT) {
			/* Not logged in or no inbox: nothing to do here. */
			u->cst = C_READY;
			user_logout(u);
			return;
		}
		u->iplan = u->nplan;   /* give up the rest of the action */
		run_plan(u);
		return;
	}
	if (st->k == K_FETCH_HEADERS) {
		double open = model_draw(u->cl->env.model, "open_prob", &uhost(u)->rng, 0.5);

		if (u->top > u->last_uid)
			u->last_uid = u->top;
		/* Open some of what came in, and mark it read. */
		for (unsigned i = 0, opened = 0; i < u->nfresh && opened < IMAP_MAX_OPEN; i++)
			if (rng_unit(&uhost(u)->rng) < open) {
				plan_add(u, K_FETCH_BODY, u->fresh[i]);
				plan_add(u, K_STORE_SEEN, u->fresh[i]);
				opened++;
			}
	}
	u->iplan++;
	run_plan(u);
}

static void cli_action(struct imap_user *u)
{
	const struct agent_env *env = &u->cl->env;
	const char *name = model_action_name(env->model, u->action);
	struct rng *r = &uhost(u)->rng;
	int64_t now = (int64_t)time(NULL);
	bool fresh = u->cst == C_NONE;

	if (uhost(u)->stopping) {
		user_stop(u);
		return;
	}
	env->st->actions++;
	u->busy = true;
	u->nplan = u->iplan = 0;
	if (fresh) {
		plan_add(u, K_CAPABILITY, 0);
		plan_add(u, K_LOGIN, 0);
		plan_add(u, K_LIST, 0);
		plan_add(u, K_SELECT, 0);
	}
	if (!strcmp(name, "read_inbox")) {
		if (!fresh)
			plan_add(u, K_NOOP, 0);
		plan_add(u, K_SEARCH, 0);
		plan_add(u, K_FETCH_HEADERS, 0);
	} else if (!strcmp(name, "reply")) {
		struct mail_box box;
		struct mail_spec parent;
		uint32_t top = top_uid(u), uid;

		mail_box_open(&box, u->person, env->model);
		if (!top)
			top = box.base;
		uid = 1 + (uint32_t)rng_below(r, top ? top : 1);
		mail_inbox(&parent, u->person, box.seed, uid, env->model, now);
		mail_reply(&u->spec, &parent, u->person, env->model, r, now);
		plan_add(u, K_FETCH_BODY, uid);
		plan_add(u, K_APPEND, 0);
		plan_add(u, K_STORE_ANSWERED, uid);
	} else {
		/* A send: the client files its copy in Sent. */
		enum mail_kind kind = !strcmp(name, "send_group") ? MAIL_GROUP :
				      !strcmp(name, "send_many") ? MAIL_MANY : MAIL_ONE;

		mail_new(&u->spec, kind, u->person, env->model, r, now);
		plan_add(u, K_APPEND, 0);
	}
	if (!fresh) {
		run_plan(u);
		return;
	}
	if (conn_connect(&u->c, uloop(u), &cli_ops, 0, env->server, env->port)) {
		env->st->conn_fail++;
		user_think(u);
		return;
	}
	u->cst = C_CONNECTING;
	user_wait(u);
}

/* The copy of what the user sent, after the server's "+". */
static void send_append(struct imap_user *u)
{
	struct mail_msg m;

	mail_build(&u->spec, &uhost(u)->content, &m);
	mail_send(&u->c, &m, 0, m.size, false);
	conn_write(&u->c, "\r\n", 2);
	u->want_cont = false;
}

static void idle_over(struct imap_user *u, int status)
{
	uint64_t now = loop_now(uloop(u));

	u->cst = C_READY;
	loop_timer_stop(uloop(u), &u->wait);
	if (status != IMAP_OK)
		ust(u)->errors++;
	if (uhost(u)->stopping) {
		user_logout(u);
		return;
	}
	if (u->wake > now && u->wake - now > host_ns(IMAP_IDLE_AFTER_S))
		start_idle(u);
	arm_think(u);
}

/* One response line; -1 when the connection was closed. */
static int cli_line(struct imap_user *u, const char *line, size_t n)
{
	struct imap_resp r;
	char tag[16];
	bool sync;

	if (u->cont_line) {
		/* The rest of a response, after a literal: maybe another. */
		u->cont_line = false;
		if (!imap__line_literal(line, n, &u->skip, &sync))
			u->skip = 0;
		return 0;
	}
	if (imap__parse_response(line, n, &r) ||
	    (r.has_literal && r.literal > (256u << 20))) {
		ust(u)->errors++;
		conn_close(&u->c, -EPROTO);
		return -1;
	}
	if (r.has_literal)
		u->skip = r.literal;
	switch (r.kind) {
	case IMAP_R_UNTAGGED:
		if (r.uidnext)
			u->uidnext = r.uidnext;
		if (r.uidvalidity) {
			if (u->uidvalidity && r.uidvalidity != u->uidvalidity)
				u->last_uid = 0;   /* a new mailbox: forget the cache */
			u->uidvalidity = r.uidvalidity;
		}
		if (u->cst == C_GREETING) {
			if (r.status != IMAP_OK && r.status != IMAP_PREAUTH) {
				ust(u)->errors++;
				conn_close(&u->c, -EPROTO);
				return -1;
			}
			run_plan(u);
		} else if (r.status == IMAP_BYE) {
			if (u->cst != C_LOGOUT)
				ust(u)->errors++;
		} else if (!strcmp(r.what, "EXISTS")) {
			u->exists = r.num;
			if (u->uidnext && u->uidnext <= r.num)
				u->uidnext = r.num + 1;   /* arrivals: ours are in order */
		} else if (!strcmp(r.what, "FETCH") && u->cst == C_BUSY &&
			   u->plan[u->iplan].k == K_FETCH_HEADERS && r.uid > u->last_uid &&
			   r.has_flags && !r.seen && u->nfresh < ARRAY_SIZE(u->fresh)) {
			u->fresh[u->nfresh++] = r.uid;
		}
		return 0;
	case IMAP_R_CONT:
		if (u->want_cont) {
			send_append(u);
		} else if (u->cst == C_IDLE) {
			loop_timer_stop(uloop(u), &u->wait);   /* news may be long */
		} else {
			ust(u)->errors++;
		}
		return 0;
	default:
		break;
	}
	snprintf(tag, sizeof(tag), "a%u", u->tagn);
	if (r.taglen != strlen(tag) || strncasecmp(r.tag, tag, r.taglen)) {
		ust(u)->errors++;   /* an answer to nothing we asked */
		return 0;
	}
	switch (u->cst) {
	case C_BUSY:
		step_done(u, r.status);
		break;
	case C_IDLE:
	case C_DONE:
		idle_over(u, r.status);
		break;
	case C_LOGOUT:
		loop_timer_stop(uloop(u), &u->wait);
		conn_shutdown(&u->c);
		user_wait(u);   /* for the server's FIN */
		break;
	default:
		ust(u)->errors++;
		break;
	}
	return 0;
}

static void cli_readable(struct conn *c)
{
	struct imap_user *u = container_of(c, struct imap_user, c);

	if (loop_timer_armed(&u->wait))
		user_wait(u);   /* progress: the server is there */
	while (conn_is_open(c) && c->in.len) {
		const char *line;
		size_t n, used;

		if (u->skip) {
			size_t take = (size_t)MIN((uint64_t)c->in.len, u->skip);

			conn_consume(c, take);
			u->skip -= take;
			if (!u->skip)
				u->cont_line = true;
			continue;
		}
		line = conn_line(c, &n, &used);
		if (!line) {
			if (c->in.len > IMAP_MAX_PENDING) {
				ust(u)->errors++;
				conn_close(c, -EPROTO);
			}
			return;
		}
		if (cli_line(u, line, n) < 0)
			return;
		if (!conn_is_open(c))
			return;
		conn_consume(c, used);
	}
}

static void cli_connected(struct conn *c)
{
	struct imap_user *u = container_of(c, struct imap_user, c);

	u->cst = C_GREETING;
	u->tagn = 0;
	u->exists = u->uidnext = 0;
	u->skip = 0;
	u->cont_line = u->want_cont = false;
	user_wait(u);
}

static void cli_closed(struct conn *c, int err)
{
	struct imap_user *u = container_of(c, struct imap_user, c);
	uint8_t was = u->cst;

	u->cst = C_NONE;
	u->skip = 0;
	u->cont_line = u->want_cont = false;
	loop_timer_stop(uloop(u), &u->wait);
	/* A server that hangs up on a session is at fault; a refused or
	 * failed connect is counted by conn as conn_fail, and our own
	 * timeout (-ETIMEDOUT) by wait_cb. */
	if (was != C_LOGOUT && was != C_CONNECTING && err != -ETIMEDOUT)
		ust(u)->errors++;
	if (u->busy)
		user_think(u);   /* the action ends here, failed */
	else
		arm_think(u);
}

static const struct conn_ops cli_ops = {
	.connected = cli_connected,
	.readable = cli_readable,
	.closed = cli_closed,
};

static void wait_cb(struct loop *l, struct timer *t)
{
	struct imap_user *u = container_of(t, struct imap_user, wait);

	(void)l;
	/* A large APPEND still going out on a slow link is progress. */
	if (u->c.queued && u->c.queued != u->last_queued) {
		user_wait(u);
		return;
	}
	/* A connect that times out is conn's conn_fail, not an error. */
	if (u->cst != C_LOGOUT && u->cst != C_CONNECTING)
		ust(u)->errors++;
	conn_close(&u->c, -ETIMEDOUT);
}

static int imap_client(const struct agent_env *env, char *err, size_t errlen)
{
	struct imap_client *cl;

	(void)err;
	(void)errlen;
	if (!env->users)
		return 0;
	cl = xcalloc(1, sizeof(*cl));
	cl->env = *env;
	for (uint32_t i = 0; i < env->users; i++) {
		struct imap_user *u = xcalloc(1, sizeof(*u));

		u->cl = cl;
		cl->alive++;
		u->c.st = env->st;
		u->c.io.fd = -1;
		u->think.cb = think_cb;
		u->wait.cb = wait_cb;
		u->person = (uint32_t)rng_below(&env->host->rng, mail_people());
		/* Users sit down at slightly different times. */
		u->session_end = true;
		u->wake = loop_now(env->host->loop) + host_ns(rng_unit(&env->host->rng) * 0.5);
		arm_think(u);
	}
	return 0;
}

static const char *const imap_actions[] = {
	"read_inbox", "send_group", "send_one", "send_many", "reply", NULL,
};

static const char *const imap_params[] = {
	"group_size", "many_size", "body_size", "attach_prob", "attach_size", "reply_all",
	"inbox_size", "inbox_unseen", "arrival", "open_prob", NULL,
};

const struct agent agent_imap = {
	.name = "imap",
	.proto = PROTO_IMAP,
	.model = "mail",
	.actions = imap_actions,
	.params = imap_params,
	.serve = imap_serve,
	.client = imap_client,
};
