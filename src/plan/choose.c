/* choose.c - plan_choose(): which catalog sources carry each part of a
 * statement, on which to hosts, with how many instances and which knobs.
 *
 * Placement: every to host of a part serves each of the part's
 * protocols with one source (a server on the protocol's port).  Of the
 * ways to do that, the planner takes the one with the most different
 * sources so far in the part (real networks run a mix), then the most
 * kinds (agents and real programs), under two rules: one server per host
 * and port across all statements (a program holds the ports of all its
 * protocols: nginx both 80 and 443), and with 'using <= N flows' or
 * '= N' the sources that need the fewest flows first.
 *
 * Sizing: a part's rate is spread evenly over its client tasks (one per
 * from host, to host and protocol); a source's share is that of its
 * tasks.  It runs enough instances that none is planned above
 * PLAN_HEADROOM of its measured rate-max, at least one per task, with
 * the think-scale that makes one instance's measured rate its part of
 * the share (the controller then steers it); below one instance's rate,
 * with fewer users first, down to one.  '>= N flows' adds
 * instances until the expected flows reach N; '<= N' refuses a rate
 * that needs more flows than N at the sources' measured rate per flow. */
#include "plan.h"
#include "../lib/util.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRIES 4096   /* placements looked at per to host */

struct server {
	size_t node;
	uint16_t port;
	const struct catalog_entry *e;
};

struct choice {
	const struct plan *p;
	const struct catalog *c;
	struct server *srv;
	size_t nsrv, srv_cap;
	char *err;
	size_t errlen;
};

static const struct catalog_entry *server_at(const struct choice *ch, size_t node, uint16_t port)
{
	for (size_t i = 0; i < ch->nsrv; i++)
		if (ch->srv[i].node == node && ch->srv[i].port == port)
			return ch->srv[i].e;
	return NULL;
}

/* The protocols whose ports e holds on a host where it serves proto. */
static spec_protoset holds(const struct catalog_entry *e, int proto)
{
	return e->kind == CATALOG_PROGRAM ? e->protos : 1u << proto;
}

double plan_instance_rate(const struct catalog_entry *e, bool packets, bool max)
{
	if (!packets)
		return (double)(max ? e->rate_max : e->rate);
	if (!max)
		return e->packets;
	return e->rate ? e->packets * (double)e->rate_max / (double)e->rate : e->packets;
}

uint64_t plan_flows_needed(const struct catalog_entry *e, double v, bool packets)
{
	double per;

	if (!e->measured || e->flows_max < 1 || e->rate_max == 0 || v <= 0)
		return 0;
	per = plan_instance_rate(e, packets, true) / e->flows_max;
	return per > 0 ? (uint64_t)ceil(v / per - 1e-9) : 0;
}

/* Flows of one instance running at r bits/s (packets/s): as measured at
 * the default knobs, rising toward flows-max as it nears rate-max. */
static double flows_at(const struct catalog_entry *e, double r, bool packets)
{
	double r0 = plan_instance_rate(e, packets, false), r1 = plan_instance_rate(e, packets, true);

	if (r <= r0 || r1 <= r0)
		return e->flows;
	return e->flows + (e->flows_max - e->flows) * MIN(1.0, (r - r0) / (r1 - r0));
}

/* Instances of ps->users users each for bps in all: the think-scale
 * that makes one instance's measured rate (scaled from the profile's
 * users to these) its part, and the flows to expect. */
static void size_source(struct plan_source *ps, double bps, uint32_t instances, bool packets)
{
	const struct catalog_entry *e = ps->e;
	const struct catalog_knob *kt = catalog_knob(e, "think-scale");
	double tmin = kt ? kt->min : 1, tmax = kt ? kt->max : 1, r, per;

	ps->instances = MAX(instances, ps->tasks);
	r = bps / ps->instances;
	ps->rate = (uint64_t)llround(bps);
	if (!e->measured) {
		ps->think_scale = 1;
		ps->rate = 0;
		ps->flows = 0;
		return;
	}
	per = ps->users / MAX(1.0, e->prof_users);   /* of a measured instance */
	ps->think_scale = r > 0 ? MIN(tmax, MAX(tmin, plan_instance_rate(e, packets, false) * per / r))
			  : tmax;
	ps->flows = ps->instances * per * flows_at(e, r / per, packets);
}

/* Score of a placement: fewer flows needed first (only under a flow
 * limit), then more different sources, then more kinds. */
struct score {
	uint64_t need;
	size_t sources, kinds;
};

static bool better(const struct score *a, const struct score *b)
{
	if (a->need != b->need)
		return a->need < b->need;
	if (a->sources != b->sources)
		return a->sources > b->sources;
	return a->kinds > b->kinds;
}

/* Place the part's protocols on to host j: pick[q] for each slot q. */
static int place_host(struct choice *ch, const struct plan_stmt *st, struct plan_part *pt, size_t j,
		      const struct catalog_entry **cand, size_t ncand, double slot_bps, bool limit)
{
	size_t node = st->to[j];
	int slot[PROTO__COUNT];
	size_t nslot = 0, idx[PROTO__COUNT] = { 0 }, opts[PROTO__COUNT][32], nopt[PROTO__COUNT];
	size_t best_at[PROTO__COUNT] = { 0 }, tries = 0;
	struct score best = { 0 };
	bool found = false;

	for (int q = 0; q < PROTO__COUNT; q++) {
		if (!(pt->protos & (1u << q)))
			continue;
		nopt[nslot] = 0;
		for (size_t i = 0; i < ncand && nopt[nslot] < ARRAY_SIZE(opts[0]); i++)
			if (cand[i]->protos & (1u << q))
				opts[nslot][nopt[nslot]++] = i;
		if (nopt[nslot])
			slot[nslot++] = q;
	}
	/* Odometer over the placements, each slot's options rotated by
	 * the statement and the host so that ties spread. */
	for (;;) {
		const struct catalog_entry *e[PROTO__COUNT];
		bool ok = true;

		for (size_t k = 0; k < nslot; k++)
			e[k] = cand[opts[k][(idx[k] + st->index + j) % nopt[k]]];
		for (size_t k = 0; k < nslot && ok; k++) {
			spec_protoset h = holds(e[k], slot[k]);

			for (int q = 0; q < PROTO__COUNT && ok; q++) {
				const struct catalog_entry *there;

				if (!(h & (1u << q)))
					continue;
				there = server_at(ch, node, spec_proto_port((enum spec_proto)q));
				ok = !there || there == e[k];
			}
			for (size_t l = 0; l < k && ok; l++)
				ok = e[l] == e[k] || !(holds(e[l], slot[l]) & h);
		}
		if (ok) {
			struct score sc = { 0 };
			bool kind[3] = { 0 };

			for (size_t k = 0; k < nslot; k++) {
				bool seen = false;

				if (limit)
					sc.need += MAX(1, plan_flows_needed(e[k], slot_bps, pt->packets));
				for (size_t l = 0; l < k && !seen; l++)
					seen = e[l] == e[k];
				for (size_t s = 0; s < pt->nsrcs && !seen; s++)
					seen = pt->srcs[s].e == e[k];
				sc.sources += !seen;
				kind[e[k]->kind] = true;
			}
			for (size_t s = 0; s < pt->nsrcs; s++)
				kind[pt->srcs[s].e->kind] = true;
			sc.kinds = (size_t)kind[0] + kind[1] + kind[2];
			if (!found || better(&sc, &best)) {
				best = sc;
				memcpy(best_at, idx, sizeof(idx));
				found = true;
			}
		}
		/* next placement */
		size_t k = 0;

		while (k < nslot && ++idx[k] == nopt[k])
			idx[k++] = 0;
		if (k == nslot || ++tries >= MAX_TRIES)
			break;
	}
	if (!found) {
		char have[160] = "";
		size_t len = 0;

		for (size_t i = 0; i < ch->nsrv; i++)
			if (ch->srv[i].node == node && len < sizeof(have))
				len += (size_t)snprintf(have + len, sizeof(have) - len, "%s%s on port %u",
							len ? ", " : "", ch->srv[i].e->name,
							ch->srv[i].port);
		snprintf(ch->err, ch->errlen, "statement %zu: %s cannot serve %s traffic: another "
			 "statement already runs %s there, one server per port", st->index,
			 ch->p->topo->nodes[node].name, spec_class_name(pt->cls), have);
		return -EINVAL;
	}
	for (size_t k = 0; k < nslot; k++) {
		const struct catalog_entry *e = cand[opts[k][(best_at[k] + st->index + j) % nopt[k]]];
		spec_protoset h = holds(e, slot[k]);
		size_t s;

		for (int q = 0; q < PROTO__COUNT; q++) {
			uint16_t port = spec_proto_port((enum spec_proto)q);

			if ((h & (1u << q)) && !server_at(ch, node, port))
				*VEC_PUSH(ch->srv, ch->nsrv, ch->srv_cap) =
					(struct server){ .node = node, .port = port, .e = e };
		}
		for (s = 0; s < pt->nsrcs && pt->srcs[s].e != e; s++)
			;
		if (s == pt->nsrcs) {
			pt->srcs = xreallocarray(pt->srcs, pt->nsrcs + 1, sizeof(*pt->srcs));
			memset(&pt->srcs[s], 0, sizeof(pt->srcs[s]));
			pt->srcs[s].e = e;
			pt->nsrcs++;
		}
		pt->srcs[s].protos |= 1u << slot[k];
		pt->pick[j * PROTO__COUNT + (size_t)slot[k]] = (uint8_t)s;
	}
	return 0;
}

/* The sources of the catalog that may carry part pt; 0 with at least
 * one, or an error that says why there is none. */
static int candidates(struct choice *ch, const struct plan_stmt *st, const struct plan_part *pt,
		      plan_usable_fn usable, void *arg, bool unmeasured_ok,
		      const struct catalog_entry ***out, size_t *nout)
{
	const struct spec_gen *g = st->gen;
	const struct catalog_entry **v = xcalloc(ch->c->n + 1, sizeof(*v));
	char why[512] = "", one[256], ps[128];
	size_t n = 0, wl = 0, of_class = 0;
	spec_protoset covered = 0;

	if (g->source) {
		const struct catalog_entry *e = catalog_find(ch->c, g->source);

		if (!e) {
			size_t len = 0;

			for (size_t i = 0; i < ch->c->n && len < sizeof(why); i++)
				len += (size_t)snprintf(why + len, sizeof(why) - len, "%s%s",
							len ? ", " : "", ch->c->v[i].name);
			snprintf(ch->err, ch->errlen, "statement %zu: no source is named '%s' (sources: %s)",
				 st->index, g->source, why[0] ? why : "none");
			free(v);
			return -ENOENT;
		}
		if (e->cls != pt->cls || !(e->protos & pt->protos)) {
			spec_protos_text(ps, sizeof(ps), e->protos, ", ");
			snprintf(ch->err, ch->errlen, "statement %zu: source '%s' makes %s traffic (%s), "
				 "not %s", st->index, e->name, spec_class_name(e->cls), ps,
				 spec_class_name(pt->cls));
			free(v);
			return -EINVAL;
		}
	}
	for (size_t i = 0; i < ch->c->n; i++) {
		const struct catalog_entry *e = &ch->c->v[i];

		if (e->cls != pt->cls || !(e->protos & pt->protos))
			continue;
		if (g->source && strcmp(g->source, e->name) != 0)
			continue;
		of_class++;
		one[0] = '\0';
		if (e->kind == CATALOG_PROJECT && !e->driver_project)
			snprintf(one, sizeof(one), "a project driven by dynamo's users does not run yet");
		else if (!e->measured && !unmeasured_ok)
			snprintf(one, sizeof(one), "not measured: run 'dynamo catalog measure %s'",
				 e->name);
		else if (usable && !usable(e, one, sizeof(one), arg) && !one[0])
			snprintf(one, sizeof(one), "cannot run here");
		if (one[0]) {
			if (wl < sizeof(why))
				wl += (size_t)snprintf(why + wl, sizeof(why) - wl, "%s%s (%s)",
						       wl ? "; " : "", e->name, one);
			continue;
		}
		v[n++] = e;
		covered |= e->protos & pt->protos;
	}
	if (!n) {
		spec_protos_text(ps, sizeof(ps), pt->protos, ", ");
		if (!of_class)
			snprintf(ch->err, ch->errlen, "statement %zu: the catalog has no source of %s "
				 "traffic over %s", st->index, spec_class_name(pt->cls), ps);
		else
			snprintf(ch->err, ch->errlen, "statement %zu: no source of %s traffic can run: %s",
				 st->index, spec_class_name(pt->cls), why);
		free(v);
		return -ENOENT;
	}
	/* Pinned protocols must each have a source; a class's protocols
	 * are covered as far as the catalog goes. */
	if (pt->protos != spec_class_protos(pt->cls) && (covered & pt->protos) != pt->protos) {
		spec_protos_text(ps, sizeof(ps), pt->protos & ~covered, ", ");
		snprintf(ch->err, ch->errlen, "statement %zu: no source here makes %s traffic%s%s%s",
			 st->index, ps, why[0] ? " (" : "", why, why[0] ? ")" : "");
		free(v);
		return -ENOENT;
	}
	*out = v;
	*nout = n;
	return 0;
}

static int size_part(struct choice *ch, const struct plan_stmt *st, struct plan_part *pt, uint64_t tasks,
		     bool measuring);

/* Place the part's sources on its to hosts, then size them. */
static int choose_part(struct choice *ch, const struct plan_stmt *st, struct plan_part *pt,
		       plan_usable_fn usable, void *arg, bool measuring)
{
	const struct catalog_entry **cand = NULL;
	size_t ncand = 0;
	uint64_t tasks = 0;
	bool limit = st->gen->flow_op == FLOWS_LE || st->gen->flow_op == FLOWS_EQ;
	bool *from_too = xcalloc(st->nto + 1, sizeof(*from_too));
	int r;

	r = candidates(ch, st, pt, usable, arg, measuring, &cand, &ncand);
	if (r) {
		free(from_too);
		return r;
	}
	for (size_t j = 0; j < st->nto; j++)
		for (size_t i = 0; i < st->nfrom && !from_too[j]; i++)
			from_too[j] = st->from[i] == st->to[j];
	pt->pick = xmalloc(st->nto * PROTO__COUNT + 1);
	memset(pt->pick, PLAN_NOPICK, st->nto * PROTO__COUNT + 1);
	{
		/* a slot's rate, for the flows it needs: the part's spread
		 * evenly over (pair, protocol) */
		size_t np = 0;

		for (int q = 0; q < PROTO__COUNT; q++)
			np += !!(pt->protos & (1u << q));
		for (size_t j = 0; j < st->nto && !r; j++) {
			uint64_t pairs = st->nfrom - from_too[j];
			double slot_bps = (double)pt->rate * (double)pairs /
					  ((double)st->pairs * (double)MAX(np, 1));

			if (pairs)
				r = place_host(ch, st, pt, j, cand, ncand, slot_bps, limit);
		}
	}
	free(cand);
	if (r) {
		free(from_too);
		return r;
	}
	for (size_t j = 0; j < st->nto; j++)
		for (int q = 0; q < PROTO__COUNT; q++) {
			uint8_t s = pt->pick[j * PROTO__COUNT + (size_t)q];

			if (s != PLAN_NOPICK) {
				pt->srcs[s].tasks += (uint32_t)(st->nfrom - from_too[j]);
				tasks += st->nfrom - from_too[j];
			}
		}
	free(from_too);
	return size_part(ch, st, pt, tasks, measuring);
}

/* The users of one instance: as measured, else the knob's default. */
static uint32_t instance_users(const struct catalog_entry *e)
{
	const struct catalog_knob *ku = catalog_knob(e, "users");

	if (e->measured && e->prof_users >= 1)
		return (uint32_t)e->prof_users;
	return ku ? (uint32_t)ku->def : 8;
}

/* How many instances of each source, with which knobs, for the part's
 * rate and flows over its tasks; or why it cannot be met. */
static int size_part(struct choice *ch, const struct plan_stmt *st, struct plan_part *pt, uint64_t tasks,
		     bool measuring)
{
	const struct spec_gen *g = st->gen;
	uint64_t want = 0;
	bool limit = g->flow_op == FLOWS_LE || g->flow_op == FLOWS_EQ;

	/* a source being measured runs as it is, one instance a task */
	if (measuring) {
		for (size_t s = 0; s < pt->nsrcs; s++) {
			struct plan_source *ps = &pt->srcs[s];
			const struct catalog_knob *ku = catalog_knob(ps->e, "users");

			ps->share = (double)ps->tasks / (double)tasks;
			ps->users = ku ? (uint32_t)ku->def : 8;
			ps->instances = ps->tasks;
			ps->think_scale = 1;
		}
		return 0;
	}
	if (g->flow_op != FLOWS_ANY)
		want = (g->flows + st->nparts - 1) / st->nparts;
	for (size_t s = 0; s < pt->nsrcs; s++) {
		struct plan_source *ps = &pt->srcs[s];
		const struct catalog_entry *e = ps->e;
		double bps, room = PLAN_HEADROOM * plan_instance_rate(e, pt->packets, true);
		uint32_t n;

		ps->share = (double)ps->tasks / (double)tasks;
		/* A project drives itself: one instance a task, as it is; the
		 * run's shaper holds it down to its share, never up. */
		if (e->kind == CATALOG_PROJECT) {
			bps = ps->share * (double)pt->rate;
			ps->users = 1;
			ps->instances = ps->tasks;
			ps->think_scale = 1;
			ps->rate = e->measured ? (uint64_t)llround(MIN(bps, (double)e->rate * ps->tasks)) : 0;
			ps->flows = e->measured ? e->flows * ps->tasks : 0;
			continue;
		}
		bps = ps->share * (double)pt->rate;
		ps->users = instance_users(e);
		n = e->measured && room > 0 ? (uint32_t)MIN(UINT32_MAX, ceil(bps / room)) : 0;
		size_source(ps, bps, n, pt->packets);
		if (ps->think_scale > 1 && ps->users > 1) {
			/* a quiet part: fewer users before slower ones, as
			 * a user's first handshakes come whatever its think
			 * times (eight users logging in at once are many
			 * times a rate that one user makes) */
			ps->users = (uint32_t)MAX(1.0, ceil(ps->users / ps->think_scale));
			size_source(ps, bps, n, pt->packets);
		}
	}
	for (int round = 0; g->flow_op == FLOWS_GE && round < 4; round++) {
		double f = 0;

		for (size_t s = 0; s < pt->nsrcs; s++)
			f += pt->srcs[s].flows;
		if (f <= 0 || f >= (double)want)
			break;
		for (size_t s = 0; s < pt->nsrcs; s++) {
			struct plan_source *ps = &pt->srcs[s];

			if (ps->e->kind == CATALOG_PROJECT)
				continue;
			size_source(ps, ps->share * (double)pt->rate,
				    (uint32_t)MIN(UINT32_MAX / 2, ceil(ps->instances * (double)want / f)),
				    pt->packets);
		}
	}
	pt->expect_rate = 0;
	pt->expect_flows = 0;
	{
		uint64_t need = 0;

		for (size_t s = 0; s < pt->nsrcs; s++) {
			struct plan_source *ps = &pt->srcs[s];

			if ((uint64_t)ps->instances * ps->users > (uint64_t)ps->tasks * PLAN_TASK_USERS) {
				char rate[32];

				fmt_target(rate, sizeof(rate), (uint64_t)(ps->share * (double)pt->rate), pt->packets);
				snprintf(ch->err, ch->errlen, "statement %zu: %s of %s traffic from source %s "
					 "needs %" PRIu64 " users per host pair, more than %u: spread it "
					 "over more hosts", st->index, rate, spec_class_name(pt->cls),
					 ps->e->name, (uint64_t)ps->instances * ps->users / ps->tasks,
					 PLAN_TASK_USERS);
				return -EINVAL;
			}
			pt->expect_rate += ps->rate;
			pt->expect_flows += ps->flows;
			need += MAX(ps->tasks, plan_flows_needed(ps->e, ps->share * (double)pt->rate, pt->packets));
		}
		if (limit && need <= want) {
			/* groups of one user each, the limit shared by tasks */
			pt->expect_rate = 0;
			pt->expect_flows = 0;
			for (size_t s = 0; s < pt->nsrcs; s++) {
				struct plan_source *ps = &pt->srcs[s];

				ps->users = 1;
				size_source(ps, ps->share * (double)pt->rate,
					    (uint32_t)MIN(UINT32_MAX, want * ps->tasks / tasks), pt->packets);
				pt->expect_rate += ps->rate;
				pt->expect_flows += ps->flows;
			}
		}
		/* The catalog measured the source's own model; a statement
		 * with a model of its own (a clone's fitted one) may make
		 * flows of any rate, so its limit is taken as given. */
		if (limit && need > want && !g->model) {
			char rate[32], per[32];
			const struct plan_source *ps = &pt->srcs[0];

			for (size_t s = 1; s < pt->nsrcs; s++)
				if (plan_flows_needed(pt->srcs[s].e, 1e9, pt->packets) >
				    plan_flows_needed(ps->e, 1e9, pt->packets))
					ps = &pt->srcs[s];
			fmt_target(rate, sizeof(rate), pt->rate, pt->packets);
			if (ps->e->flows_max >= 1)
				fmt_target(per, sizeof(per),
					   (uint64_t)(plan_instance_rate(ps->e, pt->packets, true) / ps->e->flows_max),
					   pt->packets);
			else
				snprintf(per, sizeof(per), "?");
			snprintf(ch->err, ch->errlen, "statement %zu: 'using %s %" PRIu64 " flows' is too few "
				 "for %s of %s traffic: it needs at least %" PRIu64 " (one per host pair "
				 "and protocol, and %s measured at most %s per flow)", st->index,
				 g->flow_op == FLOWS_LE ? "<=" : "=", want, rate, spec_class_name(pt->cls),
				 need, ps->e->name, per);
			return -EINVAL;
		}
		if (limit)
			pt->expect_flows = g->flow_op == FLOWS_EQ
				? (double)want : MIN((double)want, MAX((double)need, pt->expect_flows));
	}
	return 0;
}

int plan_choose(struct plan *p, const struct catalog *c, plan_usable_fn usable, void *arg,
		bool measuring, char *err, size_t errlen)
{
	struct choice ch = { .p = p, .c = c, .err = err, .errlen = errlen };
	int r = 0;

	for (size_t i = 0; i < p->nstmts && !r; i++) {
		struct plan_stmt *st = &p->stmts[i];

		for (size_t k = 0; k < st->nparts && !r; k++) {
			struct plan_part *pt = &st->parts[k];

			free(pt->srcs);
			free(pt->pick);
			pt->srcs = NULL;
			pt->pick = NULL;
			pt->nsrcs = 0;
			if (st->pairs)
				r = choose_part(&ch, st, pt, usable, arg, measuring);
		}
	}
	free(ch.srv);
	return r;
}
