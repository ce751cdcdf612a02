/* topo.c - resolve a checked spec into a network: the default LAN and the
 * external region where they are used, an implicit gateway where none is
 * declared, one external server per statement that talks to external,
 * address ranges for subnets declared without one, addresses (routers
 * first, from the bottom of each range), link conditions, and routes
 * computed by breadth-first search over routers. */
#include "topo.h"
#include "../lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Routes in all; a bound that only absurd inputs reach. */
#define MAX_ROUTES 4000000

struct builder {
	struct spec *s;
	struct topo *t;
	/* per subnet: routers on it, as (node, iface) */
	struct member { size_t node, iface; } **routers_on;
	size_t *nrouters_on, *routers_cap;
	size_t nroutes;
};

static void *idx_val(size_t i)
{
	return (void *)(uintptr_t)(i + 1);
}

static size_t val_idx(void *v)
{
	return v ? (size_t)(uintptr_t)v - 1 : TOPO_NONE;
}

/* Names of nodes and subnets share one map; subnets are stored with the
 * top bit set to tell them apart. */
#define SUBNET_BIT ((size_t)1 << (sizeof(size_t) * 8 - 2))

size_t topo_node_find(const struct topo *t, const char *name)
{
	size_t v = val_idx(strmap_get(&t->byname, name));

	return v != TOPO_NONE && !(v & SUBNET_BIT) ? v : TOPO_NONE;
}

size_t topo_subnet_find(const struct topo *t, const char *name)
{
	size_t v = val_idx(strmap_get(&t->byname, name));

	return v != TOPO_NONE && (v & SUBNET_BIT) ? v & ~SUBNET_BIT : TOPO_NONE;
}

static bool name_taken(const struct topo *t, const char *name)
{
	return strmap_get(&t->byname, name) != NULL;
}

/* "gw", or "gw1", "gw2", ... when taken. */
static char *fresh_name(const struct topo *t, const char *base, bool numbered)
{
	char *n = numbered ? xasprintf("%s1", base) : xstrdup(base);

	for (unsigned k = numbered ? 2 : 1; name_taken(t, n); k++) {
		free(n);
		n = xasprintf("%s%u", base, k);
	}
	return n;
}

static size_t add_subnet(struct topo *t, const char *name, int decl)
{
	struct topo_subnet *sn = VEC_PUSH(t->subnets, t->nsubnets, t->subnets_cap);

	sn->name = xstrdup(name);
	sn->decl = decl;
	strmap_put(&t->byname, sn->name, idx_val((t->nsubnets - 1) | SUBNET_BIT));
	return t->nsubnets - 1;
}

static size_t add_node(struct topo *t, const char *name, enum topo_kind k)
{
	struct topo_node *n = VEC_PUSH(t->nodes, t->nnodes, t->nodes_cap);

	n->name = xstrdup(name);
	n->kind = k;
	strmap_put(&t->byname, n->name, idx_val(t->nnodes - 1));
	return t->nnodes - 1;
}

static size_t add_iface(struct topo *t, size_t node, size_t subnet)
{
	struct topo_node *n = &t->nodes[node];
	struct topo_iface *i = VEC_PUSH(n->ifaces, n->nifaces, n->ifaces_cap);

	snprintf(i->name, sizeof(i->name), "eth%zu", n->nifaces - 1);
	i->subnet = subnet;
	i->mtu = TOPO_DEFAULT_MTU;
	return n->nifaces - 1;
}

static bool gen_uses(const struct spec_gen *g, const char *name)
{
	for (size_t k = 0; k < g->nfrom; k++)
		if (!strcmp(g->from[k].name, name))
			return true;
	for (size_t k = 0; k < g->nto; k++)
		if (!strcmp(g->to[k].name, name))
			return true;
	return false;
}

/* ---- address ranges ---------------------------------------------------- */

static int cmp_u32pair(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;

	return *x < *y ? -1 : *x > *y;
}

/* Give every subnet without a range one in 10.0.0.0/8, big enough for
 * its members, clear of the declared ranges.  The default LAN comes first
 * so it is 10.0.0.0/24 whenever that is free. */
static void assign_ranges(struct builder *b, const size_t *members)
{
	struct topo *t = b->t;
	uint64_t *taken = xcalloc(t->nsubnets + 1, sizeof(*taken) * 2);
	size_t ntaken = 0;
	uint64_t cursor = 0x0a000000ull;
	size_t *order = xcalloc(t->nsubnets + 1, sizeof(*order)), norder = 0;

	for (size_t i = 0; i < t->nsubnets; i++) {
		if (t->subnets[i].plen) {
			taken[2 * ntaken] = t->subnets[i].addr;
			taken[2 * ntaken + 1] = (uint64_t)t->subnets[i].addr +
						(1ull << (32 - t->subnets[i].plen));
			ntaken++;
		}
	}
	if (ntaken)
		qsort(taken, ntaken, sizeof(uint64_t) * 2, cmp_u32pair);
	if (t->lan != TOPO_NONE && !t->subnets[t->lan].plen)
		order[norder++] = t->lan;
	for (size_t i = 0; i < t->nsubnets; i++)
		if (!t->subnets[i].plen && i != t->lan)
			order[norder++] = i;

	for (size_t k = 0; k < norder; k++) {
		struct topo_subnet *sn = &t->subnets[order[k]];
		uint8_t plen = 24;
		uint64_t size;

		while (plen > 8 && (1ull << (32 - plen)) < members[order[k]] + 2)
			plen--;
		size = 1ull << (32 - plen);
		cursor = (cursor + size - 1) & ~(size - 1);
		for (;;) {
			size_t lo = 0, hi = ntaken;
			bool clash = false;

			/* the last taken range that starts below cursor + size */
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;

				if (taken[2 * mid] < cursor + size)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo > 0 && taken[2 * (lo - 1) + 1] > cursor) {
				clash = true;
				cursor = (taken[2 * (lo - 1) + 1] + size - 1) & ~(size - 1);
			}
			if (!clash || cursor + size > 0x0b000000ull)
				break;
		}
		if (cursor + size > 0x0b000000ull) {
			struct spec_loc loc = { 0 };

			if (sn->decl >= 0)
				loc = b->s->subnets[sn->decl].loc;
			spec_diag(b->s, SPEC_ERROR, loc, "give it a range: subnet NAME 10.x.y.0/24",
				  "no room left in 10.0.0.0/8 for subnet %s", sn->name);
			break;
		}
		sn->addr = (uint32_t)cursor;
		sn->plen = plen;
		cursor += size;
	}
	free(order);
	free(taken);
}

/* ---- addresses ------------------------------------------------------------ */

static int cmp_addr(const void *a, const void *b)
{
	const struct topo_addr *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static bool addr_taken(const struct topo_addr *v, size_t n, uint32_t a)
{
	struct topo_addr key = { .addr = a };

	return n && bsearch(&key, v, n, sizeof(*v), cmp_addr) != NULL;
}

/* Number every interface: fixed addresses first, then routers, then hosts,
 * each from the bottom of its subnet. */
static void assign_addrs(struct builder *b)
{
	struct topo *t = b->t;
	struct topo_addr *fixed = NULL;
	size_t nfixed = 0, fcap = 0;
	uint32_t *cursor = xcalloc(t->nsubnets + 1, sizeof(*cursor));
	bool *full = xcalloc(t->nsubnets + 1, sizeof(*full));

	for (size_t i = 0; i < t->nnodes; i++) {
		const struct spec_host *h = t->nodes[i].decl;

		if (h && h->addr) {
			struct topo_addr *a = VEC_PUSH(fixed, nfixed, fcap);

			a->addr = h->addr;
			a->node = i;
			t->nodes[i].ifaces[0].addr = h->addr;
		}
	}
	if (nfixed)
		qsort(fixed, nfixed, sizeof(*fixed), cmp_addr);
	for (size_t s = 0; s < t->nsubnets; s++)
		cursor[s] = t->subnets[s].addr + 1;

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < t->nnodes; i++) {
			struct topo_node *n = &t->nodes[i];

			if ((pass == 0) != (n->kind == TOPO_ROUTER))
				continue;
			for (size_t k = 0; k < n->nifaces; k++) {
				struct topo_iface *f = &n->ifaces[k];
				struct topo_subnet *sn = &t->subnets[f->subnet];
				uint32_t bcast = sn->addr | ~spec_mask(sn->plen);

				if (f->addr || !sn->plen)
					continue;
				while (cursor[f->subnet] < bcast &&
				       addr_taken(fixed, nfixed, cursor[f->subnet]))
					cursor[f->subnet]++;
				if (cursor[f->subnet] >= bcast) {
					struct spec_loc loc = { 0 };
					char c[40];

					if (full[f->subnet])
						continue;
					full[f->subnet] = true;
					if (sn->decl >= 0)
						loc = b->s->subnets[sn->decl].cidr_loc;
					fmt_ipv4(c, sizeof(c), sn->addr);
					spec_diag(b->s, SPEC_ERROR, loc,
						  "give it a larger range (a shorter prefix)",
						  "subnet %s (%s/%u) has no room for all its hosts and routers",
						  sn->name, c, sn->plen);
					continue;
				}
				f->addr = cursor[f->subnet]++;
			}
		}
	}
	free(fixed);
	free(cursor);
	free(full);

	/* the lookup table of every address */
	for (size_t i = 0; i < t->nnodes; i++)
		t->naddrs += t->nodes[i].nifaces;
	t->addrs = xcalloc(t->naddrs + 1, sizeof(*t->addrs));
	t->naddrs = 0;
	for (size_t i = 0; i < t->nnodes; i++) {
		for (size_t k = 0; k < t->nodes[i].nifaces; k++) {
			struct topo_addr *a = &t->addrs[t->naddrs++];

			a->addr = t->nodes[i].ifaces[k].addr;
			a->node = i;
			a->iface = k;
		}
	}
	if (t->naddrs)
		qsort(t->addrs, t->naddrs, sizeof(*t->addrs), cmp_addr);
}

size_t topo_addr_owner(const struct topo *t, uint32_t addr, size_t *iface)
{
	struct topo_addr key = { .addr = addr };
	const struct topo_addr *a = t->naddrs
		? bsearch(&key, t->addrs, t->naddrs, sizeof(*a), cmp_addr) : NULL;

	if (!a)
		return TOPO_NONE;
	if (iface)
		*iface = a->iface;
	return a->node;
}

/* ---- link conditions -------------------------------------------------- */

static void apply_props(struct topo_iface *f, const struct spec_link_props *lp, bool swap)
{
	struct topo_cond *c[2] = { &f->up, &f->down };

	for (int d = 0; d < 2; d++) {
		struct topo_cond *to = c[swap ? 1 - d : d];
		unsigned set = lp->set[d];

		if (set & (1u << LP_RATE))
			to->rate = lp->rate[d];
		if (set & (1u << LP_DELAY))
			to->delay_us = lp->delay_us[d];
		if (set & (1u << LP_JITTER))
			to->jitter_us = lp->jitter_us[d];
		if (set & (1u << LP_LOSS))
			to->loss_ppm = lp->loss_ppm[d];
	}
	if ((lp->set[0] | lp->set[1]) & (1u << LP_MTU))
		f->mtu = lp->mtu;
}

/* Subnet defaults, then the host's own, then link statements. */
static void assign_conditions(struct builder *b)
{
	struct topo *t = b->t;
	const struct spec *s = b->s;

	for (size_t i = 0; i < t->nnodes; i++) {
		struct topo_node *n = &t->nodes[i];

		for (size_t k = 0; k < n->nifaces; k++) {
			const struct topo_subnet *sn = &t->subnets[n->ifaces[k].subnet];

			if (sn->decl >= 0)
				apply_props(&n->ifaces[k], &s->subnets[sn->decl].link, false);
		}
		if (n->decl)
			apply_props(&n->ifaces[0], &n->decl->link, false);
	}
	for (size_t i = 0; i < s->nlinks; i++) {
		const struct spec_link *l = &s->links[i];
		size_t na = topo_node_find(t, l->a.name);
		bool a_is_node = na != TOPO_NONE;
		size_t node = a_is_node ? na : topo_node_find(t, l->b.name);
		const char *net = a_is_node ? l->b.name : l->a.name;
		struct topo_node *n;

		if (node == TOPO_NONE)
			continue;
		n = &t->nodes[node];
		for (size_t k = 0; k < n->nifaces; k++)
			if (!strcmp(t->subnets[n->ifaces[k].subnet].name, net))
				apply_props(&n->ifaces[k], &l->props, !a_is_node);
	}
}

/* ---- routes ---------------------------------------------------------------- */

static void add_route(struct builder *b, struct topo_node *n, uint32_t dst, uint8_t plen,
		      uint32_t via, size_t iface)
{
	struct topo_route *r;

	if (++b->nroutes > MAX_ROUTES)
		return;
	r = VEC_PUSH(n->routes, n->nroutes, n->routes_cap);
	r->dst = dst;
	r->plen = plen;
	r->via = via;
	r->iface = iface;
}

struct hop_choice {
	uint32_t via;   /* 0: unreachable or connected */
	size_t iface;
	size_t router;  /* node index of the next hop */
};

/* Next hop toward every subnet for a node with ifaces on the given
 * subnets; dist[] holds each router's distance to the destination. */
static struct hop_choice choose(struct builder *b, size_t self, const struct topo_iface *ifs,
				size_t nifs, const unsigned *dist)
{
	struct topo *t = b->t;
	struct hop_choice best = { 0, 0, TOPO_NONE };
	unsigned bestd = ~0u;

	for (size_t k = 0; k < nifs; k++) {
		size_t s = ifs[k].subnet;

		for (size_t m = 0; m < b->nrouters_on[s]; m++) {
			struct member *r = &b->routers_on[s][m];
			const struct topo_node *rn = &t->nodes[r->node];

			if (r->node == self || dist[r->node] == ~0u)
				continue;
			/* NAT: nobody on the outside routes in through it */
			if (rn->nat && t->subnets[s].external)
				continue;
			if (dist[r->node] < bestd) {
				bestd = dist[r->node];
				best.via = rn->ifaces[r->iface].addr;
				best.iface = k;
				best.router = r->node;
			}
		}
	}
	return best;
}

/* Routes toward destination subnet d, for every node not on it.
 * hops[node] receives the choice; routers breadth-first. */
static void routes_to(struct builder *b, size_t d, unsigned *dist, size_t *queue,
		      struct hop_choice *out)
{
	struct topo *t = b->t;
	size_t qh = 0, qt = 0;

	for (size_t i = 0; i < t->nnodes; i++)
		dist[i] = ~0u;
	for (size_t m = 0; m < b->nrouters_on[d]; m++) {
		dist[b->routers_on[d][m].node] = 0;
		queue[qt++] = b->routers_on[d][m].node;
	}
	while (qh < qt) {
		size_t r = queue[qh++];
		const struct topo_node *rn = &t->nodes[r];

		for (size_t k = 0; k < rn->nifaces; k++) {
			size_t s = rn->ifaces[k].subnet;

			if (rn->nat && t->subnets[s].external && !t->subnets[d].external)
				continue;
			for (size_t m = 0; m < b->nrouters_on[s]; m++) {
				size_t r2 = b->routers_on[s][m].node;

				if (dist[r2] == ~0u) {
					dist[r2] = dist[r] + 1;
					queue[qt++] = r2;
				}
			}
		}
	}
	/* the choice for a host depends only on its subnet: compute once */
	for (size_t s = 0; s < t->nsubnets; s++) {
		struct topo_iface f = { .subnet = s };

		out[s] = s == d ? (struct hop_choice){ 0, 0, TOPO_NONE }
				: choose(b, TOPO_NONE, &f, 1, dist);
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* The route table of node n from its next hop toward each subnet
 * (hop[d * stride]): a default route toward the Internet when it can,
 * else, for hosts, toward the next hop most destinations share, and a
 * route for each destination that the default does not cover. */
static void node_routes(struct builder *b, struct topo_node *n, const struct hop_choice *hop,
			size_t stride, uint32_t *vias)
{
	struct topo *t = b->t;
	size_t ns = t->nsubnets, nv = 0;
	struct hop_choice def = { 0, 0, TOPO_NONE };

	if (t->external != TOPO_NONE && hop[t->external * stride].via) {
		def = hop[t->external * stride];
	} else if (n->kind == TOPO_HOST) {
		/* a router never takes a default route inward: two routers
		 * pointing at each other would loop unknown destinations */
		size_t best = 0, run = 0;
		uint32_t mode = 0;

		for (size_t d = 0; d < ns; d++)
			if (hop[d * stride].via)
				vias[nv++] = hop[d * stride].via;
		if (nv)
			qsort(vias, nv, sizeof(*vias), cmp_u32);
		for (size_t k = 0; k < nv; k++) {
			run = k && vias[k] == vias[k - 1] ? run + 1 : 1;
			if (run > best) {
				best = run;
				mode = vias[k];
			}
		}
		for (size_t d = 0; d < ns && mode; d++)
			if (hop[d * stride].via == mode) {
				def = hop[d * stride];
				break;
			}
	}
	if (def.via)
		add_route(b, n, 0, 0, def.via, def.iface);
	for (size_t d = 0; d < ns; d++) {
		const struct hop_choice *h = &hop[d * stride];
		bool connected = false;

		for (size_t k = 0; k < n->nifaces; k++)
			connected |= n->ifaces[k].subnet == d;
		if (connected || !h->via || h->via == def.via)
			continue;
		add_route(b, n, t->subnets[d].addr, t->subnets[d].plen, h->via, h->iface);
	}
}

static void compute_routes(struct builder *b)
{
	struct topo *t = b->t;
	size_t ns = t->nsubnets, nn = t->nnodes;
	unsigned *dist = xcalloc(nn + 1, sizeof(*dist));
	size_t *queue = xcalloc(nn + 1, sizeof(*queue));
	/* per destination subnet: the host choice per subnet, and per router */
	struct hop_choice *host_hop = xcalloc(ns * ns + 1, sizeof(*host_hop));
	struct hop_choice *rtr_hop;
	size_t nrtr = 0, *rtr_index = xcalloc(nn + 1, sizeof(*rtr_index));

	for (size_t i = 0; i < nn; i++)
		rtr_index[i] = t->nodes[i].kind == TOPO_ROUTER ? nrtr++ : TOPO_NONE;
	rtr_hop = xcalloc(nrtr * ns + 1, sizeof(*rtr_hop));

	for (size_t d = 0; d < ns; d++) {
		routes_to(b, d, dist, queue, &host_hop[d * ns]);
		for (size_t i = 0; i < nn; i++) {
			struct topo_node *n = &t->nodes[i];

			if (n->kind != TOPO_ROUTER)
				continue;
			bool connected = false;

			for (size_t k = 0; k < n->nifaces; k++)
				connected |= n->ifaces[k].subnet == d;
			if (!connected)
				rtr_hop[rtr_index[i] * ns + d] =
					choose(b, i, n->ifaces, n->nifaces, dist);
		}
	}

	/* hosts on one subnet share a table: build it once per subnet */
	{
		struct topo_node *tmpl = xcalloc(ns + 1, sizeof(*tmpl));
		struct topo_iface *f = xcalloc(ns + 1, sizeof(*f));
		uint32_t *vias = xcalloc(ns + 1, sizeof(*vias));

		for (size_t sn = 0; sn < ns; sn++) {
			f[sn].subnet = sn;
			tmpl[sn].ifaces = &f[sn];
			tmpl[sn].nifaces = 1;
			node_routes(b, &tmpl[sn], &host_hop[sn], ns, vias);
		}
		for (size_t i = 0; i < nn; i++) {
			struct topo_node *n = &t->nodes[i];

			if (!n->nifaces)
				continue;
			if (n->kind == TOPO_ROUTER) {
				node_routes(b, n, &rtr_hop[rtr_index[i] * ns], 1, vias);
			} else {
				const struct topo_node *tp = &tmpl[n->ifaces[0].subnet];

				b->nroutes += tp->nroutes;
				if (b->nroutes > MAX_ROUTES)
					break;
				n->nroutes = n->routes_cap = tp->nroutes;
				n->routes = xcalloc(tp->nroutes + 1, sizeof(*n->routes));
				if (tp->nroutes)
					memcpy(n->routes, tp->routes,
					       tp->nroutes * sizeof(*n->routes));
			}
		}
		for (size_t sn = 0; sn < ns; sn++)
			free(tmpl[sn].routes);
		free(tmpl);
		free(f);
		free(vias);
	}
	if (b->nroutes > MAX_ROUTES)
		spec_diag(b->s, SPEC_ERROR, (struct spec_loc){ 0 }, NULL,
			  "the network needs more than %u routes", MAX_ROUTES);
	free(dist);
	free(queue);
	free(host_hop);
	free(rtr_hop);
	free(rtr_index);
}

const struct topo_route *topo_route_lookup(const struct topo_node *n, uint32_t addr)
{
	const struct topo_route *best = NULL;

	/* connected subnets win: they are not in the table, so say so with
	 * a NULL route and let the caller look at the interfaces */
	for (size_t i = 0; i < n->nroutes; i++) {
		const struct topo_route *r = &n->routes[i];

		if ((addr & spec_mask(r->plen)) == r->dst && (!best || r->plen > best->plen))
			best = r;
	}
	return best;
}

static bool on_link(const struct topo *t, const struct topo_iface *f, uint32_t addr)
{
	const struct topo_subnet *sn = &t->subnets[f->subnet];

	return (addr & spec_mask(sn->plen)) == sn->addr;
}

size_t topo_path(const struct topo *t, size_t a, size_t b, struct topo_hop *hops, size_t *work)
{
	const size_t max = TOPO_MAX_HOPS;
	uint32_t dst;
	size_t n = 0, cur = a, biface = 0;

	if (a == b || !t->nodes[b].nifaces || !t->nodes[a].nifaces)
		return 0;
	dst = t->nodes[b].ifaces[0].addr;
	while (n + 1 < max) {
		const struct topo_node *node = &t->nodes[cur];
		const struct topo_route *r;
		size_t k, next, iface;
		uint32_t via = 0;

		if (work) {
			size_t cost = node->nroutes + node->nifaces;

			if (*work < cost)
				return TOPO_NONE;
			*work -= cost;
		}

		for (k = 0; k < node->nifaces; k++)
			if (on_link(t, &node->ifaces[k], dst))
				break;
		if (k < node->nifaces) {
			iface = k;
		} else {
			r = topo_route_lookup(node, dst);
			if (!r)
				return 0;
			iface = r->iface;
			via = r->via;
		}
		hops[n].node = cur;
		hops[n].iface = iface;
		n++;
		if (!via) {
			next = topo_addr_owner(t, dst, &biface);
			if (next != b)
				return 0;
			hops[n].node = b;
			hops[n].iface = biface;
			return n + 1;
		}
		next = topo_addr_owner(t, via, &k);
		if (next == TOPO_NONE)
			return 0;
		/* the hop arriving at the router: its interface on this link */
		if (n + 1 >= max)
			return 0;
		hops[n].node = next;
		hops[n].iface = k;
		n++;
		cur = next;
	}
	return 0;
}

/* ---- mirrors ------------------------------------------------------------- */

static void resolve_mirrors(struct builder *b)
{
	struct topo *t = b->t;
	const struct spec *s = b->s;

	t->mirrors = xcalloc(s->nmirrors + 1, sizeof(*t->mirrors));
	for (size_t i = 0; i < s->nmirrors; i++) {
		const struct spec_mirror *m = &s->mirrors[i];
		struct topo_mirror *tm = &t->mirrors[t->nmirrors++];
		size_t cap = 0, count = 0;

		tm->monitor = topo_node_find(t, m->to.name);
		for (size_t k = 0; k < i; k++)
			count += t->mirrors[k].monitor == tm->monitor;
		snprintf(tm->ifname, sizeof(tm->ifname), "mon%zu", count);
		if (m->net.name) {
			size_t node = topo_node_find(t, m->what.name);
			const struct topo_node *nd = &t->nodes[node];

			for (size_t k = 0; k < nd->nifaces; k++) {
				if (strcmp(t->subnets[nd->ifaces[k].subnet].name, m->net.name))
					continue;
				struct topo_port *pt = VEC_PUSH(tm->ports, tm->nports, cap);

				pt->node = node;
				pt->iface = k;
				pt->both = true;
			}
			continue;
		}
		{
			size_t sub = !strcmp(m->what.name, "external") ? t->external
				     : topo_subnet_find(t, m->what.name);

			for (size_t n = 0; sub != TOPO_NONE && n < t->nnodes; n++) {
				for (size_t k = 0; k < t->nodes[n].nifaces; k++) {
					if (t->nodes[n].ifaces[k].subnet != sub)
						continue;
					struct topo_port *pt = VEC_PUSH(tm->ports, tm->nports, cap);

					pt->node = n;
					pt->iface = k;
				}
			}
		}
	}
}

/* ---- building ------------------------------------------------------------- */

struct topo *topo_build(struct spec *s)
{
	struct topo *t;
	struct builder b = { .s = s };
	bool need_lan = false, need_ext = false, ext_router = false;
	size_t *members = NULL;

	if (s->errors)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	b.t = t;
	t->lan = t->external = TOPO_NONE;

	/* which implicit networks exist */
	need_lan = s->nimplicit > 0;
	for (size_t i = 0; i < s->nhosts; i++) {
		need_lan |= s->hosts[i].subnet_idx == SPEC_DEFAULT_LAN;
		need_ext |= s->hosts[i].subnet_idx == SPEC_EXTERNAL;
	}
	for (size_t i = 0; i < s->nrouters; i++) {
		for (size_t k = 0; k < s->routers[i].njoins; k++) {
			need_ext |= !strcmp(s->routers[i].joins[k].name, "external");
			need_lan |= !strcmp(s->routers[i].joins[k].name, SPEC_DEFAULT_LAN_NAME);
			ext_router |= !strcmp(s->routers[i].joins[k].name, "external");
		}
	}
	for (size_t i = 0; i < s->ngens; i++) {
		need_ext |= gen_uses(&s->gens[i], "external");
		need_lan |= gen_uses(&s->gens[i], SPEC_DEFAULT_LAN_NAME);
	}
	for (size_t i = 0; i < s->nlinks; i++) {
		need_ext |= !strcmp(s->links[i].a.name, "external") ||
			    !strcmp(s->links[i].b.name, "external");
		need_lan |= !strcmp(s->links[i].a.name, SPEC_DEFAULT_LAN_NAME) ||
			    !strcmp(s->links[i].b.name, SPEC_DEFAULT_LAN_NAME);
	}

	/* subnets: the declared ones, then the default LAN and external */
	for (size_t i = 0; i < s->nsubnets; i++) {
		size_t k = add_subnet(t, s->subnets[i].name, (int)i);

		t->subnets[k].addr = s->subnets[i].addr;
		t->subnets[k].plen = s->subnets[i].plen;
		t->subnets[k].implicit = !s->subnets[i].plen;
		if (!strcmp(s->subnets[i].name, SPEC_DEFAULT_LAN_NAME))
			t->lan = k;
	}
	if (need_lan && t->lan == TOPO_NONE) {
		t->lan = add_subnet(t, SPEC_DEFAULT_LAN_NAME, -1);
		t->subnets[t->lan].implicit = true;
	}
	if (need_ext) {
		t->external = add_subnet(t, "external", -1);
		t->subnets[t->external].external = true;
		t->subnets[t->external].addr = SPEC_EXTERNAL_CIDR_ADDR;
		t->subnets[t->external].plen = SPEC_EXTERNAL_CIDR_PLEN;
	}

	/* hosts: declared, implicit, then one external server per statement */
	for (size_t i = 0; i < s->nhosts; i++) {
		const struct spec_host *h = &s->hosts[i];
		size_t n = add_node(t, h->name, TOPO_HOST);
		size_t sub = h->subnet_idx >= 0 ? (size_t)h->subnet_idx
			   : h->subnet_idx == SPEC_EXTERNAL ? t->external : t->lan;

		t->nodes[n].decl = h;
		t->nodes[n].external = h->subnet_idx == SPEC_EXTERNAL;
		add_iface(t, n, sub);
	}
	for (size_t i = 0; i < s->nimplicit; i++) {
		size_t n = add_node(t, s->implicit[i].name, TOPO_HOST);

		t->nodes[n].implicit = true;
		add_iface(t, n, t->lan);
	}
	t->gen_external = xcalloc(s->ngens + 1, sizeof(*t->gen_external));
	for (size_t i = 0; i < s->ngens; i++) {
		t->gen_external[i] = TOPO_NONE;
		if (gen_uses(&s->gens[i], "external")) {
			char *name = fresh_name(t, "ext", true);
			size_t n = add_node(t, name, TOPO_HOST);

			free(name);
			t->nodes[n].implicit = t->nodes[n].external = true;
			add_iface(t, n, t->external);
			t->gen_external[i] = n;
		}
	}

	/* routers: declared, then an implicit gateway where one is needed */
	for (size_t i = 0; i < s->nrouters; i++) {
		const struct spec_router *r = &s->routers[i];
		size_t n = add_node(t, r->name, TOPO_ROUTER);

		t->nodes[n].nat = r->nat;
		for (size_t k = 0; k < r->njoins; k++)
			add_iface(t, n, !strcmp(r->joins[k].name, "external") ? t->external
					: topo_subnet_find(t, r->joins[k].name));
	}
	{
		size_t internal = t->nsubnets - (need_ext ? 1 : 0);
		bool gw = (need_ext && !ext_router) || (!s->nrouters && internal > 1);

		if (gw) {
			char *name = fresh_name(t, "gw", false);
			size_t n = add_node(t, name, TOPO_ROUTER);

			free(name);
			t->nodes[n].implicit = true;
			for (size_t k = 0; k < t->nsubnets; k++) {
				bool join = t->subnets[k].external ? need_ext
					  : !s->nrouters ? true
					  : t->lan != TOPO_NONE ? k == t->lan : k == 0;

				if (join)
					add_iface(t, n, k);
			}
		}
	}

	/* members per subnet size the implicit ranges */
	members = xcalloc(t->nsubnets + 1, sizeof(*members));
	b.routers_on = xcalloc(t->nsubnets + 1, sizeof(*b.routers_on));
	b.nrouters_on = xcalloc(t->nsubnets + 1, sizeof(*b.nrouters_on));
	b.routers_cap = xcalloc(t->nsubnets + 1, sizeof(*b.routers_cap));
	for (size_t i = 0; i < t->nnodes; i++) {
		for (size_t k = 0; k < t->nodes[i].nifaces; k++) {
			size_t sn = t->nodes[i].ifaces[k].subnet;

			members[sn]++;
			if (t->nodes[i].kind == TOPO_ROUTER) {
				struct member *m = VEC_PUSH(b.routers_on[sn], b.nrouters_on[sn],
							    b.routers_cap[sn]);
				m->node = i;
				m->iface = k;
			}
		}
	}
	assign_ranges(&b, members);
	if (!s->errors)
		assign_addrs(&b);
	if (!s->errors) {
		assign_conditions(&b);
		compute_routes(&b);
	}

	if (!s->errors)
		resolve_mirrors(&b);
	for (size_t i = 0; i < t->nsubnets; i++)
		free(b.routers_on[i]);
	free(b.routers_on);
	free(b.nrouters_on);
	free(b.routers_cap);
	free(members);
	if (s->errors) {
		topo_free(t);
		return NULL;
	}
	return t;
}

void topo_free(struct topo *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nsubnets; i++)
		free(t->subnets[i].name);
	free(t->subnets);
	for (size_t i = 0; i < t->nnodes; i++) {
		free(t->nodes[i].name);
		free(t->nodes[i].ifaces);
		free(t->nodes[i].routes);
	}
	free(t->nodes);
	strmap_free(&t->byname);
	free(t->gen_external);
	free(t->addrs);
	for (size_t i = 0; i < t->nmirrors; i++)
		free(t->mirrors[i].ports);
	free(t->mirrors);
	free(t);
}
