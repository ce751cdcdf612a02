/* mqtt.c - the message-broker agent: an MQTT 3.1.1 broker (topic tree
 * with '+' and '#' filters, fan-out to every matching session of the
 * loop, QoS 0/1/2, retained messages, wills, keep-alive enforcement) and
 * IoT-like clients that follow data/behaviours/mqtt.model: sensors that
 * publish small JSON readings on site/<site>/sensor/<id>/<quantity> and
 * dashboards that subscribe to wildcards and receive the fan-out.
 * MQTT 5 clients are answered with "unacceptable protocol version", as
 * a 3.1.1 broker does. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/bytes.h"
#include "../lib/util.h"
#include "agent.h"
#include "mqtt.h"

/* ---- parsers ------------------------------------------------------------ */

int mqtt__header(const uint8_t *b, size_t len, uint32_t max, struct mqtt__hdr *h)
{
	uint32_t v = 0;
	uint8_t type, flags;
	size_t i;

	if (len < 1)
		return 0;
	type = b[0] >> 4;
	flags = b[0] & 15;
	switch (type) {
	case 0:
	case 15:
		return -EPROTO;
	case MQTT_PUBLISH:
		if (((flags >> 1) & 3) == 3)
			return -EPROTO;
		break;
	case MQTT_PUBREL:
	case MQTT_SUBSCRIBE:
	case MQTT_UNSUBSCRIBE:
		if (flags != 2)
			return -EPROTO;
		break;
	default:
		if (flags)
			return -EPROTO;
	}
	for (i = 1;; i++) {
		if (i > 4)
			return -EPROTO;
		if (i >= len)
			return 0;
		v |= (uint32_t)(b[i] & 127) << (7 * (i - 1));
		if (!(b[i] & 128))
			break;
	}
	if (v > max)
		return -EPROTO;
	h->type = type;
	h->flags = flags;
	h->hlen = (uint32_t)i + 1;
	h->len = v;
	return 1;
}

size_t mqtt__put_varint(uint8_t *out, uint32_t v)
{
	size_t n = 0;

	do {
		uint8_t b = v & 127;

		v >>= 7;
		out[n++] = (uint8_t)(b | (v ? 128 : 0));
	} while (v && n < 4);
	return n;
}

/* Well-formed UTF-8 without NUL (MQTT 3.1.1, 1.5.3). */
static bool utf8_ok(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		unsigned c = p[i], need;
		uint32_t cp;

		if (!c)
			return false;
		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0) {
			need = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			need = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			need = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i <= need)
			return false;
		for (unsigned k = 1; k <= need; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if ((need == 1 && cp < 0x80) || (need == 2 && cp < 0x800) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += need + 1;
	}
	return true;
}

static bool names_ok(const char *s, size_t n, bool filter)
{
	size_t levels = 1;

	if (!n || n > MQTT_MAX_TOPIC || !utf8_ok(s, n))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '/') {
			if (++levels > MQTT_MAX_LEVELS)
				return false;
		} else if (s[i] == '+' || s[i] == '#') {
			if (!filter)
				return false;
			/* A wildcard is a whole level; '#' only the last. */
			if ((i && s[i - 1] != '/') || (i + 1 < n && s[i + 1] != '/'))
				return false;
			if (s[i] == '#' && i + 1 != n)
				return false;
		}
	}
	return true;
}

bool mqtt__topic_valid(const char *t, size_t n)
{
	return names_ok(t, n, false);
}

bool mqtt__filter_valid(const char *f, size_t n)
{
	return names_ok(f, n, true);
}

bool mqtt__match(const char *f, size_t fn, const char *t, size_t tn)
{
	size_t i = 0, j = 0;

	if (tn && t[0] == '$' && fn && (f[0] == '+' || f[0] == '#'))
		return false;
	for (;;) {
		size_t fe = i, te = j;

		while (fe < fn && f[fe] != '/')
			fe++;
		while (te < tn && t[te] != '/')
			te++;
		if (fe - i == 1 && f[i] == '#')
			return true;
		if (!(fe - i == 1 && f[i] == '+') &&
		    (fe - i != te - j || memcmp(f + i, t + j, fe - i)))
			return false;
		if (fe >= fn && te >= tn)
			return true;
		if (fe >= fn)
			return false;
		if (te >= tn) {
			/* "a/#" matches "a": the filter's next level must be
			 * the final '#'. */
			return fe + 2 == fn && f[fe + 1] == '#';
		}
		i = fe + 1;
		j = te + 1;
	}
}

struct rd {
	const uint8_t *p;
	size_t len, off;
};

static bool rd_u8(struct rd *r, uint8_t *v)
{
	if (r->len - r->off < 1)
		return false;
	*v = r->p[r->off++];
	return true;
}

static bool rd_u16(struct rd *r, uint16_t *v)
{
	if (r->len - r->off < 2)
		return false;
	*v = be16(r->p + r->off);
	r->off += 2;
	return true;
}

/* A length-prefixed string or binary field. */
static bool rd_str(struct rd *r, struct mqtt__str *s)
{
	uint16_t n;

	if (!rd_u16(r, &n) || r->len - r->off < n)
		return false;
	s->p = (const char *)r->p + r->off;
	s->n = n;
	r->off += n;
	return true;
}

int mqtt__parse_connect(const uint8_t *p, size_t len, struct mqtt__connect *c)
{
	struct rd r = { p, len, 0 };
	uint8_t f;

	memset(c, 0, sizeof(*c));
	if (!rd_str(&r, &c->proto) || !rd_u8(&r, &c->level) || !rd_u8(&r, &c->flags) ||
	    !rd_u16(&r, &c->keepalive))
		return -EPROTO;
	if (c->proto.n == 4 && !memcmp(c->proto.p, "MQTT", 4)) {
		if (c->level == 5)
			return -EPROTONOSUPPORT;
		if (c->level != 4)
			return -EPROTONOSUPPORT;
	} else if (c->proto.n == 6 && !memcmp(c->proto.p, "MQIsdp", 6)) {
		if (c->level != 3)
			return -EPROTONOSUPPORT;
	} else {
		return -EPROTO;
	}
	f = c->flags;
	if ((f & 1) || MQTT_CF_WILL_QOS(f) == 3)
		return -EPROTO;
	if (!(f & MQTT_CF_WILL) && (MQTT_CF_WILL_QOS(f) || (f & MQTT_CF_WILL_RETAIN)))
		return -EPROTO;
	if ((f & MQTT_CF_PASS) && !(f & MQTT_CF_USER))
		return -EPROTO;
	if (!rd_str(&r, &c->client_id) || !utf8_ok(c->client_id.p, c->client_id.n))
		return -EPROTO;
	if (f & MQTT_CF_WILL) {
		if (!rd_str(&r, &c->will_topic) || !rd_str(&r, &c->will_msg) ||
		    !mqtt__topic_valid(c->will_topic.p, c->will_topic.n))
			return -EPROTO;
	}
	if ((f & MQTT_CF_USER) && (!rd_str(&r, &c->user) || !utf8_ok(c->user.p, c->user.n)))
		return -EPROTO;
	if ((f & MQTT_CF_PASS) && !rd_str(&r, &c->pass))
		return -EPROTO;
	return r.off == len ? 0 : -EPROTO;
}

int mqtt__parse_publish(uint8_t flags, const uint8_t *p, size_t len, struct mqtt__publish *m)
{
	struct rd r = { p, len, 0 };

	memset(m, 0, sizeof(*m));
	m->qos = (flags >> 1) & 3;
	m->retain = flags & 1;
	m->dup = flags & 8;
	if (m->qos == 3 || (!m->qos && m->dup))
		return -EPROTO;
	if (!rd_str(&r, &m->topic) || !mqtt__topic_valid(m->topic.p, m->topic.n))
		return -EPROTO;
	if (m->qos && (!rd_u16(&r, &m->id) || !m->id))
		return -EPROTO;
	m->payload = p + r.off;
	m->n = len - r.off;
	return 0;
}

int mqtt__parse_id(const uint8_t *p, size_t len, uint16_t *id)
{
	if (len != 2)
		return -EPROTO;
	*id = be16(p);
	return *id ? 0 : -EPROTO;
}

int mqtt__next_filter(const uint8_t *p, size_t len, size_t *off, bool with_qos,
		      struct mqtt__str *f, uint8_t *qos)
{
	struct rd r = { p, len, *off };
	uint8_t o = 0;

	if (r.off > len)
		return -EPROTO;
	if (r.off == len)
		return 0;
	if (!rd_str(&r, f) || !mqtt__filter_valid(f->p, f->n))
		return -EPROTO;
	if (with_qos) {
		/* The upper six bits are reserved in 3.1.1. */
		if (!rd_u8(&r, &o) || (o & ~3u) || o == 3)
			return -EPROTO;
		*qos = o;
	}
	*off = r.off;
	return 1;
}

int mqtt__parse_connack(const uint8_t *p, size_t len, bool *sp, uint8_t *rc)
{
	if (len != 2 || (p[0] & ~1u) || p[1] > 5)
		return -EPROTO;
	*sp = p[0] & 1;
	*rc = p[1];
	return 0;
}

int mqtt__parse_suback(const uint8_t *p, size_t len, uint16_t *id, size_t *ncodes, bool *failed)
{
	if (len < 3 || mqtt__parse_id(p, 2, id) < 0)
		return -EPROTO;
	*failed = false;
	for (size_t i = 2; i < len; i++) {
		if (p[i] == 0x80)
			*failed = true;
		else if (p[i] > 2)
			return -EPROTO;
	}
	*ncodes = len - 2;
	return 0;
}

/* ---- shared helpers --------------------------------------------------- */

#define MQTT_MAX_SUBS 64                /* per session */
#define MQTT_MAX_QUEUED (8u << 20)      /* a slow subscriber's backlog */
#define MQTT_RETAIN_BYTES (8u << 20)    /* per broker */
#define MQTT_RETAIN_COUNT 20000
#define MQTT_CONNECT_WAIT 10.0          /* s for CONNECT after accept */
#define MQTT_STALL 30.0                 /* s for the rest of a packet */

static void put_hdr(struct conn *c, uint8_t b0, uint32_t rem)
{
	uint8_t h[5];

	h[0] = b0;
	conn_write(c, h, 1 + mqtt__put_varint(h + 1, rem));
}

static void put_u16(struct conn *c, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	conn_write(c, b, 2);
}

static void put_ack(struct conn *c, uint8_t b0, uint16_t id)
{
	uint8_t b[4] = { b0, 2, (uint8_t)(id >> 8), (uint8_t)id };

	conn_write(c, b, 4);
}

/* A PUBLISH header, topic and id; the caller writes the payload. */
static void put_publish(struct conn *c, const char *topic, size_t tn, uint8_t qos, bool retain,
			uint16_t id, size_t n)
{
	put_hdr(c, (uint8_t)(0x30 | qos << 1 | (retain ? 1 : 0)),
		(uint32_t)(2 + tn + (qos ? 2 : 0) + n));
	put_u16(c, (uint16_t)tn);
	conn_write(c, topic, tn);
	if (qos)
		put_u16(c, id);
}

/* ---- broker: topic tree ------------------------------------------------ */

struct msess;

/* One subscription: in its node's list and in its session's list. */
struct msub {
	struct msub *nnext, **npprev;
	struct msub *snext;
	struct mnode *node;
	struct msess *s;
	uint8_t qos;
};

struct mretain {
	size_t n;
	uint8_t qos;
	uint8_t data[];
};

/* A level of the topic tree.  Filters end at a node (their subscribers
 * hang there); so do retained messages, keyed by their topic. */
struct mnode {
	struct mnode *parent, *kids, *next;
	struct msub *subs;
	struct mretain *retained;
	uint16_t n;
	char name[];
};

struct mwill {
	uint16_t tn;
	uint8_t qos;
	bool retain;
	size_t n;
	char data[];    /* topic, then message */
};

struct msess {
	struct conn c;
	struct timer idle;
	struct defer d;
	struct mqtt_srv *srv;
	struct msess *next, **pprev;
	struct msub *subs;
	struct mwill *will;
	uint64_t id_hash;
	uint32_t mark, tidx;
	uint16_t keepalive, next_id, nsubs;
	bool connected, clean_end, refused;
};

struct mtarget {
	struct msess *s;
	uint8_t qos;
};

struct mqtt_srv {
	struct io lio;
	struct stats *st;
	struct msess *sessions;
	struct mnode *root;
	struct mtarget *tv;
	size_t tn, tcap;
	uint32_t gen;
	size_t retained_bytes, nretained;
	struct mqtt_srv *next;
};

/* Brokers live as long as the process; this list keeps them reachable
 * (there is no stop call for servers). */
static struct mqtt_srv *brokers;

struct lvl {
	const char *p;
	size_t n;
};

/* Split a valid topic or filter into levels; their number. */
static size_t split(const char *s, size_t n, struct lvl *lv)
{
	size_t k = 0, at = 0;

	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '/') {
			lv[k].p = s + at;
			lv[k++].n = i - at;
			at = i + 1;
		}
	}
	return k;
}

static struct mnode *node_kid(struct mnode *n, const char *p, size_t len, bool create)
{
	struct mnode *k;

	for (k = n->kids; k; k = k->next)
		if (k->n == len && !memcmp(k->name, p, len))
			return k;
	if (!create)
		return NULL;
	k = xcalloc(1, sizeof(*k) + len + 1);
	memcpy(k->name, p, len);
	k->n = (uint16_t)len;
	k->parent = n;
	k->next = n->kids;
	n->kids = k;
	return k;
}

static struct mnode *node_find(struct mnode *root, const char *s, size_t n, bool create)
{
	struct lvl lv[MQTT_MAX_LEVELS];
	size_t k = split(s, n, lv);
	struct mnode *node = root;

	for (size_t i = 0; i < k && node; i++)
		node = node_kid(node, lv[i].p, lv[i].n, create);
	return node;
}

/* Drop nodes that hold nothing any more, up to the root. */
static void node_prune(struct mqtt_srv *srv, struct mnode *n)
{
	while (n != srv->root && !n->subs && !n->retained && !n->kids) {
		struct mnode *p = n->parent, **pp = &p->kids;

		while (*pp != n)
			pp = &(*pp)->next;
		*pp = n->next;
		free(n);
		n = p;
	}
}

static void add_target(struct mqtt_srv *srv, struct msub *list, uint8_t qos)
{
	for (struct msub *u = list; u; u = u->nnext) {
		struct msess *s = u->s;
		uint8_t q = MIN(qos, u->qos);

		if (s->mark != srv->gen) {
			s->mark = srv->gen;
			s->tidx = (uint32_t)srv->tn;
			*VEC_PUSH(srv->tv, srv->tn, srv->tcap) = (struct mtarget){ s, q };
		} else if (srv->tv[s->tidx].qos < q) {
			/* Overlapping filters: one copy, the highest QoS. */
			srv->tv[s->tidx].qos = q;
		}
	}
}

static void collect(struct mqtt_srv *srv, struct mnode *n, const struct lvl *lv, size_t i,
		    size_t nlv, uint8_t qos)
{
	bool dollar = i == 0 && lv[0].n && lv[0].p[0] == '$';

	if (i == nlv) {
		struct mnode *h = node_kid(n, "#", 1, false);

		add_target(srv, n->subs, qos);
		if (h)
			add_target(srv, h->subs, qos);
		return;
	}
	for (struct mnode *k = n->kids; k; k = k->next) {
		if (k->n == 1 && k->name[0] == '#') {
			if (!dollar)
				add_target(srv, k->subs, qos);
		} else if (k->n == 1 && k->name[0] == '+') {
			if (!dollar)
				collect(srv, k, lv, i + 1, nlv, qos);
		} else if (k->n == lv[i].n && !memcmp(k->name, lv[i].p, k->n)) {
			collect(srv, k, lv, i + 1, nlv, qos);
		}
	}
}

/* Send a message to every session whose filters match topic.  The
 * target list is taken out of srv while delivering, since a delivery
 * that fails closes a session whose will is published from inside. */
static void fan_out(struct mqtt_srv *srv, const char *topic, size_t tn, const uint8_t *p, size_t n,
		    uint8_t qos)
{
	struct lvl lv[MQTT_MAX_LEVELS];
	size_t nlv = split(topic, tn, lv), cnt, cap;
	struct mtarget *tv;

	srv->gen++;
	srv->tn = 0;
	collect(srv, srv->root, lv, 0, nlv, qos);
	tv = srv->tv;
	cnt = srv->tn;
	cap = srv->tcap;
	srv->tv = NULL;
	srv->tn = srv->tcap = 0;
	for (size_t i = 0; i < cnt; i++) {
		struct msess *s = tv[i].s;
		uint16_t id = 0;

		/* A subscriber that does not read loses messages, as with
		 * mosquitto's max_queued_bytes, rather than our memory. */
		if (!conn_is_open(&s->c) || !s->connected || s->c.queued > MQTT_MAX_QUEUED)
			continue;
		if (tv[i].qos) {
			if (!++s->next_id)
				s->next_id = 1;
			id = s->next_id;
		}
		put_publish(&s->c, topic, tn, tv[i].qos, false, id, n);
		conn_write(&s->c, p, n);
	}
	if (srv->tv) {
		free(tv);
	} else {
		srv->tv = tv;
		srv->tcap = cap;
	}
}

static void retain_set(struct mqtt_srv *srv, const char *topic, size_t tn, const uint8_t *p,
		       size_t n, uint8_t qos)
{
	struct mnode *node = node_find(srv->root, topic, tn, n > 0);

	if (!node)
		return;
	if (node->retained) {
		srv->retained_bytes -= node->retained->n;
		srv->nretained--;
		free(node->retained);
		node->retained = NULL;
	}
	/* Past the bounds, new retained messages are delivered but not
	 * kept. */
	if (n && srv->retained_bytes + n <= MQTT_RETAIN_BYTES && srv->nretained < MQTT_RETAIN_COUNT) {
		node->retained = xmalloc(sizeof(*node->retained) + n);
		node->retained->n = n;
		node->retained->qos = qos;
		memcpy(node->retained->data, p, n);
		srv->retained_bytes += n;
		srv->nretained++;
	}
	node_prune(srv, node);
}

/* The topic of node into buf (for retained messages); its length. */
static size_t node_topic(const struct mnode *n, char *buf)
{
	size_t len = 0;

	for (const struct mnode *k = n; k->parent; k = k->parent)
		len += k->n + (k->parent->parent ? 1 : 0);
	if (len > MQTT_MAX_TOPIC)
		return 0;
	for (size_t at = len; n->parent; n = n->parent) {
		at -= n->n;
		memcpy(buf + at, n->name, n->n);
		if (n->parent->parent)
			buf[--at] = '/';
	}
	return len;
}

static void send_retained(struct msess *s, const struct mnode *n, uint8_t qos)
{
	char topic[MQTT_MAX_TOPIC + 1];
	size_t tn;
	uint16_t id = 0;
	uint8_t q;

	if (!n->retained || !(tn = node_topic(n, topic)) || s->c.queued > MQTT_MAX_QUEUED)
		return;
	q = MIN(qos, n->retained->qos);
	if (q) {
		if (!++s->next_id)
			s->next_id = 1;
		id = s->next_id;
	}
	put_publish(&s->c, topic, tn, q, true, id, n->retained->n);
	conn_write(&s->c, n->retained->data, n->retained->n);
}

static void send_retained_tree(struct msess *s, const struct mnode *n, uint8_t qos, bool skip_dollar)
{
	send_retained(s, n, qos);
	for (const struct mnode *k = n->kids; k; k = k->next)
		if (!(skip_dollar && k->n && k->name[0] == '$'))
			send_retained_tree(s, k, qos, false);
}

/* Retained messages whose topic matches the filter levels from i. */
static void retained_for(struct msess *s, const struct mnode *n, const struct lvl *lv, size_t i,
			 size_t nlv, uint8_t qos)
{
	bool root = i == 0;

	if (i == nlv) {
		send_retained(s, n, qos);
		return;
	}
	if (lv[i].n == 1 && lv[i].p[0] == '#') {
		if (root) {
			for (const struct mnode *k = n->kids; k; k = k->next)
				if (!(k->n && k->name[0] == '$'))
					send_retained_tree(s, k, qos, false);
		} else {
			send_retained_tree(s, n, qos, false);
		}
		return;
	}
	for (const struct mnode *k = n->kids; k; k = k->next) {
		if (lv[i].n == 1 && lv[i].p[0] == '+') {
			if (!(root && k->n && k->name[0] == '$'))
				retained_for(s, k, lv, i + 1, nlv, qos);
		} else if (k->n == lv[i].n && !memcmp(k->name, lv[i].p, k->n)) {
			retained_for(s, k, lv, i + 1, nlv, qos);
		}
	}
}

/* ---- broker: sessions -------------------------------------------------- */

static void sub_unlink(struct mqtt_srv *srv, struct msub *u)
{
	struct mnode *node = u->node;

	*u->npprev = u->nnext;
	if (u->nnext)
		u->nnext->npprev = u->npprev;
	free(u);
	node_prune(srv, node);
}

static void subscribe(struct msess *s, const struct mqtt__str *f, uint8_t qos)
{
	struct mqtt_srv *srv = s->srv;
	struct mnode *node = node_find(srv->root, f->p, f->n, true);
	struct msub *u;
	struct lvl lv[MQTT_MAX_LEVELS];

	for (u = s->subs; u; u = u->snext)
		if (u->node == node)
			break;
	if (!u) {
		u = xcalloc(1, sizeof(*u));
		u->node = node;
		u->s = s;
		u->snext = s->subs;
		s->subs = u;
		u->nnext = node->subs;
		if (u->nnext)
			u->nnext->npprev = &u->nnext;
		u->npprev = &node->subs;
		node->subs = u;
		s->nsubs++;
	}
	u->qos = qos;
	/* A new or repeated subscription gets the retained messages. */
	retained_for(s, srv->root, lv, 0, split(f->p, f->n, lv), qos);
}

static void unsubscribe(struct msess *s, const struct mqtt__str *f)
{
	struct mnode *node = node_find(s->srv->root, f->p, f->n, false);

	for (struct msub **pp = &s->subs; node && *pp; pp = &(*pp)->snext) {
		struct msub *u = *pp;

		if (u->node == node) {
			*pp = u->snext;
			s->nsubs--;
			sub_unlink(s->srv, u);
			return;
		}
	}
}

static void sess_free(struct defer *d)
{
	struct msess *s = container_of(d, struct msess, d);

	free(s);
}

static void sess_arm(struct msess *s)
{
	double t;

	if (!s->connected)
		t = MQTT_CONNECT_WAIT;
	else if (s->keepalive)
		t = 1.5 * s->keepalive;     /* MQTT 3.1.1, 3.1.2.10 */
	else
		t = 0;
	/* Half a packet in: the rest must come soon. */
	if (s->c.in.len && (!t || t > MQTT_STALL))
		t = MQTT_STALL;
	if (t)
		loop_timer_start(s->c.loop, &s->idle, host_ns(t));
	else
		loop_timer_stop(s->c.loop, &s->idle);
}

static void sess_timeout(struct loop *l, struct timer *t)
{
	struct msess *s = container_of(t, struct msess, idle);

	(void)l;
	conn_close(&s->c, -ETIMEDOUT);
}

static void sess_closed(struct conn *c, int err)
{
	struct msess *s = container_of(c, struct msess, c);
	struct mqtt_srv *srv = s->srv;
	struct mwill *w = s->will;

	(void)err;
	loop_timer_stop(c->loop, &s->idle);
	*s->pprev = s->next;
	if (s->next)
		s->next->pprev = s->pprev;
	while (s->subs) {
		struct msub *u = s->subs;

		s->subs = u->snext;
		sub_unlink(srv, u);
	}
	s->will = NULL;
	/* Without a DISCONNECT the will goes out (3.1.2.5). */
	if (w && s->connected && !s->clean_end) {
		const uint8_t *msg = (const uint8_t *)w->data + w->tn;

		if (w->retain)
			retain_set(srv, w->data, w->tn, msg, w->n, w->qos);
		fan_out(srv, w->data, w->tn, msg, w->n, w->qos);
	}
	free(w);
	loop_defer(c->loop, &s->d, sess_free);
}

static void sess_connected(struct conn *c)
{
	struct msess *s = container_of(c, struct msess, c);

	sess_arm(s);
}

static int on_connect(struct msess *s, const uint8_t *p, size_t len)
{
	uint8_t ack[4] = { 0x20, 2, 0, 0 };
	struct mqtt__connect m;
	int err = mqtt__parse_connect(p, len, &m);

	if (err == -EPROTONOSUPPORT) {
		ack[3] = 1;     /* unacceptable protocol version */
		goto refuse;
	}
	if (err)
		return err;
	if (!m.client_id.n && !(m.flags & MQTT_CF_CLEAN)) {
		ack[3] = 2;     /* identifier rejected */
		goto refuse;
	}
	s->keepalive = m.keepalive;
	s->id_hash = m.client_id.n ? rng_hash(m.client_id.p, m.client_id.n, 1)
				   : rng_hash(&s, sizeof(s), 2);
	/* A second connection with the same client id takes over. */
	for (struct msess *o = s->srv->sessions; o; o = o->next) {
		if (o != s && o->connected && o->id_hash == s->id_hash) {
			conn_close(&o->c, 0);
			break;
		}
	}
	if (m.flags & MQTT_CF_WILL) {
		struct mwill *w = xmalloc(sizeof(*w) + m.will_topic.n + m.will_msg.n);

		w->tn = m.will_topic.n;
		w->n = m.will_msg.n;
		w->qos = MQTT_CF_WILL_QOS(m.flags);
		w->retain = m.flags & MQTT_CF_WILL_RETAIN;
		memcpy(w->data, m.will_topic.p, w->tn);
		memcpy(w->data + w->tn, m.will_msg.p, w->n);
		s->will = w;
	}
	s->connected = true;
	conn_write(&s->c, ack, sizeof(ack));
	return 0;
refuse:
	/* Answer, then close; what the client sends meanwhile is dropped. */
	s->refused = true;
	conn_write(&s->c, ack, sizeof(ack));
	conn_shutdown(&s->c);
	return 0;
}

static int on_subscribe(struct msess *s, const uint8_t *p, size_t len, bool sub)
{
	struct mqtt__str f;
	size_t off = 2, n = 0;
	uint16_t id;
	uint8_t qos = 0, *codes;
	int r;

	if (len < 2 || mqtt__parse_id(p, 2, &id) < 0)
		return -EPROTO;
	/* Validate the whole list before acting on any of it. */
	while ((r = mqtt__next_filter(p, len, &off, sub, &f, &qos)) > 0)
		n++;
	if (r < 0 || !n)
		return -EPROTO;
	if (!sub) {
		off = 2;
		while (mqtt__next_filter(p, len, &off, false, &f, &qos) > 0)
			unsubscribe(s, &f);
		put_ack(&s->c, 0xb0, id);
		return 0;
	}
	codes = xmalloc(n);
	/* The SUBACK goes before the retained messages it releases. */
	put_hdr(&s->c, 0x90, (uint32_t)(2 + n));
	put_u16(&s->c, id);
	off = 2;
	for (size_t i = 0; i < n; i++) {
		mqtt__next_filter(p, len, &off, true, &f, &qos);
		codes[i] = s->nsubs < MQTT_MAX_SUBS ? qos : 0x80;
	}
	conn_write(&s->c, codes, n);
	off = 2;
	for (size_t i = 0; i < n; i++) {
		mqtt__next_filter(p, len, &off, true, &f, &qos);
		if (codes[i] != 0x80)
			subscribe(s, &f, qos);
	}
	free(codes);
	return 0;
}

static int on_publish(struct msess *s, uint8_t flags, const uint8_t *p, size_t len)
{
	struct mqtt__publish m;
	int err = mqtt__parse_publish(flags, p, len, &m);

	if (err)
		return err;
	/* Acknowledge first: the publisher's ack is not held up behind the
	 * copies for the subscribers. */
	if (m.qos == 1)
		put_ack(&s->c, 0x40, m.id);
	else if (m.qos == 2)
		put_ack(&s->c, 0x50, m.id);
	if (m.retain)
		retain_set(s->srv, m.topic.p, m.topic.n, m.payload, m.n, m.qos);
	fan_out(s->srv, m.topic.p, m.topic.n, m.payload, m.n, m.qos);
	return 0;
}

/* One packet from a client; 0, or -EPROTO to close the connection. */
static int sess_packet(struct msess *s, const struct mqtt__hdr *h, const uint8_t *p)
{
	uint16_t id;

	if (h->type != MQTT_CONNECT && !s->connected)
		return -EPROTO;
	switch (h->type) {
	case MQTT_CONNECT:
		return s->connected ? -EPROTO : on_connect(s, p, h->len);
	case MQTT_PUBLISH:
		return on_publish(s, h->flags, p, h->len);
	case MQTT_PUBACK:
	case MQTT_PUBCOMP:
		return mqtt__parse_id(p, h->len, &id);
	case MQTT_PUBREC:
		if (mqtt__parse_id(p, h->len, &id) < 0)
			return -EPROTO;
		put_ack(&s->c, 0x62, id);
		return 0;
	case MQTT_PUBREL:
		if (mqtt__parse_id(p, h->len, &id) < 0)
			return -EPROTO;
		put_ack(&s->c, 0x70, id);
		return 0;
	case MQTT_SUBSCRIBE:
		return on_subscribe(s, p, h->len, true);
	case MQTT_UNSUBSCRIBE:
		return on_subscribe(s, p, h->len, false);
	case MQTT_PINGREQ:
		if (h->len)
			return -EPROTO;
		conn_write(&s->c, "\xd0\x00", 2);
		return 0;
	case MQTT_DISCONNECT:
		if (h->len)
			return -EPROTO;
		s->clean_end = true;
		conn_close(&s->c, 0);
		return 0;
	default:
		/* Server-to-client packets from a client. */
		return -EPROTO;
	}
}

static void sess_readable(struct conn *c)
{
	struct msess *s = container_of(c, struct msess, c);

	while (conn_is_open(c) && c->in.len && !s->refused) {
		const uint8_t *b = (const uint8_t *)c->in.p;
		struct mqtt__hdr h;
		int r = mqtt__header(b, c->in.len, MQTT_MAX_PACKET, &h);

		if (r == 0 || (r > 0 && c->in.len - h.hlen < h.len))
			break;
		if (r > 0)
			r = sess_packet(s, &h, b + h.hlen);
		if (r < 0) {
			/* A malformed packet ends the connection, with no
			 * answer (MQTT 3.1.1, 4.8). */
			if (s->srv->st)
				s->srv->st->errors++;
			conn_close(c, -EPROTO);
			return;
		}
		if (conn_is_open(c))
			conn_consume(c, h.hlen + h.len);
	}
	if (s->refused && conn_is_open(c))
		conn_consume(c, c->in.len);
	if (conn_is_open(c))
		sess_arm(s);
}

static const struct conn_ops sess_ops = {
	.connected = sess_connected,
	.readable = sess_readable,
	.closed = sess_closed,
};

static void srv_accept(struct loop *l, struct io *io, unsigned revents)
{
	struct mqtt_srv *srv = container_of(io, struct mqtt_srv, lio);

	(void)revents;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), err;
		struct msess *s;

		if (fd < 0)
			break;
		s = xcalloc(1, sizeof(*s));
		s->srv = srv;
		s->c.st = srv->st;
		s->idle.cb = sess_timeout;
		s->next = srv->sessions;
		if (s->next)
			s->next->pprev = &s->next;
		s->pprev = &srv->sessions;
		srv->sessions = s;
		err = conn_accept(&s->c, l, &sess_ops, fd);
		if (err)
			conn_close(&s->c, err);   /* closed() unlinks and frees */
	}
}

static int mqtt_serve(struct host *h, struct stats *st, const struct model *m, uint16_t port,
		      char *err, size_t errlen)
{
	struct mqtt_srv *srv;
	int fd, rc;

	(void)m;
	rc = agent_listen_tcp(port, &fd);
	if (rc) {
		snprintf(err, errlen, "mqtt: listen on port %u: %s", port, strerror(-rc));
		return rc;
	}
	srv = xcalloc(1, sizeof(*srv));
	srv->st = st;
	srv->root = xcalloc(1, sizeof(*srv->root));
	srv->lio.fd = fd;
	srv->lio.cb = srv_accept;
	rc = loop_io_set(h->loop, &srv->lio, IO_IN);
	if (rc) {
		snprintf(err, errlen, "mqtt: watch listener: %s", strerror(-rc));
		close(fd);
		free(srv->root);
		free(srv);
		return rc;
	}
	srv->next = brokers;
	brokers = srv;
	return 0;
}

/* ---- clients ------------------------------------------------------------ */

enum {
	ACT_CONNECT, ACT_SUBSCRIBE, ACT_PUBLISH, ACT_PUBLISH_LARGE, ACT_UNSUBSCRIBE,
	ACT_DISCONNECT, ACT__N
};

static const char *const mqtt_actions[] = {
	"connect", "subscribe", "publish", "publish_large", "unsubscribe", "disconnect", NULL,
};

static const char *const mqtt_params[] = {
	"dashboards", "sites", "keepalive", "qos1", "qos2", "large_size", "command_share", NULL,
};

static const char *const quantities[][2] = {
	{ "temperature", "C" }, { "humidity", "%" }, { "pressure", "hPa" },
	{ "battery", "V" }, { "co2", "ppm" },
};

#define USER_SUBS 6
#define USER_FILTER 96
#define SLICE 0.5       /* s: how often a sleeping user looks at stopping */

enum { U_IDLE, U_CONNECTING, U_READY, U_CLOSING, U_DONE };
enum { W_ACTION, W_SESSION };

struct mclient {
	struct agent_env env;
	struct defer d;
	struct mclient *next, **pprev;  /* in clients */
	struct muser **users;   /* NULL once a user is done */
	int act[ACT__N];        /* model index of each action, or -1 */
	uint32_t live, ndash, nsites;
	uint64_t seed;          /* from the host's name: sites */
	uint32_t dev_base;      /* from this client's generator: device ids */
};

struct muser {
	struct conn c;
	struct timer sleep, ka, guard;
	struct defer d;
	struct mclient *cl;
	uint64_t wake;          /* end of the current sleep, loop clock */
	uint64_t last_tx;
	uint32_t k, seq, pending, site;
	int a;                  /* the model action in progress */
	uint16_t next_id, keepalive;
	uint8_t state, wait, nsubs;
	bool dashboard, ping_out, after_disconnect;
	double value[5];        /* each quantity's current reading */
	char subs[USER_SUBS][USER_FILTER];
};

static void user_sleep(struct muser *u, double seconds, uint8_t what);
static void user_begin(struct muser *u);
static void user_finish(struct muser *u);

static const char *site_name(const struct mclient *cl, uint32_t site)
{
	return content_word(cl->seed + site * 7919u);
}

/* A device id: stable for (client, user), and unlike between the
 * clients of one host (a run adds groups of users there; equal ids made
 * the broker close the older session of each, as MQTT says it must). */
static unsigned dev_id(const struct mclient *cl, uint32_t k)
{
	return (unsigned)(cl->dev_base + k * 2654435761u) & 0xffffff;
}

static int act_of(const struct mclient *cl, int a)
{
	for (int i = 0; i < ACT__N; i++)
		if (cl->act[i] == a)
			return i;
	return -1;
}

static uint16_t user_id(struct muser *u)
{
	if (!++u->next_id)
		u->next_id = 1;
	return u->next_id;
}

static void sent_packet(struct muser *u)
{
	u->last_tx = loop_now(u->c.loop);
}

/* Client instances end when their users do; until then this list keeps
 * them (and their users) reachable, as brokers are. */
static struct mclient *clients;

static void user_free(struct defer *d)
{
	struct muser *u = container_of(d, struct muser, d);

	free(u);
}

static void client_free(struct defer *d)
{
	struct mclient *cl = container_of(d, struct mclient, d);

	*cl->pprev = cl->next;
	if (cl->next)
		cl->next->pprev = cl->pprev;
	free(cl->users);
	free(cl);
}

/* The user is finished for good (the run is stopping). */
static void user_exit(struct muser *u)
{
	struct mclient *cl = u->cl;
	struct loop *l = cl->env.host->loop;

	u->state = U_DONE;
	cl->users[u->k] = NULL;
	loop_timer_stop(l, &u->sleep);
	loop_timer_stop(l, &u->ka);
	loop_timer_stop(l, &u->guard);
	loop_defer(l, &u->d, user_free);
	if (!--cl->live)
		loop_defer(l, &cl->d, client_free);
}

static void send_disconnect(struct muser *u)
{
	conn_write(&u->c, "\xe0\x00", 2);
	conn_shutdown(&u->c);
	loop_timer_start(u->c.loop, &u->guard, host_ns(5));
}

/* End the session politely: wait for the acks in flight, then
 * DISCONNECT and FIN; closed() follows when the broker closes. */
static void user_finish(struct muser *u)
{
	if (u->state == U_READY) {
		u->state = U_CLOSING;
		loop_timer_stop(u->c.loop, &u->ka);
		if (!u->pending)
			send_disconnect(u);
		else
			loop_timer_start(u->c.loop, &u->guard, host_ns(5));
	} else if (u->state == U_IDLE) {
		user_exit(u);
	}
	/* U_CONNECTING: the CONNACK handler looks at stopping. */
}

static void user_publish(struct muser *u, const char *topic, const void *p, size_t n, uint8_t qos,
			 bool retain, bool ref)
{
	uint16_t id = qos ? user_id(u) : 0;

	put_publish(&u->c, topic, strlen(topic), qos, retain, id, n);
	if (ref)
		conn_write_ref(&u->c, p, n);
	else
		conn_write(&u->c, p, n);
	if (qos)
		u->pending++;
	sent_packet(u);
}

static uint8_t draw_qos(struct muser *u)
{
	const struct agent_env *e = &u->cl->env;
	double x = rng_unit(&e->host->rng);
	double q1 = model_draw(e->model, "qos1", &e->host->rng, 0.3);
	double q2 = model_draw(e->model, "qos2", &e->host->rng, 0.0);

	return x < q2 ? 2 : x < q2 + q1 ? 1 : 0;
}

static void do_subscribe(struct muser *u)
{
	struct mclient *cl = u->cl;
	struct rng *r = &cl->env.host->rng;
	const char *site = site_name(cl, u->site);
	char f[USER_FILTER];
	uint8_t b[2 + USER_FILTER + 3];
	size_t n, i;

	if (u->dashboard) {
		/* The first view is the whole fleet; later ones narrower. */
		switch (u->nsubs ? rng_below(r, 5) : 5) {
		case 0:
			snprintf(f, sizeof(f), "site/+/sensor/+/temperature");
			break;
		case 1:
			snprintf(f, sizeof(f), "site/%s/sensor/#", site);
			break;
		case 2:
			snprintf(f, sizeof(f), "site/+/sensor/+/status");
			break;
		case 3:
			snprintf(f, sizeof(f), "site/%s/#", site);
			break;
		case 4:
			snprintf(f, sizeof(f), "site/+/sensor/+/%s",
				 quantities[rng_below(r, ARRAY_SIZE(quantities))][0]);
			break;
		default:
			snprintf(f, sizeof(f), "site/+/sensor/#");
			break;
		}
	} else if (u->nsubs == 0) {
		/* A device listens for commands, firmware, configuration. */
		snprintf(f, sizeof(f), "site/%s/sensor/%06x/cmd", site, dev_id(cl, u->k));
	} else if (u->nsubs == 1) {
		snprintf(f, sizeof(f), "site/%s/firmware/#", site);
	} else {
		snprintf(f, sizeof(f), "site/%s/config/+", site);
	}
	n = strlen(f);
	for (i = 0; i < u->nsubs; i++)
		if (!strcmp(u->subs[i], f))
			break;
	if (i == u->nsubs && u->nsubs < USER_SUBS)
		memcpy(u->subs[u->nsubs++], f, n + 1);
	/* id, filter, requested QoS 1 */
	put_hdr(&u->c, 0x82, (uint32_t)(2 + 2 + n + 1));
	put_u16(&u->c, user_id(u));
	b[0] = (uint8_t)(n >> 8);
	b[1] = (uint8_t)n;
	memcpy(b + 2, f, n);
	b[2 + n] = 1;
	conn_write(&u->c, b, n + 3);
	u->pending++;
	sent_packet(u);
}

static void do_unsubscribe(struct muser *u)
{
	size_t n;
	const char *f;

	if (!u->nsubs)
		return;
	f = u->subs[--u->nsubs];
	n = strlen(f);
	put_hdr(&u->c, 0xa2, (uint32_t)(2 + 2 + n));
	put_u16(&u->c, user_id(u));
	put_u16(&u->c, (uint16_t)n);
	conn_write(&u->c, f, n);
	u->pending++;
	sent_packet(u);
}

static void do_reading(struct muser *u)
{
	struct mclient *cl = u->cl;
	struct rng *r = &cl->env.host->rng;
	size_t q = rng_below(r, ARRAY_SIZE(quantities));
	char topic[USER_FILTER], msg[160];
	int n;

	/* A slow random walk around the sensor's own level. */
	u->value[q] += rng_normal(r) * 0.2;
	snprintf(topic, sizeof(topic), "site/%s/sensor/%06x/%s", site_name(cl, u->site),
		 dev_id(cl, u->k), quantities[q][0]);
	n = snprintf(msg, sizeof(msg), "{\"ts\":%lld,\"seq\":%u,\"value\":%.2f,\"unit\":\"%s\"}",
		     (long long)time(NULL), ++u->seq, u->value[q], quantities[q][1]);
	user_publish(u, topic, msg, (size_t)n, draw_qos(u), false, false);
}

static void do_command(struct muser *u)
{
	struct mclient *cl = u->cl;
	struct rng *r = &cl->env.host->rng;
	uint32_t users = cl->env.users, k;
	unsigned v = (unsigned)(5 + rng_below(r, 60));
	char topic[USER_FILTER], msg[96];
	int n;

	if (users <= cl->ndash)
		return;
	/* A command to one of this host's sensors. */
	k = cl->ndash + (uint32_t)rng_below(r, users - cl->ndash);
	snprintf(topic, sizeof(topic), "site/%s/sensor/%06x/cmd", site_name(cl, k % cl->nsites),
		 dev_id(cl, k));
	switch (rng_below(r, 4)) {
	case 0:
		n = snprintf(msg, sizeof(msg), "{\"cmd\":\"set_interval\",\"value\":%u}", v);
		break;
	case 1:
		n = snprintf(msg, sizeof(msg), "{\"cmd\":\"led\",\"value\":\"%s\"}", v & 1 ? "on" : "off");
		break;
	case 2:
		n = snprintf(msg, sizeof(msg), "{\"cmd\":\"calibrate\",\"offset\":%d}", (int)v - 35);
		break;
	default:
		n = snprintf(msg, sizeof(msg), "{\"cmd\":\"reboot\",\"delay\":%u}", v);
		break;
	}
	user_publish(u, topic, msg, (size_t)n, 1, false, false);
}

static void do_large(struct muser *u)
{
	struct mclient *cl = u->cl;
	const struct agent_env *e = &cl->env;
	double size = model_draw(e->model, "large_size", &e->host->rng, 64 << 10);
	size_t n = (size_t)MIN(MAX(size, 64.0), (double)(MQTT_MAX_PACKET - MQTT_MAX_TOPIC - 16));
	char topic[USER_FILTER];
	const char *p;

	if (u->dashboard)
		snprintf(topic, sizeof(topic), "site/%s/firmware/%s", site_name(cl, u->site),
			 content_word(rng_next(&e->host->rng)));
	else
		snprintf(topic, sizeof(topic), "site/%s/camera/%06x/image", site_name(cl, u->site),
			 dev_id(cl, u->k));
	p = content_get(&e->host->content, CONTENT_BINARY, rng_next(&e->host->rng), n);
	user_publish(u, topic, p, n, 1, false, true);
}

/* A step of the model; it always leaves a sleep or a pending close. */
static void do_action(struct muser *u, int a)
{
	struct mclient *cl = u->cl;
	const struct agent_env *e = &cl->env;
	int act = act_of(cl, a);

	u->a = a;
	e->st->actions++;
	switch (act) {
	case ACT_SUBSCRIBE:
		do_subscribe(u);
		break;
	case ACT_PUBLISH:
		if (!u->dashboard)
			do_reading(u);
		else if (rng_unit(&e->host->rng) < model_draw(e->model, "command_share",
							    &e->host->rng, 0.1))
			do_command(u);
		break;
	case ACT_PUBLISH_LARGE:
		do_large(u);
		break;
	case ACT_UNSUBSCRIBE:
		do_unsubscribe(u);
		break;
	case ACT_DISCONNECT:
		/* The session ends; its think time is the time offline. */
		u->after_disconnect = true;
		user_finish(u);
		return;
	default:
		/* connect: the session is connected already. */
		break;
	}
	user_sleep(u, model_think(e->model, a, &e->host->rng) * agent_think_scale(e), W_ACTION);
}

static void next_action(struct muser *u)
{
	const struct agent_env *e = &u->cl->env;
	int a;

	if (e->host->stopping) {
		user_finish(u);
		return;
	}
	a = model_next(e->model, u->a, &e->host->rng);
	if (a == MODEL_END) {
		u->after_disconnect = false;
		user_finish(u);
		return;
	}
	do_action(u, a);
}

static void sleep_cb(struct loop *l, struct timer *t)
{
	struct muser *u = container_of(t, struct muser, sleep);
	uint64_t now = loop_now(l);

	if (u->cl->env.host->stopping) {
		user_finish(u);
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
static void user_sleep(struct muser *u, double seconds, uint8_t what)
{
	struct loop *l = u->cl->env.host->loop;
	uint64_t ns = host_ns(seconds);

	u->wait = what;
	u->wake = loop_now(l) + ns;
	loop_timer_start(l, &u->sleep, MIN(ns, host_ns(SLICE)));
}

static void ka_cb(struct loop *l, struct timer *t)
{
	struct muser *u = container_of(t, struct muser, ka);
	uint64_t ka = host_ns(u->keepalive), now = loop_now(l);

	if (u->state != U_READY)
		return;
	if (now - u->last_tx >= ka) {
		if (u->ping_out) {
			/* No PINGRESP in a whole period: the broker is gone. */
			u->cl->env.st->errors++;
			conn_close(&u->c, -ETIMEDOUT);
			return;
		}
		conn_write(&u->c, "\xc0\x00", 2);
		u->ping_out = true;
		sent_packet(u);
	}
	loop_timer_start(l, t, u->last_tx + ka - now);
}

static void guard_cb(struct loop *l, struct timer *t)
{
	struct muser *u = container_of(t, struct muser, guard);

	if (u->state == U_CLOSING && u->pending) {
		/* Acks still missing (a broker under load is slow, not
		 * wrong): leave anyway. */
		u->pending = 0;
		send_disconnect(u);
		return;
	}
	if (u->state == U_CLOSING) {
		/* DISCONNECT sent; the broker did not close: we do. */
		conn_close(&u->c, 0);
		return;
	}
	/* No CONNACK: a fault, unless our bucket holds it unread */
	if (conn_held(&u->c)) {
		loop_timer_start(l, t, host_ns(MQTT_CONNECT_WAIT));
		return;
	}
	u->cl->env.st->errors++;
	conn_close(&u->c, -ETIMEDOUT);
}

static void user_connected(struct conn *c)
{
	struct muser *u = container_of(c, struct muser, c);
	struct mclient *cl = u->cl;
	char id[32], topic[USER_FILTER];
	const char *will = "{\"state\":\"offline\"}";
	uint8_t b[16], flags = MQTT_CF_CLEAN;
	size_t idn, tn = 0, wn = strlen(will);
	uint32_t rem;

	idn = (size_t)snprintf(id, sizeof(id), "%s-%06x", u->dashboard ? "dash" : "sensor",
			       dev_id(cl, u->k));
	rem = (uint32_t)(10 + 2 + idn);
	if (!u->dashboard) {
		/* Devices leave a retained "offline" will on their status. */
		tn = (size_t)snprintf(topic, sizeof(topic), "site/%s/sensor/%06x/status",
				      site_name(cl, u->site), dev_id(cl, u->k));
		flags |= MQTT_CF_WILL | 1 << 3 | MQTT_CF_WILL_RETAIN;
		rem += (uint32_t)(2 + tn + 2 + wn);
	}
	put_hdr(c, 0x10, rem);
	memcpy(b, "\x00\x04MQTT\x04", 7);
	b[7] = flags;
	b[8] = (uint8_t)(u->keepalive >> 8);
	b[9] = (uint8_t)u->keepalive;
	conn_write(c, b, 10);
	put_u16(c, (uint16_t)idn);
	conn_write(c, id, idn);
	if (tn) {
		put_u16(c, (uint16_t)tn);
		conn_write(c, topic, tn);
		put_u16(c, (uint16_t)wn);
		conn_write(c, will, wn);
	}
	sent_packet(u);
}

static void on_connack(struct muser *u)
{
	struct mclient *cl = u->cl;
	const struct agent_env *e = &cl->env;
	struct loop *l = u->c.loop;
	int start = model_start(e->model);

	loop_timer_stop(l, &u->guard);
	u->state = U_READY;
	u->ping_out = false;
	u->nsubs = 0;
	if (u->keepalive)
		loop_timer_start(l, &u->ka, host_ns(u->keepalive));
	if (!u->dashboard) {
		char topic[USER_FILTER];
		char msg[96];
		int n;

		/* The birth message replaces the will left last time. */
		snprintf(topic, sizeof(topic), "site/%s/sensor/%06x/status", site_name(cl, u->site),
			 dev_id(cl, u->k));
		n = snprintf(msg, sizeof(msg), "{\"state\":\"online\",\"fw\":\"1.%u.%u\",\"rssi\":%d}",
			     dev_id(cl, u->k) % 5, dev_id(cl, u->k) % 11,
			     -40 - (int)rng_below(&e->host->rng, 50));
		user_publish(u, topic, msg, (size_t)n, 1, true, false);
	}
	if (e->host->stopping) {
		user_finish(u);
		return;
	}
	if (act_of(cl, start) == ACT_CONNECT) {
		u->a = start;
		e->st->actions++;
		user_sleep(u, model_think(e->model, start, &e->host->rng) * agent_think_scale(e), W_ACTION);
	} else {
		do_action(u, start);
	}
}

/* One packet from the broker; 0 or -EPROTO. */
static int user_packet(struct muser *u, const struct mqtt__hdr *h, const uint8_t *p)
{
	struct mqtt__publish m;
	uint16_t id;
	uint8_t rc;
	size_t n;
	bool sp, failed;

	if (u->state == U_CONNECTING) {
		if (h->type != MQTT_CONNACK || mqtt__parse_connack(p, h->len, &sp, &rc) < 0 || rc)
			return -EPROTO;
		on_connack(u);
		return 0;
	}
	switch (h->type) {
	case MQTT_PUBLISH:
		if (mqtt__parse_publish(h->flags, p, h->len, &m) < 0)
			return -EPROTO;
		if (m.qos == 1)
			put_ack(&u->c, 0x40, m.id);
		else if (m.qos == 2)
			put_ack(&u->c, 0x50, m.id);
		return 0;
	case MQTT_PUBREL:
		if (mqtt__parse_id(p, h->len, &id) < 0)
			return -EPROTO;
		put_ack(&u->c, 0x70, id);
		return 0;
	case MQTT_PUBREC:
		if (mqtt__parse_id(p, h->len, &id) < 0)
			return -EPROTO;
		put_ack(&u->c, 0x62, id);
		return 0;
	case MQTT_SUBACK:
		if (mqtt__parse_suback(p, h->len, &id, &n, &failed) < 0 || failed)
			return -EPROTO;
		break;
	case MQTT_PUBACK:
	case MQTT_PUBCOMP:
	case MQTT_UNSUBACK:
		if (mqtt__parse_id(p, h->len, &id) < 0)
			return -EPROTO;
		break;
	case MQTT_PINGRESP:
		if (h->len)
			return -EPROTO;
		u->ping_out = false;
		return 0;
	default:
		return -EPROTO;
	}
	/* An ack of ours (late ones too, once the user stopped waiting for
	 * them to leave: guard_cb) */
	if (!u->pending)
		return u->state == U_CLOSING ? 0 : -EPROTO;
	u->pending--;
	if (u->state == U_CLOSING && !u->pending)
		send_disconnect(u);
	return 0;
}

static void user_readable(struct conn *c)
{
	struct muser *u = container_of(c, struct muser, c);

	while (conn_is_open(c) && c->in.len) {
		const uint8_t *b = (const uint8_t *)c->in.p;
		struct mqtt__hdr h;
		int r = mqtt__header(b, c->in.len, MQTT_MAX_PACKET, &h);

		if (r == 0 || (r > 0 && c->in.len - h.hlen < h.len))
			break;
		if (r > 0)
			r = user_packet(u, &h, b + h.hlen);
		if (r < 0) {
			u->cl->env.st->errors++;
			conn_close(c, -EPROTO);
			return;
		}
		if (conn_is_open(c))
			conn_consume(c, h.hlen + h.len);
	}
}

static void user_closed(struct conn *c, int err)
{
	struct muser *u = container_of(c, struct muser, c);
	const struct agent_env *e = &u->cl->env;
	struct loop *l = e->host->loop;
	bool expected = u->state == U_CLOSING;

	loop_timer_stop(l, &u->ka);
	loop_timer_stop(l, &u->guard);
	loop_timer_stop(l, &u->sleep);
	/* A broker that hangs up on a session we did not end is a fault;
	 * a refused connect is counted by conn (conn_fail). */
	if (!expected && u->state == U_READY && err != -EPROTO)
		e->st->errors++;
	u->state = U_IDLE;
	u->pending = 0;
	if (e->host->stopping) {
		user_exit(u);
		return;
	}
	if (expected && u->after_disconnect)
		user_sleep(u, model_think(e->model, u->a, &e->host->rng) * agent_think_scale(e), W_SESSION);
	else
		user_sleep(u, expected ? 0 : 1.0, W_SESSION);
}

static const struct conn_ops user_ops = {
	.connected = user_connected,
	.readable = user_readable,
	.closed = user_closed,
};

static void user_begin(struct muser *u)
{
	const struct agent_env *e = &u->cl->env;
	struct loop *l = e->host->loop;
	int err;

	if (e->host->stopping) {
		user_exit(u);
		return;
	}
	u->c.st = e->st;
	u->after_disconnect = false;
	u->pending = 0;
	err = conn_connect(&u->c, l, &user_ops, 0, e->server, e->port);
	if (err) {
		e->st->conn_fail++;
		user_sleep(u, 1.0, W_SESSION);
		return;
	}
	e->st->sessions++;
	u->state = U_CONNECTING;
	loop_timer_start(l, &u->guard, host_ns(MQTT_CONNECT_WAIT));
}

static int mqtt_client(const struct agent_env *env, char *err, size_t errlen)
{
	struct mclient *cl;
	struct rng *r = &env->host->rng;
	double share, ka, sites;

	(void)err;
	(void)errlen;
	if (!env->users)
		return 0;
	cl = xcalloc(1, sizeof(*cl));
	cl->env = *env;
	for (int i = 0; i < ACT__N; i++)
		cl->act[i] = model_action(env->model, mqtt_actions[i]);
	cl->seed = rng_hash(env->host->name, strlen(env->host->name), 0x6d717474);
	cl->dev_base = (uint32_t)rng_next(r);
	share = model_draw(env->model, "dashboards", r, 0.25);
	cl->ndash = (uint32_t)lround(share * env->users);
	/* Both kinds whenever there are two users, so that messages flow
	 * both ways. */
	if (env->users >= 2 && share > 0 && !cl->ndash)
		cl->ndash = 1;
	if (env->users >= 2 && share < 1 && cl->ndash >= env->users)
		cl->ndash = env->users - 1;
	ka = model_draw(env->model, "keepalive", r, 60) * agent_think_scale(env);
	sites = model_draw(env->model, "sites", r, 3);
	cl->nsites = (uint32_t)MAX(1.0, MIN(sites, 1000.0));
	cl->live = env->users;
	cl->users = xcalloc(env->users, sizeof(*cl->users));
	cl->next = clients;
	if (cl->next)
		cl->next->pprev = &cl->next;
	cl->pprev = &clients;
	clients = cl;
	for (uint32_t k = 0; k < env->users; k++) {
		struct muser *u = xcalloc(1, sizeof(*u));

		cl->users[k] = u;
		u->cl = cl;
		u->k = k;
		u->dashboard = k < cl->ndash;
		u->site = k % cl->nsites;
		u->keepalive = (uint16_t)MIN(MAX(ceil(ka), 1.0), 65535.0);
		u->sleep.cb = sleep_cb;
		u->ka.cb = ka_cb;
		u->guard.cb = guard_cb;
		u->state = U_IDLE;
		u->c.io.fd = -1;
		for (size_t q = 0; q < ARRAY_SIZE(quantities); q++)
			u->value[q] = (double[]){ 21.0, 45.0, 1013.0, 3.7, 420.0 }[q] +
				      rng_normal(r) * 2;
		/* Dashboards first, sensors spread over the first second,
		 * so that publishes find their subscribers. */
		user_sleep(u, (u->dashboard ? 0.05 : 0.2 + rng_unit(r)) * MIN(1.0, agent_think_scale(env) * 5),
			   W_SESSION);
	}
	return 0;
}

const struct agent agent_mqtt = {
	.name = "mqtt",
	.proto = PROTO_MQTT,
	.model = "mqtt",
	.actions = mqtt_actions,
	.params = mqtt_params,
	.serve = mqtt_serve,
	.client = mqtt_client,
};
