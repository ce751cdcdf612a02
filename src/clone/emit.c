/* emit.c - a clone's spec: subnets with their ranges, the internal hosts
 * with their addresses and the services they answered, and a generate
 * statement per traffic group at its rate over the capture's active
 * time, pinned to its protocol, with the flows it kept open.  Also the
 * address anonymization (prefix-preserving, keyed) and freeing. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "clone.h"

#define MTU_MIN_FULL 1200   /* largest segments below this: no bulk data seen */
#define RTT_MIN_SAMPLES 3   /* handshakes before a round trip is given */
#define RTT_MIN_MS 1.0      /* below it, a LAN: no delay */

uint64_t clone_group_rate(const struct clone_result *res, const struct clone_group *g)
{
	double secs = (double)res->active_ns / 1e9;

	if (secs < 1)
		secs = 1;
	return (uint64_t)((double)(g->bytes[0] + g->bytes[1]) * 8 / secs + 0.5);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The flows open at the end of the seconds of g: the q-quantile of them. */
static uint64_t flows_at(const struct clone_group *g, double q)
{
	const struct clone_series *s = &g->opens;
	double open = 0, *v, x;
	size_t n = s->n ? s->n - 1 : 0;   /* the last bin holds only ends */

	if (!n)
		return 0;
	v = xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		open += s->v[i];
		v[i] = open;
	}
	qsort(v, n, sizeof(*v), cmp_double);
	x = v[MIN(n - 1, (size_t)((double)n * q))];
	free(v);
	return x > 0 ? (uint64_t)x : 0;
}

uint64_t clone_group_flows(const struct clone_group *g)
{
	return flows_at(g, 0.1);
}

/* ---- anonymization ---- */

/* Bit i of a (MSB first) */
static int bit(const uint8_t *a, int i)
{
	return a[i / 8] >> (7 - i % 8) & 1;
}

/* Crypto-PAn's construction with HMAC-SHA256 as the function: bit i of
 * the result is bit i of a, flipped by one bit of HMAC(key, the first i
 * bits of a).  Addresses that share a prefix share its image. */
static void anon(const char *key, uint8_t *a, int from, int bits)
{
	uint8_t out[16], pre[17];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;

	memcpy(out, a, 16);
	for (int i = from; i < bits; i++) {
		memset(pre, 0, sizeof(pre));
		for (int j = 0; j < i; j++)
			if (bit(a, j))
				pre[j / 8] |= (uint8_t)(0x80 >> (j % 8));
		pre[16] = (uint8_t)i;
		HMAC(EVP_sha256(), key, (int)strlen(key), pre, sizeof(pre), md, &mdlen);
		if (md[0] & 1)
			out[i / 8] ^= (uint8_t)(0x80 >> (i % 8));
	}
	memcpy(a, out, 16);
}

/* How many leading bits stay: the IPv4 prefix (96 bits) and a private
 * range's own, so internal addresses stay private. */
static int kept(const uint8_t *a)
{
	if (!decode_is_v4(a))
		return a[0] == 0xfe && (a[1] & 0xc0) == 0x80 ? 10 : a[0] == 0xff ? 8 : 0;
	if (a[12] == 10)
		return 104;
	if (a[12] == 172 && (a[13] & 0xf0) == 16)
		return 108;
	if (a[12] == 192 && a[13] == 168)
		return 112;
	if (a[12] >= 224)
		return 100;   /* multicast and broadcast stay what they are */
	return 96;
}

void clone_anonymize(struct clone_result *res, const char *key)
{
	if (!key)
		return;
	for (size_t i = 0; i < res->nhosts; i++) {
		uint8_t *a = res->hosts[i].addr;

		anon(key, a, kept(a), 128);
	}
	for (size_t i = 0; i < res->nsubnets; i++) {
		struct clone_subnet *s = &res->subnets[i];

		anon(key, s->prefix, kept(s->prefix), s->bits);
		memset(s->prefix + s->bits / 8, 0, (size_t)(16 - s->bits / 8));
	}
}

/* ---- the spec ---- */

/* Internal hosts by subnet, then address */
static int cmp_host(const void *a, const void *b, void *arg)
{
	const struct clone_host *h = arg, *x = &h[*(const uint32_t *)a], *y = &h[*(const uint32_t *)b];

	if (x->zone != y->zone)
		return x->zone < y->zone ? -1 : 1;
	return memcmp(x->addr, y->addr, 16);
}

/* Names: subnets lan1.., internal hosts h1.. subnet by subnet in address
 * order, so that a statement can say h3..h7.  Returns the named hosts in
 * that order (*n of them; the caller frees it). */
static uint32_t *name_all(struct clone_result *r, size_t *n)
{
	uint32_t *order = xcalloc(r->nhosts + 1, sizeof(*order));

	*n = 0;
	for (size_t i = 0; i < r->nsubnets; i++)
		snprintf(r->subnets[i].name, sizeof(r->subnets[i].name), "lan%zu", i + 1);
	for (size_t i = 0; i < r->nhosts; i++) {
		r->hosts[i].num = 0;
		r->hosts[i].name[0] = 0;
		if (r->hosts[i].internal)
			order[(*n)++] = (uint32_t)i;
	}
	qsort_r(order, *n, sizeof(*order), cmp_host, r->hosts);
	for (size_t k = 0; k < *n; k++) {
		struct clone_host *h = &r->hosts[order[k]];

		h->num = (uint32_t)k + 1;
		snprintf(h->name, sizeof(h->name), "h%u", h->num);
	}
	return order;
}

void clone_name(struct clone_result *r)
{
	size_t n;

	free(name_all(r, &n));
}

/* Can the spec hold this subnet's /24, and this host's address in it?
 * Not inside the emulated Internet's range, nor multicast, reserved,
 * loopback or "this network" (anonymized public addresses can land
 * anywhere); not a /24's network or broadcast address. */
static bool cidr_ok(const struct clone_subnet *s)
{
	const uint8_t *p = s->prefix;

	return s->bits == 120 && p[12] < 224 && p[12] != 127 && p[12] != 0 &&
	       !(p[12] == 198 && (p[13] & 0xfe) == 18);
}

static bool addr_ok(const struct clone_result *r, const struct clone_host *h)
{
	return decode_is_v4(h->addr) && cidr_ok(&r->subnets[h->zone]) && h->addr[15] != 0 &&
	       h->addr[15] != 255;
}

static void put_rate(struct buf *b, uint64_t bps)
{
	static const char *const unit[] = { "bps", "kbps", "Mbps", "Gbps" };
	double v = (double)bps;
	int u = 0;

	while (v >= 1000 && u < 3)
		v /= 1000, u++;
	if (v >= 100 || u == 0)
		buf_printf(b, "%.0f %s", v, unit[u]);
	else if (v >= 10)
		buf_printf(b, "%.1f %s", v, unit[u]);
	else
		buf_printf(b, "%.2f %s", v, unit[u]);
}

static int cmp_num(const void *a, const void *b, void *arg)
{
	const struct clone_host *h = arg;
	uint32_t x = h[*(const uint32_t *)a].num, y = h[*(const uint32_t *)b].num;

	return x < y ? -1 : x > y;
}

/* "h1, h3..h5" */
static void put_clients(struct buf *b, struct clone_result *r, const struct clone_group *g)
{
	uint32_t *c = xcalloc(g->nclients + 1, sizeof(*c));
	size_t n = 0;

	for (size_t i = 0; i < g->nclients; i++)
		if (r->hosts[g->clients[i]].num && (int64_t)g->clients[i] != g->server)
			c[n++] = g->clients[i];
	qsort_r(c, n, sizeof(*c), cmp_num, r->hosts);
	for (size_t i = 0; i < n;) {
		size_t j = i;

		while (j + 1 < n && r->hosts[c[j + 1]].num == r->hosts[c[i]].num + (j + 1 - i))
			j++;
		buf_printf(b, "%s%s", i ? ", " : "", r->hosts[c[i]].name);
		if (j > i)
			buf_printf(b, "%s%s", j == i + 1 ? ", " : "..", r->hosts[c[j]].name);
		i = j + 1;
	}
	free(c);
}

static bool serves(const struct clone_result *r, size_t h, uint8_t proto, uint16_t port,
		   const bool *playable, size_t upto)
{
	for (size_t i = 0; i < upto; i++) {
		const struct clone_group *g = &r->groups[i];

		if (g->server == (int64_t)h && g->proto == proto && g->port == port && playable[g->cls])
			return true;
	}
	return false;
}

static void put_addr(struct buf *b, const uint8_t *a)
{
	char t[64];

	buf_puts(b, decode_addr_str(a, t, sizeof(t)));
}

static int cmp_group_bytes(const void *a, const void *b, void *arg)
{
	const struct clone_group *g = arg;
	uint64_t x = g[*(const uint32_t *)a].bytes[0] + g[*(const uint32_t *)a].bytes[1];
	uint64_t y = g[*(const uint32_t *)b].bytes[0] + g[*(const uint32_t *)b].bytes[1];

	return x > y ? -1 : x < y;
}

/* Does a statement that will be written cross to or from external? */
static bool uses_external(const struct clone_result *r, const bool *playable)
{
	for (size_t i = 0; i < r->ngroups; i++) {
		const struct clone_group *g = &r->groups[i];

		if (!playable[g->cls] || !clone_group_rate(r, g) ||
		    (g->czone == CLONE_EXTERNAL && g->server < 0))
			continue;
		if (g->server < 0 || g->czone == CLONE_EXTERNAL)
			return true;
	}
	return false;
}

/* The Internet's round trip, as the capture's TCP handshakes between
 * inside and outside show it (their median): the gateway's link to
 * external gets half of it each way.  Without it the copy's round trips
 * are microseconds, and TCP behaves otherwise: a tail segment's probe
 * (twice the round trip) fires before the client's delayed ACK, and the
 * copy's packets show retransmissions and SACKs the reference has not. */
static void put_external_link(struct buf *b, const struct clone_result *r, const bool *playable)
{
	double rtt_ms;

	if (r->ext_rtt_us.n < RTT_MIN_SAMPLES || !uses_external(r, playable))
		return;
	rtt_ms = hist_quantile(&r->ext_rtt_us, 0.5) / 1000;
	if (rtt_ms < RTT_MIN_MS)
		return;
	buf_printf(b, "# round trip to external: median of %llu TCP handshakes\nrouter gw joins ",
		   (unsigned long long)r->ext_rtt_us.n);
	for (size_t i = 0; i < r->nsubnets; i++)
		buf_printf(b, "%s, ", r->subnets[i].name);
	buf_printf(b, "external ;\nlink gw -- external delay %.1f ms ;\n", MIN(rtt_ms / 2, 10000.0));
}

void clone_spec(struct clone_result *r, const char *capture, const bool *playable, struct buf *b,
		uint64_t *unplayable)
{
	uint32_t *order = xcalloc(r->ngroups + 1, sizeof(*order)), *named;
	size_t nnamed;

	*unplayable = 0;
	named = name_all(r, &nnamed);
	buf_printf(b, "# dynamo clone of %s\n", capture);
	buf_printf(b, "# %llu packets, %llu flows, %.1f s of traffic", (unsigned long long)r->packets,
		   (unsigned long long)r->flows, (double)r->active_ns / 1e9);
	if (r->gaps)
		buf_printf(b, " (%llu silence%s over a minute left out)", (unsigned long long)r->gaps,
			   r->gaps == 1 ? "" : "s");
	buf_puts(b, "\n\n");
	for (size_t i = 0; i < r->nsubnets; i++) {
		const struct clone_subnet *s = &r->subnets[i];

		buf_printf(b, "subnet %s", s->name);
		if (cidr_ok(s)) {
			buf_putc(b, ' ');
			put_addr(b, s->prefix);
			buf_puts(b, "/24");
		}
		/* Segments that never reached 1500 bytes, on a path that carried
		 * full ones (a tunnel, PPPoE, an MSS clamp): the same MTU, so the
		 * copy's segments are the same size.  Above 1500 is offload. */
		if (s->max_tcp >= MTU_MIN_FULL && s->max_tcp < 1500)
			buf_printf(b, " mtu %u", s->max_tcp);
		buf_puts(b, " ;\n");
	}
	for (size_t k = 0; k < nnamed; k++) {
		size_t i = named[k];
		const struct clone_host *h = &r->hosts[i];
		bool first = true;

		buf_printf(b, "host %s in %s", h->name, r->subnets[h->zone].name);
		if (addr_ok(r, h)) {
			buf_puts(b, " address ");
			put_addr(b, h->addr);
		}
		for (size_t j = 0; j < r->ngroups; j++) {
			const struct clone_group *g = &r->groups[j];

			if (g->server != (int64_t)i || !playable[g->cls] ||
			    serves(r, i, g->proto, g->port, playable, j))
				continue;
			buf_printf(b, "%s%s", first ? " serves " : ", ", spec_proto_name(g->proto));
			if (g->port && g->port != spec_proto_port(g->proto))   /* 0: none a spec can say */
				buf_printf(b, " port %u", g->port);
			first = false;
		}
		buf_puts(b, " ;\n");
	}
	put_external_link(b, r, playable);
	buf_putc(b, '\n');
	for (size_t i = 0; i < r->ngroups; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, r->ngroups, sizeof(*order), cmp_group_bytes, r->groups);
	for (size_t k = 0; k < r->ngroups; k++) {
		const struct clone_group *g = &r->groups[order[k]];
		uint64_t rate = clone_group_rate(r, g), flows = clone_group_flows(g);
		const char *lead = playable[g->cls] ? "" : "# ";

		bool between = g->czone == CLONE_EXTERNAL && g->server < 0;
		bool self = g->server >= 0 && g->nclients == 1 && g->clients[0] == (uint32_t)g->server;

		if (!rate)
			continue;
		if (between || self) {
			/* Emulated traffic has one end inside, and two hosts */
			*unplayable += g->bytes[0] + g->bytes[1];
			buf_printf(b, "# %s %s traffic (%llu bytes) is not played\n",
				   self ? "a host's own" : "external-to-external, loopback or broadcast",
				   spec_class_name(g->cls), (unsigned long long)(g->bytes[0] + g->bytes[1]));
			continue;
		}
		if (!playable[g->cls]) {
			*unplayable += g->bytes[0] + g->bytes[1];
			buf_printf(b, "# no source for class %s in the catalog yet:\n",
				   spec_class_name(g->cls));
		}
		buf_printf(b, "%sgenerate %s traffic from ", lead, spec_class_name(g->cls));
		if (g->czone == CLONE_EXTERNAL)
			buf_puts(b, "external");
		else
			put_clients(b, r, g);
		buf_printf(b, " to %s with ", g->server < 0 ? "external" : r->hosts[g->server].name);
		put_rate(b, rate);
		/* generic is pinned to its transport: a UDP group is not
		 * played over TCP */
		if ((g->proto != PROTO_TCP && g->proto != PROTO_UDP) || g->cls == CLASS_GENERIC)
			buf_printf(b, " over %s", spec_proto_name(g->proto));
		/* A generic group's flows are its application's: as many at
		 * once as it held (in 90 % of its seconds), not as many as a
		 * rate could take; one a client at least (the planner runs a
		 * flow per host pair) */
		if (g->cls == CLASS_GENERIC)
			buf_printf(b, " using <= %llu flows",
				   (unsigned long long)MAX(MAX(1, flows_at(g, 0.9)), g->nclients));
		else if (flows >= 2)
			buf_printf(b, " using >= %llu flows", (unsigned long long)flows);
		if (g->model)
			buf_printf(b, " using model \"%s\"", g->model);
		buf_printf(b, " label \"");
		for (size_t j = 0, n = 0; j < 4; j++) {
			if (!g->names[j].bytes)
				continue;
			buf_printf(b, "%s%s", n++ ? "+" : "", g->names[j].name);
		}
		buf_printf(b, "\" ;\n");
	}
	free(order);
	free(named);
}

void clone_result_free(struct clone_result *res)
{
	if (!res)
		return;
	for (size_t i = 0; i < res->nhosts; i++)
		free(res->hosts[i].svc);
	for (size_t i = 0; i < res->ngroups; i++) {
		free(res->groups[i].clients);
		free(res->groups[i].rate.v);
		free(res->groups[i].opens.v);
		free(res->groups[i].starts.v);
		free(res->groups[i].model);
	}
	free(res->hosts);
	free(res->subnets);
	free(res->groups);
	memset(res, 0, sizeof(*res));
}
