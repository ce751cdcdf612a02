/* classify.c - nDPI on each flow's first packets (see classify.h).
 *
 * The table is looked up once per nDPI protocol id and category at
 * start, so a flow's class is two array reads.  nDPI looks at most
 * DPI_PACKETS packets of a flow, then gives up and may guess by port, as
 * ndpiReader does.  ndpiReader looks longer (80 TCP packets), for the
 * details of its report; 16 named the same classes on every sample
 * capture, and a quarter of clone's time went to nDPI at 32 (flows it
 * names only by guessing: RESP3's '%' answers, for one). */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ndpi/ndpi_api.h>
/* nDPI defines its own; util.h's are the same, and ours */
#undef MIN
#undef MAX

#include "../lib/util.h"
#include "../spec/spec.h"
#include "classify.h"
#include "classmap.h"

#define DPI_PACKETS 16
#define MAP_MAX_FILE (1u << 20)

struct slot {
	bool mapped;
	uint8_t cls, proto;
};

#define EXPECT 64                  /* FTP data connections announced, the last */

struct expect {
	uint8_t addr[16];
	uint16_t port;
	uint8_t family;
};

struct classifier {
	struct ndpi_detection_module_struct *nd;
	struct slot *protos;       /* by nDPI protocol id */
	size_t nprotos;
	struct slot cats[NDPI_PROTOCOL_NUM_CATEGORIES];
	struct expect expect[EXPECT];   /* a ring */
	size_t nexpect;
};

/* Other usual ports of dynamo's protocols, past spec_proto_port()'s */
static const struct {
	uint16_t port;
	uint8_t l4;
	enum spec_proto proto;
} more_ports[] = {
	{ 8080, IPPROTO_TCP, PROTO_HTTP }, { 8000, IPPROTO_TCP, PROTO_HTTP },
	{ 8443, IPPROTO_TCP, PROTO_HTTPS }, { 443, IPPROTO_UDP, PROTO_HTTPS },
	{ 587, IPPROTO_TCP, PROTO_SMTP }, { 465, IPPROTO_TCP, PROTO_SMTP },
	{ 993, IPPROTO_TCP, PROTO_IMAP }, { 110, IPPROTO_TCP, PROTO_IMAP },
	{ 995, IPPROTO_TCP, PROTO_IMAP }, { 53, IPPROTO_TCP, PROTO_DNS },
	{ 5353, IPPROTO_UDP, PROTO_DNS }, { 20, IPPROTO_TCP, PROTO_FTP },
	{ 139, IPPROTO_TCP, PROTO_SMB }, { 3306, IPPROTO_TCP, PROTO_POSTGRESQL },
	{ 8883, IPPROTO_TCP, PROTO_MQTT }, { 5672, IPPROTO_TCP, PROTO_MQTT },
	{ 5061, IPPROTO_TCP, PROTO_SIP }, { 5060, IPPROTO_TCP, PROTO_SIP },
};

struct classifier *classifier_new(const char *mapfile, char *err, size_t errlen)
{
	NDPI_PROTOCOL_BITMASK all;
	struct classifier *c;
	struct classmap m;
	struct buf text = { 0 };
	FILE *f = fopen(mapfile, "r");
	int r = f ? buf_read_file(&text, f, MAP_MAX_FILE) : -errno;

	if (f)
		fclose(f);
	if (r) {
		snprintf(err, errlen, "%s: %s", mapfile, r == -EFBIG ? "too large for a table" : strerror(-r));
		buf_free(&text);
		return NULL;
	}
	r = classmap_parse(&m, mapfile, text.p ? text.p : "", text.len, err, errlen);
	buf_free(&text);
	if (r < 0)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->nd = ndpi_init_detection_module(ndpi_no_prefs);
	if (!c->nd) {
		snprintf(err, errlen, "nDPI did not start (ndpi_init_detection_module)");
		classmap_free(&m);
		free(c);
		return NULL;
	}
	NDPI_BITMASK_SET_ALL(all);
	ndpi_set_protocol_detection_bitmask2(c->nd, &all);
	ndpi_finalize_initialization(c->nd);
	c->nprotos = ndpi_get_num_supported_protocols(c->nd);
	c->protos = xcalloc(c->nprotos + 1, sizeof(*c->protos));
	for (size_t i = 0; i < c->nprotos; i++) {
		const char *name = ndpi_get_proto_name(c->nd, (uint16_t)i);
		const struct classmap_entry *e = name ? classmap_find(&m, CM_PROTOCOL, name) : NULL;

		if (e)
			c->protos[i] = (struct slot){ true, e->cls, e->proto };
	}
	for (int i = 0; i < NDPI_PROTOCOL_NUM_CATEGORIES; i++) {
		const char *name = ndpi_category_get_name(c->nd, (ndpi_protocol_category_t)i);
		const struct classmap_entry *e = name ? classmap_find(&m, CM_CATEGORY, name) : NULL;

		if (e)
			c->cats[i] = (struct slot){ true, e->cls, e->proto };
	}
	classmap_free(&m);
	return c;
}

static void nd_free(struct cls_state *st)
{
	if (st->nd) {
		ndpi_free_flow(st->nd);
		st->nd = NULL;
	}
}

static void take(struct cls_state *st, ndpi_protocol p)
{
	st->master = p.master_protocol;
	st->app = p.app_protocol;
	st->category = (uint16_t)p.category;
}

void classifier_packet(struct classifier *c, struct cls_state *st, const struct pkt *k,
		       uint64_t ts_ns)
{
	ndpi_protocol p;

	if (st->done || !k->l3 || k->frag == FRAG_LATER)
		return;
	if (!st->nd) {
		st->nd = ndpi_flow_malloc(SIZEOF_FLOW_STRUCT);
		if (!st->nd)
			abort();
		memset(st->nd, 0, SIZEOF_FLOW_STRUCT);
	}
	p = ndpi_detection_process_packet(c->nd, st->nd, k->l3, (unsigned short)MIN(k->l3_cap, 65535u),
					  ts_ns / 1000000);
	st->seen++;
	/* Named: done, without nDPI's extra dissection (the SNI or Host
	 * that turns "TLS" into "TLS.Google" does not change the class, and
	 * waiting for it fed every web flow's 32 first packets to nDPI: 14%
	 * of clone's time on a large capture) */
	if (p.app_protocol != NDPI_PROTOCOL_UNKNOWN || p.master_protocol != NDPI_PROTOCOL_UNKNOWN) {
		take(st, p);
		st->done = true;
		nd_free(st);
	} else if (st->seen >= DPI_PACKETS) {
		uint8_t guessed = 0;

		take(st, ndpi_detection_giveup(c->nd, st->nd, 1, &guessed));
		st->done = true;
		nd_free(st);
	}
}

static bool by_port(const struct flow *f, struct cls_result *r)
{
	const char *l4 = f->proto == IPPROTO_TCP ? "tcp" : f->proto == IPPROTO_UDP ? "udp" : NULL;

	if (!l4)
		return false;
	for (int p = 0; p < PROTO__COUNT; p++) {
		if (p == PROTO_TCP || p == PROTO_UDP)
			continue;
		if (spec_proto_port((enum spec_proto)p) == f->sport &&
		    !strcmp(spec_proto_transport((enum spec_proto)p), l4)) {
			r->proto = (uint8_t)p;
			goto found;
		}
	}
	for (size_t i = 0; i < sizeof(more_ports) / sizeof(more_ports[0]); i++) {
		if (more_ports[i].port == f->sport && more_ports[i].l4 == f->proto) {
			r->proto = (uint8_t)more_ports[i].proto;
			goto found;
		}
	}
	return false;
found:
	for (int cl = 0; cl < CLASS__COUNT; cl++) {
		if (cl != CLASS_GENERIC && (spec_class_protos((enum spec_class)cl) & (1u << r->proto))) {
			r->cls = (uint8_t)cl;
			return true;
		}
	}
	return false;
}

/* want decimal numbers, each at most max (and 6 digits), separated by
 * sep, spaces before each allowed, into v from p (n bytes): want, or 0
 * when the text is not that. */
static int numbers(const uint8_t *p, size_t n, char sep, unsigned *v, int want, unsigned max)
{
	size_t i = 0;

	for (int k = 0; k < want; k++) {
		unsigned x = 0;
		size_t d = 0;

		while (i < n && p[i] == ' ')
			i++;
		for (; i < n && p[i] >= '0' && p[i] <= '9' && d < 6; i++, d++)
			x = x * 10 + (unsigned)(p[i] - '0');
		if (!d || x > max)
			return 0;
		v[k] = x;
		if (k + 1 < want) {
			if (i >= n || p[i] != sep)
				return 0;
			i++;
		}
	}
	return want;
}

/* Where in p (n bytes) the byte c first is, after at; n if nowhere. */
static size_t find(const uint8_t *p, size_t n, size_t at, uint8_t c)
{
	while (at < n && p[at] != c)
		at++;
	return at;
}

static void expect_add(struct classifier *c, const uint8_t *addr, uint8_t family, unsigned port)
{
	struct expect *e = &c->expect[c->nexpect++ % EXPECT];

	memcpy(e->addr, addr, 16);
	e->family = family;
	e->port = (uint16_t)port;
}

void classifier_ftp(struct classifier *c, const struct pkt *k)
{
	const uint8_t *p = k->payload;
	size_t n = MIN(k->payload_len, k->payload_cap), at;
	unsigned v[6];

	if (k->proto != IPPROTO_TCP || !p || n < 8)
		return;
	if (k->sport == 21 && (!memcmp(p, "227 ", 4) || !memcmp(p, "229 ", 4))) {
		/* the server listens: 227 Entering Passive Mode (h,h,h,h,p,p),
		 * 229 Entering Extended Passive Mode (|||port|).  Its address
		 * is the control connection's (a NAT may have said another). */
		at = find(p, n, 4, '(');
		if (at + 1 >= n)
			return;
		if (p[2] == '7' && numbers(p + at + 1, n - at - 1, ',', v, 6, 255) == 6)
			expect_add(c, k->src, k->family, v[4] * 256 + v[5]);
		else if (p[2] == '9' && n - at > 4 && p[at + 1] == p[at + 2] && p[at + 2] == p[at + 3] &&
			 numbers(p + at + 4, n - at - 4, '|', v, 1, 65535) == 1)
			expect_add(c, k->src, k->family, v[0]);
	} else if (k->dport == 21 && (!memcmp(p, "PORT ", 5) || !memcmp(p, "EPRT ", 5))) {
		/* the client listens: PORT h,h,h,h,p,p; EPRT |1|addr|port| */
		if (p[0] == 'P' && numbers(p + 5, n - 5, ',', v, 6, 255) == 6) {
			expect_add(c, k->src, k->family, v[4] * 256 + v[5]);
		} else if (p[0] == 'E' && n > 6) {
			at = find(p, n, 6, p[5]);           /* past the family */
			at = find(p, n, at + 1, p[5]);      /* past the address */
			if (at + 1 < n && numbers(p + at + 1, n - at - 1, p[5], v, 1, 65535) == 1)
				expect_add(c, k->src, k->family, v[0]);
		}
	}
}

/* Was f's server announced as an FTP data connection's listener? */
static bool expected(const struct classifier *c, const struct flow *f)
{
	for (size_t i = 0; i < MIN(c->nexpect, (size_t)EXPECT); i++) {
		const struct expect *e = &c->expect[i];

		if (e->port == f->sport && e->family == f->family && !memcmp(e->addr, f->server, 16))
			return true;
	}
	return false;
}

void classifier_result(struct classifier *c, struct cls_state *st, const struct flow *f,
		       struct cls_result *r)
{
	const struct slot *s = NULL;

	if (!st->done && st->nd) {
		uint8_t guessed = 0;

		take(st, ndpi_detection_giveup(c->nd, st->nd, 1, &guessed));
	}
	st->done = true;
	nd_free(st);
	memset(r, 0, sizeof(*r));
	if (st->master && st->app && st->master != st->app)
		snprintf(r->name, sizeof(r->name), "%s.%s", ndpi_get_proto_name(c->nd, st->master),
			 ndpi_get_proto_name(c->nd, st->app));
	else
		snprintf(r->name, sizeof(r->name), "%s",
			 ndpi_get_proto_name(c->nd, st->app ? st->app : st->master));
	if (f->proto == IPPROTO_TCP && expected(c, f)) {
		/* an FTP data connection, whatever it carries */
		snprintf(r->name, sizeof(r->name), "FTP_DATA");
		r->cls = CLASS_FILE_TRANSFER;
		r->proto = PROTO_FTP;
		r->how = CLS_DPI;
		return;
	}
	if (st->master && st->master < c->nprotos && c->protos[st->master].mapped)
		s = &c->protos[st->master];
	else if (st->app && st->app < c->nprotos && c->protos[st->app].mapped)
		s = &c->protos[st->app];
	else if (st->app && st->category < NDPI_PROTOCOL_NUM_CATEGORIES && c->cats[st->category].mapped)
		s = &c->cats[st->category];
	if (s) {
		r->cls = s->cls;
		r->proto = s->proto;
		r->how = CLS_DPI;
		return;
	}
	/* nDPI named something dynamo has no class for (NTP, DHCP, ...), or
	 * nothing: the port may still say */
	if (!st->app && !st->master && by_port(f, r)) {
		r->how = CLS_PORT;
		return;
	}
	r->cls = CLASS_GENERIC;
	r->proto = f->proto == IPPROTO_UDP ? PROTO_UDP : PROTO_TCP;
	r->how = CLS_NONE;
}

void classifier_free(struct classifier *c)
{
	if (!c)
		return;
	ndpi_exit_detection_module(c->nd);
	free(c->protos);
	free(c);
}
