/* cmd-run.c - 'dynamo run FILE': build the network, run each statement's
 * sources between its endpoints for the duration, stop cleanly, and say
 * per statement what crossed the wire (counted from the run's own
 * capture, at the client end of each flow). */
#include "cli.h"
#include "../catalog/catalog.h"
#include "../control/run.h"
#include "../lib/out.h"
#include "../lib/util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef DYNAMO_DATADIR
#define DYNAMO_DATADIR "/usr/local/share/dynamo"
#endif

const char cmd_run_usage[] =
	"usage: dynamo run [--duration TIME] [--record FILE.pcapng] [--labels FILE.csv]\n"
	"                  [--report FILE.json] [--warmup TIME] [--open-loop] [--seed N]\n"
	"                  [--catalog DIR] [--quiet] [--json]\n"
	"                  FILE\n"
	"\n"
	"Build the network of the spec FILE, start the traffic sources of every\n"
	"generate statement between its endpoints (a server on each 'to' host, users\n"
	"on each 'from' host who follow the behaviour model of their protocol; the\n"
	"sources and their intensity as 'dynamo plan' shows them), run\n"
	"them for the duration, stop them cleanly and print, per statement, the bytes,\n"
	"packets and flows seen on the wire.  Everything stays inside namespaces of\n"
	"the run's own; when it ends, nothing is left.\n"
	"\n"
	"options:\n"
	"  --duration TIME     how long to run: 20s, 500ms, 2m, 1h (default: until the\n"
	"                      last statement ends, or 10s when one has no duration)\n"
	"  --record FILE       write every packet of the run to FILE (pcapng, one\n"
	"                      interface per host interface, each packet once)\n"
	"  --labels FILE       write one row per flow to FILE (CSV): start, end,\n"
	"                      transport, the 5-tuple (client first), packets and\n"
	"                      frame bytes each way, statement, label, class,\n"
	"                      protocol, source; every flow of the recording\n"
	"  --report FILE       write the run as JSON to FILE: per statement its targets,\n"
	"                      the rate held after the warm-up, totals, and every\n"
	"                      second (IP bytes, packets, flows open at its end)\n"
	"  --warmup TIME       how long users may take to arrive before rates are held\n"
	"                      to their band and counted as achieved (default 5s)\n"
	"  --seed N            seed of the users' choices and the content (default 1)\n"
	"  --data DIR          behaviour models and corpora (default: data/ next to\n"
	"                      the program, else its ../share/dynamo)\n"
	"  --catalog DIR       the sources to choose from (default: DATA/catalog)\n"
	"  --open-loop         no control: each source's users, as many as the flows\n"
	"                      asked (at least one per host pair and protocol), do\n"
	"                      as their model says, at whatever rate that makes\n"
	"  -q, --quiet         no live view\n"
	"  --json              print the result as JSON (bytes, bits/s, seconds); no\n"
	"                      live view unless stderr is a terminal\n"
	"  -h, --help          show this help\n"
	"\n"
	"Rates and flows are counted from the run's capture: IP bytes of the\n"
	"statement's packets, both directions.  Ten times a second a controller\n"
	"compares them with each statement's targets and steers its sources: a\n"
	"bucket per group of users caps the bytes they move (TCP's flow control\n"
	"slows the servers with them), users think less or more groups of users\n"
	"start when they ask for less than the rate, and groups start or stop to\n"
	"keep 'using >= N' or '<= N flows'.  After the warm-up the rate over the\n"
	"run holds within 1% and each second within 5% (docs/control.md).  The\n"
	"live view shows, per statement, target, the last second, flows open and\n"
	"users, in place on a terminal, else as a line every 5 s on stderr.\n"
	"Ctrl-C stops the run early; the recording, labels and report are still\n"
	"written, complete.\n"
	"\n"
	"exit status: 0 the run completed, 1 it could not run, 2 invalid spec or usage\n"
	"\n"
	"example:\n"
	"    dynamo run office.dyn --duration 30s --record office.pcapng\n"
	"    tshark -r office.pcapng -q -z io,phs\n";

/* TIME: a number with us, ms, s, m or h (plain: seconds). */
int cli_parse_time(const char *s, uint64_t *us)
{
	static const struct { const char *u; double mult; } units[] = {
		{ "us", 1 }, { "ms", 1e3 }, { "s", 1e6 }, { "", 1e6 }, { "m", 60e6 },
		{ "min", 60e6 }, { "h", 3600e6 },
	};
	char *end;
	double v = strtod(s, &end);

	if (end == s || !(v > 0))
		return -1;
	while (*end == ' ')
		end++;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++)
		if (!strcmp(end, units[i].u)) {
			double t = v * units[i].mult;

			if (t < 1e5 || t > (double)SPEC_MAX_TIME_US)
				return -1;
			*us = (uint64_t)t;
			return 0;
		}
	return -1;
}

/* data/ next to the program (a build tree), else PREFIX/share/dynamo
 * for an installed PREFIX/bin/dynamo, else the compiled-in one. */
void cli_find_datadir(char *out, size_t n)
{
	char exe[PATH_MAX - 64], *slash;
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stat st;

	if (len > 0) {
		exe[len] = 0;
		slash = strrchr(exe, '/');
		for (int up = 0; slash && up < 3; up++) {
			*slash = 0;
			snprintf(out, n, "%s/data/behaviours", exe);
			if (!stat(out, &st) && S_ISDIR(st.st_mode)) {
				snprintf(out, n, "%s/data", exe);
				return;
			}
			/* installed: PREFIX/bin/dynamo and PREFIX/share/dynamo */
			snprintf(out, n, "%s/share/dynamo/behaviours", exe);
			if (up == 1 && !stat(out, &st) && S_ISDIR(st.st_mode)) {
				snprintf(out, n, "%s/share/dynamo", exe);
				return;
			}
			slash = strrchr(exe, '/');
		}
	}
	snprintf(out, n, "%s", DYNAMO_DATADIR);
}

/* ---- the live view ----------------------------------------------------- */

#define HIST 24

struct live_view {
	const struct plan *p;
	bool tty, plain;
	unsigned drawn;             /* lines drawn last time (tty) */
	uint64_t last_draw_us, last_plain_us, last_sec;
	uint64_t (*hist)[HIST];     /* per statement: rate of each past second */
	size_t nhist;
};

/* A bar for achieved against target: ' ' none, '#' on target or over. */
static char level(uint64_t rate, uint64_t target)
{
	static const char ramp[] = " .:-=+*#";
	double f = target ? (double)rate / (double)target : 0;
	int i = (int)(f * 7 + 0.5);

	return ramp[i < 0 ? 0 : i > 7 ? 7 : i];
}

static void live_line(FILE *f, const struct live_view *v, size_t s, const struct run_live_stmt *ls)
{
	const struct plan_stmt *ps = &v->p->stmts[s];
	char tgt[32], now[32], hist[HIST + 1];
	size_t n = MIN(v->nhist, (size_t)HIST);

	fmt_target(tgt, sizeof(tgt), ps->gen->rate, ps->gen->packets);
	fmt_target(now, sizeof(now), ls->rate, ps->gen->packets);
	for (size_t i = 0; i < n; i++)
		hist[i] = level(v->hist[s][(v->nhist - n + i) % HIST], ps->gen->rate);
	hist[n] = 0;
	fprintf(f, "  #%-3zu %-14.14s target %12s  now %12s  flows %5llu", ps->index, ps->label, tgt,
		ls->active ? now : "-", (unsigned long long)ls->open);
	if (ps->gen->flow_op != FLOWS_ANY)
		fprintf(f, " (%s %u)", ps->gen->flow_op == FLOWS_GE ? ">=" : ps->gen->flow_op == FLOWS_LE ? "<=" : "=",
			ps->gen->flows);
	fprintf(f, "  users %4u", ls->users);
	if (v->tty)
		fprintf(f, "  [%-*s]", HIST, hist);
}

static void live_tick(const struct run_live *l, void *arg)
{
	struct live_view *v = arg;
	uint64_t sec = l->elapsed_us / 1000000;

	if (sec != v->last_sec && sec >= 1) {
		/* a second has passed: keep its rate for the history */
		for (size_t s = 0; s < l->nstmts; s++)
			v->hist[s][v->nhist % HIST] = l->stmts[s].rate;
		v->nhist++;
		v->last_sec = sec;
	}
	if (v->tty) {
		if (l->elapsed_us < v->last_draw_us + 500000)
			return;
		v->last_draw_us = l->elapsed_us;
		if (v->drawn)
			fprintf(stderr, "\033[%uA", v->drawn);
		fprintf(stderr, "\033[Kdynamo run: %.1f s of %.0f s%s\n", (double)l->elapsed_us / 1e6,
			(double)l->duration_us / 1e6, l->elapsed_us < l->warmup_us ? " (warming up)" : "");
		for (size_t s = 0; s < l->nstmts; s++) {
			fputs("\033[K", stderr);
			live_line(stderr, v, s, &l->stmts[s]);
			fputc('\n', stderr);
		}
		v->drawn = (unsigned)l->nstmts + 1;
		fflush(stderr);
	} else if (v->plain) {
		if (l->elapsed_us < v->last_plain_us + 5000000)
			return;
		v->last_plain_us = l->elapsed_us / 5000000 * 5000000;
		for (size_t s = 0; s < l->nstmts; s++) {
			fprintf(stderr, "dynamo run: %3llu s", (unsigned long long)(l->elapsed_us / 1000000));
			live_line(stderr, v, s, &l->stmts[s]);
			fputc('\n', stderr);
		}
		fflush(stderr);
	}
}

/* What a host says while the run goes (a program that died and was
 * started again): above the view on a terminal, which is then drawn
 * afresh below it. */
static void live_notice(const char *msg, void *arg)
{
	struct live_view *v = arg;

	if (v->tty && v->drawn) {
		fprintf(stderr, "\033[%uA\033[J", v->drawn);
		v->drawn = 0;
		v->last_draw_us = 0;
	}
	fprintf(stderr, "dynamo: %s\n", msg);
	fflush(stderr);
}

/* The notices, one string each. */
static void out_notices(struct out *o, const struct run_result *res)
{
	const char *p = res->notices.p, *end = p ? p + res->notices.len : NULL;

	out_uint(o, "notices_total", NULL, res->nnotices);
	out_arr_open(o, "notices");
	while (p && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char *line;

		if (!nl)
			break;
		line = xstrndup(p, (size_t)(nl - p));
		out_str(o, NULL, NULL, line);
		free(line);
		p = nl + 1;
	}
	out_arr_close(o);
}

/* ---- results ------------------------------------------------------------ */

/* n over us microseconds, per second */
static uint64_t per_second(uint64_t n, uint64_t us)
{
	return us ? (uint64_t)((double)n * 1e6 / (double)us + 0.5) : 0;
}

static uint64_t held_rate(uint64_t bytes, uint64_t us)
{
	return per_second(bytes * 8, us);
}

static const char *flow_op_name(enum spec_flow_op op)
{
	return op == FLOWS_GE ? ">=" : op == FLOWS_LE ? "<=" : op == FLOWS_EQ ? "=" : NULL;
}

/* The fewest flows open at the end of a second after the warm-up. */
static uint64_t held_flows_min(const struct run_stmt *rs, uint64_t warmup_us)
{
	uint64_t from = (rs->start_us + warmup_us + 999999) / 1000000, to = rs->end_us / 1000000,
		 least = UINT64_MAX;

	for (uint64_t w = from; w < to && w < rs->nseries; w++)
		least = MIN(least, rs->series[w].flows);
	return least == UINT64_MAX ? 0 : least;
}

static void print_result(const struct plan *p, const struct run_result *res, bool json,
			 const char *record)
{
	struct out *o = out_new(stdout, json);
	double secs = (double)res->duration_us / 1e6;

	out_obj_open(o, NULL);
	out_time(o, "duration", "ran %s", res->duration_us);
	if (res->stopped)
		out_text(o, " (stopped early)");
	out_bool(o, "stopped", NULL, res->stopped);
	out_notices(o, res);
	out_time(o, "warmup", ", rates held from %s on", res->warmup_us);
	out_text(o, "\n");
	out_arr_open(o, "statements");
	for (size_t i = 0; i < p->nstmts; i++) {
		const struct plan_stmt *ps = &p->stmts[i];
		const struct run_stmt *rs = &res->stmts[i];
		bool pj;
		/* From its first packet to its last, as capinfos counts: the
		 * warm-up and the stop's tail are in it. */
		double span = rs->wire.last_ns > rs->wire.first_ns + 1000000000ull
			? (double)(rs->wire.last_ns - rs->wire.first_ns) / 1e9 : secs;
		uint64_t rate = span <= 0 ? 0
			: ps->gen->packets ? (uint64_t)((double)rs->wire.packets / span)
			: (uint64_t)((double)rs->wire.bytes * 8 / span);

		out_obj_open(o, NULL);
		out_uint(o, "statement", "statement %llu", ps->index);
		out_str(o, "label", " (%s)", ps->label);
		out_str(o, "sources", ": %s\n", rs->protos);
		bool pk = ps->gen->packets;
		uint64_t got = pk ? per_second(rs->held_packets, rs->held_us)
				  : held_rate(rs->held_bytes, rs->held_us);

		out_target(o, pk ? "target_pps" : "target", "  target   %s", ps->gen->rate, pk);
		if (flow_op_name(ps->gen->flow_op)) {
			out_str(o, "flows_op", ", flows %s", flow_op_name(ps->gen->flow_op));
			out_uint(o, "flows_target", " %llu", ps->gen->flows);
		}
		out_text(o, "\n");
		if (rs->held_us) {
			out_target(o, pk ? "achieved_pps" : "achieved", "  achieved %s", got, pk);
			out_time(o, "held", " over the %s after the warm-up", rs->held_us);
			out_uint(o, "flows_min", ", flows open >= %llu at every second\n",
				 held_flows_min(rs, res->warmup_us));
		} else {
			out_null(o, pk ? "achieved_pps" : "achieved", "  achieved -", NULL);
			out_text(o, " (the run ended within the warm-up)\n");
		}
		out_target(o, ps->gen->packets ? "pps" : "rate", "  whole run %s", rate, ps->gen->packets);
		out_uint(o, "bytes", "  %llu bytes", rs->wire.bytes);
		out_uint(o, "packets", "  %llu packets", rs->wire.packets);
		out_uint(o, "flows", "  %llu flows\n", rs->wire.flows);
		if (rs->nparts > 1) {
			out_arr_open(o, "parts");
			for (size_t k = 0; k < rs->nparts; k++) {
				const struct run_part *rp = &rs->parts[k];
				uint64_t a = pk ? rp->held_packets : rp->held_bytes,
					 b = pk ? rs->held_packets : rs->held_bytes;
				uint32_t share = b ? (uint32_t)((double)a * 1e6 / (double)b + 0.5) : 0;

				out_obj_open(o, NULL);
				out_str(o, "class", "  %-14s", spec_class_name(ps->parts[k].cls));
				out_target(o, pk ? "target_pps" : "target", " target %s", rp->target, pk);
				out_ppm(o, "share_target", " (%s)", ps->parts[k].share_ppm);
				out_target(o, pk ? "achieved_pps" : "achieved", "  achieved %s",
					   pk ? per_second(rp->held_packets, rp->held_us)
					      : held_rate(rp->held_bytes, rp->held_us), pk);
				out_ppm(o, "share", " (%s)\n", share);
				out_obj_close(o);
			}
			out_arr_close(o);
		}
		out_obj_open(o, "agents");
		out_uint(o, "instances", "  sources: %llu", rs->instances);
		out_uint(o, "users_per_group", " (client host, server, protocol), %llu users a group",
			 rs->users);
		out_uint(o, "groups_max", ", %llu groups at most\n", rs->groups_max);
		/* a project's clients are its own containers, not dynamo's users */
		pj = rs->containers || rs->containers_failed;
		out_uint(o, "containers", pj ? "  containers: %llu of the project's clients started" : NULL,
			 rs->containers);
		out_uint(o, "containers_failed", pj ? " (%llu failed)\n" : NULL, rs->containers_failed);
		out_uint(o, "sessions", pj ? NULL : "  users: %llu sessions", rs->clients.sessions);
		out_uint(o, "actions", pj ? NULL : ", %llu actions", rs->clients.actions);
		out_uint(o, "connections", pj ? NULL : ", %llu connections", rs->clients.conns);
		out_uint(o, "failed", pj ? NULL : " (%llu failed)", rs->clients.conn_fail);
		out_uint(o, "errors", pj ? NULL : ", %llu protocol errors\n", rs->clients.errors);
		out_obj_close(o);
		out_obj_close(o);
	}
	out_arr_close(o);
	out_obj_open(o, "servers");
	out_uint(o, "connections", "servers: %llu connections", res->servers.conns);
	out_uint(o, "errors", ", %llu protocol errors\n", res->servers.errors);
	out_obj_close(o);
	out_uint(o, "packets", "recorded %llu packets", res->packets);
	out_uint(o, "dropped", ", %llu dropped by the recorder", res->drops);
	out_str(o, "record", record ? " into %s" : NULL, record);
	if (!record)
		out_null(o, "record", NULL, NULL);
	out_text(o, "\n");
	out_obj_close(o);
	out_free(o);
}

/* --report FILE: targets, what was achieved, and every second. */
static int write_report(const char *path, const char *spec, const struct plan *p,
			const struct run_result *res, uint64_t seed)
{
	FILE *f = fopen(path, "we");
	struct out *o;
	int r = 0;

	if (!f)
		return -errno;
	o = out_new(f, true);
	out_obj_open(o, NULL);
	out_str(o, "version", NULL, DYNAMO_VERSION);
	out_str(o, "spec", NULL, spec);
	out_uint(o, "seed", NULL, seed);
	out_double(o, "duration_s", NULL, (double)res->duration_us / 1e6);
	out_double(o, "warmup_s", NULL, (double)res->warmup_us / 1e6);
	out_bool(o, "stopped", NULL, res->stopped);
	out_notices(o, res);
	out_uint(o, "packets", NULL, res->packets);
	out_uint(o, "dropped", NULL, res->drops);
	out_arr_open(o, "statements");
	for (size_t i = 0; i < p->nstmts; i++) {
		const struct plan_stmt *ps = &p->stmts[i];
		const struct run_stmt *rs = &res->stmts[i];

		out_obj_open(o, NULL);
		out_uint(o, "statement", NULL, ps->index);
		out_str(o, "label", NULL, ps->label);
		out_str(o, "sources", NULL, rs->protos);
		out_double(o, "start_s", NULL, (double)rs->start_us / 1e6);
		out_double(o, "end_s", NULL, (double)rs->end_us / 1e6);
		out_obj_open(o, "target");
		out_uint(o, ps->gen->packets ? "pps" : "bps", NULL, ps->gen->rate);
		if (flow_op_name(ps->gen->flow_op)) {
			out_str(o, "flows_op", NULL, flow_op_name(ps->gen->flow_op));
			out_uint(o, "flows", NULL, ps->gen->flows);
		}
		out_obj_close(o);
		out_obj_open(o, "achieved");
		out_uint(o, "bps", NULL, held_rate(rs->held_bytes, rs->held_us));
		out_uint(o, "pps", NULL, per_second(rs->held_packets, rs->held_us));
		out_double(o, "held_s", NULL, (double)rs->held_us / 1e6);
		out_uint(o, "held_bytes", NULL, rs->held_bytes);
		out_uint(o, "held_packets", NULL, rs->held_packets);
		out_uint(o, "flows_min", NULL, held_flows_min(rs, res->warmup_us));
		out_uint(o, "bytes", NULL, rs->wire.bytes);
		out_uint(o, "packets", NULL, rs->wire.packets);
		out_uint(o, "flows", NULL, rs->wire.flows);
		out_uint(o, "sessions", NULL, rs->clients.sessions);
		out_uint(o, "connections", NULL, rs->clients.conns);
		out_uint(o, "errors", NULL, rs->clients.errors);
		out_obj_close(o);
		out_arr_open(o, "parts");
		for (size_t k = 0; k < rs->nparts; k++) {
			const struct run_part *rp = &rs->parts[k];

			out_obj_open(o, NULL);
			out_str(o, "class", NULL, spec_class_name(ps->parts[k].cls));
			out_uint(o, ps->gen->packets ? "target_pps" : "target_bps", NULL, rp->target);
			out_uint(o, "achieved_bps", NULL, held_rate(rp->held_bytes, rp->held_us));
			out_uint(o, "achieved_pps", NULL, per_second(rp->held_packets, rp->held_us));
			out_uint(o, "held_bytes", NULL, rp->held_bytes);
			out_uint(o, "held_packets", NULL, rp->held_packets);
			out_uint(o, "bytes", NULL, rp->wire.bytes);
			out_uint(o, "flows", NULL, rp->wire.flows);
			out_obj_close(o);
		}
		out_arr_close(o);
		/* each second from the go: [t, IP bytes, packets, flows open at its end] */
		out_arr_open(o, "series");
		for (size_t w = 0; w < rs->nseries; w++) {
			out_obj_open(o, NULL);
			out_uint(o, "t", NULL, w);
			out_uint(o, "bps", NULL, rs->series[w].bytes * 8);
			out_uint(o, "bytes", NULL, rs->series[w].bytes);
			out_uint(o, "packets", NULL, rs->series[w].packets);
			out_uint(o, "flows", NULL, rs->series[w].flows);
			out_obj_close(o);
		}
		out_arr_close(o);
		out_obj_close(o);
	}
	out_arr_close(o);
	out_obj_close(o);
	out_free(o);
	if (ferror(f))
		r = -EIO;
	if (fclose(f) && !r)
		r = -errno;
	return r;
}

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "record", required_argument, NULL, 'r' },
		{ "labels", required_argument, NULL, 'l' },
		{ "seed", required_argument, NULL, 's' },
		{ "data", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "report", required_argument, NULL, 'R' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "open-loop", no_argument, NULL, 'o' },
		{ "catalog", required_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *self = cli_find("run");
	struct run_opts ro = { .seed = 1, .stop_fd = -1 };
	struct run_result res = { 0 };
	char datadir[PATH_MAX] = "", err[512] = "";
	struct spec *s = NULL;
	struct plan *p = NULL;
	bool json = false, quiet = false;
	const char *report = NULL, *catdir = NULL;
	struct catalog cat = { 0 };
	struct live_view lv = { 0 };
	sigset_t set;
	int c, st;

	optind = 1;
	while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (cli_parse_time(optarg, &ro.duration_us))
				return cli_usage_error(self, "--duration takes a time from 100ms to a year, "
						       "such as 20s or 5m, not '%s'", optarg);
			break;
		case 'r':
			ro.record = optarg;
			break;
		case 'C':
			catdir = optarg;
			break;
		case 'l':
			ro.labels = optarg;
			break;
		case 's': {
			char *end;

			errno = 0;
			ro.seed = strtoull(optarg, &end, 0);
			if (*end || end == optarg || errno)
				return cli_usage_error(self, "--seed takes a number, not '%s'", optarg);
			break;
		}
		case 'D':
			snprintf(datadir, sizeof(datadir), "%s", optarg);
			break;
		case 'j':
			json = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'o':
			ro.open_loop = true;
			break;
		case 'R':
			report = optarg;
			break;
		case 'w':
			if (cli_parse_time(optarg, &ro.warmup_us))
				return cli_usage_error(self, "--warmup takes a time such as 5s, not '%s'",
						       optarg);
			break;
		case 'h':
			return cli_help(self);
		default:
			return cli_usage_error(self, "bad option");
		}
	}
	if (optind + 1 != argc)
		return cli_usage_error(self, "run needs one spec file");
	if (!datadir[0])
		cli_find_datadir(datadir, sizeof(datadir));
	ro.datadir = datadir;
	st = cli_load(argv[optind], &s, &p);
	if (st == EXIT_OK)
		st = cli_choose(p, catdir, false, &cat);
	if (st != EXIT_OK)
		goto out;
	if (run_check(p, datadir, err, sizeof(err))) {
		fprintf(stderr, "dynamo: %s\n", err);
		st = EXIT_FAIL;
		goto out;
	}
	/* Ctrl-C and SIGTERM end the run early, cleanly. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	ro.stop_fd = signalfd(-1, &set, SFD_CLOEXEC);
	/* The live view: in place on a terminal, plain lines now and then
	 * when not one (not with --json, whose output is for programs). */
	lv.p = p;
	lv.tty = !quiet && isatty(STDERR_FILENO);
	lv.plain = !quiet && !json && !lv.tty;
	lv.hist = xcalloc(p->nstmts + 1, sizeof(*lv.hist));
	if (lv.tty || lv.plain)
		ro.tick = live_tick;
	ro.tick_arg = &lv;
	ro.notice = live_notice;
	fflush(NULL);
	if (run_exec(p, &ro, &res, err, sizeof(err))) {
		fprintf(stderr, "dynamo: %s\n", err);
		st = EXIT_FAIL;
		goto out;
	}
	if (report) {
		int e = write_report(report, argv[optind], p, &res, ro.seed);

		if (e) {
			fprintf(stderr, "dynamo: %s: %s\n", report, strerror(-e));
			st = EXIT_FAIL;
		}
	}
	print_result(p, &res, json, ro.record);
	if (res.warning[0])
		fprintf(stderr, "dynamo: warning: %s\n", res.warning);
	if (res.died)
		fprintf(stderr, "dynamo: warning: %u host process%s did not end cleanly\n", res.died,
			res.died == 1 ? "" : "es");
	if (res.drops)
		fprintf(stderr, "dynamo: warning: the recorder lost %llu packets\n",
			(unsigned long long)res.drops);
out:
	free(lv.hist);
	if (ro.stop_fd >= 0)
		close(ro.stop_fd);
	run_result_free(&res);
	plan_free(p);
	catalog_free(&cat);
	spec_free(s);
	return st;
}
