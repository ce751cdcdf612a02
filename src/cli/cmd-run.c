/* cmd-run.c - 'dynamo run FILE': build the network, run each statement's
 * sources between its endpoints for the duration, stop cleanly, and say
 * per statement what crossed the wire (counted from the run's own
 * capture, at the client end of each flow). */
#include "cli.h"
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
	"                  [--seed N] [--json] FILE\n"
	"\n"
	"Build the network of the spec FILE, start the traffic sources of every\n"
	"generate statement between its endpoints (a server on each 'to' host, users\n"
	"on each 'from' host who follow the behaviour model of their protocol), run\n"
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
	"  --seed N            seed of the users' choices and the content (default 1)\n"
	"  --data DIR          behaviour models and corpora (default: data/ next to\n"
	"                      the program, else its ../share/dynamo)\n"
	"  --json              print the result as JSON (bytes, bits/s, seconds)\n"
	"  -h, --help          show this help\n"
	"\n"
	"Rates and flows are counted from the run's capture: IP bytes of the\n"
	"statement's packets, both directions.  This version runs each statement's\n"
	"sources at a fixed intensity (users enough for the flows asked, following\n"
	"their behaviour model); it reports the rate achieved against the target.\n"
	"Ctrl-C stops the run early; the recording is still complete.\n"
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
	out_text(o, "\n");
	out_arr_open(o, "statements");
	for (size_t i = 0; i < p->nstmts; i++) {
		const struct plan_stmt *ps = &p->stmts[i];
		const struct run_stmt *rs = &res->stmts[i];
		uint64_t rate = secs > 0 ? (uint64_t)((double)rs->wire.bytes * 8 / secs) : 0;

		out_obj_open(o, NULL);
		out_uint(o, "statement", "statement %llu", ps->index);
		out_str(o, "label", " (%s)", ps->label);
		out_str(o, "sources", ": %s", rs->protos);
		out_uint(o, "users", ", %llu users", rs->users);
		out_uint(o, "groups", " in each of %llu groups (client host, server, protocol)\n",
			 rs->instances);
		out_rate(o, "target", "  target   %s\n", ps->gen->rate);
		out_rate(o, "rate", "  achieved %s", rate);
		out_uint(o, "bytes", "  %llu bytes", rs->wire.bytes);
		out_uint(o, "packets", "  %llu packets", rs->wire.packets);
		out_uint(o, "flows", "  %llu flows\n", rs->wire.flows);
		out_obj_open(o, "agents");
		out_uint(o, "sessions", "  users: %llu sessions", rs->clients.sessions);
		out_uint(o, "actions", ", %llu actions", rs->clients.actions);
		out_uint(o, "connections", ", %llu connections", rs->clients.conns);
		out_uint(o, "failed", " (%llu failed)", rs->clients.conn_fail);
		out_uint(o, "errors", ", %llu protocol errors\n", rs->clients.errors);
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

int cmd_run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "record", required_argument, NULL, 'r' },
		{ "labels", required_argument, NULL, 'l' },
		{ "seed", required_argument, NULL, 's' },
		{ "data", required_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *self = cli_find("run");
	struct run_opts ro = { .seed = 1, .stop_fd = -1 };
	struct run_result res = { 0 };
	char datadir[PATH_MAX] = "", err[512] = "";
	struct spec *s = NULL;
	struct plan *p = NULL;
	bool json = false;
	sigset_t set;
	int c, st;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (cli_parse_time(optarg, &ro.duration_us))
				return cli_usage_error(self, "--duration takes a time from 100ms to a year, "
						       "such as 20s or 5m, not '%s'", optarg);
			break;
		case 'r':
			ro.record = optarg;
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
	fflush(NULL);
	if (run_exec(p, &ro, &res, err, sizeof(err))) {
		fprintf(stderr, "dynamo: %s\n", err);
		st = EXIT_FAIL;
		goto out;
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
	if (ro.stop_fd >= 0)
		close(ro.stop_fd);
	run_result_free(&res);
	plan_free(p);
	spec_free(s);
	return st;
}
