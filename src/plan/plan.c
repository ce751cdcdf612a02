/* plan.c - resolve generate statements against the topology and check
 * that each fits the links on its paths.
 *
 * The capacity model (docs/language.md, "Rates and capacity"): a
 * statement's traffic spreads evenly over its (from, to) host pairs; a
 * pair's traffic crosses every link on its routed path; a link can carry
 * a statement's share when the share is at most the link's rate in its
 * faster direction.  Pairs are grouped by (source subnet, destination
 * subnet) so that a statement between two large subnets costs one path
 * walk per group, not one per pair. */
#include "plan.h"
#include "../lib/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Route entries the path walks may look at in all before the check
 * gives up with a warning: a fraction of a second of work. */
#define MAX_WORK 50000000

struct ctx {
	struct spec *s;
	struct topo *t;
	size_t *off;            /* first load slot of each node */
	size_t nslots;
	double *load;           /* this statement's bits/s per interface */
	double *total;          /* all statements' */
	size_t *last;           /* last statement through each interface */
	bool *reported;         /* a statement alone was too much for it */
	size_t *touched;
	size_t ntouched, touched_cap;
	size_t work;            /* left of MAX_WORK */
	struct topo_hop *hops;  /* TOPO_MAX_HOPS */
	bool budget_warned;
};

static void add_load(struct ctx *c, size_t node, size_t iface, double bps)
{
	size_t slot = c->off[node] + iface;

	if (c->load[slot] == 0)
		*VEC_PUSH(c->touched, c->ntouched, c->touched_cap) = slot;
	c->load[slot] += bps;
}

/* The node whose interfaces hold slot: the last off[node] <= slot. */
static size_t slot_node(const struct ctx *c, size_t slot)
{
	size_t lo = 0, hi = c->t->nnodes;

	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (c->off[mid] <= slot)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static uint64_t cap_of(const struct topo_iface *f)
{
	return MAX(f->up.rate, f->down.rate);
}

static void free_stmt(struct plan_stmt *st)
{
	free(st->from);
	free(st->to);
	for (size_t k = 0; k < st->nparts; k++) {
		free(st->parts[k].srcs);
		free(st->parts[k].pick);
	}
	free(st->parts);
	free(st->label);
}

/* Expand endpoint names to host node indexes, each host once. */
static size_t *expand(struct ctx *c, size_t gen, const struct spec_name *v, size_t n,
		      size_t *out_n, unsigned *mark, unsigned stamp)
{
	struct topo *t = c->t;
	size_t *r = NULL, nr = 0, cap = 0;

	for (size_t k = 0; k < n; k++) {
		size_t node, sub;

		if (!strcmp(v[k].name, "external")) {
			node = t->gen_external[gen];
			if (mark[node] != stamp) {
				mark[node] = stamp;
				*VEC_PUSH(r, nr, cap) = node;
			}
			continue;
		}
		node = topo_node_find(t, v[k].name);
		if (node != TOPO_NONE) {
			if (mark[node] != stamp) {
				mark[node] = stamp;
				*VEC_PUSH(r, nr, cap) = node;
			}
			continue;
		}
		sub = topo_subnet_find(t, v[k].name);
		for (size_t i = 0; sub != TOPO_NONE && i < t->nnodes; i++) {
			const struct topo_node *nd = &t->nodes[i];

			if (nd->kind == TOPO_HOST && nd->ifaces[0].subnet == sub && mark[i] != stamp) {
				mark[i] = stamp;
				*VEC_PUSH(r, nr, cap) = i;
			}
		}
	}
	*out_n = nr;
	return r;
}

static void link_name(const struct topo *t, size_t node, size_t iface, char *out, size_t n)
{
	const struct topo_node *nd = &t->nodes[node];

	snprintf(out, n, "%s -- %s", nd->name, t->subnets[nd->ifaces[iface].subnet].name);
}

/* Spread the statement's rate over its paths and compare with the links. */
static void check_capacity(struct ctx *c, struct plan_stmt *st)
{
	struct topo *t = c->t;
	size_t ns = t->nsubnets;
	const struct spec_gen *g = st->gen;
	double rate = (double)g->rate, per_pair = rate / (double)st->pairs;
	/* hosts per subnet at each end, and hosts at both ends */
	size_t *fcount = xcalloc(ns + 1, sizeof(*fcount)), *tcount = xcalloc(ns + 1, sizeof(*tcount));
	size_t *frep = xcalloc(ns + 1, sizeof(*frep)), *trep = xcalloc(ns + 1, sizeof(*trep));
	unsigned char *in_to = xcalloc(t->nnodes + 1, 1), *in_from = xcalloc(t->nnodes + 1, 1);
	size_t *fsubs = NULL, nfs = 0, fcap = 0, *tsubs = NULL, nts = 0, tcap = 0;
	struct topo_hop *hops = c->hops;
	double worst = 1.0;
	size_t worst_slot = SIZE_MAX;

	c->ntouched = 0;
	for (size_t k = 0; k < st->nto; k++)
		in_to[st->to[k]] = 1;
	for (size_t k = 0; k < st->nfrom; k++)
		in_from[st->from[k]] = 1;
	for (size_t k = 0; k < st->nfrom; k++) {
		size_t a = st->from[k], sa = t->nodes[a].ifaces[0].subnet;

		if (!fcount[sa]++) {
			*VEC_PUSH(fsubs, nfs, fcap) = sa;
			frep[sa] = a;
		}
		/* a's own link carries its pairs */
		add_load(c, a, 0, per_pair * (double)(st->nto - in_to[a]));
	}
	for (size_t k = 0; k < st->nto; k++) {
		size_t b = st->to[k], sb = t->nodes[b].ifaces[0].subnet;

		if (!tcount[sb]++) {
			*VEC_PUSH(tsubs, nts, tcap) = sb;
			trep[sb] = b;
		}
		if (!in_from[b])
			add_load(c, b, 0, per_pair * (double)st->nfrom);
		else
			add_load(c, b, 0, per_pair * (double)(st->nfrom - 1));
	}
	/* a host at both ends carries both its pairs as sender and as
	 * receiver on its one link, as it should */

	for (size_t i = 0; i < nfs; i++) {
		for (size_t j = 0; j < nts; j++) {
			size_t sa = fsubs[i], sb = tsubs[j], n, a = frep[sa], b = trep[sb];
			uint64_t count = (uint64_t)fcount[sa] * tcount[sb];

			if (sa == sb)
				continue; /* one switch: only the access links */
			n = topo_path(t, a, b, hops, &c->work);
			if (n == TOPO_NONE) {
				if (!c->budget_warned)
					spec_diag(c->s, SPEC_WARNING, g->loc, NULL,
						  "too many long paths: capacity is not checked "
						  "from this statement on");
				c->budget_warned = true;
				goto out;
			}
			if (!n) {
				spec_diag(c->s, SPEC_ERROR, g->to_loc,
					  "add a router that joins the two subnets",
					  "no route from %s (%s) to %s (%s)", t->nodes[a].name,
					  t->subnets[sa].name, t->nodes[b].name, t->subnets[sb].name);
				goto out;
			}
			/* inner hops: every router interface on the way */
			for (size_t h = 1; h + 1 < n; h++)
				add_load(c, hops[h].node, hops[h].iface, per_pair * (double)count);
		}
	}

	for (size_t k = 0; k < c->ntouched; k++) {
		size_t slot = c->touched[k], node;
		const struct topo_iface *f;
		uint64_t cap;
		double ratio;

		node = slot_node(c, slot);
		f = &t->nodes[node].ifaces[slot - c->off[node]];
		cap = cap_of(f);
		c->total[slot] += c->load[slot];
		c->last[slot] = st->index;
		if (!cap)
			continue;
		ratio = c->load[slot] / (double)cap;
		if (ratio > worst * (1 + 1e-9) || worst_slot == SIZE_MAX) {
			if (ratio >= (worst_slot == SIZE_MAX ? 0 : worst)) {
				worst = ratio;
				worst_slot = slot;
			}
		}
	}
	if (worst_slot != SIZE_MAX) {
		size_t node;
		const struct topo_iface *f;

		node = slot_node(c, worst_slot);
		f = &t->nodes[node].ifaces[worst_slot - c->off[node]];
		st->bottleneck_node = node;
		st->bottleneck_iface = worst_slot - c->off[node];
		st->bottleneck_rate = cap_of(f);
		if (c->load[worst_slot] > (double)cap_of(f) * (1 + 1e-9)) {
			char need[32], have[32], ln[96], hint[160];

			fmt_rate(need, sizeof(need), (uint64_t)(c->load[worst_slot] + 0.5));
			fmt_rate(have, sizeof(have), cap_of(f));
			link_name(t, node, st->bottleneck_iface, ln, sizeof(ln));
			snprintf(hint, sizeof(hint),
				 "lower the rate, spread it over more hosts, or raise the link's rate");
			spec_diag(c->s, SPEC_ERROR, g->rate_loc, hint,
				  "statement needs %s through link %s, which carries at most %s",
				  need, ln, have);
			c->reported[worst_slot] = true;
		}
	}
out:
	for (size_t k = 0; k < c->ntouched; k++)
		c->load[c->touched[k]] = 0;
	free(fcount);
	free(tcount);
	free(frep);
	free(trep);
	free(in_to);
	free(in_from);
	free(fsubs);
	free(tsubs);
}

/* Statements that fit alone but not together: a warning per link. */
static void check_shared(struct ctx *c)
{
	struct topo *t = c->t;

	for (size_t node = 0; node < t->nnodes; node++) {
		for (size_t k = 0; k < t->nodes[node].nifaces; k++) {
			size_t slot = c->off[node] + k;
			uint64_t cap = cap_of(&t->nodes[node].ifaces[k]);
			char need[32], have[32], ln[96];
			const struct spec_gen *g;

			if (!cap || c->reported[slot] || c->total[slot] <= (double)cap * (1 + 1e-9))
				continue;
			g = &c->s->gens[c->last[slot] - 1];
			fmt_rate(need, sizeof(need), (uint64_t)(c->total[slot] + 0.5));
			fmt_rate(have, sizeof(have), cap);
			link_name(t, node, k, ln, sizeof(ln));
			spec_diag(c->s, SPEC_WARNING, g->rate_loc,
				  "the statements will share it and fall short of their rates",
				  "statements together need %s through link %s, which carries at most %s",
				  need, ln, have);
		}
	}
}

struct plan *plan_build(struct spec *s, struct topo *t)
{
	struct plan *p;
	struct ctx c = { .s = s, .t = t, .work = MAX_WORK };
	unsigned *mark;

	if (!t)
		return NULL;
	p = xcalloc(1, sizeof(*p));
	p->spec = s;
	p->topo = t;
	c.off = xcalloc(t->nnodes + 1, sizeof(*c.off));
	for (size_t i = 0; i < t->nnodes; i++)
		c.off[i + 1] = c.off[i] + t->nodes[i].nifaces;
	c.nslots = c.off[t->nnodes];
	c.load = xcalloc(c.nslots + 1, sizeof(*c.load));
	c.total = xcalloc(c.nslots + 1, sizeof(*c.total));
	c.last = xcalloc(c.nslots + 1, sizeof(*c.last));
	c.reported = xcalloc(c.nslots + 1, sizeof(*c.reported));
	c.hops = xcalloc(TOPO_MAX_HOPS, sizeof(*c.hops));
	mark = xcalloc(t->nnodes + 1, sizeof(*mark));

	p->stmts = xcalloc(s->ngens + 1, sizeof(*p->stmts));
	p->nstmts = s->ngens;
	for (size_t i = 0; i < s->ngens; i++) {
		const struct spec_gen *g = &s->gens[i];
		struct plan_stmt *st = &p->stmts[i];
		size_t both = 0;
		uint64_t given = 0;

		st->index = i + 1;
		st->gen = g;
		st->bottleneck_node = TOPO_NONE;
		st->label = xstrdup(g->label ? g->label : g->mix ? "mix" : spec_class_name(g->cls));
		st->from = expand(&c, i, g->from, g->nfrom, &st->nfrom, mark, (unsigned)(2 * i + 1));
		st->to = expand(&c, i, g->to, g->nto, &st->nto, mark, (unsigned)(2 * i + 2));
		/* hosts at both ends do not pair with themselves */
		{
			unsigned char *in_from = xcalloc(t->nnodes + 1, 1);

			for (size_t k = 0; k < st->nfrom; k++)
				in_from[st->from[k]] = 1;
			for (size_t k = 0; k < st->nto; k++)
				both += in_from[st->to[k]];
			free(in_from);
		}
		st->pairs = (uint64_t)st->nfrom * st->nto - both;

		if (g->mix) {
			st->nparts = g->nitems;
			st->parts = xcalloc(g->nitems + 1, sizeof(*st->parts));
			for (size_t k = 0; k < g->nitems; k++) {
				struct plan_part *pt = &st->parts[k];

				pt->packets = g->packets;
				pt->cls = g->items[k].cls;
				pt->protos = spec_protos_carriers(g->items[k].protos ? g->items[k].protos
										: spec_class_protos(pt->cls));
				pt->share_ppm = g->items[k].share_ppm;
				/* the last part takes the rounding so parts add up */
				pt->rate = k + 1 < g->nitems
					? (uint64_t)(((unsigned __int128)g->rate * pt->share_ppm + 500000) / 1000000)
					: g->rate - given;
				given += pt->rate;
			}
		} else {
			st->nparts = 1;
			st->parts = xcalloc(1, sizeof(*st->parts));
			st->parts[0].cls = g->cls;
			st->parts[0].protos = spec_protos_carriers(g->protos ? g->protos
									    : spec_class_protos(g->cls));
			st->parts[0].rate = g->rate;
			st->parts[0].packets = g->packets;
			st->parts[0].share_ppm = 1000000;
		}
		if (!st->pairs) {
			spec_diag(s, SPEC_ERROR, g->to_loc, "traffic needs two different hosts",
				  "'from' and 'to' leave no pair of different hosts");
			continue;
		}
		/* A packet rate's bits depend on the sources' packet sizes,
		 * known only once they are chosen: its links are not checked. */
		if (!g->packets)
			check_capacity(&c, st);
	}
	check_shared(&c);
	free(c.off);
	free(c.load);
	free(c.total);
	free(c.last);
	free(c.reported);
	free(c.hops);
	free(c.touched);
	free(mark);
	if (s->errors) {
		plan_free(p);
		return NULL;
	}
	return p;
}

void plan_free(struct plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nstmts; i++)
		free_stmt(&p->stmts[i]);
	free(p->stmts);
	topo_free(p->topo);
	free(p);
}
