/* redis.c - the database agent for Redis (RESP2): a server that takes
 * inline and multibulk requests and keeps strings, hashes and lists with
 * expiry in a bounded in-memory keyspace (16 databases, maxmemory with
 * sampled allkeys-lru eviction, lazy and active expiry, as the real
 * server does), and cache-like clients that follow
 * data/behaviours/redis.model: GET-heavy cache-aside lookups that fill
 * misses with SET EX, batched MGETs whose misses are filled in one
 * pipeline, writes and invalidations, page-view counters, session hashes
 * and capped activity feeds.  Every command and reply is the real
 * server's, so the client also runs against a real redis-server. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/util.h"
#include "agent.h"
#include "redis.h"

/* ---- parsers ------------------------------------------------------------ */

bool redis__ll(const char *p, size_t n, long long *v)
{
	unsigned long long u = 0;
	bool neg = false;
	size_t i = 0;

	if (n == 0 || n >= 21)
		return false;
	if (n == 1 && p[0] == '0') {
		*v = 0;
		return true;
	}
	if (p[0] == '-') {
		neg = true;
		if (++i == n)
			return false;
	}
	if (p[i] < '1' || p[i] > '9')
		return false;
	for (; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return false;
		if (u > (~0ull - 9) / 10)
			return false;
		u = u * 10 + (unsigned)(p[i] - '0');
	}
	if (neg) {
		if (u > (unsigned long long)INT64_MAX + 1)
			return false;
		*v = u == (unsigned long long)INT64_MAX + 1 ? INT64_MIN : -(long long)u;
	} else {
		if (u > INT64_MAX)
			return false;
		*v = (long long)u;
	}
	return true;
}

static void put_arg(struct redis__cmd *cmd, const char *p, size_t n)
{
	if (cmd->argc < REDIS__ARGV) {
		cmd->argv[cmd->argc].p = p;
		cmd->argv[cmd->argc].n = (uint32_t)n;
	}
	cmd->argc++;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Split a line as the real server's sdssplitargs does, undoing escapes
 * in place (the result is never longer than what it came from). */
static int split_inline(char *s, size_t n, struct redis__cmd *cmd)
{
	const char *nul = memchr(s, 0, n);
	size_t r = 0;

	/* The real server splits a C string: a NUL ends the line. */
	if (nul)
		n = (size_t)(nul - s);

	for (;;) {
		size_t w, start;
		bool inq = false, insq = false, done = false;

		while (r < n && isspace((unsigned char)s[r]))
			r++;
		if (r == n)
			return 0;
		start = w = r;
		while (!done) {
			if (inq) {
				if (r == n)
					return -1;
				if (s[r] == '\\' && r + 3 < n && s[r + 1] == 'x' &&
				    hexval(s[r + 2]) >= 0 && hexval(s[r + 3]) >= 0) {
					s[w++] = (char)(hexval(s[r + 2]) * 16 + hexval(s[r + 3]));
					r += 4;
				} else if (s[r] == '\\' && r + 1 < n) {
					char c = s[r + 1];

					s[w++] = c == 'n' ? '\n' : c == 'r' ? '\r' : c == 't' ? '\t' :
						 c == 'b' ? '\b' : c == 'a' ? '\a' : c;
					r += 2;
				} else if (s[r] == '"') {
					/* A closing quote must end the argument. */
					if (r + 1 < n && !isspace((unsigned char)s[r + 1]))
						return -1;
					r++;
					done = true;
				} else {
					s[w++] = s[r++];
				}
			} else if (insq) {
				if (r == n)
					return -1;
				if (s[r] == '\\' && r + 1 < n && s[r + 1] == '\'') {
					s[w++] = '\'';
					r += 2;
				} else if (s[r] == '\'') {
					if (r + 1 < n && !isspace((unsigned char)s[r + 1]))
						return -1;
					r++;
					done = true;
				} else {
					s[w++] = s[r++];
				}
			} else if (r == n || s[r] == ' ' || s[r] == '\n' || s[r] == '\r' ||
				   s[r] == '\t') {
				done = true;
			} else if (s[r] == '"') {
				inq = true;
				r++;
			} else if (s[r] == '\'') {
				insq = true;
				r++;
			} else {
				s[w++] = s[r++];
			}
		}
		put_arg(cmd, s + start, w - start);
	}
}

static int inline_request(char *buf, size_t len, struct redis__pstate *ps, struct redis__cmd *cmd)
{
	char *nl = memchr(buf + ps->off, '\n', len - ps->off);
	size_t n;

	if (!nl) {
		ps->off = (uint32_t)len;
		if (len > REDIS__MAX_INLINE) {
			snprintf(cmd->err, sizeof(cmd->err), "Protocol error: too big inline request");
			return -1;
		}
		return 0;
	}
	n = (size_t)(nl - buf);
	cmd->used = n + 1;
	if (n && buf[n - 1] == '\r')
		n--;
	memset(ps, 0, sizeof(*ps));
	if (split_inline(buf, n, cmd) < 0) {
		snprintf(cmd->err, sizeof(cmd->err), "Protocol error: unbalanced quotes in request");
		return -1;
	}
	return 1;
}

/* A "*N" or "$N" line at buf[at]: 1 with its value and the offset past
 * it, 0 when incomplete, -1 when too long without an end.  Like the real
 * server, the line ends at '\r' and the byte after it is not looked at. */
static int count_line(const char *buf, size_t len, size_t at, long long *v, bool *ok, size_t *next)
{
	const char *cr = memchr(buf + at, '\r', len - at);

	if (!cr)
		return len - at > REDIS__MAX_INLINE ? -1 : 0;
	if ((size_t)(cr - buf) + 2 > len)
		return 0;
	*ok = redis__ll(buf + at + 1, (size_t)(cr - buf) - at - 1, v);
	*next = (size_t)(cr - buf) + 2;
	return 1;
}

static int multibulk_request(char *buf, size_t len, struct redis__pstate *ps,
			     struct redis__cmd *cmd)
{
	size_t at = ps->off, next;
	long long v = 0;
	bool ok = false;
	int r;

	if (!ps->argc) {
		r = count_line(buf, len, 0, &v, &ok, &next);
		if (r < 0) {
			snprintf(cmd->err, sizeof(cmd->err), "Protocol error: too big mbulk count string");
			return -1;
		}
		if (!r)
			return 0;
		if (!ok || v > REDIS__MAX_MULTIBULK) {
			snprintf(cmd->err, sizeof(cmd->err), "Protocol error: invalid multibulk length");
			return -1;
		}
		if (v <= 0) {
			/* An empty request: skipped without a reply. */
			cmd->used = next;
			memset(ps, 0, sizeof(*ps));
			return 1;
		}
		ps->argc = (uint32_t)v;
		ps->left = (uint32_t)v;
		ps->off = (uint32_t)next;
		at = next;
	}
	while (ps->left) {
		r = count_line(buf, len, at, &v, &ok, &next);
		if (r < 0) {
			snprintf(cmd->err, sizeof(cmd->err), "Protocol error: too big bulk count string");
			return -1;
		}
		if (!r)
			return 0;
		if (buf[at] != '$') {
			unsigned char c = (unsigned char)buf[at];

			snprintf(cmd->err, sizeof(cmd->err), "Protocol error: expected '$', got '%c'",
				 isprint(c) ? c : '?');
			return -1;
		}
		if (!ok || v < 0 || v > REDIS__MAX_BULK) {
			snprintf(cmd->err, sizeof(cmd->err), "Protocol error: invalid bulk length");
			return -1;
		}
		/* The data and the two bytes after it (CRLF, unchecked). */
		if (len - next < (size_t)v + 2)
			return 0;
		at = next + (size_t)v + 2;
		ps->off = (uint32_t)at;
		ps->left--;
	}
	/* All there: a second pass, now cheap, keeps the arguments. */
	cmd->used = at;
	at = 0;
	count_line(buf, len, 0, &v, &ok, &next);
	for (uint32_t i = 0; i < ps->argc; i++) {
		at = next;
		count_line(buf, len, at, &v, &ok, &next);
		put_arg(cmd, buf + next, (size_t)v);
		next += (size_t)v + 2;
	}
	memset(ps, 0, sizeof(*ps));
	return 1;
}

int redis__request(char *buf, size_t len, struct redis__pstate *ps, struct redis__cmd *cmd,
		   const char **err)
{
	int r;

	cmd->argc = 0;
	cmd->used = 0;
	cmd->err[0] = 0;
	if (!len)
		return 0;
	if (ps->off > len)
		memset(ps, 0, sizeof(*ps));
	if (buf[0] == '*')
		r = multibulk_request(buf, len, ps, cmd);
	else
		r = inline_request(buf, len, ps, cmd);
	if (r < 0) {
		memset(ps, 0, sizeof(*ps));
		*err = cmd->err;
	}
	return r;
}

/* The line at buf[at] up to CRLF: its end (the CR), or 0 when not all
 * there, -1 when broken (a bare CR or LF, or too long). */
static long line_end(const char *buf, size_t len, size_t at)
{
	for (size_t i = at; i < len; i++) {
		if (buf[i] == '\r') {
			if (i + 1 == len)
				return 0;
			return buf[i + 1] == '\n' ? (long)i : -1;
		}
		if (buf[i] == '\n' || i - at > REDIS__MAX_INLINE)
			return -1;
	}
	return len - at > REDIS__MAX_INLINE ? -1 : 0;
}

/* One element at buf[at]: 1 with it in *r (used: the element alone,
 * without an array's members), 0 incomplete, -1 malformed. */
static int one_elem(const char *buf, size_t len, size_t at, struct redis__reply *r)
{
	long e;

	if (at >= len)
		return 0;
	e = line_end(buf, len, at + 1);
	if (e <= 0)
		return (int)e;
	r->type = buf[at];
	r->p = buf + at + 1;
	r->len = (size_t)e - at - 1;
	r->hdr = (size_t)e + 2 - at;
	r->used = r->hdr;
	switch (r->type) {
	case '+':
	case '-':
		r->n = 0;
		return 1;
	case ':':
		return redis__ll(r->p, r->len, &r->n) ? 1 : -1;
	case '*':
		if (!redis__ll(r->p, r->len, &r->n) || r->n < -1 || r->n > (long long)REDIS__MAX_ELEMS)
			return -1;
		return 1;
	case '$':
		if (!redis__ll(r->p, r->len, &r->n) || r->n < -1 || r->n > (long long)REDIS__MAX_BULK)
			return -1;
		if (r->n < 0)
			return 1;
		if (len - (at + r->hdr) < (size_t)r->n + 2)
			return 0;
		if (buf[at + r->hdr + r->n] != '\r' || buf[at + r->hdr + r->n + 1] != '\n')
			return -1;
		r->p = buf + at + r->hdr;
		r->len = (size_t)r->n;
		r->used = r->hdr + (size_t)r->n + 2;
		return 1;
	default:
		return -1;
	}
}

int redis__reply(const char *buf, size_t len, struct redis__reply *r)
{
	long long left[REDIS__MAX_DEPTH + 1];
	struct redis__reply e;
	size_t at, elems = 0;
	int depth = 0, k;

	k = one_elem(buf, len, 0, r);
	if (k <= 0 || r->type != '*' || r->n <= 0)
		return k;
	/* An array: walk its members, nested ones included, without
	 * recursion; left[d] is what level d still holds. */
	at = r->hdr;
	left[0] = r->n;
	while (depth >= 0) {
		if (!left[depth]) {
			depth--;
			continue;
		}
		if (++elems > REDIS__MAX_ELEMS)
			return -1;
		k = one_elem(buf, len, at, &e);
		if (k <= 0)
			return k;
		left[depth]--;
		at += e.used;
		if (e.type == '*' && e.n > 0) {
			if (depth == REDIS__MAX_DEPTH - 1)
				return -1;
			left[++depth] = e.n;
		}
	}
	r->used = at;
	return 1;
}

/* ---- the keyspace ----------------------------------------------------- */

#define REDIS_VERSION "7.0.15"
#define STORE_MAXMEMORY (32u << 20)     /* bytes of keys and values */
#define STORE_DBS 16
#define STORE_SAMPLES 5                 /* maxmemory-samples */
#define KEY_OVERHEAD 96                 /* what a key costs beyond its bytes */
/* A hash or list past these refuses to grow (-OOM): a peer cannot make
 * one whose linear scans stall the loop. */
#define HASH_MAX_FIELDS 1024
#define LIST_MAX_ITEMS 65536
#define CRON_NS 100000000ull            /* active expiry, 10 times a second */
#define SESS_IDLE 300.0                 /* s: a silent client is dropped */
#define SESS_STALL 30.0                 /* s: to finish a request begun */
#define SESS_OUT_MAX (4u << 20)         /* replies queued before we stop reading */

enum { T_STRING, T_HASH, T_LIST };

struct rstr {
	uint32_t n;
	char p[];
};

struct rfield {
	struct rstr *f, *v;
};

struct rkey {
	struct rkey *next;              /* hash chain */
	uint64_t hash;
	uint64_t expire;                /* loop clock, ns; 0: never */
	uint64_t atime;                 /* last use, for eviction */
	size_t bytes;                   /* what it counts against maxmemory */
	uint32_t idx;                   /* in store.all */
	uint32_t klen;
	uint8_t type, db;
	union {
		struct rstr *s;
		struct {
			struct rfield *f;
			uint32_t n, cap;
		} h;
		struct {
			struct rstr **v;        /* a ring: v[(head + i) & (cap - 1)] */
			uint32_t head, n, cap;
		} l;
	} u;
	char key[];
};

struct rstore {
	struct rkey **tab;
	size_t mask;
	struct rkey **all;              /* every key, for sampling */
	size_t n, cap;
	size_t bytes;
	uint32_t keys[STORE_DBS], expires[STORE_DBS];
	uint64_t hits, misses, evicted, expired, cmds, conns;
};

struct rsess;

struct redis_srv {
	struct io lio;
	struct host *h;
	struct stats *st;
	struct rstore db;
	struct timer cron;
	struct rsess *sessions;
	uint32_t nsess;
	uint16_t port;
	uint64_t started, next_id;
	struct redis_srv *next;
};

struct rsess {
	struct conn c;
	struct timer idle;
	struct defer d;
	struct redis_srv *srv;
	struct rsess *next, **pprev;
	struct redis__pstate ps;
	uint64_t id;
	uint8_t db;
	bool quit;              /* QUIT or a protocol error: answer, then close */
};

/* Servers live as long as the process (there is no stop call); this
 * list keeps them and what they hold reachable. */
static struct redis_srv *servers;

static struct rstr *rstr_new(const char *p, size_t n)
{
	struct rstr *s = xmalloc(sizeof(*s) + n + 1);

	s->n = (uint32_t)n;
	memcpy(s->p, p, n);
	s->p[n] = 0;
	return s;
}

static uint64_t key_hash(uint8_t db, const char *k, size_t n)
{
	return rng_hash(k, n, 0x7265646973ull + db);
}

static void key_charge(struct rstore *db, struct rkey *k, ssize_t delta)
{
	k->bytes += (size_t)delta;
	db->bytes += (size_t)delta;
}

static void key_free_value(struct rkey *k)
{
	switch (k->type) {
	case T_STRING:
		free(k->u.s);
		break;
	case T_HASH:
		for (uint32_t i = 0; i < k->u.h.n; i++) {
			free(k->u.h.f[i].f);
			free(k->u.h.f[i].v);
		}
		free(k->u.h.f);
		break;
	case T_LIST:
		for (uint32_t i = 0; i < k->u.l.n; i++)
			free(k->u.l.v[(k->u.l.head + i) & (k->u.l.cap - 1)]);
		free(k->u.l.v);
		break;
	}
	memset(&k->u, 0, sizeof(k->u));
}

static void key_set_expire(struct rstore *db, struct rkey *k, uint64_t when)
{
	if (!k->expire && when)
		db->expires[k->db]++;
	else if (k->expire && !when)
		db->expires[k->db]--;
	k->expire = when;
}

static void key_delete(struct rstore *db, struct rkey *k)
{
	struct rkey **pp = &db->tab[k->hash & db->mask];

	while (*pp != k)
		pp = &(*pp)->next;
	*pp = k->next;
	db->all[k->idx] = db->all[--db->n];
	db->all[k->idx]->idx = k->idx;
	db->bytes -= k->bytes;
	db->keys[k->db]--;
	key_set_expire(db, k, 0);
	key_free_value(k);
	free(k);
}

static bool key_expired(const struct rkey *k, uint64_t now)
{
	return k->expire && now >= k->expire;
}

/* The live key, or NULL; an expired one is deleted on the way (lazy
 * expiry).  Touches it for the LRU. */
static struct rkey *key_find(struct rstore *db, uint8_t dbi, const char *key, size_t n, uint64_t now)
{
	uint64_t h;
	struct rkey *k;

	if (!db->tab)
		return NULL;
	h = key_hash(dbi, key, n);
	for (k = db->tab[h & db->mask]; k; k = k->next)
		if (k->hash == h && k->db == dbi && k->klen == n && !memcmp(k->key, key, n))
			break;
	if (k && key_expired(k, now)) {
		db->expired++;
		key_delete(db, k);
		return NULL;
	}
	if (k)
		k->atime = now;
	return k;
}

static void store_grow(struct rstore *db)
{
	size_t nb = db->tab ? (db->mask + 1) * 2 : 1024;
	struct rkey **t = xcalloc(nb, sizeof(*t));

	for (size_t i = 0; db->tab && i <= db->mask; i++) {
		while (db->tab[i]) {
			struct rkey *k = db->tab[i];

			db->tab[i] = k->next;
			k->next = t[k->hash & (nb - 1)];
			t[k->hash & (nb - 1)] = k;
		}
	}
	free(db->tab);
	db->tab = t;
	db->mask = nb - 1;
}

/* A new, empty key of type (the caller made sure it is not there). */
static struct rkey *key_add(struct rstore *db, uint8_t dbi, const char *key, size_t n, uint8_t type,
			    uint64_t now)
{
	struct rkey *k = xcalloc(1, sizeof(*k) + n + 1);

	if (!db->tab || db->n + 1 > db->mask + 1)
		store_grow(db);
	memcpy(k->key, key, n);
	k->klen = (uint32_t)n;
	k->db = dbi;
	k->type = type;
	k->hash = key_hash(dbi, key, n);
	k->atime = now;
	k->next = db->tab[k->hash & db->mask];
	db->tab[k->hash & db->mask] = k;
	if (db->n == db->cap) {
		db->cap = db->cap ? db->cap * 2 : 1024;
		db->all = xreallocarray(db->all, db->cap, sizeof(*db->all));
	}
	k->idx = (uint32_t)db->n;
	db->all[db->n++] = k;
	db->keys[dbi]++;
	key_charge(db, k, (ssize_t)(KEY_OVERHEAD + n));
	return k;
}

static void string_set(struct rstore *db, struct rkey *k, const char *p, size_t n)
{
	size_t old = k->u.s ? k->u.s->n : 0;

	free(k->u.s);
	k->u.s = rstr_new(p, n);
	key_charge(db, k, (ssize_t)n - (ssize_t)old);
}

/* Evict, as allkeys-lru does with sampling, until under maxmemory;
 * false when even an empty keyspace would not do. */
static bool store_make_room(struct redis_srv *srv)
{
	struct rstore *db = &srv->db;

	while (db->bytes > STORE_MAXMEMORY && db->n) {
		struct rkey *old = NULL;

		for (int i = 0; i < STORE_SAMPLES; i++) {
			struct rkey *k = db->all[rng_below(&srv->h->rng, db->n)];

			if (!old || k->atime < old->atime)
				old = k;
		}
		db->evicted++;
		key_delete(db, old);
	}
	return db->bytes <= STORE_MAXMEMORY;
}

/* Active expiry: sample keys, delete the expired ones, again while a
 * quarter of a sample was (the real server's cycle, in short). */
static void store_cron(struct loop *l, struct timer *t)
{
	struct redis_srv *srv = container_of(t, struct redis_srv, cron);
	struct rstore *db = &srv->db;
	uint64_t now = loop_now(l);

	for (int round = 0; round < 16 && db->n; round++) {
		int hit = 0;

		for (int i = 0; i < 20 && db->n; i++) {
			struct rkey *k = db->all[rng_below(&srv->h->rng, db->n)];

			if (key_expired(k, now)) {
				db->expired++;
				key_delete(db, k);
				hit++;
			}
		}
		if (hit < 5)
			break;
	}
	loop_timer_start(l, t, CRON_NS);
}

/* ---- replies ------------------------------------------------------------ */

static void r_ok(struct conn *c)
{
	conn_write(c, "+OK\r\n", 5);
}

static void r_nil(struct conn *c)
{
	conn_write(c, "$-1\r\n", 5);
}

static void r_int(struct conn *c, long long v)
{
	conn_printf(c, ":%lld\r\n", v);
}

static void r_arr(struct conn *c, long long n)
{
	conn_printf(c, "*%lld\r\n", n);
}

static void r_bulk(struct conn *c, const char *p, size_t n)
{
	conn_printf(c, "$%zu\r\n", n);
	conn_write(c, p, n);
	conn_write(c, "\r\n", 2);
}

static void r_str(struct conn *c, const struct rstr *s)
{
	r_bulk(c, s->p, s->n);
}

/* An error line; CR and LF in it become spaces (they would end it). */
static void r_err(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void r_err(struct conn *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	for (int i = 0; i < n; i++)
		if (msg[i] == '\r' || msg[i] == '\n')
			msg[i] = ' ';
	conn_write(c, "-", 1);
	conn_write(c, msg, (size_t)n);
	conn_write(c, "\r\n", 2);
}

static const char E_WRONGTYPE[] = "WRONGTYPE Operation against a key holding the wrong kind of value";
static const char E_NOTINT[] = "ERR value is not an integer or out of range";
static const char E_SYNTAX[] = "ERR syntax error";
static const char E_OOM[] = "OOM command not allowed when used memory > 'maxmemory'.";

/* ---- commands ----------------------------------------------------------- */

struct rctx {
	struct rsess *s;
	struct conn *c;
	struct rstore *db;
	const struct redis__cmd *cmd;
	const struct redis__arg *a;     /* cmd->argv */
	uint64_t now;
};

#define ARG_IS(x, lit) ((x).n == sizeof(lit) - 1 && !strncasecmp((x).p, lit, sizeof(lit) - 1))

static struct rkey *lookup(struct rctx *x, const struct redis__arg *k)
{
	struct rkey *key = key_find(x->db, x->s->db, k->p, k->n, x->now);

	if (key)
		x->db->hits++;
	else
		x->db->misses++;
	return key;
}

/* The key for a write of type: found, or made; NULL (and the error
 * sent) when it holds another type. */
static struct rkey *lookup_write(struct rctx *x, const struct redis__arg *k, uint8_t type)
{
	struct rkey *key = key_find(x->db, x->s->db, k->p, k->n, x->now);

	if (key && key->type != type) {
		r_err(x->c, "%s", E_WRONGTYPE);
		return NULL;
	}
	if (!key)
		key = key_add(x->db, x->s->db, k->p, k->n, type, x->now);
	return key;
}

static bool arg_ll(struct rctx *x, const struct redis__arg *a, long long *v)
{
	if (redis__ll(a->p, a->n, v))
		return true;
	r_err(x->c, "%s", E_NOTINT);
	return false;
}

static void cmd_get(struct rctx *x)
{
	struct rkey *k = lookup(x, &x->a[1]);

	if (!k)
		r_nil(x->c);
	else if (k->type != T_STRING)
		r_err(x->c, "%s", E_WRONGTYPE);
	else
		r_str(x->c, k->u.s);
}

/* SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL] */
static void cmd_set(struct rctx *x)
{
	enum { NX = 1, XX = 2, GET = 4, KEEPTTL = 8, EXP = 16 };
	unsigned fl = 0;
	uint64_t when = 0;
	struct rkey *k;

	for (uint32_t i = 3; i < x->cmd->argc; i++) {
		const struct redis__arg *o = &x->a[i];
		bool more = i + 1 < x->cmd->argc;
		long long v, ms;
		int unit = 0;   /* 1 s, 2 ms, 3 unix s, 4 unix ms */

		if (ARG_IS(*o, "NX") && !(fl & XX))
			fl |= NX;
		else if (ARG_IS(*o, "XX") && !(fl & NX))
			fl |= XX;
		else if (ARG_IS(*o, "GET"))
			fl |= GET;
		else if (ARG_IS(*o, "KEEPTTL") && !(fl & EXP))
			fl |= KEEPTTL;
		else if (more && !(fl & (EXP | KEEPTTL)) &&
			 ((ARG_IS(*o, "EX") && (unit = 1)) || (ARG_IS(*o, "PX") && (unit = 2)) ||
			  (ARG_IS(*o, "EXAT") && (unit = 3)) || (ARG_IS(*o, "PXAT") && (unit = 4)))) {
			if (!arg_ll(x, &x->a[++i], &v))
				return;
			if (v <= 0 || ((unit == 1 || unit == 3) && v > LLONG_MAX / 1000)) {
				r_err(x->c, "ERR invalid expire time in 'set' command");
				return;
			}
			ms = unit == 1 || unit == 3 ? v * 1000 : v;
			if (unit >= 3) {
				struct timespec ts;

				clock_gettime(CLOCK_REALTIME, &ts);
				ms -= (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
			}
			/* Bounded to what the ns clock can hold (2^42 ms, 139 years). */
			when = ms <= 0 ? x->now : x->now + (uint64_t)MIN(ms, 1ll << 42) * 1000000ull;
			fl |= EXP;
		} else {
			r_err(x->c, "%s", E_SYNTAX);
			return;
		}
	}
	k = key_find(x->db, x->s->db, x->a[1].p, x->a[1].n, x->now);
	if ((fl & GET) && k && k->type != T_STRING) {
		r_err(x->c, "%s", E_WRONGTYPE);
		return;
	}
	if (fl & GET) {
		if (k)
			r_str(x->c, k->u.s);
		else
			r_nil(x->c);
	}
	if (((fl & NX) && k) || ((fl & XX) && !k)) {
		if (!(fl & GET))
			r_nil(x->c);
		return;
	}
	if (k && k->type != T_STRING) {
		key_delete(x->db, k);
		k = NULL;
	}
	if (!k)
		k = key_add(x->db, x->s->db, x->a[1].p, x->a[1].n, T_STRING, x->now);
	string_set(x->db, k, x->a[2].p, x->a[2].n);
	if (!(fl & KEEPTTL))
		key_set_expire(x->db, k, when);
	if (!(fl & GET))
		r_ok(x->c);
}

static void set_plain(struct rctx *x, const struct redis__arg *key, const struct redis__arg *val,
		      uint64_t when)
{
	struct rkey *k = key_find(x->db, x->s->db, key->p, key->n, x->now);

	if (k && k->type != T_STRING) {
		key_delete(x->db, k);
		k = NULL;
	}
	if (!k)
		k = key_add(x->db, x->s->db, key->p, key->n, T_STRING, x->now);
	string_set(x->db, k, val->p, val->n);
	key_set_expire(x->db, k, when);
}

static void cmd_setex(struct rctx *x)
{
	long long v;

	if (!arg_ll(x, &x->a[2], &v))
		return;
	if (v <= 0 || v > LLONG_MAX / 1000 / 1000000) {
		r_err(x->c, "ERR invalid expire time in 'setex' command");
		return;
	}
	set_plain(x, &x->a[1], &x->a[3], x->now + (uint64_t)MIN(v, 1ll << 32) * 1000000000ull);
	r_ok(x->c);
}

static void cmd_setnx(struct rctx *x)
{
	if (key_find(x->db, x->s->db, x->a[1].p, x->a[1].n, x->now)) {
		r_int(x->c, 0);
		return;
	}
	set_plain(x, &x->a[1], &x->a[2], 0);
	r_int(x->c, 1);
}

static void cmd_mget(struct rctx *x)
{
	r_arr(x->c, x->cmd->argc - 1);
	for (uint32_t i = 1; i < x->cmd->argc; i++) {
		struct rkey *k = lookup(x, &x->a[i]);

		if (k && k->type == T_STRING)
			r_str(x->c, k->u.s);
		else
			r_nil(x->c);
	}
}

static void cmd_mset(struct rctx *x)
{
	if (x->cmd->argc % 2 == 0) {
		r_err(x->c, "ERR wrong number of arguments for 'mset' command");
		return;
	}
	for (uint32_t i = 1; i + 1 < x->cmd->argc; i += 2)
		set_plain(x, &x->a[i], &x->a[i + 1], 0);
	r_ok(x->c);
}

static void incr_by(struct rctx *x, long long by)
{
	struct rkey *k = key_find(x->db, x->s->db, x->a[1].p, x->a[1].n, x->now);
	long long v = 0;
	char num[24];
	int n;

	if (k && k->type != T_STRING) {
		r_err(x->c, "%s", E_WRONGTYPE);
		return;
	}
	if (k && !redis__ll(k->u.s->p, k->u.s->n, &v)) {
		r_err(x->c, "%s", E_NOTINT);
		return;
	}
	if ((by < 0 && v < 0 && by < LLONG_MIN - v) || (by > 0 && v > 0 && by > LLONG_MAX - v)) {
		r_err(x->c, "ERR increment or decrement would overflow");
		return;
	}
	v += by;
	if (!k)
		k = key_add(x->db, x->s->db, x->a[1].p, x->a[1].n, T_STRING, x->now);
	n = snprintf(num, sizeof(num), "%lld", v);
	string_set(x->db, k, num, (size_t)n);   /* the TTL stays */
	r_int(x->c, v);
}

static void cmd_incr(struct rctx *x)
{
	incr_by(x, 1);
}

static void cmd_decr(struct rctx *x)
{
	incr_by(x, -1);
}

static void cmd_incrby(struct rctx *x)
{
	long long by;

	if (arg_ll(x, &x->a[2], &by))
		incr_by(x, by);
}

static void cmd_decrby(struct rctx *x)
{
	long long by;

	if (!arg_ll(x, &x->a[2], &by))
		return;
	if (by == LLONG_MIN) {
		r_err(x->c, "ERR decrement would overflow");
		return;
	}
	incr_by(x, -by);
}

static void cmd_del(struct rctx *x)
{
	long long n = 0;

	for (uint32_t i = 1; i < x->cmd->argc; i++) {
		struct rkey *k = key_find(x->db, x->s->db, x->a[i].p, x->a[i].n, x->now);

		if (k) {
			key_delete(x->db, k);
			n++;
		}
	}
	r_int(x->c, n);
}

static void cmd_exists(struct rctx *x)
{
	long long n = 0;

	for (uint32_t i = 1; i < x->cmd->argc; i++)
		n += key_find(x->db, x->s->db, x->a[i].p, x->a[i].n, x->now) != NULL;
	r_int(x->c, n);
}

/* EXPIRE/PEXPIRE key t [NX|XX|GT|LT] */
static void expire_generic(struct rctx *x, bool ms, const char *name)
{
	enum { NX = 1, XX = 2, GT = 4, LT = 8 };
	unsigned fl = 0;
	long long v;
	uint64_t when;
	struct rkey *k;

	if (!arg_ll(x, &x->a[2], &v))
		return;
	for (uint32_t i = 3; i < x->cmd->argc; i++) {
		if (ARG_IS(x->a[i], "NX"))
			fl |= NX;
		else if (ARG_IS(x->a[i], "XX"))
			fl |= XX;
		else if (ARG_IS(x->a[i], "GT"))
			fl |= GT;
		else if (ARG_IS(x->a[i], "LT"))
			fl |= LT;
		else {
			r_err(x->c, "ERR Unsupported option %.*s", (int)MIN(x->a[i].n, 128u), x->a[i].p);
			return;
		}
	}
	if ((fl & NX) && (fl & (XX | GT | LT))) {
		r_err(x->c, "ERR NX and XX, GT or LT options at the same time are not compatible");
		return;
	}
	if ((fl & GT) && (fl & LT)) {
		r_err(x->c, "ERR GT and LT options at the same time are not compatible");
		return;
	}
	if (!ms && (v > LLONG_MAX / 1000 || v < LLONG_MIN / 1000)) {
		r_err(x->c, "ERR invalid expire time in '%s' command", name);
		return;
	}
	if (!ms)
		v *= 1000;
	k = key_find(x->db, x->s->db, x->a[1].p, x->a[1].n, x->now);
	if (!k) {
		r_int(x->c, 0);
		return;
	}
	when = v <= 0 ? 0 : x->now + (uint64_t)MIN(v, 1ll << 42) * 1000000ull;
	if (((fl & NX) && k->expire) || ((fl & XX) && !k->expire) ||
	    ((fl & GT) && (!k->expire || (when && when <= k->expire))) ||
	    ((fl & LT) && k->expire && (!when ? false : when >= k->expire))) {
		r_int(x->c, 0);
		return;
	}
	if (v <= 0)
		key_delete(x->db, k);   /* a time in the past deletes */
	else
		key_set_expire(x->db, k, when);
	r_int(x->c, 1);
}

static void cmd_expire(struct rctx *x)
{
	expire_generic(x, false, "expire");
}

static void cmd_pexpire(struct rctx *x)
{
	expire_generic(x, true, "pexpire");
}

static void ttl_generic(struct rctx *x, bool ms)
{
	struct rkey *k = key_find(x->db, x->s->db, x->a[1].p, x->a[1].n, x->now);
	long long left;

	if (!k) {
		r_int(x->c, -2);
		return;
	}
	if (!k->expire) {
		r_int(x->c, -1);
		return;
	}
	left = (long long)((k->expire - x->now) / 1000000ull);
	r_int(x->c, ms ? left : (left + 500) / 1000);
}

static void cmd_ttl(struct rctx *x)
{
	ttl_generic(x, false);
}

static void cmd_pttl(struct rctx *x)
{
	ttl_generic(x, true);
}

static void cmd_persist(struct rctx *x)
{
	struct rkey *k = key_find(x->db, x->s->db, x->a[1].p, x->a[1].n, x->now);

	if (!k || !k->expire) {
		r_int(x->c, 0);
		return;
	}
	key_set_expire(x->db, k, 0);
	r_int(x->c, 1);
}

static void cmd_type(struct rctx *x)
{
	struct rkey *k = key_find(x->db, x->s->db, x->a[1].p, x->a[1].n, x->now);
	static const char *const names[] = { "+string\r\n", "+hash\r\n", "+list\r\n" };

	if (!k)
		conn_write(x->c, "+none\r\n", 7);
	else
		conn_write(x->c, names[k->type], strlen(names[k->type]));
}

/* -- hashes -- */

static struct rfield *hash_field(struct rkey *k, const struct redis__arg *f)
{
	for (uint32_t i = 0; i < k->u.h.n; i++)
		if (k->u.h.f[i].f->n == f->n && !memcmp(k->u.h.f[i].f->p, f->p, f->n))
			return &k->u.h.f[i];
	return NULL;
}

static void hash_drop_if_empty(struct rctx *x, struct rkey *k)
{
	if (k->type == T_HASH && !k->u.h.n)
		key_delete(x->db, k);
}

/* Set field f of hash k to v: 1 when the field is new, 0 when it was
 * replaced, -1 when the hash is full. */
static int hash_put(struct rctx *x, struct rkey *k, const char *f, size_t fn, const char *v,
		    size_t vn)
{
	struct redis__arg fa = { f, (uint32_t)fn };
	struct rfield *e = hash_field(k, &fa);
	int added = 0;

	if (!e) {
		if (k->u.h.n >= HASH_MAX_FIELDS)
			return -1;
		if (k->u.h.n == k->u.h.cap) {
			k->u.h.cap = k->u.h.cap ? k->u.h.cap * 2 : 4;
			k->u.h.f = xreallocarray(k->u.h.f, k->u.h.cap, sizeof(*k->u.h.f));
		}
		e = &k->u.h.f[k->u.h.n++];
		e->f = rstr_new(f, fn);
		e->v = NULL;
		key_charge(x->db, k, (ssize_t)(fn + 32));
		added = 1;
	} else {
		key_charge(x->db, k, -(ssize_t)e->v->n);
		free(e->v);
	}
	e->v = rstr_new(v, vn);
	key_charge(x->db, k, (ssize_t)vn);
	return added;
}

/* HSET key f v [f v ...] (HMSET: +OK instead of the count) */
static void hset_generic(struct rctx *x, bool hmset)
{
	long long added = 0;
	struct rkey *k;

	if (x->cmd->argc % 2) {
		r_err(x->c, "ERR wrong number of arguments for '%s' command", hmset ? "hmset" : "hset");
		return;
	}
	if (!(k = lookup_write(x, &x->a[1], T_HASH)))
		return;
	for (uint32_t i = 2; i + 1 < x->cmd->argc; i += 2) {
		int r = hash_put(x, k, x->a[i].p, x->a[i].n, x->a[i + 1].p, x->a[i + 1].n);

		if (r < 0) {
			hash_drop_if_empty(x, k);
			r_err(x->c, "%s", E_OOM);
			return;
		}
		added += r;
	}
	if (hmset)
		r_ok(x->c);
	else
		r_int(x->c, added);
}

static void cmd_hset(struct rctx *x)
{
	hset_generic(x, false);
}

static void cmd_hmset(struct rctx *x)
{
	hset_generic(x, true);
}

static struct rkey *lookup_type(struct rctx *x, const struct redis__arg *a, uint8_t type, bool *bad)
{
	struct rkey *k = lookup(x, a);

	*bad = k && k->type != type;
	if (*bad)
		r_err(x->c, "%s", E_WRONGTYPE);
	return *bad ? NULL : k;
}

static void cmd_hget(struct rctx *x)
{
	bool bad;
	struct rkey *k = lookup_type(x, &x->a[1], T_HASH, &bad);
	struct rfield *f = k ? hash_field(k, &x->a[2]) : NULL;

	if (bad)
		return;
	if (f)
		r_str(x->c, f->v);
	else
		r_nil(x->c);
}

static void cmd_hmget(struct rctx *x)
{
	bool bad;
	struct rkey *k = lookup_type(x, &x->a[1], T_HASH, &bad);

	if (bad)
		return;
	r_arr(x->c, x->cmd->argc - 2);
	for (uint32_t i = 2; i < x->cmd->argc; i++) {
		struct rfield *f = k ? hash_field(k, &x->a[i]) : NULL;

		if (f)
			r_str(x->c, f->v);
		else
			r_nil(x->c);
	}
}

static void cmd_hgetall(struct rctx *x)
{
	bool bad;
	struct rkey *k = lookup_type(x, &x->a[1], T_HASH, &bad);

	if (bad)
		return;
	r_arr(x->c, k ? 2ll * k->u.h.n : 0);
	for (uint32_t i = 0; k && i < k->u.h.n; i++) {
		r_str(x->c, k->u.h.f[i].f);
		r_str(x->c, k->u.h.f[i].v);
	}
}

static void cmd_hdel(struct rctx *x)
{
	bool bad;
	struct rkey *k = lookup_type(x, &x->a[1], T_HASH, &bad);
	long long n = 0;

	if (bad)
		return;
	for (uint32_t i = 2; k && i < x->cmd->argc; i++) {
		struct rfield *f = hash_field(k, &x->a[i]);

		if (!f)
			continue;
		key_charge(x->db, k, -(ssize_t)(f->f->n + f->v->n + 32));
		free(f->f);
		free(f->v);
		*f = k->u.h.f[--k->u.h.n];
		n++;
	}
	if (k)
		hash_drop_if_empty(x, k);
	r_int(x->c, n);
}

static void cmd_hlen(struct rctx *x)
{
	bool bad;
	struct rkey *k = lookup_type(x, &x->a[1], T_HASH, &bad);

	if (!bad)
		r_int(x->c, k ? k->u.h.n : 0);
}

static void cmd_hexists(struct rctx *x)
{
	bool bad;
	struct rkey *k = lookup_type(x, &x->a[1], T_HASH, &bad);

	if (!bad)
		r_int(x->c, k && hash_field(k, &x->a[2]));
}

static void cmd_hincrby(struct rctx *x)
{
	long long by, v = 0;
	struct rkey *k;
	struct rfield *f;
	char num[24];
	int n;

	if (!arg_ll(x, &x->a[3], &by))
		return;
	k = key_find(x->db, x->s->db, x->a[1].p, x->a[1].n, x->now);
	if (k && k->type != T_HASH) {
		r_err(x->c, "%s", E_WRONGTYPE);
		return;
	}
	f = k ? hash_field(k, &x->a[2]) : NULL;
	if (f && !redis__ll(f->v->p, f->v->n, &v)) {
		r_err(x->c, "ERR hash value is not an integer");
		return;
	}
	if ((by < 0 && v < 0 && by < LLONG_MIN - v) || (by > 0 && v > 0 && by > LLONG_MAX - v)) {
		r_err(x->c, "ERR increment or decrement would overflow");
		return;
	}
	v += by;
	n = snprintf(num, sizeof(num), "%lld", v);
	if (!k)
		k = key_add(x->db, x->s->db, x->a[1].p, x->a[1].n, T_HASH, x->now);
	if (hash_put(x, k, x->a[2].p, x->a[2].n, num, (size_t)n) < 0) {
		hash_drop_if_empty(x, k);
		r_err(x->c, "%s", E_OOM);
		return;
	}
	r_int(x->c, v);
}

/* -- lists -- */

static void list_grow(struct rkey *k)
{
	uint32_t cap = k->u.l.cap ? k->u.l.cap * 2 : 8;
	struct rstr **v = xcalloc(cap, sizeof(*v));

	for (uint32_t i = 0; i < k->u.l.n; i++)
		v[i] = k->u.l.v[(k->u.l.head + i) & (k->u.l.cap - 1)];
	free(k->u.l.v);
	k->u.l.v = v;
	k->u.l.cap = cap;
	k->u.l.head = 0;
}

static struct rstr **list_at(struct rkey *k, uint32_t i)
{
	return &k->u.l.v[(k->u.l.head + i) & (k->u.l.cap - 1)];
}

static void push_generic(struct rctx *x, bool left)
{
	struct rkey *k = lookup_write(x, &x->a[1], T_LIST);

	if (!k)
		return;
	if (k->u.l.n + (x->cmd->argc - 2) > LIST_MAX_ITEMS) {
		if (!k->u.l.n)
			key_delete(x->db, k);
		r_err(x->c, "%s", E_OOM);
		return;
	}
	for (uint32_t i = 2; i < x->cmd->argc; i++) {
		struct rstr *v = rstr_new(x->a[i].p, x->a[i].n);

		if (k->u.l.n == k->u.l.cap)
			list_grow(k);
		if (left) {
			k->u.l.head = (k->u.l.head - 1) & (k->u.l.cap - 1);
			k->u.l.v[k->u.l.head] = v;
		} else {
			*list_at(k, k->u.l.n) = v;
		}
		k->u.l.n++;
		key_charge(x->db, k, (ssize_t)(v->n + 16));
	}
	r_int(x->c, k->u.l.n);
}

static void cmd_lpush(struct rctx *x)
{
	push_generic(x, true);
}

static void cmd_rpush(struct rctx *x)
{
	push_generic(x, false);
}

/* start..stop as LRANGE reads them: false when the range is empty. */
static bool list_range(long long len, long long *start, long long *stop)
{
	if (*start < 0)
		*start += len;
	if (*stop < 0)
		*stop += len;
	if (*start < 0)
		*start = 0;
	if (*start > *stop || *start >= len)
		return false;
	if (*stop >= len)
		*stop = len - 1;
	return true;
}

static void cmd_lrange(struct rctx *x)
{
	long long start, stop;
	bool bad;
	struct rkey *k;

	if (!arg_ll(x, &x->a[2], &start) || !arg_ll(x, &x->a[3], &stop))
		return;
	k = lookup_type(x, &x->a[1], T_LIST, &bad);
	if (bad)
		return;
	if (!k || !list_range(k->u.l.n, &start, &stop)) {
		r_arr(x->c, 0);
		return;
	}
	r_arr(x->c, stop - start + 1);
	for (long long i = start; i <= stop; i++)
		r_str(x->c, *list_at(k, (uint32_t)i));
}

static void cmd_ltrim(struct rctx *x)
{
	long long start, stop;
	bool bad;
	struct rkey *k;

	if (!arg_ll(x, &x->a[2], &start) || !arg_ll(x, &x->a[3], &stop))
		return;
	k = lookup_type(x, &x->a[1], T_LIST, &bad);
	if (bad)
		return;
	if (k) {
		bool keep = list_range(k->u.l.n, &start, &stop);
		uint32_t from = keep ? (uint32_t)start : 0, to = keep ? (uint32_t)stop + 1 : 0;

		for (uint32_t i = 0; i < k->u.l.n; i++) {
			struct rstr **v = list_at(k, i);

			if (i < from || i >= to) {
				key_charge(x->db, k, -(ssize_t)((*v)->n + 16));
				free(*v);
				*v = NULL;
			}
		}
		k->u.l.head = (k->u.l.head + from) & (k->u.l.cap - 1);
		k->u.l.n = to - from;
		if (!k->u.l.n)
			key_delete(x->db, k);
	}
	r_ok(x->c);
}

static void cmd_llen(struct rctx *x)
{
	bool bad;
	struct rkey *k = lookup_type(x, &x->a[1], T_LIST, &bad);

	if (!bad)
		r_int(x->c, k ? k->u.l.n : 0);
}

static void pop_generic(struct rctx *x, bool left)
{
	long long count = 1;
	bool bad, many = x->cmd->argc == 3;
	struct rkey *k;

	if (many && (!redis__ll(x->a[2].p, x->a[2].n, &count) || count < 0)) {
		r_err(x->c, "ERR value is out of range, must be positive");
		return;
	}
	k = lookup_type(x, &x->a[1], T_LIST, &bad);
	if (bad)
		return;
	if (!k) {
		if (many)
			conn_write(x->c, "*-1\r\n", 5);
		else
			r_nil(x->c);
		return;
	}
	count = MIN(count, (long long)k->u.l.n);
	if (many)
		r_arr(x->c, count);
	for (long long i = 0; i < count; i++) {
		struct rstr **v = list_at(k, left ? 0 : k->u.l.n - 1);

		r_str(x->c, *v);
		key_charge(x->db, k, -(ssize_t)((*v)->n + 16));
		free(*v);
		*v = NULL;
		if (left)
			k->u.l.head = (k->u.l.head + 1) & (k->u.l.cap - 1);
		k->u.l.n--;
	}
	if (!k->u.l.n)
		key_delete(x->db, k);
}

static void cmd_lpop(struct rctx *x)
{
	pop_generic(x, true);
}

static void cmd_rpop(struct rctx *x)
{
	pop_generic(x, false);
}

/* -- connection and server -- */

static void cmd_ping(struct rctx *x)
{
	if (x->cmd->argc > 2)
		r_err(x->c, "ERR wrong number of arguments for 'ping' command");
	else if (x->cmd->argc == 2)
		r_bulk(x->c, x->a[1].p, x->a[1].n);
	else
		conn_write(x->c, "+PONG\r\n", 7);
}

static void cmd_echo(struct rctx *x)
{
	r_bulk(x->c, x->a[1].p, x->a[1].n);
}

static void cmd_select(struct rctx *x)
{
	long long v;

	if (!arg_ll(x, &x->a[1], &v))
		return;
	if (v < 0 || v >= STORE_DBS) {
		r_err(x->c, "ERR DB index is out of range");
		return;
	}
	x->s->db = (uint8_t)v;
	r_ok(x->c);
}

static void cmd_dbsize(struct rctx *x)
{
	r_int(x->c, x->db->keys[x->s->db]);
}

static void flush_generic(struct rctx *x, int dbi)
{
	if (x->cmd->argc > 2 || (x->cmd->argc == 2 && !ARG_IS(x->a[1], "ASYNC") &&
				 !ARG_IS(x->a[1], "SYNC"))) {
		r_err(x->c, "%s", E_SYNTAX);
		return;
	}
	for (size_t i = x->db->n; i-- > 0;)
		if (i < x->db->n && (dbi < 0 || x->db->all[i]->db == dbi))
			key_delete(x->db, x->db->all[i]);
	r_ok(x->c);
}

static void cmd_flushdb(struct rctx *x)
{
	flush_generic(x, x->s->db);
}

static void cmd_flushall(struct rctx *x)
{
	flush_generic(x, -1);
}

static void cmd_info(struct rctx *x)
{
	struct redis_srv *srv = x->s->srv;
	struct rstore *db = x->db;
	struct buf b = { 0 };
	char want[16] = "default";
	bool all;

	if (x->cmd->argc > 2) {
		r_err(x->c, "%s", E_SYNTAX);
		return;
	}
	if (x->cmd->argc == 2)
		snprintf(want, sizeof(want), "%.*s", (int)MIN(x->a[1].n, 15u), x->a[1].p);
	all = !strcasecmp(want, "default") || !strcasecmp(want, "all") ||
	      !strcasecmp(want, "everything");
#define SECTION(name) (all || !strcasecmp(want, name))
	if (SECTION("server"))
		buf_printf(&b, "# Server\r\nredis_version:%s\r\nredis_mode:standalone\r\nos:Linux\r\n"
			   "arch_bits:64\r\nprocess_id:%d\r\ntcp_port:%u\r\nuptime_in_seconds:%llu\r\n"
			   "\r\n", REDIS_VERSION, (int)getpid(), srv->port,
			   (unsigned long long)((x->now - srv->started) / 1000000000ull));
	if (SECTION("clients"))
		buf_printf(&b, "# Clients\r\nconnected_clients:%u\r\nblocked_clients:0\r\n\r\n",
			   srv->nsess);
	if (SECTION("memory"))
		buf_printf(&b, "# Memory\r\nused_memory:%zu\r\nmaxmemory:%u\r\n"
			   "maxmemory_policy:allkeys-lru\r\n\r\n", db->bytes, STORE_MAXMEMORY);
	if (SECTION("stats"))
		buf_printf(&b, "# Stats\r\ntotal_connections_received:%llu\r\n"
			   "total_commands_processed:%llu\r\nexpired_keys:%llu\r\nevicted_keys:%llu\r\n"
			   "keyspace_hits:%llu\r\nkeyspace_misses:%llu\r\n\r\n",
			   (unsigned long long)db->conns, (unsigned long long)db->cmds,
			   (unsigned long long)db->expired, (unsigned long long)db->evicted,
			   (unsigned long long)db->hits, (unsigned long long)db->misses);
	if (SECTION("keyspace")) {
		buf_printf(&b, "# Keyspace\r\n");
		uint64_t ttl[STORE_DBS] = { 0 };

		/* The mean time to live of the keys that have one, in ms. */
		for (size_t i = 0; i < db->n; i++)
			if (db->all[i]->expire > x->now)
				ttl[db->all[i]->db] += (db->all[i]->expire - x->now) / 1000000u;
		for (int i = 0; i < STORE_DBS; i++)
			if (db->keys[i])
				buf_printf(&b, "db%d:keys=%u,expires=%u,avg_ttl=%llu\r\n", i, db->keys[i],
					   db->expires[i], (unsigned long long)(db->expires[i] ?
					   ttl[i] / db->expires[i] : 0));
	}
#undef SECTION
	/* Sections are separated by an empty line; none ends the text. */
	while (b.len >= 4 && !memcmp(b.p + b.len - 4, "\r\n\r\n", 4))
		b.len -= 2;
	r_bulk(x->c, b.p ? b.p : "", b.len);
	buf_free(&b);
}

static void cmd_quit(struct rctx *x)
{
	r_ok(x->c);
	x->s->quit = true;
}

static void cmd_command(struct rctx *x)
{
	/* redis-cli asks for COMMAND DOCS at start; it copes with none. */
	if (x->cmd->argc >= 2 && ARG_IS(x->a[1], "COUNT"))
		r_int(x->c, 0);
	else
		r_arr(x->c, 0);
}

static void cmd_client(struct rctx *x)
{
	if (ARG_IS(x->a[1], "SETNAME") && x->cmd->argc == 3)
		r_ok(x->c);
	else if (ARG_IS(x->a[1], "GETNAME") && x->cmd->argc == 2)
		r_nil(x->c);
	else if (ARG_IS(x->a[1], "ID") && x->cmd->argc == 2)
		r_int(x->c, (long long)x->s->id);
	else if (ARG_IS(x->a[1], "SETNAME") || ARG_IS(x->a[1], "GETNAME") || ARG_IS(x->a[1], "ID"))
		r_err(x->c, "ERR wrong number of arguments for 'client|%.*s' command",
		      (int)x->a[1].n, x->a[1].p);
	else
		r_err(x->c, "ERR unknown subcommand '%.*s'. Try CLIENT HELP.",
		      (int)MIN(x->a[1].n, 128u), x->a[1].p);
}

/* HELLO [protover ...]: this server speaks RESP2 only. */
static void cmd_hello(struct rctx *x)
{
	long long v = 2;

	if (x->cmd->argc >= 2 && !redis__ll(x->a[1].p, x->a[1].n, &v)) {
		r_err(x->c, "ERR Protocol version is not an integer or out of range");
		return;
	}
	if (v != 2) {
		r_err(x->c, "NOPROTO sorry, this protocol version is not supported");
		return;
	}
	r_arr(x->c, 14);
	r_bulk(x->c, "server", 6);
	r_bulk(x->c, "redis", 5);
	r_bulk(x->c, "version", 7);
	r_bulk(x->c, REDIS_VERSION, strlen(REDIS_VERSION));
	r_bulk(x->c, "proto", 5);
	r_int(x->c, 2);
	r_bulk(x->c, "id", 2);
	r_int(x->c, (long long)x->s->id);
	r_bulk(x->c, "mode", 4);
	r_bulk(x->c, "standalone", 10);
	r_bulk(x->c, "role", 4);
	r_bulk(x->c, "master", 6);
	r_bulk(x->c, "modules", 7);
	r_arr(x->c, 0);
}

/* The command table: name, arity (as the real server's: N exactly,
 * -N at least N), and whether it may grow the keyspace (refused with
 * -OOM when eviction cannot make room). */
struct rcommand {
	const char *name;
	int arity;
	bool grows;
	void (*fn)(struct rctx *x);
};

static const struct rcommand commands[] = {
	{ "get", 2, false, cmd_get },           { "set", -3, true, cmd_set },
	{ "setex", 4, true, cmd_setex },        { "setnx", 3, true, cmd_setnx },
	{ "mget", -2, false, cmd_mget },        { "mset", -3, true, cmd_mset },
	{ "incr", 2, true, cmd_incr },          { "decr", 2, true, cmd_decr },
	{ "incrby", 3, true, cmd_incrby },      { "decrby", 3, true, cmd_decrby },
	{ "del", -2, false, cmd_del },          { "unlink", -2, false, cmd_del },
	{ "exists", -2, false, cmd_exists },    { "expire", -3, false, cmd_expire },
	{ "pexpire", -3, false, cmd_pexpire },  { "ttl", 2, false, cmd_ttl },
	{ "pttl", 2, false, cmd_pttl },         { "persist", 2, false, cmd_persist },
	{ "type", 2, false, cmd_type },         { "hset", -4, true, cmd_hset },
	{ "hmset", -4, true, cmd_hmset },       { "hget", 3, false, cmd_hget },
	{ "hmget", -3, false, cmd_hmget },      { "hgetall", 2, false, cmd_hgetall },
	{ "hdel", -3, false, cmd_hdel },        { "hlen", 2, false, cmd_hlen },
	{ "hexists", 3, false, cmd_hexists },   { "hincrby", 4, true, cmd_hincrby },
	{ "lpush", -3, true, cmd_lpush },       { "rpush", -3, true, cmd_rpush },
	{ "lrange", 4, false, cmd_lrange },     { "ltrim", 4, false, cmd_ltrim },
	{ "llen", 2, false, cmd_llen },         { "lpop", -2, false, cmd_lpop },
	{ "rpop", -2, false, cmd_rpop },        { "ping", -1, false, cmd_ping },
	{ "echo", 2, false, cmd_echo },         { "select", 2, false, cmd_select },
	{ "dbsize", 1, false, cmd_dbsize },     { "flushdb", -1, false, cmd_flushdb },
	{ "flushall", -1, false, cmd_flushall }, { "info", -1, false, cmd_info },
	{ "quit", -1, false, cmd_quit },        { "command", -1, false, cmd_command },
	{ "client", -2, false, cmd_client },    { "hello", -1, false, cmd_hello },
};

static void execute(struct rsess *s, const struct redis__cmd *cmd)
{
	struct rctx x = {
		.s = s, .c = &s->c, .db = &s->srv->db, .cmd = cmd, .a = cmd->argv,
		.now = loop_now(s->c.loop),
	};
	const struct redis__arg *name = &cmd->argv[0];
	const struct rcommand *rc = NULL;

	for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
		if (name->n == strlen(commands[i].name) &&
		    !strncasecmp(name->p, commands[i].name, name->n)) {
			rc = &commands[i];
			break;
		}
	}
	x.db->cmds++;
	if (!rc) {
		char args[160];
		size_t at = 0;

		args[0] = 0;
		for (uint32_t i = 1; i < MIN(cmd->argc, (uint32_t)REDIS__ARGV) && at < 128; i++) {
			int n = snprintf(args + at, sizeof(args) - at, "'%.*s' ",
					 (int)MIN(cmd->argv[i].n, 128 - at), cmd->argv[i].p);

			if (n < 0)
				break;
			at = MIN(at + (size_t)n, sizeof(args) - 1);
		}
		r_err(x.c, "ERR unknown command '%.*s', with args beginning with: %s",
		      (int)MIN(name->n, 128u), name->p, args);
		return;
	}
	if ((rc->arity > 0 && cmd->argc != (uint32_t)rc->arity) ||
	    (rc->arity < 0 && cmd->argc < (uint32_t)-rc->arity)) {
		r_err(x.c, "ERR wrong number of arguments for '%s' command", rc->name);
		return;
	}
	if (cmd->argc > REDIS__ARGV) {
		r_err(x.c, "ERR too many arguments for this server (at most %u)", REDIS__ARGV);
		return;
	}
	if (rc->grows && !store_make_room(s->srv)) {
		r_err(x.c, "%s", E_OOM);
		return;
	}
	rc->fn(&x);
}

/* ---- server sessions ------------------------------------------------- */

static void sess_free(struct defer *d)
{
	free(container_of(d, struct rsess, d));
}

static void sess_timeout(struct loop *l, struct timer *t)
{
	struct rsess *s = container_of(t, struct rsess, idle);

	(void)l;
	conn_close(&s->c, -ETIMEDOUT);
}

static void sess_arm(struct rsess *s)
{
	double t = s->quit ? 5.0 : s->c.in.len ? SESS_STALL : SESS_IDLE;

	loop_timer_start(s->c.loop, &s->idle, host_ns(t));
}

static void sess_closed(struct conn *c, int err)
{
	struct rsess *s = container_of(c, struct rsess, c);

	/* A request too big for the input buffer is the peer's fault. */
	if (err == -EMSGSIZE && s->srv->st)
		s->srv->st->errors++;
	loop_timer_stop(c->loop, &s->idle);
	*s->pprev = s->next;
	if (s->next)
		s->next->pprev = s->pprev;
	s->srv->nsess--;
	loop_defer(c->loop, &s->d, sess_free);
}

static void sess_connected(struct conn *c)
{
	sess_arm(container_of(c, struct rsess, c));
}

/* One parse at a time: the arguments point into c->in. */
static struct redis__cmd the_cmd;

static void sess_readable(struct conn *c)
{
	struct rsess *s = container_of(c, struct rsess, c);

	while (conn_is_open(c) && c->in.len && !s->quit) {
		const char *err = NULL;
		int r;

		/* A client that sends but does not read waits for its
		 * replies to drain (drained() comes back here). */
		if (c->queued > SESS_OUT_MAX)
			break;
		r = redis__request(c->in.p, c->in.len, &s->ps, &the_cmd, &err);
		if (r == 0)
			break;
		if (r < 0) {
			/* Protocol errors are answered, then the
			 * connection is closed, as the real server does. */
			if (s->srv->st)
				s->srv->st->errors++;
			r_err(c, "ERR %s", err);
			s->quit = true;
			break;
		}
		if (the_cmd.argc)
			execute(s, &the_cmd);
		if (conn_is_open(c))
			conn_consume(c, the_cmd.used);
	}
	if (!conn_is_open(c))
		return;
	if (s->quit) {
		conn_consume(c, c->in.len);
		conn_shutdown(c);
	}
	if (conn_is_open(c))
		sess_arm(s);
}

static void sess_drained(struct conn *c)
{
	struct rsess *s = container_of(c, struct rsess, c);

	if (c->in.len && !s->quit)
		sess_readable(c);
}

static const struct conn_ops sess_ops = {
	.connected = sess_connected,
	.readable = sess_readable,
	.drained = sess_drained,
	.closed = sess_closed,
};

static void srv_accept(struct loop *l, struct io *io, unsigned revents)
{
	struct redis_srv *srv = container_of(io, struct redis_srv, lio);

	(void)revents;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), err;
		struct rsess *s;

		if (fd < 0)
			break;
		s = xcalloc(1, sizeof(*s));
		s->srv = srv;
		s->c.st = srv->st;
		s->idle.cb = sess_timeout;
		s->id = ++srv->next_id;
		s->next = srv->sessions;
		if (s->next)
			s->next->pprev = &s->next;
		s->pprev = &srv->sessions;
		srv->sessions = s;
		srv->nsess++;
		srv->db.conns++;
		err = conn_accept(&s->c, l, &sess_ops, fd);
		if (err)
			conn_close(&s->c, err);   /* closed() unlinks and frees */
	}
}

static int redis_serve(struct host *h, struct stats *st, const struct model *m, uint16_t port,
		       char *err, size_t errlen)
{
	struct redis_srv *srv;
	int fd, rc;

	(void)m;
	rc = agent_listen_tcp(port, &fd);
	if (rc) {
		snprintf(err, errlen, "redis: listen on port %u: %s", port, strerror(-rc));
		return rc;
	}
	srv = xcalloc(1, sizeof(*srv));
	srv->h = h;
	srv->st = st;
	srv->port = port;
	srv->started = loop_now(h->loop);
	srv->lio.fd = fd;
	srv->lio.cb = srv_accept;
	srv->cron.cb = store_cron;
	rc = loop_io_set(h->loop, &srv->lio, IO_IN);
	if (rc) {
		snprintf(err, errlen, "redis: watch listener: %s", strerror(-rc));
		close(fd);
		free(srv);
		return rc;
	}
	loop_timer_start(h->loop, &srv->cron, CRON_NS);
	srv->next = servers;
	servers = srv;
	return 0;
}

/* ---- clients -------------------------------------------------------------- */

enum { ACT_LOOKUP, ACT_LOOKUP_MANY, ACT_UPDATE, ACT_COUNTER, ACT_SESSION, ACT_FEED, ACT__N };

static const char *const redis_actions[] = {
	"lookup", "lookup_many", "update", "counter", "session", "feed", NULL,
};

static const char *const redis_params[] = {
	"keys", "value_size", "ttl", "batch", "delete_share", "feed_length", "database",
	"session_gap", NULL,
};

#define PEND_MAX 32             /* replies a user waits for at once */
#define BATCH_MAX 16            /* keys of one MGET */
#define VALUE_MIN 48
#define VALUE_MAX (512u << 10)
#define KEY_LEN 96
#define SLICE 0.2               /* s: how often a sleeping user looks at stopping */
#define REPLY_WAIT 10.0         /* s: a reply later than this is a fault */
#define SESSION_TTL 1800        /* s: sliding expiry of a session hash */
#define COUNTER_TTL 172800      /* s: a daily counter is kept two days */
/* Keys are named the same from every host, so that the clients of all
 * hosts share one cache, as application servers do. */
#define KEY_SEED 0x63616368652dull

enum { U_IDLE, U_CONNECTING, U_READY, U_CLOSING, U_DONE };
enum { W_ACTION, W_SESSION };
enum {
	P_SELECT, P_GET, P_MGET, P_OK, P_INT, P_INCR, P_HGETALL, P_ARRAY, P_QUIT,
};

struct rclient {
	struct agent_env env;
	struct defer d;
	int act[ACT__N];        /* model index of each action, or -1 */
	uint32_t live;
	uint32_t nkeys, db;
};

struct rpend {
	uint8_t kind;
	uint32_t rank;
};

struct ruser {
	struct conn c;
	struct timer sleep, guard;
	struct defer d;
	struct rclient *cl;
	uint64_t wake, sid;
	uint32_t k;
	int a;                  /* the model action in progress; -1 at setup */
	uint8_t state, wait;
	uint8_t head, npend, nbatch;
	struct rpend pend[PEND_MAX];
	uint32_t batch[BATCH_MAX];
};

static void user_sleep(struct ruser *u, double seconds, uint8_t what);
static void user_begin(struct ruser *u);

static int act_of(const struct rclient *cl, int a)
{
	for (int i = 0; i < ACT__N; i++)
		if (cl->act[i] == a)
			return i;
	return -1;
}

static struct rng *urng(struct ruser *u)
{
	return &u->cl->env.host->rng;
}

/* A rank in [0, n) with a Zipf-like law (rank r about 1/(r+1)): a few
 * keys are hot, most are cold, as in a real cache. */
static uint32_t zipf(struct rng *r, uint32_t n)
{
	uint32_t k = (uint32_t)(exp(rng_unit(r) * log((double)n + 1)) - 1);

	return k < n ? k : n - 1;
}

/* The name of cached object rank. */
static size_t obj_key(uint32_t rank, char *out, size_t n)
{
	int r;

	switch (rank % 4) {
	case 0:
		r = snprintf(out, n, "user:%u:profile", 1000 + rank / 4);
		break;
	case 1:
		r = snprintf(out, n, "product:%u", 1 + rank / 4);
		break;
	case 2:
		r = snprintf(out, n, "page:/%s/%s-%u", content_word(rank * 2654435761u),
			     content_word(rank * 40503u + 7), rank / 4);
		break;
	default:
		r = snprintf(out, n, "query:%016llx",
			     (unsigned long long)rng_hash(&rank, sizeof(rank), KEY_SEED));
		break;
	}
	return r < 0 ? 0 : MIN((size_t)r, n - 1);
}

/* ---- writing commands ---- */

static void w_hdr(struct conn *c, unsigned argc)
{
	conn_printf(c, "*%u\r\n", argc);
}

static void w_arg(struct conn *c, const char *p, size_t n)
{
	conn_printf(c, "$%zu\r\n", n);
	conn_write(c, p, n);
	conn_write(c, "\r\n", 2);
}

static void w_str(struct conn *c, const char *s)
{
	w_arg(c, s, strlen(s));
}

static void w_argf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void w_argf(struct conn *c, const char *fmt, ...)
{
	char b[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(b, sizeof(b), fmt, ap);
	va_end(ap);
	if (n >= 0)
		w_arg(c, b, MIN((size_t)n, sizeof(b) - 1));
}

static void expect(struct ruser *u, uint8_t kind, uint32_t rank)
{
	struct rpend *p;

	if (u->npend == PEND_MAX)
		return;   /* never: actions send fewer */
	if (!u->npend)
		loop_timer_start(u->c.loop, &u->guard, host_ns(REPLY_WAIT));
	p = &u->pend[(u->head + u->npend++) % PEND_MAX];
	p->kind = kind;
	p->rank = rank;
}

/* SET key value EX ttl, the value an HTML fragment whose size is the
 * object's own (drawn once per key from value_size), its text sent by
 * reference into the shared content. */
static void send_set(struct ruser *u, uint32_t rank)
{
	const struct agent_env *e = &u->cl->env;
	char key[KEY_LEN], head[96], ttl[24];
	const char *tail = "</p></div>";
	size_t kn = obj_key(rank, key, sizeof(key)), hn, tn = strlen(tail), n, body;
	uint64_t kh = rng_hash(key, kn, KEY_SEED);
	struct rng own;
	double size;
	int r;

	rng_seed(&own, kh);
	size = model_draw(e->model, "value_size", &own, 1024);
	n = (size_t)MIN(MAX(size, (double)VALUE_MIN), (double)VALUE_MAX);
	r = snprintf(head, sizeof(head), "<div class=\"item\" id=\"item-%u\"><p>", rank);
	hn = (size_t)MAX(r, 0);
	body = n > hn + tn ? n - hn - tn : 1;
	r = snprintf(ttl, sizeof(ttl), "%.0f",
		     MAX(1.0, ceil(model_draw(e->model, "ttl", &e->host->rng, 300))));
	w_hdr(&u->c, 5);
	w_str(&u->c, "SET");
	w_arg(&u->c, key, kn);
	conn_printf(&u->c, "$%zu\r\n", hn + body + tn);
	conn_write(&u->c, head, hn);
	conn_write_ref(&u->c, content_get(&e->host->content, CONTENT_TEXT, kh, body), body);
	conn_write(&u->c, tail, tn);
	conn_write(&u->c, "\r\n", 2);
	w_str(&u->c, "EX");
	w_arg(&u->c, ttl, (size_t)MAX(r, 0));
	expect(u, P_OK, rank);
}

static void send_get(struct ruser *u, uint32_t rank)
{
	char key[KEY_LEN];
	size_t kn = obj_key(rank, key, sizeof(key));

	w_hdr(&u->c, 2);
	w_str(&u->c, "GET");
	w_arg(&u->c, key, kn);
	expect(u, P_GET, rank);
}

static void send_mget(struct ruser *u)
{
	const struct agent_env *e = &u->cl->env;
	double b = model_draw(e->model, "batch", &e->host->rng, 8);
	char key[KEY_LEN];

	u->nbatch = (uint8_t)MIN(MAX(lround(b), 1l), (long)BATCH_MAX);
	w_hdr(&u->c, 1u + u->nbatch);
	w_str(&u->c, "MGET");
	for (unsigned i = 0; i < u->nbatch; i++) {
		u->batch[i] = zipf(urng(u), u->cl->nkeys);
		w_arg(&u->c, key, obj_key(u->batch[i], key, sizeof(key)));
	}
	expect(u, P_MGET, 0);
}

static void send_quit(struct ruser *u)
{
	u->state = U_CLOSING;
	conn_write(&u->c, "*1\r\n$4\r\nQUIT\r\n", 14);
	expect(u, P_QUIT, 0);
}

/* ---- actions ---- */

static void do_update(struct ruser *u)
{
	const struct agent_env *e = &u->cl->env;
	uint32_t rank = zipf(urng(u), u->cl->nkeys);
	char key[KEY_LEN];

	if (rng_unit(urng(u)) < model_draw(e->model, "delete_share", urng(u), 0.3)) {
		/* Invalidate: the next reader fills it again. */
		w_hdr(&u->c, 2);
		w_str(&u->c, "DEL");
		w_arg(&u->c, key, obj_key(rank, key, sizeof(key)));
		expect(u, P_INT, rank);
	} else {
		send_set(u, rank);
	}
}

static void counter_key(uint32_t rank, char *out, size_t n)
{
	char obj[KEY_LEN];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	obj_key(rank, obj, sizeof(obj));
	snprintf(out, n, "views:%s:%04u%02u%02u", obj, (unsigned)(tm.tm_year + 1900) % 10000u,
		 (unsigned)(tm.tm_mon + 1) % 100u, (unsigned)tm.tm_mday % 100u);
}

static void do_counter(struct ruser *u)
{
	uint32_t rank = zipf(urng(u), u->cl->nkeys);
	char key[KEY_LEN + 32];

	counter_key(rank, key, sizeof(key));
	w_hdr(&u->c, 2);
	w_str(&u->c, "INCR");
	w_str(&u->c, key);
	expect(u, P_INCR, rank);
}

static void session_key(const struct ruser *u, char *out, size_t n)
{
	snprintf(out, n, "session:%016llx", (unsigned long long)u->sid);
}

static void do_session(struct ruser *u)
{
	char key[40];

	session_key(u, key, sizeof(key));
	w_hdr(&u->c, 2);
	w_str(&u->c, "HGETALL");
	w_str(&u->c, key);
	expect(u, P_HGETALL, 0);
}

/* The session hash: made on first sight, its last_seen refreshed after;
 * its expiry slides either way.  Two commands in one pipeline. */
static void session_write(struct ruser *u, bool fresh)
{
	char key[40];
	long long now = (long long)time(NULL);

	session_key(u, key, sizeof(key));
	w_hdr(&u->c, fresh ? 12 : 4);
	w_str(&u->c, "HSET");
	w_str(&u->c, key);
	if (fresh) {
		w_str(&u->c, "user_id");
		w_argf(&u->c, "%u", 1000 + zipf(urng(u), u->cl->nkeys));
		w_str(&u->c, "csrf");
		w_argf(&u->c, "%016llx%016llx", (unsigned long long)rng_next(urng(u)),
		       (unsigned long long)rng_next(urng(u)));
		w_str(&u->c, "created");
		w_argf(&u->c, "%lld", now);
		w_str(&u->c, "cart");
		w_argf(&u->c, "[{\"product\":%u,\"qty\":%u}]", 1 + zipf(urng(u), u->cl->nkeys) / 4,
		       1 + (unsigned)rng_below(urng(u), 3));
	}
	w_str(&u->c, "last_seen");
	w_argf(&u->c, "%lld", now);
	expect(u, P_INT, 0);
	w_hdr(&u->c, 3);
	w_str(&u->c, "EXPIRE");
	w_str(&u->c, key);
	w_argf(&u->c, "%d", SESSION_TTL);
	expect(u, P_INT, 0);
}

/* An activity feed: push an event, keep the newest feed_length, read
 * the first page; three commands in one pipeline. */
static void do_feed(struct ruser *u)
{
	const struct agent_env *e = &u->cl->env;
	uint32_t who = 1000 + zipf(urng(u), MAX(u->cl->nkeys / 10, 1u));
	uint32_t rank = zipf(urng(u), u->cl->nkeys);
	double len = model_draw(e->model, "feed_length", urng(u), 100);
	static const char *const verbs[] = { "viewed", "liked", "shared", "commented", "bought" };
	char key[40], obj[KEY_LEN], ev[256];
	int n;

	snprintf(key, sizeof(key), "feed:user:%u", who);
	obj_key(rank, obj, sizeof(obj));
	n = snprintf(ev, sizeof(ev), "{\"ts\":%lld,\"actor\":%u,\"verb\":\"%s\",\"object\":\"%s\"}",
		     (long long)time(NULL), 1000 + zipf(urng(u), u->cl->nkeys),
		     verbs[rng_below(urng(u), ARRAY_SIZE(verbs))], obj);
	w_hdr(&u->c, 3);
	w_str(&u->c, "LPUSH");
	w_str(&u->c, key);
	w_arg(&u->c, ev, (size_t)MIN(MAX(n, 0), (int)sizeof(ev) - 1));
	expect(u, P_INT, 0);
	w_hdr(&u->c, 4);
	w_str(&u->c, "LTRIM");
	w_str(&u->c, key);
	w_str(&u->c, "0");
	w_argf(&u->c, "%ld", MAX(lround(len), 1l) - 1);
	expect(u, P_OK, 0);
	w_hdr(&u->c, 4);
	w_str(&u->c, "LRANGE");
	w_str(&u->c, key);
	w_str(&u->c, "0");
	w_str(&u->c, "9");
	expect(u, P_ARRAY, 0);
}

static void do_action(struct ruser *u, int a)
{
	const struct agent_env *e = &u->cl->env;

	u->a = a;
	e->st->actions++;
	switch (act_of(u->cl, a)) {
	case ACT_LOOKUP:
		send_get(u, zipf(urng(u), u->cl->nkeys));
		break;
	case ACT_LOOKUP_MANY:
		send_mget(u);
		break;
	case ACT_UPDATE:
		do_update(u);
		break;
	case ACT_COUNTER:
		do_counter(u);
		break;
	case ACT_SESSION:
		do_session(u);
		break;
	case ACT_FEED:
		do_feed(u);
		break;
	}
	if (!u->npend)   /* an action the model named but we skip */
		user_sleep(u, 0, W_ACTION);
}

/* Everything the step sent is answered: think, or end the session. */
static void step_done(struct ruser *u)
{
	const struct agent_env *e = &u->cl->env;

	loop_timer_stop(u->c.loop, &u->guard);
	if (u->state != U_READY)
		return;
	if (e->host->stopping) {
		send_quit(u);
		return;
	}
	if (u->a < 0) {
		do_action(u, model_start(e->model));
		return;
	}
	user_sleep(u, model_think(e->model, u->a, &e->host->rng) * agent_think_scale(e), W_ACTION);
}

static void next_action(struct ruser *u)
{
	const struct agent_env *e = &u->cl->env;
	int a;

	if (e->host->stopping) {
		send_quit(u);
		return;
	}
	a = model_next(e->model, u->a, &e->host->rng);
	if (a == MODEL_END)
		send_quit(u);
	else
		do_action(u, a);
}

/* ---- replies ---- */

/* One reply to what p asked; 0, or -EPROTO when it is not what the
 * command returns. */
static int on_reply(struct ruser *u, const struct rpend *p, const struct redis__reply *r,
		    const char *buf)
{
	char key[KEY_LEN + 32];

	if (r->type == '-') {
		/* An error reply to a command we sent: our fault or the
		 * server's; either way worth counting, not worth closing. */
		u->cl->env.st->errors++;
		return 0;
	}
	switch (p->kind) {
	case P_SELECT:
	case P_OK:
	case P_QUIT:
		return r->type == '+' ? 0 : -EPROTO;
	case P_INT:
		return r->type == ':' ? 0 : -EPROTO;
	case P_GET:
		if (r->type != '$')
			return -EPROTO;
		if (r->n < 0)
			send_set(u, p->rank);   /* a miss: fill it */
		return 0;
	case P_MGET: {
		size_t at = r->hdr;

		if (r->type != '*' || r->n != u->nbatch)
			return -EPROTO;
		for (unsigned i = 0; i < u->nbatch; i++) {
			struct redis__reply e;

			if (redis__reply(buf + at, r->used - at, &e) != 1 || e.type != '$')
				return -EPROTO;
			if (e.n < 0)
				send_set(u, u->batch[i]);
			at += e.used;
		}
		return 0;
	}
	case P_INCR:
		if (r->type != ':')
			return -EPROTO;
		if (r->n == 1) {
			/* The day's first view starts the counter's clock. */
			counter_key(p->rank, key, sizeof(key));
			w_hdr(&u->c, 3);
			w_str(&u->c, "EXPIRE");
			w_str(&u->c, key);
			w_argf(&u->c, "%d", COUNTER_TTL);
			expect(u, P_INT, 0);
		}
		return 0;
	case P_HGETALL:
		if (r->type != '*' || r->n < 0 || r->n % 2)
			return -EPROTO;
		session_write(u, r->n == 0);
		return 0;
	case P_ARRAY:
		return r->type == '*' ? 0 : -EPROTO;
	}
	return -EPROTO;
}

static void user_readable(struct conn *c)
{
	struct ruser *u = container_of(c, struct ruser, c);

	while (conn_is_open(c) && c->in.len) {
		struct redis__reply r;
		struct rpend p;
		int k = redis__reply(c->in.p, c->in.len, &r);

		if (k == 0)
			break;
		if (k < 0 || !u->npend) {
			u->cl->env.st->errors++;
			conn_close(c, -EPROTO);
			return;
		}
		p = u->pend[u->head];
		u->head = (uint8_t)((u->head + 1) % PEND_MAX);
		u->npend--;
		if (on_reply(u, &p, &r, c->in.p) < 0) {
			u->cl->env.st->errors++;
			conn_close(c, -EPROTO);
			return;
		}
		conn_consume(c, r.used);
		if (p.kind == P_QUIT) {
			conn_close(c, 0);
			return;
		}
		if (!u->npend)
			step_done(u);
	}
}

/* ---- users ---- */

static void user_free(struct defer *d)
{
	free(container_of(d, struct ruser, d));
}

static void client_free(struct defer *d)
{
	free(container_of(d, struct rclient, d));
}

static void user_exit(struct ruser *u)
{
	struct rclient *cl = u->cl;
	struct loop *l = cl->env.host->loop;

	u->state = U_DONE;
	loop_timer_stop(l, &u->sleep);
	loop_timer_stop(l, &u->guard);
	loop_defer(l, &u->d, user_free);
	if (!--cl->live)
		loop_defer(l, &cl->d, client_free);
}

static void sleep_cb(struct loop *l, struct timer *t)
{
	struct ruser *u = container_of(t, struct ruser, sleep);
	uint64_t now = loop_now(l);

	if (u->cl->env.host->stopping) {
		if (u->state == U_READY)
			send_quit(u);
		else if (u->state == U_IDLE)
			user_exit(u);
		return;
	}
	if (now < u->wake) {
		loop_timer_start(l, t, MIN(u->wake - now, host_ns(SLICE)));
		return;
	}
	if (u->wait == W_SESSION)
		user_begin(u);
	else if (u->state == U_READY)
		next_action(u);
}

/* Sleep in slices, so that a stopping run is seen within SLICE. */
static void user_sleep(struct ruser *u, double seconds, uint8_t what)
{
	struct loop *l = u->cl->env.host->loop;
	uint64_t ns = host_ns(seconds);

	u->wait = what;
	u->wake = loop_now(l) + ns;
	loop_timer_start(l, &u->sleep, MIN(ns, host_ns(SLICE)));
}

static void guard_cb(struct loop *l, struct timer *t)
{
	struct ruser *u = container_of(t, struct ruser, guard);

	(void)l;
	/* A reply that never came. */
	u->cl->env.st->errors++;
	conn_close(&u->c, -ETIMEDOUT);
}

static void user_connected(struct conn *c)
{
	struct ruser *u = container_of(c, struct ruser, c);
	const struct agent_env *e = &u->cl->env;

	loop_timer_stop(c->loop, &u->guard);
	u->state = U_READY;
	u->a = -1;
	u->sid = rng_next(&e->host->rng);
	if (e->host->stopping) {
		send_quit(u);
		return;
	}
	if (u->cl->db) {
		w_hdr(c, 2);
		w_str(c, "SELECT");
		w_argf(c, "%u", u->cl->db);
		expect(u, P_SELECT, 0);
	} else {
		step_done(u);
	}
}

static void user_closed(struct conn *c, int err)
{
	struct ruser *u = container_of(c, struct ruser, c);
	const struct agent_env *e = &u->cl->env;
	struct loop *l = e->host->loop;
	bool expected = u->state == U_CLOSING && !u->npend;

	loop_timer_stop(l, &u->guard);
	loop_timer_stop(l, &u->sleep);
	/* A server that hangs up on a session we did not end is a fault
	 * (unless the run is ending: its servers go too);
	 * a refused connect is counted by conn (conn_fail). */
	if (!expected && u->state >= U_READY && err != -EPROTO && err != -ETIMEDOUT &&
	    !e->host->stopping)
		e->st->errors++;
	u->state = U_IDLE;
	u->npend = 0;
	if (e->host->stopping) {
		user_exit(u);
		return;
	}
	if (expected)
		user_sleep(u, model_draw(e->model, "session_gap", &e->host->rng, 2) * agent_think_scale(e),
			   W_SESSION);
	else
		user_sleep(u, 1.0, W_SESSION);
}

static const struct conn_ops user_ops = {
	.connected = user_connected,
	.readable = user_readable,
	.closed = user_closed,
};

static void user_begin(struct ruser *u)
{
	const struct agent_env *e = &u->cl->env;
	struct loop *l = e->host->loop;
	int err;

	if (e->host->stopping) {
		user_exit(u);
		return;
	}
	u->c.st = e->st;
	u->npend = 0;
	u->head = 0;
	err = conn_connect(&u->c, l, &user_ops, 0, e->server, e->port);
	if (err) {
		e->st->conn_fail++;
		user_sleep(u, 1.0, W_SESSION);
		return;
	}
	e->st->sessions++;
	u->state = U_CONNECTING;
	loop_timer_start(l, &u->guard, host_ns(REPLY_WAIT));
}

static int redis_client(const struct agent_env *env, char *err, size_t errlen)
{
	struct rclient *cl;
	struct rng *r = &env->host->rng;
	double keys, db;

	(void)err;
	(void)errlen;
	if (!env->users)
		return 0;
	cl = xcalloc(1, sizeof(*cl));
	cl->env = *env;
	for (int i = 0; i < ACT__N; i++)
		cl->act[i] = model_action(env->model, redis_actions[i]);
	keys = model_draw(env->model, "keys", r, 10000);
	cl->nkeys = (uint32_t)MIN(MAX(keys, 1.0), 1e9);
	db = model_draw(env->model, "database", r, 0);
	cl->db = (uint32_t)MIN(MAX(db, 0.0), STORE_DBS - 1.0);
	cl->live = env->users;
	for (uint32_t k = 0; k < env->users; k++) {
		struct ruser *u = xcalloc(1, sizeof(*u));

		u->cl = cl;
		u->k = k;
		u->sleep.cb = sleep_cb;
		u->guard.cb = guard_cb;
		u->state = U_IDLE;
		u->c.io.fd = -1;
		/* Spread over the first second, not all at once. */
		user_sleep(u, rng_unit(r) * MIN(1.0, agent_think_scale(env) * 5), W_SESSION);
	}
	return 0;
}

const struct agent agent_redis = {
	.name = "redis",
	.proto = PROTO_REDIS,
	.model = "redis",
	.actions = redis_actions,
	.params = redis_params,
	.serve = redis_serve,
	.client = redis_client,
};
