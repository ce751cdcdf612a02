/* cmd-plan.c - 'dynamo plan FILE [--json]': the resolved network (subnets,
 * nodes, interfaces, addresses, link conditions, routes) and each
 * statement with its defaults applied.  One code path prints both forms. */
#include "cli.h"
#include "../catalog/catalog.h"
#include "../lib/out.h"
#include "../lib/util.h"
#include "../plan/plan.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

const char cmd_plan_usage[] =
	"usage: dynamo plan [--catalog DIR] [--json] FILE\n"
	"\n"
	"Resolve a spec and show what dynamo would build and run: the subnets and\n"
	"their address ranges, every host and router with its interfaces,\n"
	"addresses, link conditions and routes, and each generate statement with\n"
	"its defaults applied (protocols, flows, start, duration, label) and the\n"
	"hosts at each end.  Hosts that are used but not declared are placed on\n"
	"the default LAN 'lan'; 'external' is the emulated Internet\n"
	"(198.18.0.0/15) behind a gateway.\n"
	"\n"
	"Each statement also shows the sources the planner chose from the catalog\n"
	"('dynamo catalog list'): per source its kind, the protocols it serves and\n"
	"where, the instances of it and their knobs (users, think-scale), and the\n"
	"rate and concurrent flows expected from its measured profile.  Each 'to'\n"
	"host serves each protocol with one source (one server per port), and the\n"
	"planner takes as many different sources as fit, as real networks run a\n"
	"mix; it refuses what cannot be met, and says why: no source for a\n"
	"protocol, a port another statement holds, 'using <= N flows' below what the\n"
	"rate needs at the sources' measured rate per flow.\n"
	"\n"
	"options:\n"
	"  --catalog DIR  the sources to choose from (default: DATA/catalog)\n"
	"  --json       print JSON (rates in bits/s, times in seconds)\n"
	"  -h, --help   show this help\n"
	"\n"
	"exit status: 0 success, 2 invalid spec or usage, 1 the file cannot be read\n"
	"\n"
	"example:\n"
	"    dynamo plan --json office.dyn | jq '.statements[].rate'\n";

static void print_addr(struct out *o, const char *key, const char *fmt, uint32_t a)
{
	char s[20];

	fmt_ipv4(s, sizeof(s), a);
	out_str(o, key, fmt, s);
}

static void print_cidr(struct out *o, const char *key, const char *fmt, uint32_t a, uint8_t plen)
{
	char s[20], c[24];

	fmt_ipv4(s, sizeof(s), a);
	snprintf(c, sizeof(c), "%s/%u", s, plen);
	out_str(o, key, fmt, c);
}

/* The sources of a part: what runs, where, how many, how hard. */
static void print_sources(struct out *o, const struct plan *p, const struct plan_stmt *st,
			  const struct plan_part *pt, const char *indent)
{
	out_arr_open(o, "sources");
	for (size_t i = 0; i < pt->nsrcs; i++) {
		const struct plan_source *ps = &pt->srcs[i];

		out_obj_open(o, NULL);
		out_text(o, "%s%s", indent, i ? "          " : "sources   ");
		out_str(o, "name", "%-13s", ps->e->name);
		out_str(o, "kind", "%-8s", catalog_kind_name(ps->e->kind));
		out_uint(o, "instances", " %3llu x", ps->instances);
		out_uint(o, "users", ps->users == 1 ? " %llu user" : " %llu users", ps->users);
		out_double(o, "think_scale", ", think-scale %.3g", ps->think_scale);
		out_ppm(o, "share", ", %s of the rate", (uint32_t)(ps->share * 1e6 + 0.5));
		if (ps->e->measured) {
			out_target(o, pt->packets ? "pps" : "rate", ": %s", ps->rate, pt->packets);
			out_double(o, "flows", ", ~%.0f flows\n", ps->flows);
		} else {
			out_null(o, "rate", ": %s", "not measured");
			out_null(o, "flows", "%s\n", "");
		}
		out_text(o, "%s            serves", indent);
		out_arr_open(o, "servers");
		for (size_t j = 0, shown = 0; j < st->nto; j++) {
			bool any = false, first = true;

			for (int q = 0; q < PROTO__COUNT; q++)
				any |= pt->pick[j * PROTO__COUNT + (size_t)q] == i;
			if (!any)
				continue;
			out_obj_open(o, NULL);
			out_str(o, "host", shown++ ? "; %s" : " %s", p->topo->nodes[st->to[j]].name);
			out_arr_open(o, "protocols");
			for (int q = 0; q < PROTO__COUNT; q++)
				if (pt->pick[j * PROTO__COUNT + (size_t)q] == i) {
					out_str(o, NULL, first ? ": %s" : ", %s",
						spec_proto_name((enum spec_proto)q));
					first = false;
				}
			out_arr_close(o);
			out_obj_close(o);
		}
		out_arr_close(o);
		out_text(o, "\n");
		out_obj_close(o);
	}
	out_arr_close(o);
	if (pt->nsrcs && pt->srcs[0].e->measured) {
		out_text(o, "%sexpected  ", indent);
		out_obj_open(o, "expected");
		out_target(o, pt->packets ? "pps" : "rate", "%s", pt->expect_rate, pt->packets);
		out_double(o, "flows", ", ~%.0f concurrent flows\n", pt->expect_flows);
		out_obj_close(o);
	}
}

static void print_protos(struct out *o, const char *key, spec_protoset ps, bool text)
{
	bool first = true;

	out_arr_open(o, key);
	for (int i = 0; i < PROTO__COUNT; i++) {
		if (!(ps & (1u << i)))
			continue;
		out_str(o, NULL, !text ? NULL : first ? "%s" : ", %s",
			spec_proto_name((enum spec_proto)i));
		first = false;
	}
	out_arr_close(o);
}

static bool cond_set(const struct topo_cond *c)
{
	return c->rate || c->delay_us || c->jitter_us || c->loss_ppm;
}

static void print_cond(struct out *o, const char *key, const char *dir, const struct topo_cond *c)
{
	out_obj_open(o, key);
	out_text(o, "      %-5s", dir);
	if (c->rate)
		out_rate(o, "rate", " rate %s", c->rate);
	else
		out_null(o, "rate", NULL, NULL);
	out_time(o, "delay", c->delay_us ? " delay %s" : NULL, c->delay_us);
	out_time(o, "jitter", c->jitter_us ? " jitter %s" : NULL, c->jitter_us);
	out_ppm(o, "loss", c->loss_ppm ? " loss %s" : NULL, c->loss_ppm);
	if (!cond_set(c))
		out_text(o, " unlimited");
	out_text(o, "\n");
	out_obj_close(o);
}

static void print_subnets(struct out *o, const struct topo *t)
{
	out_text(o, "subnets\n");
	out_arr_open(o, "subnets");
	for (size_t i = 0; i < t->nsubnets; i++) {
		const struct topo_subnet *sn = &t->subnets[i];
		size_t hosts = 0;

		for (size_t k = 0; k < t->nnodes; k++)
			for (size_t f = 0; f < t->nodes[k].nifaces; f++)
				hosts += t->nodes[k].ifaces[f].subnet == i &&
					 t->nodes[k].kind == TOPO_HOST;
		out_obj_open(o, NULL);
		out_str(o, "name", "  %-12s", sn->name);
		print_cidr(o, "cidr", " %-18s", sn->addr, sn->plen);
		out_uint(o, "hosts", " %4llu host(s)", hosts);
		out_bool(o, "implicit", NULL, sn->implicit);
		out_bool(o, "external", NULL, sn->external);
		if (sn->external)
			out_text(o, "  the emulated Internet");
		else if (i == t->lan && sn->decl < 0)
			out_text(o, "  the default LAN");
		else if (sn->implicit)
			out_text(o, "  range chosen by dynamo");
		out_text(o, "\n");
		out_obj_close(o);
	}
	out_arr_close(o);
}

/* The emulated Internet: its range, the routers into it, its servers. */
static void print_external(struct out *o, const struct topo *t)
{
	const struct topo_subnet *sn;

	if (t->external == TOPO_NONE) {
		out_null(o, "external", NULL, NULL);
		return;
	}
	sn = &t->subnets[t->external];
	out_obj_open(o, "external");
	out_str(o, "subnet", "\nexternal region\n  subnet    %s", sn->name);
	print_cidr(o, "cidr", " (%s)\n", sn->addr, sn->plen);
	for (int kind = 0; kind < 2; kind++) {
		bool first = true;

		out_text(o, kind ? "  hosts    " : "  gateways ");
		out_arr_open(o, kind ? "hosts" : "gateways");
		for (size_t i = 0; i < t->nnodes; i++) {
			const struct topo_node *n = &t->nodes[i];
			bool on = false;

			for (size_t k = 0; k < n->nifaces; k++)
				on |= n->ifaces[k].subnet == t->external;
			if (!on || (n->kind == TOPO_ROUTER) != !kind)
				continue;
			out_str(o, NULL, first ? " %s" : ", %s", n->name);
			first = false;
		}
		out_arr_close(o);
		out_text(o, "%s\n", first ? " none" : "");
	}
	out_obj_close(o);
}

static void print_node(struct out *o, const struct topo *t, size_t idx, const struct plan *p)
{
	const struct topo_node *n = &t->nodes[idx];

	out_obj_open(o, NULL);
	out_str(o, "name", "  %s", n->name);
	out_str(o, "kind", " (%s", n->kind == TOPO_HOST ? "host" : "router");
	out_bool(o, "implicit", NULL, n->implicit);
	out_bool(o, "external", NULL, n->external);
	out_bool(o, "nat", NULL, n->nat);
	if (n->external)
		out_text(o, ", external");
	if (n->nat)
		out_text(o, ", NAT to external");
	if (n->implicit && n->kind == TOPO_ROUTER)
		out_text(o, ", implicit gateway");
	else if (n->implicit && n->external) {
		for (size_t i = 0; i < p->nstmts; i++)
			if (t->gen_external[i] == idx)
				out_text(o, ", server of statement %zu", i + 1);
	} else if (n->implicit)
		out_text(o, ", not declared");
	out_text(o, ")\n");

	out_arr_open(o, "services");
	if (n->decl && n->decl->nservices)
		out_text(o, "    serves");
	for (size_t k = 0; n->decl && k < n->decl->nservices; k++) {
		const struct spec_service *sv = &n->decl->services[k];

		out_obj_open(o, NULL);
		out_str(o, "name", k ? ", %s" : " %s", sv->name);
		if (sv->port)
			out_uint(o, "port", " port %llu", sv->port);
		else
			out_null(o, "port", NULL, NULL);
		out_obj_close(o);
	}
	if (n->decl && n->decl->nservices)
		out_text(o, "\n");
	out_arr_close(o);

	out_arr_open(o, "interfaces");
	for (size_t k = 0; k < n->nifaces; k++) {
		const struct topo_iface *f = &n->ifaces[k];
		const struct topo_subnet *sn = &t->subnets[f->subnet];

		out_obj_open(o, NULL);
		out_str(o, "name", "    %-6s", f->name);
		out_str(o, "subnet", " %-12s", sn->name);
		print_addr(o, "address", " %s", f->addr);
		out_uint(o, "prefix", "/%-3llu", sn->plen);
		out_uint(o, "mtu", " mtu %llu", f->mtu);
		out_text(o, "\n");
		if (cond_set(&f->up) || cond_set(&f->down) || out_is_json(o)) {
			print_cond(o, "up", "up", &f->up);
			print_cond(o, "down", "down", &f->down);
		}
		out_obj_close(o);
	}
	out_arr_close(o);

	out_arr_open(o, "routes");
	for (size_t k = 0; k < n->nroutes; k++) {
		const struct topo_route *r = &n->routes[k];

		out_obj_open(o, NULL);
		if (r->plen)
			print_cidr(o, "dst", "    route %s", r->dst, r->plen);
		else
			out_str(o, "dst", "    route %s", "default");
		print_addr(o, "via", " via %s", r->via);
		out_str(o, "dev", " dev %s\n", n->ifaces[r->iface].name);
		out_obj_close(o);
	}
	out_arr_close(o);
	out_obj_close(o);
}

/* Which ports copy their frames to which monitor interface. */
static void print_mirrors(struct out *o, const struct topo *t)
{
	if (t->nmirrors)
		out_text(o, "\nmirrors\n");
	out_arr_open(o, "mirrors");
	for (size_t m = 0; m < t->nmirrors; m++) {
		const struct topo_mirror *tm = &t->mirrors[m];

		out_obj_open(o, NULL);
		out_str(o, "monitor", "  to %s", t->nodes[tm->monitor].name);
		out_str(o, "interface", " %s, copies of\n", tm->ifname);
		out_arr_open(o, "ports");
		for (size_t k = 0; k < tm->nports; k++) {
			const struct topo_node *nd = &t->nodes[tm->ports[k].node];

			out_obj_open(o, NULL);
			out_str(o, "node", "    %s", nd->name);
			out_str(o, "subnet", " -- %s",
				t->subnets[nd->ifaces[tm->ports[k].iface].subnet].name);
			out_str(o, "direction", " %s\n", tm->ports[k].both ? "both ways" : "into the switch");
			out_obj_close(o);
		}
		out_arr_close(o);
		out_obj_close(o);
	}
	out_arr_close(o);
}

static void print_names(struct out *o, const char *key, const char *label,
			const struct topo *t, const size_t *v, size_t n)
{
	out_text(o, "  %-10s", label);
	out_arr_open(o, key);
	for (size_t i = 0; i < n; i++) {
		if (i == 8 && n > 10 && !out_is_json(o)) {
			out_text(o, ", ... (%zu hosts)", n);
			break;
		}
		out_str(o, NULL, i ? ", %s" : "%s", t->nodes[v[i]].name);
	}
	out_arr_close(o);
	out_text(o, "\n");
}

static void print_stmt(struct out *o, const struct plan *p, const struct plan_stmt *st)
{
	const struct spec_gen *g = st->gen;
	static const char *const ops[] = { "", ">=", "<=", "=" };

	out_obj_open(o, NULL);
	out_uint(o, "index", "statement %llu", st->index);
	out_uint(o, "line", " (line %llu): ", g->loc.line);
	out_bool(o, "mix", NULL, g->mix);
	if (g->mix)
		out_str(o, "class", "%s of classes\n", "mix");
	else
		out_str(o, "class", "%s traffic\n", spec_class_name(g->cls));
	print_names(o, "from", "from", p->topo, st->from, st->nfrom);
	print_names(o, "to", "to", p->topo, st->to, st->nto);
	out_uint(o, "pairs", "  pairs     %llu (from, to) host pairs\n", st->pairs);
	out_target(o, g->packets ? "pps" : "rate",
		   g->packets ? "  rate      %s of IP packets, both directions\n"
			      : "  rate      %s of IP traffic, both directions\n",
		   g->rate, g->packets);
	if (!g->mix) {
		out_text(o, "  protocols ");
		print_protos(o, "protocols", st->parts[0].protos, true);
		out_text(o, "%s\n", g->protos ? " (pinned)" : "");
	}
	if (g->flow_op == FLOWS_ANY) {
		out_null(o, "flows", "  flows     %s\n", "as many as the rate needs");
	} else {
		out_obj_open(o, "flows");
		out_str(o, "op", "  flows     %s", ops[g->flow_op]);
		out_uint(o, "count", " %llu concurrent\n", g->flows);
		out_obj_close(o);
	}
	if (g->source)
		out_str(o, "source", "  source    %s (pinned)\n", g->source);
	else
		out_null(o, "source", "  source    %s\n", "chosen by the planner (sources below)");
	if (g->model)
		out_str(o, "model", g->model_file ? "  model     \"%s\" (a file, from the spec's folder)\n"
			: "  model     %s (data/behaviours)\n", g->model);
	else
		out_null(o, "model", "  model     %s\n", "each protocol's own");
	out_time(o, "start", "  start     %s after the run starts\n", g->offset_us);
	if (g->duration_us)
		out_time(o, "duration", "  duration  %s\n", g->duration_us);
	else
		out_null(o, "duration", "  duration  %s\n", "until the run ends");
	if (g->session_rate > 0)
		out_double(o, "session_rate", "  sessions  %g new per second\n", g->session_rate);
	else
		out_null(o, "session_rate", "  sessions  %s\n", "paced by the behaviour model");
	out_str(o, "label", "  label     %s\n", st->label);
	if (st->bottleneck_node != TOPO_NONE) {
		const struct topo_node *n = &p->topo->nodes[st->bottleneck_node];

		out_obj_open(o, "bottleneck");
		out_str(o, "node", "  narrowest %s", n->name);
		out_str(o, "subnet", " -- %s",
			p->topo->subnets[n->ifaces[st->bottleneck_iface].subnet].name);
		out_rate(o, "rate", " at %s\n", st->bottleneck_rate);
		out_obj_close(o);
	} else {
		out_null(o, "bottleneck", "  narrowest %s\n", "no limited link on the paths");
	}
	out_arr_open(o, "parts");
	if (g->mix)
		out_text(o, "  parts\n");
	for (size_t k = 0; k < st->nparts; k++) {
		const struct plan_part *pt = &st->parts[k];

		out_obj_open(o, NULL);
		if (g->mix) {
			out_str(o, "class", "    %-15s", spec_class_name(pt->cls));
			out_ppm(o, "share", " %6s", pt->share_ppm);
			out_target(o, pt->packets ? "pps" : "rate", "  %-12s ", pt->rate, pt->packets);
			print_protos(o, "protocols", pt->protos, true);
			out_text(o, "\n");
		} else {
			out_str(o, "class", NULL, spec_class_name(pt->cls));
			out_ppm(o, "share", NULL, pt->share_ppm);
			out_target(o, pt->packets ? "pps" : "rate", NULL, pt->rate, pt->packets);
			print_protos(o, "protocols", pt->protos, false);
		}
		print_sources(o, p, st, pt, g->mix ? "      " : "  ");
		out_obj_close(o);
	}
	out_arr_close(o);
	out_obj_close(o);
	out_text(o, "\n");
}

int cmd_plan(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "catalog", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	const char *catdir = NULL;
	struct catalog cat = { 0 };
	struct spec *s;
	struct plan *p;
	struct out *o;
	int c, st;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'C':
			catdir = optarg;
			break;
		case 'h':
			return cli_help(cli_find("plan"));
		default:
			return cli_usage_error(cli_find("plan"), "bad option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(cli_find("plan"), "plan needs one spec file");
	st = cli_load(argv[optind], &s, &p);
	if (st == EXIT_OK && (st = cli_choose(p, catdir, false, &cat)) != EXIT_OK)
		plan_free(p);
	if (st != EXIT_OK) {
		catalog_free(&cat);
		spec_free(s);
		return st;
	}

	o = out_new(stdout, json);
	out_obj_open(o, NULL);
	out_str(o, "file", NULL, s->file);
	print_subnets(o, p->topo);
	print_external(o, p->topo);
	out_text(o, "\nnodes\n");
	out_arr_open(o, "nodes");
	for (int kind = 0; kind < 2; kind++)
		for (size_t i = 0; i < p->topo->nnodes; i++)
			if ((int)p->topo->nodes[i].kind == kind)
				print_node(o, p->topo, i, p);
	out_arr_close(o);
	print_mirrors(o, p->topo);
	out_text(o, "\n");
	out_arr_open(o, "statements");
	for (size_t i = 0; i < p->nstmts; i++)
		print_stmt(o, p, &p->stmts[i]);
	out_arr_close(o);
	out_obj_close(o);
	out_free(o);
	plan_free(p);
	catalog_free(&cat);
	spec_free(s);
	return EXIT_OK;
}
