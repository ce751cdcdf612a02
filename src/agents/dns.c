/* dns.c - the DNS agent: an authoritative server for a generated zone
 * (www.WORD.example, mail.WORD.example, ... with A, AAAA, MX, TXT,
 * CNAME, NS and SOA records) on UDP and TCP port 53, and users who
 * resolve names as a stub resolver does: a burst of A and AAAA lookups
 * per page, now and then an MX or TXT, a typo that ends in NXDOMAIN.
 * Some names have answers too big for UDP; the server truncates them
 * (TC) and the client asks again over TCP (RFC 7766), as resolvers do.
 * The zone follows from the model's params, so clients know its names
 * without a zone transfer; see data/behaviours/dns.model. */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/bytes.h"
#include "../lib/util.h"
#include "agent.h"
#include "dns.h"

#define DNS_ZONE_SEED 0x646e737a6f6e65ull  /* clients and servers must agree */
#define DNS_IDLE_S 30.0            /* server: a silent TCP peer is dropped */
#define DNS_CLOSE_S 5.0            /* a FIN not answered by then: drop */
#define DNS_TCP_BACKLOG (256u << 10) /* replies queued before we stop reading */
#define DNS_TICK_S 0.5             /* how soon a thinking user sees stopping */
#define DNS_MAX_JOBS 24            /* names one action resolves */
#define DNS_MAX_PTRS 128           /* names the compressor remembers */




static uint64_t mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static double unit(uint64_t seed, uint64_t what)
{
	return (double)(mix(seed ^ mix(what)) >> 11) * 0x1p-53;
}

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* ---- parsers --------------------------------------------------------------- */

int dns__parse_header(const uint8_t *msg, size_t len, struct dns__hdr *h)
{
	if (len < DNS_HDR)
		return -EBADMSG;
	h->id = be16(msg);
	h->flags = be16(msg + 2);
	h->qd = be16(msg + 4);
	h->an = be16(msg + 6);
	h->ns = be16(msg + 8);
	h->ar = be16(msg + 10);
	return 0;
}

/* One byte of a label as presentation text; the room was counted by the
 * caller (at most four characters a byte). */
static size_t text_byte(char *t, size_t at, uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '-' || c == '_' || c == '*' || c == '/') {
		t[at++] = (char)c;
	} else if (c == '.' || c == '\\') {
		t[at++] = '\\';
		t[at++] = (char)c;
	} else {
		at += (size_t)snprintf(t + at, 5, "\\%03u", c);
	}
	return at;
}

int dns__read_name(const uint8_t *msg, size_t len, size_t off, size_t *next, uint8_t *wire,
		   size_t *wirelen, char *text)
{
	size_t pos = off, run = off, wl = 0, tl = 0;
	bool jumped = false;

	for (;;) {
		uint8_t b;

		if (pos >= len)
			return -EBADMSG;
		b = msg[pos];
		if ((b & 0xc0) == 0xc0) {
			size_t ptr;

			if (pos + 1 >= len)
				return -EBADMSG;
			ptr = (size_t)(b & 0x3f) << 8 | msg[pos + 1];
			if (!jumped)
				*next = pos + 2;
			jumped = true;
			/* Only backward of where this run of labels began:
			 * each jump lowers 'run', so no loop can be made. */
			if (ptr >= run)
				return -EBADMSG;
			run = pos = ptr;
			continue;
		}
		if (b & 0xc0)
			return -EBADMSG;   /* 0x40 extended, 0x80 reserved */
		if (!b)
			break;
		if (pos + 1 + b > len || wl + 1 + b + 1 > DNS_NAME_WIRE)
			return -EBADMSG;
		if (wire)
			memcpy(wire + wl, msg + pos, 1u + b);
		wl += 1u + b;
		if (text) {
			if (tl)
				text[tl++] = '.';
			for (size_t i = 0; i < b; i++)
				tl = text_byte(text, tl, msg[pos + 1 + i]);
		}
		pos += 1u + b;
	}
	if (!jumped)
		*next = pos + 1;
	if (wire)
		wire[wl] = 0;
	if (wirelen)
		*wirelen = wl + 1;
	if (text) {
		if (!tl)
			text[tl++] = '.';
		text[tl] = 0;
	}
	return 0;
}

/* Does the name at off fill [off, end) exactly? */
static bool name_fills(const uint8_t *msg, size_t end, size_t off)
{
	size_t next;

	return !dns__read_name(msg, end, off, &next, NULL, NULL, NULL) && next == end;
}

int dns__parse_rr(const uint8_t *msg, size_t len, size_t *off, struct dns__rr *rr)
{
	size_t p, end, q;

	if (dns__read_name(msg, len, *off, &p, NULL, NULL, NULL) || len - p < 10)
		return -EBADMSG;
	rr->owner = *off;
	rr->type = be16(msg + p);
	rr->klass = be16(msg + p + 2);
	rr->ttl = be32(msg + p + 4);
	rr->rdlen = be16(msg + p + 8);
	p += 10;
	if (len - p < rr->rdlen)
		return -EBADMSG;
	rr->rdata = p;
	end = p + rr->rdlen;
	switch (rr->type) {
	case DNS_T_A:
		if (rr->rdlen != 4)
			return -EBADMSG;
		break;
	case DNS_T_AAAA:
		if (rr->rdlen != 16)
			return -EBADMSG;
		break;
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
		if (!name_fills(msg, end, p))
			return -EBADMSG;
		break;
	case DNS_T_MX:
		if (rr->rdlen < 3 || !name_fills(msg, end, p + 2))
			return -EBADMSG;
		break;
	case DNS_T_SOA:
		if (dns__read_name(msg, end, p, &q, NULL, NULL, NULL) ||
		    dns__read_name(msg, end, q, &q, NULL, NULL, NULL) || end - q != 20)
			return -EBADMSG;
		break;
	case DNS_T_TXT:
		if (!rr->rdlen)
			return -EBADMSG;
		for (q = p; q < end; q += 1u + msg[q])
			if (q + 1 + msg[q] > end)
				return -EBADMSG;
		break;
	case DNS_T_OPT:
		for (q = p; q < end; q += 4u + be16(msg + q + 2))
			if (end - q < 4 || end - q - 4 < be16(msg + q + 2))
				return -EBADMSG;
		break;
	default:
		break;
	}
	*off = end;
	return 0;
}

int dns__parse_query(const uint8_t *msg, size_t len, struct dns__query *q)
{
	size_t off = DNS_HDR;
	unsigned total;

	memset(q, 0, sizeof(*q));
	q->udp_size = DNS_UDP_MIN;
	if (dns__parse_header(msg, len, &q->h))
		return -EBADMSG;
	if (q->h.flags & DNS_F_QR)
		return -EINVAL;
	if (q->h.qd != 1)
		return -EBADMSG;
	if (dns__read_name(msg, len, off, &off, q->qwire, &q->qwirelen, NULL) || len - off < 4)
		return -EBADMSG;
	q->qtype = be16(msg + off);
	q->qclass = be16(msg + off + 2);
	q->has_question = true;
	off += 4;
	total = (unsigned)q->h.an + q->h.ns + q->h.ar;
	for (unsigned i = 0; i < total; i++) {
		struct dns__rr rr;

		if (dns__parse_rr(msg, len, &off, &rr))
			return -EBADMSG;
		if (rr.type != DNS_T_OPT)
			continue;
		/* One OPT, in the additional section, owned by the root. */
		if (q->edns || i < (unsigned)q->h.an + q->h.ns || msg[rr.owner])
			return -EBADMSG;
		q->edns = true;
		q->udp_size = rr.klass > DNS_UDP_MIN ? rr.klass : DNS_UDP_MIN;
		q->edns_version = (uint8_t)(rr.ttl >> 16);
		q->edns_do = rr.ttl & 0x8000;
	}
	return off == len ? 0 : -EBADMSG;
}

int dns__parse_reply(const uint8_t *msg, size_t len, struct dns__reply *r)
{
	size_t off = DNS_HDR;
	unsigned total, best = 0x10000;

	memset(r, 0, sizeof(*r));
	if (dns__parse_header(msg, len, &r->h) || !(r->h.flags & DNS_F_QR) || r->h.qd > 1)
		return -EBADMSG;
	r->rcode = DNS_RCODE(r->h.flags);
	if (r->h.qd) {
		if (dns__read_name(msg, len, off, &off, NULL, NULL, r->qname) || len - off < 4)
			return -EBADMSG;
		r->qtype = be16(msg + off);
		r->qclass = be16(msg + off + 2);
		r->has_question = true;
		off += 4;
	}
	total = (unsigned)r->h.an + r->h.ns + r->h.ar;
	for (unsigned i = 0; i < total; i++) {
		struct dns__rr rr;
		size_t next;

		if (dns__parse_rr(msg, len, &off, &rr))
			return -EBADMSG;
		if (i < r->h.an) {
			if (rr.type == r->qtype)
				r->answers++;
			if (rr.type == DNS_T_CNAME)
				r->cnames++;
			if (rr.type == DNS_T_MX && be16(msg + rr.rdata) < best) {
				best = be16(msg + rr.rdata);
				dns__read_name(msg, len, rr.rdata + 2, &next, NULL, NULL, r->mx);
			}
		} else if (i < (unsigned)r->h.an + r->h.ns) {
			if (rr.type == DNS_T_SOA)
				r->soa = true;
		} else if (rr.type == DNS_T_OPT) {
			if (r->edns)
				return -EBADMSG;
			r->edns = true;
			r->rcode |= (uint16_t)((rr.ttl >> 24) << 4);
		}
	}
	return off == len ? 0 : -EBADMSG;
}

/* Plain dotted text (no escapes; "" or "." is the root) to wire form;
 * its length, or 0 when a label is empty or too long. */
static size_t text_to_wire(const char *name, uint8_t *wire)
{
	size_t wl = 0;
	const char *p = name;

	if (!strcmp(name, ".") || !*name) {
		wire[0] = 0;
		return 1;
	}
	while (*p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if (!n || n > 63 || wl + 1 + n + 1 > DNS_NAME_WIRE)
			return 0;
		wire[wl++] = (uint8_t)n;
		memcpy(wire + wl, p, n);
		wl += n;
		p += n;
		if (*p == '.') {
			p++;
			if (!*p)
				break;   /* a final dot */
		}
	}
	wire[wl++] = 0;
	return wl;
}

size_t dns__build_query(uint8_t *out, size_t cap, uint16_t id, const char *name, uint16_t qtype,
			bool rd, uint16_t edns_size)
{
	uint8_t wire[DNS_NAME_WIRE];
	size_t wl = text_to_wire(name, wire), n;

	if (!wl)
		return 0;
	n = DNS_HDR + wl + 4 + (edns_size ? 11 : 0);
	if (n > cap)
		return 0;
	memset(out, 0, DNS_HDR);
	put_be16(out, id);
	put_be16(out + 2, rd ? DNS_F_RD : 0);
	put_be16(out + 4, 1);
	put_be16(out + 10, edns_size ? 1 : 0);
	memcpy(out + DNS_HDR, wire, wl);
	put_be16(out + DNS_HDR + wl, qtype);
	put_be16(out + DNS_HDR + wl + 2, DNS_C_IN);
	if (edns_size) {
		uint8_t *o = out + DNS_HDR + wl + 4;

		o[0] = 0;
		put_be16(o + 1, DNS_T_OPT);
		put_be16(o + 3, edns_size);
		memset(o + 5, 0, 6);   /* extended rcode, version 0, flags, no options */
	}
	return n;
}

/* ---- the zone -------------------------------------------------------------- */

/* The apex zone "example." has two hosts of its own, the name servers. */
enum { H_NS1 = DNS_H__COUNT, H_NS2 };

static const char *const host_labels[] = {
	[DNS_H_APEX] = "", [DNS_H_WWW] = "www", [DNS_H_MAIL] = "mail", [DNS_H_CDN] = "cdn",
	[DNS_H_API] = "api", [DNS_H_STATIC] = "static", [DNS_H_BLOG] = "blog",
	[DNS_H_SHOP] = "shop", [DNS_H_BACKUP] = "backup", [DNS_H_DMARC] = "_dmarc",
	[DNS_H_DKIM] = "selector1._domainkey",
};

/* Share of domains that have each host (apex, www, mail, cdn: all). */
static const double host_share[] = {
	[DNS_H_APEX] = 1, [DNS_H_WWW] = 1, [DNS_H_MAIL] = 1, [DNS_H_CDN] = 1,
	[DNS_H_API] = 0.5, [DNS_H_STATIC] = 0.5, [DNS_H_BLOG] = 0.3, [DNS_H_SHOP] = 0.2,
	[DNS_H_BACKUP] = 0.4, [DNS_H_DMARC] = 0.7, [DNS_H_DKIM] = 0.5,
};

const char *dns__host_label(enum dns_host h)
{
	return (unsigned)h < DNS_H__COUNT ? host_labels[h] : "";
}

void dns__host_name(const struct dns__zone *z, unsigned d, enum dns_host h, char *out, size_t n)
{
	const char *l = dns__host_label(h);

	snprintf(out, n, "%s%s%s.example", l, *l ? "." : "", d < z->n ? z->d[d].name : "invalid");
}

static int zone_find(const struct dns__zone *z, const uint8_t *label, size_t n)
{
	char low[64];
	unsigned i;

	if (n >= sizeof(low) || !z->n)
		return -1;
	for (size_t k = 0; k < n; k++)
		low[k] = (char)lower(label[k]);
	low[n] = 0;
	i = (unsigned)rng_hash(low, n, 0) & z->mask;
	for (; z->index[i]; i = (i + 1) & z->mask) {
		const struct dns__domain *d = &z->d[z->index[i] - 1];

		if (!strcmp(d->name, low))
			return (int)(z->index[i] - 1);
	}
	return -1;
}

struct dns__zone *dns__zone_new(unsigned n, double big_share, uint64_t seed)
{
	struct dns__zone *z = xcalloc(1, sizeof(*z));
	unsigned size = 4;

	n = n < 1 ? 1 : n > DNS_MAX_DOMAINS ? DNS_MAX_DOMAINS : n;
	while (size < 2 * n)
		size *= 2;
	z->d = xcalloc(n, sizeof(*z->d));
	z->index = xcalloc(size, sizeof(*z->index));
	z->mask = size - 1;
	z->serial = 2024010100u + (uint32_t)(mix(seed) % 97);
	for (unsigned i = 0; i < n; i++) {
		struct dns__domain *d = &z->d[i];
		unsigned slot;

		/* A single word while they last, then two, then a number:
		 * names like coffee.example, hotelreport.example. */
		for (uint64_t a = 0;; a++) {
			uint64_t h = mix(seed ^ mix(i * 1000003ull + a));
			const char *w1 = content_word(h), *w2 = content_word(h >> 24);

			if (a < 6) {
				if (strlen(w1) < 4)
					continue;
				snprintf(d->name, sizeof(d->name), "%s", w1);
			} else if (a < 40) {
				if (strlen(w1) < 3 || strlen(w2) < 3)
					continue;
				snprintf(d->name, sizeof(d->name), "%s%s", w1, w2);
			} else {
				snprintf(d->name, sizeof(d->name), "%s%u", w1, i);
			}
			z->n = i;   /* search the ones made so far */
			if (zone_find(z, (const uint8_t *)d->name, strlen(d->name)) < 0) {
				d->seed = h;
				break;
			}
		}
		z->n = i + 1;
		d->flags = 0;
		if (unit(d->seed, 1) < big_share)
			d->flags |= DNS_D_BIG;
		if (d->flags & DNS_D_BIG || unit(d->seed, 2) < 0.6)
			d->flags |= DNS_D_V6;
		if (d->flags & DNS_D_BIG || unit(d->seed, 3) < 0.3)
			d->flags |= DNS_D_WWW_CNAME;
		for (unsigned h = 0; h < DNS_H__COUNT; h++)
			if (unit(d->seed, 16 + h) < host_share[h])
				d->flags |= DNS_D_HOST(h);
		slot = (unsigned)rng_hash(d->name, strlen(d->name), 0) & z->mask;
		while (z->index[slot])
			slot = (slot + 1) & z->mask;
		z->index[slot] = i + 1;
	}
	return z;
}

void dns__zone_free(struct dns__zone *z)
{
	if (!z)
		return;
	free(z->d);
	free(z->index);
	free(z);
}

/* How many records of type host h of domain d (-1: the apex zone) has. */
static unsigned rr_count(const struct dns__zone *z, int d, int h, uint16_t type)
{
	uint32_t f;
	uint64_t hs;

	if (d < 0) {
		if (h == DNS_H_APEX)
			return type == DNS_T_SOA ? 1 : type == DNS_T_NS ? 2 : 0;
		return type == DNS_T_A || type == DNS_T_AAAA;
	}
	f = z->d[d].flags;
	if (h >= DNS_H__COUNT || !(f & DNS_D_HOST(h)))
		return 0;
	hs = mix(z->d[d].seed ^ (uint64_t)(h + 1) * 0x9e3779b97f4a7c15ull);
	switch (type) {
	case DNS_T_SOA:
		return h == DNS_H_APEX;
	case DNS_T_NS:
		return h == DNS_H_APEX ? 2 : 0;
	case DNS_T_CNAME:
		return h == DNS_H_WWW && (f & DNS_D_WWW_CNAME);
	case DNS_T_MX:
		return h == DNS_H_APEX ? 1u + !!(f & DNS_D_HOST(DNS_H_BACKUP)) : 0;
	case DNS_T_TXT:
		if (h == DNS_H_APEX)
			return f & DNS_D_BIG ? 14 + (unsigned)(hs % 11) : 1 + (unsigned)(hs % 3);
		return h == DNS_H_DMARC || h == DNS_H_DKIM;
	case DNS_T_AAAA:
		if (!(f & DNS_D_V6))
			return 0;
		if (h == DNS_H_CDN && (f & DNS_D_BIG))
			return 20 + (unsigned)(hs % 21);
		__attribute__((fallthrough));   /* as many as A */
	case DNS_T_A:
		switch (h) {
		case DNS_H_WWW:
			return f & DNS_D_WWW_CNAME ? 0 : 1 + (unsigned)(hs % 2);
		case DNS_H_CDN:
			if (f & DNS_D_BIG && type == DNS_T_A)
				return 32 + (unsigned)(hs % 29);
			return 2 + (unsigned)(hs % 3);
		case DNS_H_APEX:
		case DNS_H_API:
		case DNS_H_SHOP:
			return 1 + (unsigned)(hs % 2);
		case DNS_H_STATIC:
			return 2;
		case DNS_H_MAIL:
		case DNS_H_BLOG:
		case DNS_H_BACKUP:
			return 1;
		default:
			return 0;
		}
	default:
		return 0;
	}
}

static uint32_t rr_ttl(int h, uint16_t type)
{
	switch (type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		return h == DNS_H_CDN ? 60 : 300;
	case DNS_T_CNAME:
		return 300;
	case DNS_T_NS:
		return 86400;
	default:
		return 3600;
	}
}

/* ---- answers ----------------------------------------------------------------- */

/* The reply being written, with the offsets of the names in it that the
 * compressor may point to (RFC 1035 4.1.4). */
struct ans {
	uint8_t *p;
	size_t len;
	bool full;
	unsigned nptrs;
	uint16_t ptrs[DNS_MAX_PTRS];
	uint16_t an, ns, ar;
	const struct dns__zone *z;
};

static void w_bytes(struct ans *a, const void *b, size_t n)
{
	if (a->full || DNS_MAX_MSG - a->len < n) {
		a->full = true;
		return;
	}
	memcpy(a->p + a->len, b, n);
	a->len += n;
}

static void w_u8(struct ans *a, uint8_t v)
{
	w_bytes(a, &v, 1);
}

static void w_u16(struct ans *a, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	w_bytes(a, b, 2);
}

static void w_u32(struct ans *a, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	w_bytes(a, b, 4);
}

/* Is the name written at off (pointers allowed: they are ours, and go
 * backward) the same as the uncompressed wire, ignoring case? */
static bool same_name(const struct ans *a, size_t off, const uint8_t *wire)
{
	for (unsigned hops = 0; hops < 128;) {
		uint8_t b = a->p[off];

		if ((b & 0xc0) == 0xc0) {
			off = (size_t)(b & 0x3f) << 8 | a->p[off + 1];
			hops++;
			continue;
		}
		if (b != *wire)
			return false;
		if (!b)
			return true;
		for (unsigned i = 1; i <= b; i++)
			if (lower(a->p[off + i]) != lower(wire[i]))
				return false;
		off += 1u + b;
		wire += 1u + b;
	}
	return false;
}

static void w_name_wire(struct ans *a, const uint8_t *wire)
{
	size_t s = 0;
	int found = -1;

	for (; wire[s] && found < 0; s += 1u + wire[s]) {
		for (unsigned i = 0; i < a->nptrs && found < 0; i++)
			if (same_name(a, a->ptrs[i], wire + s))
				found = (int)i;
		if (found >= 0)
			break;
	}
	/* The labels before the match, remembered for later names. */
	for (size_t k = 0; k < s && !a->full; k += 1u + wire[k]) {
		if (a->len < 0x4000 && a->nptrs < DNS_MAX_PTRS)
			a->ptrs[a->nptrs++] = (uint16_t)a->len;
		w_bytes(a, wire + k, 1u + wire[k]);
	}
	if (found >= 0)
		w_u16(a, (uint16_t)(0xc000 | a->ptrs[found]));
	else
		w_u8(a, 0);
}

static void w_name(struct ans *a, const char *text)
{
	uint8_t wire[DNS_NAME_WIRE];

	if (text_to_wire(text, wire))
		w_name_wire(a, wire);
	else
		a->full = true;   /* cannot happen with our names */
}

static void w_string(struct ans *a, const char *s, size_t n)
{
	n = MIN(n, 255);
	w_u8(a, (uint8_t)n);
	w_bytes(a, s, n);
}

/* n characters of a token, from an alphabet, keyed. */
static void token(char *out, size_t n, uint64_t key, const char *alpha)
{
	size_t an = strlen(alpha);
	uint64_t h = mix(key);

	for (size_t i = 0; i < n; i++) {
		if (i % 8 == 7)
			h = mix(h + i);
		out[i] = alpha[h % an];
		h /= an;
	}
	out[n] = 0;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char alnum[] = "abcdefghijklmnopqrstuvwxyz0123456789";
static const char hex[] = "0123456789abcdef";

/* TXT record i of host h: SPF, site verification tokens, DMARC, DKIM. */
static void w_txt(struct ans *a, int d, int h, unsigned i)
{
	const char *dn = a->z->d[d].name;
	uint64_t key = a->z->d[d].seed ^ mix((uint64_t)h << 16 | i);
	char s[300], t[400];
	int n = 0;

	if (h == DNS_H_DKIM) {
		/* A 2048-bit RSA key, as two strings (each at most 255). */
		token(t, 392, key, b64);
		n = snprintf(s, sizeof(s), "v=DKIM1; k=rsa; p=%.200s", t);
		w_string(a, s, (size_t)n);
		w_string(a, t + 200, 192);
		return;
	}
	if (h == DNS_H_DMARC) {
		n = snprintf(s, sizeof(s), "v=DMARC1; p=quarantine; rua=mailto:dmarc@%s.example; "
				   "ruf=mailto:dmarc@%s.example; fo=1; pct=100", dn, dn);
	} else if (i == 0) {
		n = snprintf(s, sizeof(s), "v=spf1 mx a:mail.%s.example include:_spf.%s.example %s",
			     dn, a->z->d[mix(key) % a->z->n].name, mix(key) & 1 ? "~all" : "-all");
	} else {
		switch ((i + key) % 7) {
		case 0:
			token(t, 43, key, b64);
			n = snprintf(s, sizeof(s), "google-site-verification=%s", t);
			break;
		case 1:
			token(t, 8, key, "0123456789");
			n = snprintf(s, sizeof(s), "MS=ms%s", t);
			break;
		case 2:
			token(t, 30, key, alnum);
			n = snprintf(s, sizeof(s), "facebook-domain-verification=%s", t);
			break;
		case 3:
			token(t, 16, key, alnum);
			n = snprintf(s, sizeof(s), "apple-domain-verification=%s", t);
			break;
		case 4:
			token(t, 64, key, b64);
			n = snprintf(s, sizeof(s), "atlassian-domain-verification=%s", t);
			break;
		case 5:
			token(t, 32, key, hex);
			n = snprintf(s, sizeof(s), "docusign=%.8s-%.4s-%.4s-%.4s-%.12s", t, t + 8,
				     t + 12, t + 16, t + 20);
			break;
		default:
			token(t, 40, key, alnum);
			n = snprintf(s, sizeof(s), "globalsign-domain-verification=%s", t);
			break;
		}
	}
	w_string(a, s, (size_t)MIN((size_t)n, sizeof(s) - 1));
}

/* The address block of host h of d: documentation prefixes only
 * (RFC 5737, RFC 3849), consecutive addresses from a keyed start. */
static void w_addr(struct ans *a, int d, int h, uint16_t type, unsigned i, unsigned count)
{
	static const uint8_t blocks[3][3] = { { 192, 0, 2 }, { 198, 51, 100 }, { 203, 0, 113 } };
	uint64_t hs = d < 0 ? (uint64_t)h : mix(a->z->d[d].seed ^ mix(0xadd7 + (uint64_t)h));
	uint8_t b[16] = { 0 };

	if (type == DNS_T_A) {
		memcpy(b, blocks[hs % 3], 3);
		b[3] = (uint8_t)(d < 0 ? 53 : 1 + (hs >> 8) % (254 - count) + i);
		w_bytes(a, b, 4);
		return;
	}
	b[0] = 0x20;
	b[1] = 0x01;
	b[2] = 0x0d;
	b[3] = 0xb8;
	b[4] = (uint8_t)(hs >> 16);
	b[5] = (uint8_t)(hs >> 24);
	b[7] = (uint8_t)h;
	put_be16(b + 14, (uint16_t)(d < 0 ? 0x53 : i + 1));
	w_bytes(a, b, 16);
}

static void zone_apex(const struct ans *a, int d, char *out, size_t n)
{
	if (d < 0)
		snprintf(out, n, "example");
	else
		snprintf(out, n, "%s.example", a->z->d[d].name);
}

/* Every record of type at host h of d, owned by owner, into a section
 * (0 answer, 1 authority, 2 additional); how many. */
static unsigned w_rrset(struct ans *a, const uint8_t *owner, int d, int h, uint16_t type,
			int section)
{
	unsigned n = rr_count(a->z, d, h, type);
	char name[128];

	for (unsigned i = 0; i < n; i++) {
		size_t at;

		w_name_wire(a, owner);
		w_u16(a, type);
		w_u16(a, DNS_C_IN);
		w_u32(a, rr_ttl(h, type));
		at = a->len;
		w_u16(a, 0);
		switch (type) {
		case DNS_T_A:
		case DNS_T_AAAA:
			w_addr(a, d, h, type, i, n);
			break;
		case DNS_T_CNAME:
			dns__host_name(a->z, (unsigned)d, DNS_H_CDN, name, sizeof(name));
			w_name(a, name);
			break;
		case DNS_T_MX:
			w_u16(a, (uint16_t)(10 * (i + 1)));
			dns__host_name(a->z, (unsigned)d, i ? DNS_H_BACKUP : DNS_H_MAIL, name,
				       sizeof(name));
			w_name(a, name);
			break;
		case DNS_T_NS:
			w_name(a, i ? "ns2.example" : "ns1.example");
			break;
		case DNS_T_SOA:
			w_name(a, "ns1.example");
			zone_apex(a, d, name + 11, sizeof(name) - 11);
			memcpy(name, "hostmaster.", 11);
			w_name(a, name);
			w_u32(a, a->z->serial);
			w_u32(a, 7200);
			w_u32(a, 3600);
			w_u32(a, 1209600);
			w_u32(a, 300);
			break;
		case DNS_T_TXT:
			w_txt(a, d, h, i);
			break;
		}
		if (!a->full)
			put_be16(a->p + at, (uint16_t)(a->len - at - 2));
		if (section == 0)
			a->an++;
		else if (section == 1)
			a->ns++;
		else
			a->ar++;
	}
	return n;
}

static unsigned w_rrset_host(struct ans *a, int d, int h, uint16_t type, int section)
{
	uint8_t wire[DNS_NAME_WIRE];
	char name[128];

	if (d < 0)
		snprintf(name, sizeof(name), "%s", h == H_NS1 ? "ns1.example" :
			 h == H_NS2 ? "ns2.example" : "example");
	else
		dns__host_name(a->z, (unsigned)d, (enum dns_host)h, name, sizeof(name));
	text_to_wire(name, wire);
	return w_rrset(a, wire, d, h, type, section);
}

static bool label_is(const uint8_t *l, const char *s)
{
	return l[0] == strlen(s) && !memcmp(l + 1, s, l[0]);
}

/* Find the zone (*d, -1 for "example.") and host of the lowercased name:
 * 0 found, 1 an empty non-terminal, -ENOENT no such name in a zone of
 * ours, -EREMOTE not ours at all. */
static int find_host(const struct dns__zone *z, const uint8_t *wire, int *d, int *h)
{
	const uint8_t *lab[128];
	unsigned n = 0;

	for (size_t o = 0; wire[o] && n < 128; o += 1u + wire[o])
		lab[n++] = wire + o;
	*d = -1;
	*h = DNS_H_APEX;
	if (!n || !label_is(lab[n - 1], "example"))
		return -EREMOTE;
	if (n == 1)
		return 0;
	if (n == 2 && (label_is(lab[0], "ns1") || label_is(lab[0], "ns2"))) {
		*h = lab[0][3] == '1' ? H_NS1 : H_NS2;
		return 0;
	}
	*d = zone_find(z, lab[n - 2] + 1, lab[n - 2][0]);
	if (*d < 0)
		return -ENOENT;
	if (n == 3) {
		for (int k = 1; k < DNS_H__COUNT; k++)
			if (k != DNS_H_DKIM && label_is(lab[0], host_labels[k])) {
				*h = k;
				break;
			}
		if (*h == DNS_H_APEX) {
			if (label_is(lab[0], "_domainkey") &&
			    (z->d[*d].flags & DNS_D_HOST(DNS_H_DKIM)))
				return 1;
			return -ENOENT;
		}
	} else if (n == 4 && label_is(lab[0], "selector1") && label_is(lab[1], "_domainkey")) {
		*h = DNS_H_DKIM;
	} else if (n > 3) {
		return -ENOENT;
	}
	return z->d[*d].flags & DNS_D_HOST(*h) ? 0 : -ENOENT;
}

/* The records for the question; the rcode.  *aa: the name is ours. */
/* The emulation node a (lowercase) wire name is, as LABEL.example, or -1. */
static int node_of(const struct dns__zone *z, const uint8_t *low, size_t len)
{
	size_t n = len ? low[0] : 0;

	if (!z->nnodes || !n || n > 63 || len != 1 + n + 9 || memcmp(low + 1 + n, "\7example", 9))
		return -1;
	for (size_t i = 0; i < z->nnodes; i++)
		if (strlen(z->nodes[i]) == n && !strncasecmp(z->nodes[i], (const char *)low + 1, n))
			return (int)i;
	return -1;
}

static int resolve(struct ans *a, const struct dns__query *q, bool *aa)
{
	static const uint16_t any[] = { DNS_T_SOA, DNS_T_NS, DNS_T_A, DNS_T_AAAA, DNS_T_MX,
					DNS_T_TXT };
	uint8_t low[DNS_NAME_WIRE];
	int d, h, r;

	for (size_t i = 0; i < q->qwirelen; i++)
		low[i] = lower(q->qwire[i]);
	if ((r = node_of(a->z, low, q->qwirelen)) >= 0) {
		/* A host of the emulation, looked up before its users
		 * connect to it. */
		*aa = true;
		if (q->qtype == DNS_T_A || q->qtype == DNS_T_ANY) {
			w_name_wire(a, q->qwire);
			w_u16(a, DNS_T_A);
			w_u16(a, DNS_C_IN);
			w_u32(a, 300);
			w_u16(a, 4);
			w_u32(a, a->z->node_addrs[r]);
			a->an++;
		} else {
			w_rrset_host(a, -1, DNS_H_APEX, DNS_T_SOA, 1);
		}
		return DNS_R_NOERROR;
	}
	r = find_host(a->z, low, &d, &h);
	*aa = r != -EREMOTE;
	if (r == -EREMOTE)
		return DNS_R_REFUSED;   /* authoritative only: no recursion */
	if (r == -ENOENT) {
		w_rrset_host(a, d, DNS_H_APEX, DNS_T_SOA, 1);
		return DNS_R_NXDOMAIN;
	}
	if (r == 0 && rr_count(a->z, d, h, DNS_T_CNAME) && q->qtype != DNS_T_CNAME) {
		/* The alias, then what it names: the target is ours too. */
		w_rrset(a, q->qwire, d, h, DNS_T_CNAME, 0);
		if (q->qtype == DNS_T_ANY)
			return DNS_R_NOERROR;
		if (!w_rrset_host(a, d, DNS_H_CDN, q->qtype, 0))
			w_rrset_host(a, d, DNS_H_APEX, DNS_T_SOA, 1);
		return DNS_R_NOERROR;
	}
	if (r == 0 && q->qtype == DNS_T_ANY)
		for (size_t i = 0; i < ARRAY_SIZE(any); i++)
			w_rrset(a, q->qwire, d, h, any[i], 0);
	else if (r == 0)
		w_rrset(a, q->qwire, d, h, q->qtype, 0);
	if (!a->an) {
		w_rrset_host(a, d, DNS_H_APEX, DNS_T_SOA, 1);
		return DNS_R_NOERROR;
	}
	/* Additional section processing: the exchanges' and servers'
	 * addresses save the client a round trip. */
	if (q->qtype == DNS_T_MX && d >= 0) {
		for (int k = 0; k < 2; k++) {
			int eh = k ? DNS_H_BACKUP : DNS_H_MAIL;

			if (rr_count(a->z, d, DNS_H_APEX, DNS_T_MX) > (unsigned)k) {
				w_rrset_host(a, d, eh, DNS_T_A, 2);
				w_rrset_host(a, d, eh, DNS_T_AAAA, 2);
			}
		}
	} else if (q->qtype == DNS_T_NS) {
		for (int k = H_NS1; k <= H_NS2; k++) {
			w_rrset_host(a, -1, k, DNS_T_A, 2);
			w_rrset_host(a, -1, k, DNS_T_AAAA, 2);
		}
	}
	return DNS_R_NOERROR;
}

static void begin(struct ans *a, const struct dns__query *q)
{
	static const uint8_t zero[DNS_HDR];

	a->len = 0;
	a->full = false;
	a->nptrs = 0;
	a->an = a->ns = a->ar = 0;
	w_bytes(a, zero, DNS_HDR);
	if (q->has_question) {
		w_name_wire(a, q->qwire);
		w_u16(a, q->qtype);
		w_u16(a, q->qclass);
	}
}

static size_t finish(struct ans *a, const struct dns__query *q, int rcode, bool aa, bool tc)
{
	uint16_t flags = DNS_F_QR | (uint16_t)(DNS_OPCODE(q->h.flags) << 11) |
			 (q->h.flags & (DNS_F_RD | DNS_F_CD)) | (uint16_t)(rcode & 15);

	/* A FORMERR may come from a broken OPT: it is not echoed then. */
	if (q->edns && rcode != DNS_R_FORMERR) {
		w_u8(a, 0);
		w_u16(a, DNS_T_OPT);
		w_u16(a, DNS_EDNS_SIZE);
		w_u32(a, (uint32_t)(rcode >> 4) << 24 | (q->edns_do ? 0x8000u : 0));
		w_u16(a, 0);
		a->ar++;
	}
	if (aa)
		flags |= DNS_F_AA;
	if (tc)
		flags |= DNS_F_TC;
	put_be16(a->p, q->h.id);
	put_be16(a->p + 2, flags);
	put_be16(a->p + 4, q->has_question ? 1 : 0);
	put_be16(a->p + 6, a->an);
	put_be16(a->p + 8, a->ns);
	put_be16(a->p + 10, a->ar);
	return a->len;
}

size_t dns__answer(const struct dns__zone *z, const uint8_t *msg, size_t len, size_t udp_max,
		   uint8_t *out, int *rcode)
{
	struct dns__query q;
	struct ans a = { .p = out, .z = z };
	int r = dns__parse_query(msg, len, &q);
	bool aa = false;
	size_t limit;

	*rcode = -1;
	if (len < DNS_HDR || r == -EINVAL)
		return 0;
	begin(&a, &q);
	if (r)
		*rcode = DNS_R_FORMERR;
	else if (DNS_OPCODE(q.h.flags) != 0)
		*rcode = DNS_R_NOTIMP;
	else if (q.edns && q.edns_version > 0)
		*rcode = DNS_R_BADVERS;
	else if (q.qtype == DNS_T_OPT)
		*rcode = DNS_R_FORMERR;
	else if (q.qclass != DNS_C_IN || q.qtype == DNS_T_AXFR || q.qtype == DNS_T_IXFR)
		*rcode = DNS_R_REFUSED;  /* no CHAOS, no zone transfers */
	else if (q.qtype == DNS_T_MAILA || q.qtype == DNS_T_MAILB)
		*rcode = DNS_R_NOTIMP;
	else
		*rcode = resolve(&a, &q, &aa);
	limit = q.edns ? MAX((size_t)q.udp_size, (size_t)DNS_UDP_MIN) : DNS_UDP_MIN;
	if (udp_max)
		limit = MIN(limit, udp_max);
	else
		limit = DNS_MAX_MSG;
	/* The OPT record is 11 bytes more. */
	if (a.full || a.len + (q.edns ? 11 : 0) > limit) {
		bool tc = !a.full;

		if (a.full)
			*rcode = DNS_R_SERVFAIL;
		begin(&a, &q);
		return finish(&a, &q, *rcode, aa, tc);
	}
	return finish(&a, &q, *rcode, aa, false);
}

/* ---- server ---------------------------------------------------------------- */

struct dns_tcp;

struct dns_server {
	struct io udp, tcp;
	struct host *h;
	struct stats *st;
	struct dns__zone *zone;
	struct dns_tcp *sessions;  /* the TCP connections, kept reachable */
	struct dns_server *next;
};

/* Listeners live as long as the process; this list keeps them reachable
 * (the agent API has no teardown, and leak checkers look for owners). */
static struct dns_server *servers;

/* One message at a time: the loop runs in one thread.  Replies get two
 * bytes in front for the TCP length. */
static uint8_t dns_in[DNS_MAX_MSG + 1];
static uint8_t dns_out[DNS_MAX_MSG + 2];

struct dns_tcp {
	struct conn c;
	struct timer idle;
	struct defer d;
	struct dns_server *srv;
	struct dns_tcp *next, **pprev;
	bool closing;
};

/* Count a query and its answer. */
static void srv_count(struct dns_server *srv, int rcode, size_t rlen)
{
	if (!rlen)
		return;
	if (rcode == DNS_R_FORMERR)
		srv->st->errors++;
	else
		srv->st->actions++;
}

static void udp_cb(struct loop *l, struct io *io, unsigned revents)
{
	struct dns_server *srv = container_of(io, struct dns_server, udp);

	(void)l;
	(void)revents;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		ssize_t n = recvfrom(io->fd, dns_in, sizeof(dns_in), 0, (struct sockaddr *)&sa, &sl);
		size_t rlen;
		int rcode;

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			continue;
		}
		srv->st->rx += (uint64_t)n;
		rlen = dns__answer(srv->zone, dns_in, (size_t)n, DNS_UDP_MAX, dns_out, &rcode);
		srv_count(srv, rcode, rlen);
		if (rlen && sendto(io->fd, dns_out, rlen, 0, (struct sockaddr *)&sa, sl) > 0)
			srv->st->tx += rlen;
	}
}

static void tcp_free(struct defer *d)
{
	free(container_of(d, struct dns_tcp, d));
}

static void tcp_close_polite(struct dns_tcp *s)
{
	s->closing = true;
	conn_shutdown(&s->c);
	loop_timer_start(s->c.loop, &s->idle, host_ns(DNS_CLOSE_S));
}

static void tcp_idle_cb(struct loop *l, struct timer *t)
{
	struct dns_tcp *s = container_of(t, struct dns_tcp, idle);

	(void)l;
	if (s->closing)
		conn_close(&s->c, -ETIMEDOUT);
	else
		tcp_close_polite(s);
}

/* Answer the whole messages in, while the peer reads our replies. */
static void tcp_serve(struct dns_tcp *s)
{
	struct conn *c = &s->c;

	while (conn_is_open(c) && !s->closing && c->in.len >= 2 && c->queued < DNS_TCP_BACKLOG) {
		size_t n = be16((const uint8_t *)c->in.p), rlen;
		int rcode;

		if (n < DNS_HDR) {
			/* Not even a header: nothing to answer to. */
			s->srv->st->errors++;
			conn_close(c, -EPROTO);
			return;
		}
		if (c->in.len < 2 + n)
			break;
		rlen = dns__answer(s->srv->zone, (const uint8_t *)c->in.p + 2, n, 0, dns_out + 2,
				   &rcode);
		srv_count(s->srv, rcode, rlen);
		if (!rlen)
			s->srv->st->errors++;   /* a response sent to a server */
		if (rlen) {
			put_be16(dns_out, (uint16_t)rlen);
			conn_write(c, dns_out, rlen + 2);
		}
		conn_consume(c, 2 + n);
	}
	if (conn_is_open(c) && s->closing)
		conn_consume(c, c->in.len);
}

static void tcp_readable(struct conn *c)
{
	struct dns_tcp *s = container_of(c, struct dns_tcp, c);

	if (!s->closing)
		loop_timer_start(c->loop, &s->idle, host_ns(DNS_IDLE_S));
	tcp_serve(s);
}

static void tcp_drained(struct conn *c)
{
	tcp_serve(container_of(c, struct dns_tcp, c));
}

static void tcp_connected(struct conn *c)
{
	struct dns_tcp *s = container_of(c, struct dns_tcp, c);

	loop_timer_start(c->loop, &s->idle, host_ns(DNS_IDLE_S));
}

static void tcp_closed(struct conn *c, int err)
{
	struct dns_tcp *s = container_of(c, struct dns_tcp, c);

	(void)err;
	loop_timer_stop(c->loop, &s->idle);
	*s->pprev = s->next;
	if (s->next)
		s->next->pprev = s->pprev;
	loop_defer(c->loop, &s->d, tcp_free);
}

static const struct conn_ops tcp_ops = {
	.connected = tcp_connected,
	.readable = tcp_readable,
	.drained = tcp_drained,
	.closed = tcp_closed,
};

static void accept_cb(struct loop *l, struct io *io, unsigned revents)
{
	struct dns_server *srv = container_of(io, struct dns_server, tcp);

	(void)revents;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC);
		struct dns_tcp *s;

		if (fd < 0)
			return;
		s = xcalloc(1, sizeof(*s));
		s->srv = srv;
		s->c.st = srv->st;
		s->idle.cb = tcp_idle_cb;
		s->next = srv->sessions;
		if (s->next)
			s->next->pprev = &s->next;
		s->pprev = &srv->sessions;
		srv->sessions = s;
		srv->st->sessions++;
		if (conn_accept(&s->c, l, &tcp_ops, fd))
			conn_close(&s->c, -EBADF);   /* closed() unlinks and frees */
	}
}

static int dns_serve(struct host *h, struct stats *st, const struct model *m, uint16_t port,
		     char *err, size_t errlen)
{
	struct dns_server *srv;
	int ufd = -1, tfd = -1, r;

	r = agent_bind_udp(port, &ufd);
	if (r) {
		snprintf(err, errlen, "cannot bind UDP port %u: %s", port, strerror(-r));
		goto out;
	}
	r = agent_listen_tcp(port, &tfd);
	if (r) {
		snprintf(err, errlen, "cannot listen on TCP port %u: %s", port, strerror(-r));
		goto out;
	}
	srv = xcalloc(1, sizeof(*srv));
	srv->h = h;
	srv->st = st;
	srv->zone = dns__zone_new((unsigned)model_draw(m, "domains", &h->rng, 200),
				  model_draw(m, "big_share", &h->rng, 0.15), DNS_ZONE_SEED);
	srv->zone->nodes = h->names;
	srv->zone->node_addrs = h->name_addrs;
	srv->zone->nnodes = h->nnames;
	srv->udp.fd = ufd;
	srv->udp.cb = udp_cb;
	srv->tcp.fd = tfd;
	srv->tcp.cb = accept_cb;
	r = loop_io_set(h->loop, &srv->udp, IO_IN);
	if (!r)
		r = loop_io_set(h->loop, &srv->tcp, IO_IN);
	if (r) {
		snprintf(err, errlen, "cannot watch the server sockets: %s", strerror(-r));
		loop_io_stop(h->loop, &srv->udp);
		dns__zone_free(srv->zone);
		free(srv);
		goto out;
	}
	srv->next = servers;
	servers = srv;
	ufd = tfd = -1;
out:
	if (ufd >= 0)
		close(ufd);
	if (tfd >= 0)
		close(tfd);
	return r;
}

/* ---- client ---------------------------------------------------------------- */

/* What the users of one client() share; freed with the last of them
 * (env is copied: the caller's may not outlive the call). */
struct dns_client {
	struct agent_env env;
	struct dns__zone *zone;
	unsigned alive;
};

enum { J_ADDR, J_MX, J_TXT };

/* A name to resolve in the current action. */
struct dns_job {
	uint16_t dom;
	uint8_t host;
	uint8_t kind;
	bool typo;
};

struct dns_user {
	struct timer think;
	struct defer d;
	struct pace_wait pw;    /* for the bucket, before a lookup */
	struct dns_client *cl;
	struct dns_job jobs[DNS_MAX_JOBS];
	uint8_t njobs, nextjob;
	uint8_t inflight;
	uint8_t parallel;
	int action, next;
	uint64_t wake;          /* loop time the think ends */
	bool busy;              /* an action is in progress */
	bool session_end;
	bool done;
};

/* One name being resolved: an A (and an AAAA) or an MX or a TXT query
 * over a UDP socket of its own, as a stub resolver makes one per
 * lookup; over TCP as well for the questions answered truncated. */
struct dns_lookup {
	struct io io;
	struct conn c;
	struct timer t;
	struct defer d;
	struct dns_user *u;
	char name[256];
	char follow[256];       /* an MX lookup's exchange, resolved next */
	uint16_t id[2], type[2];
	uint16_t edns;          /* the EDNS size offered, 0 for none */
	uint8_t nq;             /* questions (1 or 2) */
	uint8_t answered;       /* bit per question: its final answer came */
	uint8_t viatcp;         /* bit per question: asked again over TCP */
	uint8_t tries, attempts;
	bool tcp;               /* c is in use */
	bool reconnected;       /* the server hung up once; we asked again */
	uint8_t reask;          /* bit per question: ask over a new connection */
	bool finished;          /* every question answered or given up */
	double timeout;
};

static void user_next(struct dns_user *u);

static struct host *uhost(const struct dns_user *u)
{
	return u->cl->env.host;
}

static struct loop *uloop(const struct dns_user *u)
{
	return u->cl->env.host->loop;
}

static struct stats *ust(const struct dns_user *u)
{
	return u->cl->env.st;
}

static double udraw(const struct dns_user *u, const char *name, double dflt)
{
	return model_draw(u->cl->env.model, name, &uhost(u)->rng, dflt);
}

static void lk_free(struct defer *d)
{
	free(container_of(d, struct dns_lookup, d));
}

static void lk_start(struct dns_user *u, const char *name, int kind);

/* The lookup is over and its sockets are closed: hand on. */
static void lk_release(struct dns_lookup *lk)
{
	struct dns_user *u = lk->u;

	loop_timer_stop(uloop(u), &lk->t);
	loop_defer(uloop(u), &lk->d, lk_free);
	if (lk->follow[0] && !uhost(u)->stopping)
		lk_start(u, lk->follow, J_ADDR);
	u->inflight--;
	user_next(u);
}

static void lk_close_udp(struct dns_lookup *lk)
{
	if (lk->io.fd < 0)
		return;
	loop_io_stop(uloop(lk->u), &lk->io);
	close(lk->io.fd);
	lk->io.fd = -1;
}

/* Every question has its answer: close, the client first (RFC 7766). */
static void lk_end(struct dns_lookup *lk)
{
	if (lk->finished)
		return;
	lk->finished = true;
	lk_close_udp(lk);
	if (lk->tcp && conn_is_open(&lk->c)) {
		conn_shutdown(&lk->c);
		loop_timer_start(uloop(lk->u), &lk->t, host_ns(DNS_CLOSE_S));
		return;
	}
	lk_release(lk);
}

static void lk_answered(struct dns_lookup *lk, unsigned i)
{
	lk->answered |= (uint8_t)(1u << i);
	if (lk->answered == (1u << lk->nq) - 1)
		lk_end(lk);
}

static size_t lk_query(const struct dns_lookup *lk, unsigned i, uint8_t *out, size_t cap)
{
	return dns__build_query(out, cap, lk->id[i], lk->name, lk->type[i], true, lk->edns);
}

/* UDP bytes count against the group's bucket as TCP's do in conn.c;
 * lookups wait for it to refill (user_next). */
static void lk_paced(struct dns_lookup *lk, size_t n)
{
	struct pace *pc = ust(lk->u)->pace;

	if (pc)
		pace_take(pc, n);
}

static void lk_send_udp(struct dns_lookup *lk, unsigned i)
{
	uint8_t q[512];
	size_t n = lk_query(lk, i, q, sizeof(q));

	if (n && send(lk->io.fd, q, n, 0) == (ssize_t)n) {
		ust(lk->u)->tx += n;
		lk_paced(lk, n);
	}
}

static const struct conn_ops lk_tcp_ops;

/* Ask question i again over TCP, on the lookup's one connection. */
static void lk_send_tcp(struct dns_lookup *lk, unsigned i)
{
	const struct agent_env *env = &lk->u->cl->env;
	uint8_t q[514];
	size_t n;

	lk->viatcp |= (uint8_t)(1u << i);
	if (!lk->tcp) {
		lk->c.st = env->st;
		if (conn_connect(&lk->c, uloop(lk->u), &lk_tcp_ops, 0, env->server, env->port)) {
			env->st->conn_fail++;
			lk_answered(lk, i);
			return;
		}
		lk->tcp = true;
	}
	n = lk_query(lk, i, q + 2, sizeof(q) - 2);
	put_be16(q, (uint16_t)n);
	conn_write(&lk->c, q, n + 2);
}

/* A reply, from UDP or TCP. */
static void lk_reply(struct dns_lookup *lk, const uint8_t *msg, size_t len, bool tcp)
{
	struct stats *st = ust(lk->u);
	struct dns__reply r;
	unsigned i;

	if (dns__parse_reply(msg, len, &r)) {
		st->errors++;
		if (tcp)
			conn_close(&lk->c, -EPROTO);
		return;
	}
	for (i = 0; i < lk->nq; i++)
		if (r.h.id == lk->id[i] && !(lk->answered & (1u << i)))
			break;
	/* A late copy of an answer we have (after a retransmission), or
	 * the UDP answer of a question now asked over TCP. */
	if (i == lk->nq || (!tcp && (lk->viatcp & (1u << i))))
		return;
	if (!r.has_question || r.qtype != lk->type[i] || strcasecmp(r.qname, lk->name)) {
		st->errors++;   /* an answer to another question */
		return;
	}
	if (!tcp && (r.h.flags & DNS_F_TC)) {
		lk_send_tcp(lk, i);
		return;
	}
	if (r.rcode != DNS_R_NOERROR && r.rcode != DNS_R_NXDOMAIN)
		st->errors++;
	if (lk->type[i] == DNS_T_MX && r.answers && r.mx[0] && strlen(r.mx) < sizeof(lk->follow))
		memcpy(lk->follow, r.mx, strlen(r.mx) + 1);
	lk_answered(lk, i);
}

static void lk_udp_cb(struct loop *l, struct io *io, unsigned revents)
{
	struct dns_lookup *lk = container_of(io, struct dns_lookup, io);

	(void)l;
	(void)revents;
	for (int k = 0; k < 8 && lk->io.fd >= 0 && !lk->finished; k++) {
		ssize_t n = recv(lk->io.fd, dns_in, sizeof(dns_in), 0);

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			/* ICMP unreachable: no server there.  Leave it to the
			 * retransmissions, as a resolver does. */
			return;
		}
		ust(lk->u)->rx += (uint64_t)n;
		lk_paced(lk, (size_t)n);
		lk_reply(lk, dns_in, (size_t)n, false);
	}
}

static void lk_tcp_readable(struct conn *c)
{
	struct dns_lookup *lk = container_of(c, struct dns_lookup, c);

	while (conn_is_open(c) && c->in.len >= 2) {
		size_t n = be16((const uint8_t *)c->in.p);

		if (c->in.len < 2 + n)
			break;
		if (!lk->finished)
			lk_reply(lk, (const uint8_t *)c->in.p + 2, n, true);
		if (conn_is_open(c))
			conn_consume(c, 2 + n);
	}
}

static void lk_tcp_closed(struct conn *c, int err)
{
	struct dns_lookup *lk = container_of(c, struct dns_lookup, c);

	lk->tcp = false;
	if (lk->finished) {
		lk_release(lk);
		return;
	}
	/* The server hung up before answering what we asked over TCP.  A
	 * server may answer one question per connection (dnsmasq does): as
	 * resolvers do, ask the rest once more on a new connection, from
	 * the timer (not from inside this callback, whose conn is ending). */
	for (unsigned i = 0; i < lk->nq; i++)
		if ((lk->viatcp & (1u << i)) && !(lk->answered & (1u << i))) {
			if (!err && !lk->reconnected) {
				lk->reask |= (uint8_t)(1u << i);
				continue;
			}
			ust(lk->u)->errors++;
			lk_answered(lk, i);
		}
	if (lk->reask) {
		lk->reconnected = true;
		loop_timer_start(uloop(lk->u), &lk->t, 0);
	}
}

static const struct conn_ops lk_tcp_ops = {
	.readable = lk_tcp_readable,
	.closed = lk_tcp_closed,
};

static void lk_timer_cb(struct loop *l, struct timer *t)
{
	struct dns_lookup *lk = container_of(t, struct dns_lookup, t);

	if (lk->finished) {
		/* Our FIN was not answered: drop the connection. */
		conn_close(&lk->c, -ETIMEDOUT);
		return;
	}
	if (lk->reask) {
		uint8_t again = lk->reask;

		lk->reask = 0;
		for (unsigned i = 0; i < lk->nq; i++)
			if ((again & (1u << i)) && !(lk->answered & (1u << i)))
				lk_send_tcp(lk, i);
		loop_timer_start(l, &lk->t, host_ns(lk->timeout * (double)(1u << lk->tries)));
		return;
	}
	if (++lk->tries >= lk->attempts) {
		/* No answer after every try: the lookup fails, as a
		 * resolver's does, and the user moves on. */
		ust(lk->u)->conn_fail++;
		lk->answered = (uint8_t)((1u << lk->nq) - 1);
		lk->finished = true;
		lk_close_udp(lk);
		if (lk->tcp && conn_is_open(&lk->c))
			conn_close(&lk->c, -ETIMEDOUT);   /* closed() releases */
		else
			lk_release(lk);
		return;
	}
	for (unsigned i = 0; i < lk->nq; i++)
		if (!(lk->answered & (1u << i)) && !(lk->viatcp & (1u << i))) {
			lk_send_udp(lk, i);
		}
	loop_timer_start(l, &lk->t, host_ns(lk->timeout * (double)(1u << lk->tries)));
}

/* Resolve name: A (and AAAA, as the model says) for J_ADDR, else MX or
 * TXT.  The user waits for it with the other lookups in flight. */
static void lk_start(struct dns_user *u, const char *name, int kind)
{
	const struct agent_env *env = &u->cl->env;
	struct rng *r = &uhost(u)->rng;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(env->port),
				  .sin_addr.s_addr = htonl(env->server) };
	struct dns_lookup *lk = xcalloc(1, sizeof(*lk));
	int fd;

	snprintf(lk->name, sizeof(lk->name), "%s", name);
	lk->u = u;
	lk->t.cb = lk_timer_cb;
	lk->c.io.fd = -1;
	lk->nq = 1;
	if (kind == J_ADDR) {
		lk->type[0] = DNS_T_A;
		if (rng_unit(r) < udraw(u, "aaaa", 0.7))
			lk->type[lk->nq++] = DNS_T_AAAA;
	} else {
		lk->type[0] = kind == J_MX ? DNS_T_MX : DNS_T_TXT;
	}
	for (unsigned i = 0; i < lk->nq; i++)
		lk->id[i] = (uint16_t)rng_next(r);
	if (lk->nq == 2 && lk->id[1] == lk->id[0])
		lk->id[1]++;
	lk->edns = rng_unit(r) < udraw(u, "edns", 0.3) ? DNS_EDNS_SIZE : 0;
	lk->timeout = udraw(u, "timeout", 2);
	if (lk->timeout < 0.05)
		lk->timeout = 0.05;
	lk->attempts = (uint8_t)MAX(1.0, MIN(8.0, udraw(u, "attempts", 3)));
	/* A socket per lookup: a fresh random source port each time. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto fail;
	lk->io.fd = fd;
	lk->io.cb = lk_udp_cb;
	if (loop_io_set(uloop(u), &lk->io, IO_IN))
		goto fail;
	u->inflight++;
	for (unsigned i = 0; i < lk->nq; i++)
		lk_send_udp(lk, i);
	loop_timer_start(uloop(u), &lk->t, host_ns(lk->timeout));
	return;
fail:
	if (fd >= 0)
		close(fd);
	env->st->conn_fail++;
	free(lk);
}

/* ---- users ----------------------------------------------------------------- */

static void user_free(struct defer *d)
{
	struct dns_user *u = container_of(d, struct dns_user, d);
	struct dns_client *cl = u->cl;

	pace_cancel(&u->pw);
	free(u);
	if (!--cl->alive) {
		dns__zone_free(cl->zone);
		free(cl);
	}
}

static void user_stop(struct dns_user *u)
{
	if (u->done || u->inflight)
		return;
	u->done = true;
	loop_timer_stop(uloop(u), &u->think);
	loop_defer(uloop(u), &u->d, user_free);
}

static void arm_think(struct dns_user *u)
{
	uint64_t now = loop_now(uloop(u)), left = u->wake > now ? u->wake - now : 0;

	loop_timer_start(uloop(u), &u->think, MIN(left, host_ns(DNS_TICK_S)));
}

static void user_action(struct dns_user *u);

static void think_cb(struct loop *l, struct timer *t)
{
	struct dns_user *u = container_of(t, struct dns_user, think);

	if (u->busy)
		return;
	if (uhost(u)->stopping) {
		user_stop(u);
		return;
	}
	if (loop_now(l) < u->wake) {
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
	user_action(u);
}

static void user_think(struct dns_user *u)
{
	const struct agent_env *env = &u->cl->env;
	double think = model_think(env->model, u->action, &uhost(u)->rng) * agent_think_scale(env);

	u->busy = false;
	u->next = model_next(env->model, u->action, &uhost(u)->rng);
	u->session_end = u->next == MODEL_END;
	u->wake = loop_now(uloop(u)) + host_ns(think);
	if (uhost(u)->stopping)
		user_stop(u);
	else
		arm_think(u);
}

/* A mistyped name: letters swapped, dropped, doubled or slipped to the
 * next key, in the domain's label. */
static void typo(char *name, uint64_t key)
{
	char *dom = strchr(name, '.'), *end;
	size_t n, at;

	dom = dom && strchr(dom + 1, '.') ? dom + 1 : name;
	end = strchr(dom, '.');
	n = end ? (size_t)(end - dom) : strlen(dom);
	if (n < 3)
		return;
	at = (size_t)(key % (n - 1));
	switch ((key >> 16) % 4) {
	case 0:
		/* Swapping equal letters would change nothing: drop one. */
		if (dom[at] != dom[at + 1]) {
			char c = dom[at];

			dom[at] = dom[at + 1];
			dom[at + 1] = c;
			break;
		}
		__attribute__((fallthrough));
	case 1:
		memmove(dom + at, dom + at + 1, strlen(dom + at + 1) + 1);
		break;
	case 2:
		if (strlen(name) + 2 < 256)
			memmove(dom + at + 1, dom + at, strlen(dom + at) + 1);
		break;
	default:
		dom[at] = dom[at] == 'z' ? 'a' : (char)(dom[at] + 1);
		break;
	}
}

static void user_paced(struct pace_wait *w)
{
	user_next(container_of(w, struct dns_user, pw));
}

/* Start the jobs the parallelism and the bucket allow; end the action
 * when none is left.  The first name of a page goes alone: the page's
 * other names are only known once it is fetched. */
static void user_next(struct dns_user *u)
{
	struct pace *pc = u->cl->env.st->pace;

	if (!u->busy || u->pw.next)
		return;
	while (u->nextjob < u->njobs && u->inflight < u->parallel && !uhost(u)->stopping) {
		const struct dns_job *j = &u->jobs[u->nextjob];
		char name[256];

		if (pc && !pace_ok(pc)) {
			u->pw.cb = user_paced;
			pace_wait(pc, &u->pw);
			return;
		}
		if (u->nextjob == 1 && u->inflight)
			break;
		u->nextjob++;
		dns__host_name(u->cl->zone, j->dom, (enum dns_host)j->host, name, sizeof(name));
		if (j->typo)
			typo(name, rng_next(&uhost(u)->rng));
		lk_start(u, name, j->kind);
	}
	if (!u->inflight && (u->nextjob >= u->njobs || uhost(u)->stopping))
		user_think(u);
}

/* A domain, the popular ones more often (Zipf's law). */
static unsigned pick_domain(struct dns_user *u)
{
	double n = (double)u->cl->zone->n;
	unsigned d = (unsigned)(exp(rng_unit(&uhost(u)->rng) * log(n + 1)) - 1);

	return d < u->cl->zone->n ? d : u->cl->zone->n - 1;
}

static void add_job(struct dns_user *u, unsigned d, int h, int kind, bool mistyped)
{
	for (unsigned i = 0; i < u->njobs; i++)
		if (u->jobs[i].dom == d && u->jobs[i].host == h && u->jobs[i].kind == kind)
			return;
	if (u->njobs < DNS_MAX_JOBS)
		u->jobs[u->njobs++] = (struct dns_job){ (uint16_t)d, (uint8_t)h, (uint8_t)kind,
							mistyped };
}

/* A host of d among those listed that it has, or the first. */
static int pick_host(struct dns_user *u, unsigned d, const int *hosts, unsigned n)
{
	int h = hosts[rng_below(&uhost(u)->rng, n)];

	return u->cl->zone->d[d].flags & DNS_D_HOST(h) ? h : hosts[0];
}

static void plan_page(struct dns_user *u)
{
	static const int own[] = { DNS_H_CDN, DNS_H_STATIC, DNS_H_API, DNS_H_BLOG, DNS_H_SHOP };
	static const int third[] = { DNS_H_WWW, DNS_H_CDN, DNS_H_STATIC, DNS_H_API };
	struct rng *r = &uhost(u)->rng;
	unsigned d = pick_domain(u);
	double names = udraw(u, "page_names", 4), tp = udraw(u, "third_party", 0.4);
	unsigned n = (unsigned)MAX(1.0, MIN((double)DNS_MAX_JOBS, names));

	add_job(u, d, DNS_H_WWW, J_ADDR, rng_unit(r) < udraw(u, "typo", 0.05));
	if (u->jobs[0].typo)
		return;   /* no page behind a mistyped name */
	for (unsigned i = 1; i < n; i++) {
		if (rng_unit(r) < tp) {
			unsigned o = pick_domain(u);

			add_job(u, o, pick_host(u, o, third, ARRAY_SIZE(third)), J_ADDR, false);
		} else {
			add_job(u, d, pick_host(u, d, own, ARRAY_SIZE(own)), J_ADDR, false);
		}
	}
}

static void user_action(struct dns_user *u)
{
	const struct agent_env *env = &u->cl->env;
	const char *name = model_action_name(env->model, u->action);
	struct rng *r = &uhost(u)->rng;

	if (uhost(u)->stopping) {
		user_stop(u);
		return;
	}
	env->st->actions++;
	u->busy = true;
	u->njobs = u->nextjob = 0;
	u->parallel = (uint8_t)MAX(1.0, MIN(16.0, udraw(u, "parallel", 4)));
	if (!strcmp(name, "open_page")) {
		plan_page(u);
	} else if (!strcmp(name, "mail_lookup")) {
		add_job(u, pick_domain(u), DNS_H_APEX, J_MX, false);
	} else {
		/* txt_lookup: what a mail server checks: SPF at the apex,
		 * DMARC policy, a DKIM key; asked whether they exist or not. */
		double x = rng_unit(r);

		add_job(u, pick_domain(u), x < 0.5 ? DNS_H_APEX : x < 0.8 ? DNS_H_DMARC : DNS_H_DKIM,
			J_TXT, false);
	}
	user_next(u);
}

static int dns_client(const struct agent_env *env, char *err, size_t errlen)
{
	struct dns_client *cl;

	(void)err;
	(void)errlen;
	if (!env->users)
		return 0;
	cl = xcalloc(1, sizeof(*cl));
	cl->env = *env;
	cl->zone = dns__zone_new((unsigned)model_draw(env->model, "domains", &env->host->rng, 200),
				 model_draw(env->model, "big_share", &env->host->rng, 0.15),
				 DNS_ZONE_SEED);
	for (uint32_t i = 0; i < env->users; i++) {
		struct dns_user *u = xcalloc(1, sizeof(*u));

		u->cl = cl;
		cl->alive++;
		u->think.cb = think_cb;
		u->session_end = true;
		/* Users sit down at slightly different times. */
		u->wake = loop_now(env->host->loop) + host_ns(rng_unit(&env->host->rng) * 0.5);
		arm_think(u);
	}
	return 0;
}

static const char *const dns_actions[] = {
	"open_page", "mail_lookup", "txt_lookup", NULL,
};

static const char *const dns_params[] = {
	"domains", "big_share", "page_names", "third_party", "aaaa", "edns", "typo", "timeout",
	"attempts", "parallel", NULL,
};

const struct agent agent_dns = {
	.name = "dns",
	.proto = PROTO_DNS,
	.model = "dns",
	.actions = dns_actions,
	.params = dns_params,
	.serve = dns_serve,
	.client = dns_client,
};
