/* check.c - the meaning of a parsed spec: one namespace for subnets, hosts
 * and routers, addresses inside their subnets, links between a node and a
 * subnet it is on, and generate statements whose endpoints exist and
 * differ.  Capacity along paths needs the resolved topology and is checked
 * by src/plan. */
#include "spec-int.h"
#include "../lib/strmap.h"
#include "../lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum ent_kind { ENT_SUBNET, ENT_HOST, ENT_ROUTER, ENT_IMPLICIT };

struct ent {
	enum ent_kind kind;
	size_t idx;
	struct spec_loc loc;
};

struct checker {
	struct spec *s;
	struct strmap names;   /* name -> struct ent */
	struct ent *ents;
	size_t nents, cap;
	/* implicit hosts are allowed only when the spec declares none */
	bool declared;
};

static const char *kind_name(enum ent_kind k)
{
	switch (k) {
	case ENT_SUBNET: return "subnet";
	case ENT_ROUTER: return "router";
	default: return "host";
	}
}

static struct ent *lookup(struct checker *c, const char *name)
{
	return strmap_get(&c->names, name);
}

/* ents is reallocated as it grows, so the map stores indexes + 1. */
static struct ent *ent_at(struct checker *c, void *v)
{
	return v ? &c->ents[(size_t)(uintptr_t)v - 1] : NULL;
}

static struct ent *find(struct checker *c, const char *name)
{
	return ent_at(c, lookup(c, name));
}

static void declare(struct checker *c, const char *name, enum ent_kind k, size_t idx,
		    struct spec_loc loc)
{
	struct ent *e;
	void *old;

	e = VEC_PUSH(c->ents, c->nents, c->cap);
	e->kind = k;
	e->idx = idx;
	e->loc = loc;
	old = strmap_put(&c->names, name, (void *)(uintptr_t)c->nents);
	if (old) {
		struct ent *o = ent_at(c, old);
		char where[64];

		c->nents--;
		snprintf(where, sizeof(where), "first declared as a %s at line %u",
			 kind_name(o->kind), o->loc.line);
		spec_diag(c->s, SPEC_ERROR, loc, where, "'%s' is declared twice", name);
	}
}

/* Every name a user could have meant, for "did you mean". */
static const char *suggest_name(struct checker *c, const char *w, int want)
{
	const char **cands = xcalloc(c->names.cap + 1, sizeof(*cands));
	const char *r;
	size_t n = 0;

	for (size_t i = 0; i < c->names.cap && n < 4096; i++) {
		struct strmap_slot *sl = &c->names.slots[i];

		if (sl->key && (want < 0 || ent_at(c, sl->val)->kind == (enum ent_kind)want))
			cands[n++] = sl->key;
	}
	r = str_suggest(w, cands, n);
	free(cands);
	return r;
}

static void unknown(struct checker *c, const struct spec_name *nm, const char *what, int want)
{
	const char *sug;
	char hint[96];

	/* a declaration that did not parse would make every use an error */
	if (c->s->topo_failed)
		return;
	sug = suggest_name(c, nm->name, want);
	if (sug)
		snprintf(hint, sizeof(hint), "did you mean '%s'?", sug);
	else
		snprintf(hint, sizeof(hint), "declare it first");
	spec_diag(c->s, SPEC_ERROR, nm->loc, hint, "unknown %s '%s'", what, nm->name);
}

static bool in_subnet(uint32_t a, uint32_t net, uint8_t plen)
{
	return (a & spec_mask(plen)) == net;
}

static void fmt_cidr(char *out, size_t n, uint32_t a, uint8_t plen)
{
	char s[20];

	fmt_ipv4(s, sizeof(s), a);
	snprintf(out, n, "%s/%u", s, plen);
}

/* ---- subnets ----------------------------------------------------------- */

static int cmp_subnet(const void *a, const void *b, void *ctx)
{
	const struct spec_subnet *v = ctx;
	const struct spec_subnet *x = &v[*(const size_t *)a], *y = &v[*(const size_t *)b];

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->plen < y->plen ? -1 : x->plen > y->plen;
}

/* qsort has no context argument in C11: a bottom-up merge sort of the
 * indexes keeps this O(n log n) for large generated specs. */
static void sort_idx(size_t *v, size_t n, const struct spec_subnet *sn)
{
	size_t *tmp;

	if (n < 2)
		return;
	tmp = xcalloc(n, sizeof(*tmp));
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = MIN(lo + w, n), hi = MIN(lo + 2 * w, n);
			size_t i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				tmp[k++] = cmp_subnet(&v[j], &v[i], (void *)sn) < 0 ? v[j++] : v[i++];
			while (i < mid)
				tmp[k++] = v[i++];
			while (j < hi)
				tmp[k++] = v[j++];
		}
		memcpy(v, tmp, n * sizeof(*v));
	}
	free(tmp);
}

static void check_subnets(struct checker *c)
{
	struct spec *s = c->s;
	size_t *idx = xcalloc(s->nsubnets + 1, sizeof(*idx)), n = 0;
	uint64_t end_max = 0;
	size_t holder = 0;
	char a[40], b[40];

	for (size_t i = 0; i < s->nsubnets; i++) {
		struct spec_subnet *sn = &s->subnets[i];

		declare(c, sn->name, ENT_SUBNET, i, sn->loc);
		if (!sn->plen)
			continue; /* addressed by the topology */
		if (in_subnet(sn->addr, SPEC_EXTERNAL_CIDR_ADDR, SPEC_EXTERNAL_CIDR_PLEN) ||
		    in_subnet(SPEC_EXTERNAL_CIDR_ADDR, sn->addr & spec_mask(sn->plen), sn->plen)) {
			fmt_cidr(a, sizeof(a), sn->addr, sn->plen);
			spec_diag(s, SPEC_ERROR, sn->cidr_loc,
				  "198.18.0.0/15 is the emulated Internet; use a private range",
				  "subnet %s overlaps the external region", a);
		}
		idx[n++] = i;
	}
	sort_idx(idx, n, s->subnets);
	for (size_t k = 0; k < n; k++) {
		struct spec_subnet *sn = &s->subnets[idx[k]];
		uint64_t start = sn->addr, end = start + (1ull << (32 - sn->plen));

		if (k > 0 && start < end_max) {
			struct spec_subnet *o = &s->subnets[holder];
			char hint[96];

			fmt_cidr(a, sizeof(a), sn->addr, sn->plen);
			fmt_cidr(b, sizeof(b), o->addr, o->plen);
			snprintf(hint, sizeof(hint), "%s is subnet %s, declared at line %u", b,
				 o->name, o->loc.line);
			spec_diag(s, SPEC_ERROR, sn->cidr_loc, hint,
				  "subnet %s (%s) overlaps subnet %s", sn->name, a, o->name);
		}
		if (end > end_max) {
			end_max = end;
			holder = idx[k];
		}
	}
	free(idx);
}

/* ---- hosts ----------------------------------------------------------- */

static void check_hosts(struct checker *c)
{
	struct spec *s = c->s;
	struct strmap addrs = { 0 };
	char (*keys)[16] = xcalloc(s->nhosts + 1, sizeof(*keys));

	for (size_t i = 0; i < s->nhosts; i++)
		declare(c, s->hosts[i].name, ENT_HOST, i, s->hosts[i].loc);

	for (size_t i = 0; i < s->nhosts; i++) {
		struct spec_host *h = &s->hosts[i];
		const struct spec_subnet *sn = NULL;
		uint32_t net = 0;
		uint8_t plen = 0;
		char a[40];

		h->subnet_idx = SPEC_DEFAULT_LAN;
		if (h->subnet && !strcmp(h->subnet, "external")) {
			h->subnet_idx = SPEC_EXTERNAL;
			net = SPEC_EXTERNAL_CIDR_ADDR;
			plen = SPEC_EXTERNAL_CIDR_PLEN;
		} else if (h->subnet && !strcmp(h->subnet, SPEC_DEFAULT_LAN_NAME) &&
			   !find(c, h->subnet)) {
			/* the default LAN, made by the topology */
		} else if (h->subnet) {
			struct ent *e = find(c, h->subnet);
			struct spec_name nm = { h->subnet, h->subnet_loc };

			if (!e || e->kind != ENT_SUBNET) {
				if (e)
					spec_diag(s, SPEC_ERROR, h->subnet_loc, NULL,
						  "'%s' is a %s, not a subnet", h->subnet,
						  kind_name(e->kind));
				else
					unknown(c, &nm, "subnet", ENT_SUBNET);
				continue;
			}
			h->subnet_idx = (int)e->idx;
			sn = &s->subnets[e->idx];
		} else if (h->addr) {
			/* placed by its address */
			for (size_t k = 0; k < s->nsubnets; k++) {
				if (s->subnets[k].plen &&
				    in_subnet(h->addr, s->subnets[k].addr, s->subnets[k].plen)) {
					h->subnet_idx = (int)k;
					sn = &s->subnets[k];
					break;
				}
			}
			if (!sn) {
				fmt_ipv4(a, sizeof(a), h->addr);
				spec_diag(s, SPEC_ERROR, h->addr_loc,
					  "say where it is: host NAME in SUBNET address ...",
					  "no declared subnet holds %s", a);
				continue;
			}
		} else {
			/* the default LAN: a declared subnet called "lan", if any */
			struct ent *e = find(c, SPEC_DEFAULT_LAN_NAME);

			if (e && e->kind == ENT_SUBNET) {
				h->subnet_idx = (int)e->idx;
				sn = &s->subnets[e->idx];
			}
		}
		if (sn) {
			net = sn->addr;
			plen = sn->plen;
		}
		if (!h->addr)
			continue;
		if (h->subnet_idx == SPEC_DEFAULT_LAN) {
			spec_diag(s, SPEC_ERROR, h->addr_loc,
				  "declare it to choose its range: subnet lan 10.0.0.0/24 ;",
				  "the default LAN has no declared address range");
			continue;
		}
		if (sn && !sn->plen) {
			spec_diag(s, SPEC_ERROR, h->addr_loc,
				  "give the subnet an address range to place hosts by address",
				  "subnet %s has no address range", sn->name);
			continue;
		}
		if (plen && !in_subnet(h->addr, net, plen)) {
			char b[40];

			fmt_ipv4(a, sizeof(a), h->addr);
			fmt_cidr(b, sizeof(b), net, plen);
			spec_diag(s, SPEC_ERROR, h->addr_loc, NULL,
				  "address %s is outside %s (%s)", a,
				  h->subnet_idx == SPEC_EXTERNAL ? "the external region" : sn->name, b);
			continue;
		}
		if (plen && (h->addr == net || h->addr == (net | ~spec_mask(plen)))) {
			fmt_ipv4(a, sizeof(a), h->addr);
			spec_diag(s, SPEC_ERROR, h->addr_loc, NULL,
				  "%s is the %s address of its subnet", a,
				  h->addr == net ? "network" : "broadcast");
			continue;
		}
		fmt_ipv4(keys[i], sizeof(keys[i]), h->addr);
		if (strmap_put(&addrs, keys[i], h)) {
			struct spec_host *o = strmap_get(&addrs, keys[i]);
			char hint[96];

			snprintf(hint, sizeof(hint), "host %s has it (line %u)", o->name, o->loc.line);
			spec_diag(s, SPEC_ERROR, h->addr_loc, hint, "address %s is taken", keys[i]);
		}
	}
	strmap_free(&addrs);
	free(keys);
}

/* ---- routers --------------------------------------------------------- */

static void check_routers(struct checker *c)
{
	struct spec *s = c->s;

	for (size_t i = 0; i < s->nrouters; i++)
		declare(c, s->routers[i].name, ENT_ROUTER, i, s->routers[i].loc);

	for (size_t i = 0; i < s->nrouters; i++) {
		struct spec_router *r = &s->routers[i];
		bool ext = false;

		for (size_t k = 0; k < r->njoins; k++) {
			struct spec_name *j = &r->joins[k];
			struct ent *e;

			for (size_t m = 0; m < k; m++)
				if (!strcmp(r->joins[m].name, j->name))
					spec_diag(s, SPEC_ERROR, j->loc, NULL,
						  "router %s joins %s twice", r->name, j->name);
			if (!strcmp(j->name, "external")) {
				ext = true;
				continue;
			}
			if (!strcmp(j->name, SPEC_DEFAULT_LAN_NAME) && !find(c, j->name))
				continue; /* the default LAN, made by the topology */
			e = find(c, j->name);
			if (!e)
				unknown(c, j, "subnet", ENT_SUBNET);
			else if (e->kind != ENT_SUBNET)
				spec_diag(s, SPEC_ERROR, j->loc,
					  "a router joins subnets; hosts join subnets with 'in'",
					  "'%s' is a %s, not a subnet", j->name, kind_name(e->kind));
		}
		if (r->njoins < 2)
			spec_diag(s, SPEC_ERROR, r->loc, "write: router gw joins lan, external ;",
				  "router %s joins one network; a router joins two or more", r->name);
		if (r->nat && !ext)
			spec_diag(s, SPEC_ERROR, r->nat_loc, "add external to what it joins",
				  "NAT needs a router that joins external");
	}
}

/* ---- links ------------------------------------------------------------ */

/* The subnet a host is on, by name; "external" for the external region. */
static const char *host_subnet(struct checker *c, struct ent *e)
{
	struct spec_host *h;

	if (e->kind == ENT_IMPLICIT)
		return SPEC_DEFAULT_LAN_NAME;
	h = &c->s->hosts[e->idx];
	if (h->subnet_idx == SPEC_EXTERNAL)
		return "external";
	if (h->subnet_idx >= 0)
		return c->s->subnets[h->subnet_idx].name;
	return SPEC_DEFAULT_LAN_NAME;
}

static bool is_network(struct checker *c, const char *name)
{
	struct ent *e;

	if (!strcmp(name, "external"))
		return true;
	e = find(c, name);
	if (e)
		return e->kind == ENT_SUBNET;
	return !strcmp(name, SPEC_DEFAULT_LAN_NAME);
}

static bool node_on(struct checker *c, struct ent *e, const char *net)
{
	if (e->kind == ENT_ROUTER) {
		struct spec_router *r = &c->s->routers[e->idx];

		for (size_t k = 0; k < r->njoins; k++)
			if (!strcmp(r->joins[k].name, net))
				return true;
		return false;
	}
	return !strcmp(host_subnet(c, e), net);
}

static void check_links(struct checker *c)
{
	struct spec *s = c->s;
	static const char *const prop[] = { "rate", "delay", "jitter", "loss", "mtu" };

	for (size_t i = 0; i < s->nlinks; i++) {
		struct spec_link *l = &s->links[i];
		bool an = is_network(c, l->a.name), bn = is_network(c, l->b.name);
		const struct spec_name *node = an ? &l->b : &l->a, *net = an ? &l->a : &l->b;
		struct ent *e;

		if (an == bn) {
			spec_diag(s, SPEC_ERROR, l->loc, "write: link h1 -- lan delay 20 ms ;",
				  "a link joins a host or router to a subnet it is on; "
				  "'%s' and '%s' are both %s", l->a.name, l->b.name,
				  an ? "networks" : "nodes");
			continue;
		}
		e = find(c, node->name);
		if (!e && !strcmp(node->name, "gw") && !c->s->topo_failed) {
			spec_diag(s, SPEC_ERROR, node->loc,
				  "declare the gateway to set its links: router gw joins lan, external ;",
				  "unknown router 'gw'");
			continue;
		}
		if (!e) {
			unknown(c, node, "host or router", -1);
			continue;
		}
		if (!node_on(c, e, net->name)) {
			char hint[96];

			if (e->kind == ENT_ROUTER)
				snprintf(hint, sizeof(hint), "%s does not join %s", node->name, net->name);
			else
				snprintf(hint, sizeof(hint), "%s is on %s", node->name, host_subnet(c, e));
			spec_diag(s, SPEC_ERROR, net->loc, hint, "%s is not on %s", node->name,
				  net->name);
			continue;
		}
		if (l->props.jitter_us[0] > 0 && !l->props.delay_us[0] &&
		    (l->props.set[0] & (1u << LP_JITTER)) && !(l->props.set[0] & (1u << LP_DELAY)))
			spec_diag(s, SPEC_WARNING, l->props.loc[0][LP_JITTER],
				  "jitter varies a delay; give 'delay' too", "jitter without delay");
		/* the same property set twice for one direction of one link */
		for (size_t j = 0; j < i; j++) {
			struct spec_link *o = &s->links[j];
			bool same = !strcmp(o->a.name, l->a.name) && !strcmp(o->b.name, l->b.name);
			bool swap = !strcmp(o->a.name, l->b.name) && !strcmp(o->b.name, l->a.name);

			if (!same && !swap)
				continue;
			for (int pidx = 0; pidx < LP__COUNT; pidx++) {
				unsigned bit = 1u << pidx;
				char hint[64];

				for (int d = 0; d < 2; d++) {
					int od = same ? d : 1 - d;

					if (!(l->props.set[d] & o->props.set[od] & bit))
						continue;
					snprintf(hint, sizeof(hint), "first set at line %u",
						 o->props.loc[od][pidx].line);
					spec_diag(s, SPEC_ERROR, l->props.loc[d][pidx], hint,
						  "%s of link %s -- %s is set twice", prop[pidx],
						  node->name, net->name);
					/* once per property, whatever the directions */
					l->props.set[0] &= ~bit;
					l->props.set[1] &= ~bit;
				}
			}
		}
	}
}

/* ---- generate statements --------------------------------------------- */

/* First pass: every endpoint name that is not declared becomes an
 * implicit host on the default LAN, or an error when the spec declares
 * its hosts. */
static void add_implicit(struct checker *c, struct spec_name *v, size_t n)
{
	struct spec *s = c->s;

	for (size_t k = 0; k < n; k++) {
		struct spec_name *nm = &v[k], *im;

		if (!strcmp(nm->name, "external") || !strcmp(nm->name, SPEC_DEFAULT_LAN_NAME) ||
		    find(c, nm->name))
			continue;
		if (c->declared) {
			unknown(c, nm, "host", -1);
			continue;
		}
		if (s->nimplicit >= SPEC_MAX_HOSTS) {
			spec_diag(s, SPEC_ERROR, nm->loc, NULL, "more than %u hosts",
				  (unsigned)SPEC_MAX_HOSTS);
			continue;
		}
		im = VEC_PUSH(s->implicit, s->nimplicit, s->implicit_cap);
		im->name = xstrdup(nm->name);
		im->loc = nm->loc;
		declare(c, im->name, ENT_IMPLICIT, s->nimplicit - 1, nm->loc);
	}
}

/* The number of hosts an endpoint stands for (0 after an error), and the
 * host's name when it is a single host. */
static size_t resolve_endpoint(struct checker *c, struct spec_name *nm, const char **one)
{
	struct spec *s = c->s;
	struct ent *e;
	int sub;
	size_t n = 0;

	*one = NULL;
	if (!strcmp(nm->name, "external"))
		return 1;
	e = find(c, nm->name);
	if (!e && strcmp(nm->name, SPEC_DEFAULT_LAN_NAME))
		return 0; /* reported by add_implicit */
	if (e && e->kind == ENT_ROUTER) {
		spec_diag(s, SPEC_ERROR, nm->loc, "traffic runs between hosts; routers forward it",
			  "'%s' is a router", nm->name);
		return 0;
	}
	if (e && e->kind != ENT_SUBNET) {
		*one = nm->name;
		return 1;
	}
	/* a subnet, maybe the default LAN, which also holds implicit hosts */
	sub = e ? (int)e->idx : SPEC_DEFAULT_LAN;
	for (size_t i = 0; i < s->nhosts; i++)
		if (s->hosts[i].subnet_idx == sub)
			n++;
	if (!strcmp(nm->name, SPEC_DEFAULT_LAN_NAME))
		n += s->nimplicit;
	if (!n)
		spec_diag(s, SPEC_ERROR, nm->loc, "declare hosts in it with 'host ... in'",
			  "subnet %s has no hosts", nm->name);
	return n;
}

/* Does host h (declared) serve class cls with protocols ps? */
static bool serves(const struct spec_host *h, enum spec_class cls, spec_protoset ps)
{
	spec_protoset want = ps ? ps : spec_class_protos(cls);

	for (size_t i = 0; i < h->nservices; i++) {
		const struct spec_service *sv = &h->services[i];

		if (sv->cls == (int)cls)
			return true;
		if (sv->proto >= 0 && (want & (1u << sv->proto)))
			return true;
	}
	return false;
}

static void check_served(struct checker *c, struct spec_gen *g, enum spec_class cls,
			 spec_protoset ps)
{
	for (size_t i = 0; i < g->nto; i++) {
		struct ent *e = find(c, g->to[i].name);
		struct spec_host *h;
		struct buf b = { 0 };
		char *hint;

		if (!e || e->kind != ENT_HOST)
			continue;
		h = &c->s->hosts[e->idx];
		if (!h->nservices || serves(h, cls, ps))
			continue;
		buf_printf(&b, "%s serves", h->name);
		for (size_t k = 0; k < h->nservices; k++)
			buf_printf(&b, "%s %s", k ? "," : ":", h->services[k].name);
		buf_printf(&b, "; add %s to them", spec_class_name(cls));
		hint = buf_steal(&b);
		spec_diag(c->s, SPEC_ERROR, g->to[i].loc, hint, "%s does not serve %s traffic",
			  h->name, spec_class_name(cls));
		free(hint);
	}
}

static void check_gens(struct checker *c)
{
	struct spec *s = c->s;

	for (size_t i = 0; i < s->ngens; i++) {
		add_implicit(c, s->gens[i].from, s->gens[i].nfrom);
		add_implicit(c, s->gens[i].to, s->gens[i].nto);
	}

	for (size_t i = 0; i < s->ngens; i++) {
		struct spec_gen *g = &s->gens[i];
		size_t nf = 0, nt = 0, ext_f = 0, ext_t = 0;
		const char *one_f = NULL, *one_t = NULL, *one;
		bool bad = false;

		for (size_t k = 0; k < g->nfrom; k++) {
			size_t n = resolve_endpoint(c, &g->from[k], &one);

			bad |= n == 0;
			nf += n;
			one_f = one;
			ext_f += !strcmp(g->from[k].name, "external");
		}
		for (size_t k = 0; k < g->nto; k++) {
			size_t n = resolve_endpoint(c, &g->to[k], &one);

			bad |= n == 0;
			nt += n;
			one_t = one;
			ext_t += !strcmp(g->to[k].name, "external");
		}
		if (bad)
			continue;
		if (nf == 1 && nt == 1 && one_f && one_t && !strcmp(one_f, one_t))
			spec_diag(s, SPEC_ERROR, g->to_loc, "traffic needs two different hosts",
				  "'from' and 'to' are the same host, %s", one_f);
		if (ext_f && ext_t && nf == ext_f && nt == ext_t)
			spec_diag(s, SPEC_ERROR, g->to_loc,
				  "one side must be inside the emulated network",
				  "'from' and 'to' are both external");
		if (g->mix) {
			uint64_t sum = 0;

			for (size_t k = 0; k < g->nitems; k++) {
				sum += g->items[k].share_ppm;
				check_served(c, g, g->items[k].cls, g->items[k].protos);
			}
			if (sum != 1000000) {
				char have[32];

				fmt_ppm_percent(have, sizeof(have), (uint32_t)MIN(sum, 100000000));
				spec_diag(s, SPEC_ERROR, g->items[0].loc, "the shares of a mix add up to 100%",
					  "shares add up to %s, not 100%%", have);
			}
		} else {
			check_served(c, g, g->cls, g->protos);
		}
	}
}

/* A mirror copies a network's traffic, or a link's, to a host. */
static void check_mirrors(struct checker *c)
{
	struct spec *s = c->s;

	for (size_t i = 0; i < s->nmirrors; i++) {
		struct spec_mirror *m = &s->mirrors[i];
		struct ent *e;

		if (!m->net.name) {
			if (!is_network(c, m->what.name)) {
				e = find(c, m->what.name);
				if (e)
					spec_diag(s, SPEC_ERROR, m->what.loc,
						  "mirror one link of it: mirror NODE -- NETWORK to HOST ;",
						  "'%s' is a %s, not a network", m->what.name,
						  kind_name(e->kind));
				else
					unknown(c, &m->what, "subnet", ENT_SUBNET);
			}
		} else {
			e = find(c, m->what.name);
			if (!e) {
				unknown(c, &m->what, "host or router", -1);
			} else if (e->kind == ENT_SUBNET) {
				spec_diag(s, SPEC_ERROR, m->what.loc, "write: mirror h1 -- lan to ids ;",
					  "a mirrored link starts at a host or router, not a subnet");
			} else if (!node_on(c, e, m->net.name)) {
				spec_diag(s, SPEC_ERROR, m->net.loc, NULL, "%s is not on %s",
					  m->what.name, m->net.name);
			}
		}
		e = find(c, m->to.name);
		if (e && e->kind != ENT_HOST && e->kind != ENT_IMPLICIT)
			spec_diag(s, SPEC_ERROR, m->to.loc, "copies go to a host that monitors",
				  "'%s' is a %s, not a host", m->to.name, kind_name(e->kind));
		for (size_t k = 0; k < i; k++)
			if (!strcmp(s->mirrors[k].to.name, m->to.name) &&
			    !strcmp(s->mirrors[k].what.name, m->what.name) &&
			    !s->mirrors[k].net.name == !m->net.name &&
			    (!m->net.name || !strcmp(s->mirrors[k].net.name, m->net.name)))
				spec_diag(s, SPEC_ERROR, m->loc, NULL, "the same mirror is given twice");
	}
}

void spec__check(struct spec *s)
{
	struct checker c = { .s = s, .declared = spec_declares_hosts(s) };
	unsigned before = s->errors;

	/* bounds first, so that later passes stay fast on any input */
	if (s->nhosts > SPEC_MAX_HOSTS)
		spec_diag(s, SPEC_ERROR, s->hosts[SPEC_MAX_HOSTS].loc, NULL,
			  "more than %u hosts", (unsigned)SPEC_MAX_HOSTS);
	if (s->nsubnets > SPEC_MAX_SUBNETS)
		spec_diag(s, SPEC_ERROR, s->subnets[SPEC_MAX_SUBNETS].loc, NULL,
			  "more than %u subnets", (unsigned)SPEC_MAX_SUBNETS);
	if (s->nrouters > SPEC_MAX_ROUTERS)
		spec_diag(s, SPEC_ERROR, s->routers[SPEC_MAX_ROUTERS].loc, NULL,
			  "more than %u routers", (unsigned)SPEC_MAX_ROUTERS);
	for (size_t i = 0; i < s->nrouters; i++)
		if (s->routers[i].njoins > SPEC_MAX_JOINS)
			spec_diag(s, SPEC_ERROR, s->routers[i].joins[SPEC_MAX_JOINS].loc, NULL,
				  "router joins more than %u networks", SPEC_MAX_JOINS);
	if (s->ngens > SPEC_MAX_STMTS)
		spec_diag(s, SPEC_ERROR, s->gens[SPEC_MAX_STMTS].loc, NULL,
			  "more than %u generate statements", SPEC_MAX_STMTS);
	if (s->errors > before)
		return;

	check_subnets(&c);
	check_hosts(&c);
	check_routers(&c);
	for (size_t i = 0; i < s->nmirrors; i++)
		add_implicit(&c, &s->mirrors[i].to, 1);
	check_gens(&c); /* before links: it adds the implicit hosts */
	check_links(&c);
	check_mirrors(&c);
	if (!s->ngens && !s->nhosts && !s->nsubnets && !s->nrouters && !s->nlinks &&
	    !s->nmirrors && !s->errors)
		spec_diag(s, SPEC_WARNING, (struct spec_loc){ 0 },
			  "write: generate web traffic from h1 to h2 with 10 Mbps ;",
			  "the spec is empty");
	strmap_free(&c.names);
	free(c.ents);
}
