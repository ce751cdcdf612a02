/* analyze.c - a capture into hosts, subnets, services and traffic groups
 * (clone.h).  One pass: each packet goes through the flow table; a flow's
 * class is known after its first few packets (nDPI), and until then its
 * packet sizes and gaps wait in a small buffer that the flow gives to its
 * group once it has one.  Hosts and groups are found by hash. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clone.h"

#define PEND 16                 /* packets a flow keeps before its class (DPI_PACKETS) */
#define SERIES_MAX 8192         /* bins before they widen */

struct pend {
	uint8_t n;
	uint16_t size[PEND];
	uint32_t iat_us[PEND];
	uint16_t payload[PEND];    /* of data packets (see data_packet()) */
	uint32_t data_gap_us[PEND];   /* from the flow's last data packet; NO_GAP */
	uint8_t dir[PEND];
	bool data[PEND];
};

#define NO_GAP UINT32_MAX

/* What each flow carries (flow_user) */
struct cflow {
	struct cls_state cls;
	int64_t group;              /* -1 until its class is known */
	uint32_t chost, shost;
	uint64_t first_active;      /* ns of active time */
	uint64_t last_ns;           /* its last packet, capture time */
	struct pend *pend;
	/* the exchange under way (TCP): who speaks, how much so far, and
	 * when the last response ended */
	uint64_t burst_bytes, burst_end_ns, resp_end_ns;
	uint32_t nreq;              /* requests: the client's bursts */
	uint8_t burst_dir;
	uint64_t last_data_ns;      /* its last data packet */
	uint32_t ndata;             /* its data packets */
};

struct ctx {
	struct clone_result *res;
	const struct clone_opts *o;
	struct classifier *cls;
	struct flow_table *ft;
	uint32_t *hidx;             /* host hash: index + 1, 0 empty */
	size_t hcap;
	size_t hosts_cap, subnets_cap, groups_cap;
	uint64_t first_ns, last_ns, offset_ns, gap_ns;
	uint64_t now_active;
};

/* ---- addresses ---- */

static const struct {
	const char *cidr;
} private_ranges[] = {
	{ "10.0.0.0/8" }, { "172.16.0.0/12" }, { "192.168.0.0/16" }, { "100.64.0.0/10" },
	{ "169.254.0.0/16" }, { "fc00::/7" }, { "fe80::/10" },
};

int clone_cidr_parse(const char *s, struct clone_cidr *c)
{
	char a[64], *slash, *end;
	long bits;
	uint8_t v4[4];

	if (strlen(s) >= sizeof(a))
		return -1;
	strcpy(a, s);
	slash = strchr(a, '/');
	if (!slash)
		return -1;
	*slash = 0;
	bits = strtol(slash + 1, &end, 10);
	if (*end || slash[1] == 0)
		return -1;
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, a, v4) == 1) {
		if (bits < 0 || bits > 32)
			return -1;
		c->addr[10] = c->addr[11] = 0xff;
		memcpy(c->addr + 12, v4, 4);
		c->bits = 96 + (int)bits;
	} else if (inet_pton(AF_INET6, a, c->addr) == 1) {
		if (bits < 0 || bits > 128)
			return -1;
		c->bits = (int)bits;
	} else {
		return -1;
	}
	return 0;
}

static bool in_cidr(const uint8_t *a, const struct clone_cidr *c)
{
	int full = c->bits / 8, rest = c->bits % 8;

	if (memcmp(a, c->addr, (size_t)full))
		return false;
	return !rest || ((a[full] ^ c->addr[full]) & (0xff << (8 - rest))) == 0;
}

static bool is_internal(const struct ctx *x, const uint8_t *a)
{
	if (x->o->ninternal) {
		for (size_t i = 0; i < x->o->ninternal; i++)
			if (in_cidr(a, &x->o->internal[i]))
				return true;
		return false;
	}
	for (size_t i = 0; i < sizeof(private_ranges) / sizeof(private_ranges[0]); i++) {
		struct clone_cidr c;

		if (!clone_cidr_parse(private_ranges[i].cidr, &c) && in_cidr(a, &c))
			return true;
	}
	return false;
}

/* Addresses no emulated host can have: a group's (multicast or
 * broadcast, decode_is_group), reserved (240/4), "this network" (0/8),
 * and loopback (a host talking to itself). */
static bool is_special(const uint8_t *a)
{
	static const uint8_t any6[16], lo6[16] = { [15] = 1 };

	if (decode_is_group(a))
		return true;
	if (decode_is_v4(a))
		return a[12] >= 240 || a[12] == 127 || a[12] == 0;
	return !memcmp(a, any6, 16) || !memcmp(a, lo6, 16);
}

/* ---- hosts and subnets ---- */

static uint32_t addr_hash(const uint8_t *a)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 16; i++)
		h = (h ^ a[i]) * 16777619u;
	return h;
}

static void hosts_rehash(struct ctx *x)
{
	size_t cap = x->hcap ? x->hcap * 2 : 1024;
	uint32_t *t = xcalloc(cap, sizeof(*t));

	for (size_t i = 0; i < x->res->nhosts; i++) {
		size_t j = addr_hash(x->res->hosts[i].addr) & (cap - 1);

		while (t[j])
			j = (j + 1) & (cap - 1);
		t[j] = (uint32_t)i + 1;
	}
	free(x->hidx);
	x->hidx = t;
	x->hcap = cap;
}

static uint32_t subnet_of(struct ctx *x, const uint8_t *a)
{
	struct clone_result *r = x->res;
	int bits = decode_is_v4(a) ? 120 : 64;
	struct clone_subnet *s;

	for (size_t i = 0; i < r->nsubnets; i++) {
		s = &r->subnets[i];
		if (s->bits == bits && !memcmp(s->prefix, a, (size_t)bits / 8))
			return (uint32_t)i;
	}
	if (r->nsubnets == x->subnets_cap) {
		x->subnets_cap = x->subnets_cap ? x->subnets_cap * 2 : 16;
		r->subnets = xreallocarray(r->subnets, x->subnets_cap, sizeof(*r->subnets));
	}
	s = &r->subnets[r->nsubnets];
	memset(s, 0, sizeof(*s));
	memcpy(s->prefix, a, (size_t)bits / 8);
	s->bits = bits;
	return (uint32_t)r->nsubnets++;
}

static uint32_t host_get(struct ctx *x, const uint8_t *a)
{
	struct clone_result *r = x->res;
	struct clone_host *h;
	size_t j;

	if (r->nhosts * 2 >= x->hcap)
		hosts_rehash(x);
	for (j = addr_hash(a) & (x->hcap - 1); x->hidx[j]; j = (j + 1) & (x->hcap - 1))
		if (!memcmp(r->hosts[x->hidx[j] - 1].addr, a, 16))
			return x->hidx[j] - 1;
	if (r->nhosts == x->hosts_cap) {
		x->hosts_cap = x->hosts_cap ? x->hosts_cap * 2 : 256;
		r->hosts = xreallocarray(r->hosts, x->hosts_cap, sizeof(*r->hosts));
	}
	h = &r->hosts[r->nhosts];
	memset(h, 0, sizeof(*h));
	memcpy(h->addr, a, 16);
	h->special = is_special(a);
	h->internal = !h->special && is_internal(x, a);
	h->zone = h->internal ? subnet_of(x, a) : CLONE_EXTERNAL;
	if (h->internal)
		r->subnets[h->zone].nhosts++;
	x->hidx[j] = (uint32_t)r->nhosts + 1;
	return (uint32_t)r->nhosts++;
}

/* A flow between two external hosts was seen from inside: with no
 * ranges given, its client is taken as internal (a capture of public
 * addresses only is a capture next to its clients). */
static void promote(struct ctx *x, uint32_t c, uint32_t s)
{
	struct clone_host *hc = &x->res->hosts[c];

	if (x->o->ninternal || hc->internal || hc->special || x->res->hosts[s].internal)
		return;
	hc->internal = true;
	hc->zone = subnet_of(x, hc->addr);
	x->res->subnets[hc->zone].nhosts++;
}

static struct clone_service *service_get(struct clone_host *h, uint8_t l4, uint16_t port)
{
	struct clone_service *s;

	for (size_t i = 0; i < h->nsvc; i++)
		if (h->svc[i].l4 == l4 && h->svc[i].port == port)
			return &h->svc[i];
	if (h->nsvc == h->svc_cap) {
		h->svc_cap = h->svc_cap ? h->svc_cap * 2 : 4;
		h->svc = xreallocarray(h->svc, h->svc_cap, sizeof(*h->svc));
	}
	s = &h->svc[h->nsvc++];
	memset(s, 0, sizeof(*s));
	s->l4 = l4;
	s->port = port;
	return s;
}

/* ---- series ---- */

static void series_add(struct clone_series *s, uint64_t sec, double v)
{
	size_t i;

	if (!s->width)
		s->width = 1;
	while (sec / s->width >= SERIES_MAX) {
		/* widen: merge pairs */
		for (size_t k = 0; k < s->n; k++) {
			if (k % 2 == 0)
				s->v[k / 2] = s->v[k];
			else
				s->v[k / 2] += s->v[k];
		}
		s->n = (s->n + 1) / 2;
		s->width *= 2;
	}
	i = (size_t)(sec / s->width);
	if (i >= s->cap) {
		size_t cap = MAX(s->cap * 2, i + 64);

		s->v = xreallocarray(s->v, cap, sizeof(*s->v));
		memset(s->v + s->cap, 0, (cap - s->cap) * sizeof(*s->v));
		s->cap = cap;
	}
	s->v[i] += v;
	s->n = MAX(s->n, i + 1);
}

/* ---- groups ---- */

static int64_t group_get(struct ctx *x, uint32_t czone, int64_t server, uint8_t cls, uint8_t proto)
{
	struct clone_result *r = x->res;
	struct clone_group *g;

	for (size_t i = 0; i < r->ngroups; i++) {
		g = &r->groups[i];
		if (g->czone == czone && g->server == server && g->cls == cls && g->proto == proto)
			return (int64_t)i;
	}
	if (r->ngroups == x->groups_cap) {
		x->groups_cap = x->groups_cap ? x->groups_cap * 2 : 16;
		r->groups = xreallocarray(r->groups, x->groups_cap, sizeof(*r->groups));
	}
	g = &r->groups[r->ngroups];
	memset(g, 0, sizeof(*g));
	g->czone = czone;
	g->server = server;
	g->cls = cls;
	g->proto = proto;
	return (int64_t)r->ngroups++;
}

static void group_client(struct clone_group *g, uint32_t h)
{
	for (size_t i = g->nclients; i-- > 0;)
		if (g->clients[i] == h)
			return;
	if (g->nclients == g->clients_cap) {
		g->clients_cap = g->clients_cap ? g->clients_cap * 2 : 8;
		g->clients = xreallocarray(g->clients, g->clients_cap, sizeof(*g->clients));
	}
	g->clients[g->nclients++] = h;
}

/* Keep the n largest (name, bytes) */
static void top_name(struct clone_group *g, const char *name, uint64_t bytes)
{
	size_t i, low = 0;

	for (i = 0; i < 4; i++) {
		if (!strcmp(g->names[i].name, name)) {
			g->names[i].bytes += bytes;
			return;
		}
		if (g->names[i].bytes < g->names[low].bytes)
			low = i;
	}
	if (g->names[low].bytes <= bytes) {
		snprintf(g->names[low].name, sizeof(g->names[low].name), "%s", name);
		g->names[low].bytes = bytes;
	}
}

static void top_port(struct clone_group *g, uint16_t port, uint64_t bytes)
{
	size_t low = 0;

	for (size_t i = 0; i < 4; i++) {
		if (g->ports[i] == port && g->port_bytes[i]) {
			g->port_bytes[i] += bytes;
			return;
		}
		if (g->port_bytes[i] < g->port_bytes[low])
			low = i;
	}
	if (g->port_bytes[low] <= bytes) {
		g->ports[low] = port;
		g->port_bytes[low] = bytes;
	}
}

/* A data packet of a flow of group g: its payload, and its gap from the
 * flow's last (NO_GAP for the first). */
static void data_add(struct clone_group *g, int dir, uint32_t payload, uint32_t gap_us)
{
	hist_add(dir == FLOW_UP ? &g->up_payload : &g->down_payload, payload);
	g->data[dir == FLOW_UP ? 0 : 1]++;
	if (gap_us != NO_GAP)
		hist_add(&g->data_gap_us, gap_us);
}

/* The flow's class is known: find its group, and give it what waited. */
static void resolve(struct ctx *x, struct flow *f, struct cflow *cf)
{
	struct clone_result *r = x->res;
	struct cls_result cr;
	struct clone_group *g;
	const struct clone_host *s = &r->hosts[cf->shost];

	classifier_result(x->cls, &cf->cls, f, &cr);
	cf->group = group_get(x, r->hosts[cf->chost].zone,
			      s->internal ? (int64_t)cf->shost : -1, cr.cls, cr.proto);
	g = &r->groups[cf->group];
	group_client(g, cf->chost);
	r->how_flows[cr.how]++;
	top_name(g, cr.name, f->bytes[0] + f->bytes[1]);
	if (cf->pend) {
		/* in the rate at the flow's last packet so far: they are its
		 * first few, and recent */
		double b = 0;

		for (unsigned i = 0; i < cf->pend->n; i++) {
			hist_add(&g->pkt_size, cf->pend->size[i]);
			if (i)
				hist_add(&g->iat_us, cf->pend->iat_us[i]);
			if (cf->pend->data[i])
				data_add(g, cf->pend->dir[i], cf->pend->payload[i], cf->pend->data_gap_us[i]);
			b += cf->pend->size[i];
		}
		series_add(&g->rate, (cf->first_active + (cf->last_ns - f->first_ns)) / 1000000000ull, b);
		free(cf->pend);
		cf->pend = NULL;
	}
}

/* The burst of one side ends: a request or a response of the group */
static void burst_done(struct ctx *x, struct cflow *cf)
{
	struct clone_group *g;

	if (!cf->burst_bytes)
		return;
	if (cf->group >= 0) {
		g = &x->res->groups[cf->group];
		hist_add(cf->burst_dir == FLOW_UP ? &g->req_bytes : &g->resp_bytes,
			 (double)cf->burst_bytes);
	}
	if (cf->burst_dir == FLOW_DOWN)
		cf->resp_end_ns = cf->burst_end_ns;
	cf->burst_bytes = 0;
}

/* A TCP segment with payload: the same speaker goes on, or the other
 * one starts (after a response: the user's think time) */
static void exchange(struct ctx *x, struct cflow *cf, const struct pkt *k, int dir, uint64_t ts)
{
	if (cf->burst_bytes && cf->burst_dir != dir)
		burst_done(x, cf);
	if (!cf->burst_bytes) {
		if (dir == FLOW_UP && cf->resp_end_ns && cf->group >= 0 && ts >= cf->resp_end_ns)
			hist_add(&x->res->groups[cf->group].think_us,
				 (double)(ts - cf->resp_end_ns) / 1000);
		cf->burst_dir = (uint8_t)dir;
		cf->nreq += dir == FLOW_UP;
	}
	cf->burst_bytes += k->payload_len;
	cf->burst_end_ns = ts;
}

static void on_end(struct flow *f, enum flow_end why, void *arg)
{
	struct ctx *x = arg;
	struct clone_result *r = x->res;
	struct cflow *cf = flow_user(f);
	struct clone_group *g;
	struct clone_host *c, *s;
	struct clone_service *sv;
	uint64_t bytes = f->bytes[0] + f->bytes[1], dur = f->last_ns - f->first_ns;
	uint64_t first = cf->first_active, last = first + dur;

	if (cf->group < 0)
		resolve(x, f, cf);
	burst_done(x, cf);
	g = &r->groups[cf->group];
	g->flows++;
	g->bytes[0] += f->bytes[0];
	g->bytes[1] += f->bytes[1];
	g->packets[0] += f->packets[0];
	g->packets[1] += f->packets[1];
	hist_add(&g->flow_bytes, (double)bytes);
	hist_add(&g->flow_us, (double)dur / 1000);
	/* requests a connection carries, from those that closed: one the
	 * capture cut off or that went idle may have carried more */
	if (cf->nreq && why == FLOW_CLOSED)
		hist_add(&g->flow_reqs, cf->nreq);
	if (cf->ndata)
		hist_add(&g->flow_data, cf->ndata);
	if (!g->first_ns || first < g->first_ns)
		g->first_ns = first;
	g->last_ns = MAX(g->last_ns, last);
	/* open from its first second to its last */
	series_add(&g->opens, first / 1000000000ull, 1);
	series_add(&g->opens, last / 1000000000ull + 1, -1);
	series_add(&g->starts, first / 1000000000ull, 1);
	top_port(g, f->sport, bytes);
	r->flows++;
	r->cls_bytes[g->cls] += bytes;
	r->cls_flows[g->cls]++;
	c = &r->hosts[cf->chost];
	s = &r->hosts[cf->shost];
	if (f->rtt_us && c->internal != s->internal)
		hist_add(&r->ext_rtt_us, f->rtt_us);
	c->bytes_sent += f->bytes[FLOW_UP];
	c->bytes_recv += f->bytes[FLOW_DOWN];
	c->packets_sent += f->packets[FLOW_UP];
	c->packets_recv += f->packets[FLOW_DOWN];
	s->bytes_sent += f->bytes[FLOW_DOWN];
	s->bytes_recv += f->bytes[FLOW_UP];
	s->packets_sent += f->packets[FLOW_DOWN];
	s->packets_recv += f->packets[FLOW_UP];
	if (f->proto == IPPROTO_TCP || f->proto == IPPROTO_UDP) {
		sv = service_get(s, f->proto, f->sport);
		sv->flows++;
		sv->answered += f->answered;
		sv->bytes += bytes;
		sv->cls_bytes[g->cls] += bytes;
		sv->proto_bytes[g->proto] += bytes;
	}
	/* MACs: a host's own frames; an external host's come through its
	 * gateway, whose MAC is then its subnet's way out */
	if (f->has_cmac && !c->has_mac) {
		memcpy(c->mac, f->cmac, 6);
		c->has_mac = true;
	}
	if (f->has_smac && !s->has_mac) {
		memcpy(s->mac, f->smac, 6);
		s->has_mac = true;
	}
	if (c->internal && !s->internal && f->has_smac && !r->subnets[c->zone].has_gw) {
		memcpy(r->subnets[c->zone].gw_mac, f->smac, 6);
		r->subnets[c->zone].has_gw = true;
	}
	free(cf->pend);
	cf->pend = NULL;
}

static void on_packet(struct ctx *x, const struct pkt *k, uint64_t ts)
{
	struct clone_result *r = x->res;
	struct flow *f;
	struct cflow *cf;
	bool is_new, is_data;
	int dir;
	uint64_t iat;
	uint32_t data_gap = NO_GAP;

	/* active time: a long silence counts as a second */
	if (!x->first_ns) {
		x->first_ns = x->last_ns = ts;
	} else if (ts > x->last_ns) {
		if (ts - x->last_ns > x->gap_ns) {
			x->offset_ns += ts - x->last_ns - 1000000000ull;
			r->gaps++;
		}
		x->last_ns = ts;
	}
	x->now_active = x->last_ns - x->first_ns - x->offset_ns;
	r->bytes += k->ip_len;
	r->packets++;
	f = flow_packet(x->ft, k, ts, &dir, &is_new);
	cf = flow_user(f);
	if (is_new) {
		cf->group = -1;
		cf->chost = host_get(x, f->client);
		cf->shost = host_get(x, f->server);
		promote(x, cf->chost, cf->shost);
		r->hosts[cf->chost].flows_out++;
		r->hosts[cf->shost].flows_in++;
		cf->first_active = x->now_active;
		iat = 0;
	} else {
		iat = ts > cf->last_ns ? (ts - cf->last_ns) / 1000 : 0;
	}
	cf->last_ns = MAX(cf->last_ns, ts);
	if (k->proto == IPPROTO_TCP) {
		/* the path's MTU, as the largest segments show it */
		const struct clone_host *c = &r->hosts[cf->chost], *s = &r->hosts[cf->shost];

		if (c->internal)
			r->subnets[c->zone].max_tcp = MAX(r->subnets[c->zone].max_tcp, k->ip_len);
		if (s->internal)
			r->subnets[s->zone].max_tcp = MAX(r->subnets[s->zone].max_tcp, k->ip_len);
	}
	if (k->proto == IPPROTO_TCP && k->payload_len && (k->sport == 21 || k->dport == 21))
		classifier_ftp(x->cls, k);
	/* a data packet: TCP with payload, or any other (a datagram) */
	is_data = k->proto != IPPROTO_TCP || k->payload_len;
	if (is_data) {
		data_gap = !cf->ndata ? NO_GAP : ts > cf->last_data_ns
			? (uint32_t)MIN((ts - cf->last_data_ns) / 1000, NO_GAP - 1) : 0;
		cf->last_data_ns = MAX(cf->last_data_ns, ts);
		cf->ndata++;
	}
	if (cf->group < 0) {
		classifier_packet(x->cls, &cf->cls, k, ts);
		if (!cf->pend)
			cf->pend = xcalloc(1, sizeof(*cf->pend));
		if (cf->pend->n < PEND) {
			struct pend *p = cf->pend;

			p->size[p->n] = (uint16_t)MIN(k->ip_len, 65535u);
			p->iat_us[p->n] = (uint32_t)MIN(iat, UINT32_MAX);
			p->data[p->n] = is_data;
			p->payload[p->n] = (uint16_t)MIN(k->payload_len, 65535u);
			p->data_gap_us[p->n] = data_gap;
			p->dir[p->n] = (uint8_t)dir;
			p->n++;
		}
		if (classifier_done(&cf->cls) || cf->pend->n == PEND)
			resolve(x, f, cf);
		if (k->proto == IPPROTO_TCP && k->payload_len)
			exchange(x, cf, k, dir, ts);
	} else {
		if (k->proto == IPPROTO_TCP && k->payload_len)
			exchange(x, cf, k, dir, ts);
		struct clone_group *g = &r->groups[cf->group];

		hist_add(&g->pkt_size, k->ip_len);
		hist_add(&g->iat_us, (double)iat);
		if (is_data)
			data_add(g, dir, k->payload_len, data_gap);
		series_add(&g->rate, x->now_active / 1000000000ull, k->ip_len);
	}
}

int clone_read(struct reader *rd, const struct clone_opts *o, struct clone_result *res, char *err,
	       size_t errlen)
{
	struct flow_config fc = {
		.max_flows = o->max_flows, .user_size = sizeof(struct cflow), .end = on_end,
	};
	struct ctx x = { .res = res, .o = o };
	struct pkt k;
	uint64_t ts;
	int rc = 0, e;

	memset(res, 0, sizeof(*res));
	res->link = reader_link(rd);
	x.gap_ns = (uint64_t)((o->gap_s > 0 ? o->gap_s : 60) * 1e9);
	x.cls = o->classifier ? o->classifier : classifier_new(o->mapfile, err, errlen);
	if (!x.cls)
		return -1;
	fc.arg = &x;
	x.ft = flow_table_new(&fc);
	while ((e = reader_next(rd, &k, &ts, err, errlen)) > 0)
		on_packet(&x, &k, ts);
	if (e < 0)
		rc = -1;
	flow_flush(x.ft);
	flow_counts(x.ft, &res->fc);
	reader_counts(rd, &res->rc);
	if (reader_warning(rd))
		snprintf(res->warning, sizeof(res->warning), "%s", reader_warning(rd));
	res->active_ns = x.first_ns ? x.last_ns - x.first_ns - x.offset_ns : 0;
	for (size_t i = 0; i < res->ngroups; i++) {
		struct clone_group *g = &res->groups[i];
		uint64_t best = 0;

		for (size_t j = 0; j < 4; j++) {
			if (g->port_bytes[j] > best) {
				best = g->port_bytes[j];
				g->port = g->ports[j];
			}
		}
		/* port 0 is no port a server listens on */
		if (!g->port)
			g->port = spec_proto_port(g->proto);
	}
	flow_table_free(x.ft);
	if (!o->classifier)
		classifier_free(x.cls);
	free(x.hidx);
	return rc;
}
