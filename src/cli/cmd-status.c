/* cmd-status.c - 'dynamo status [LAB]': the labs that are up, or the
 * nodes of one with their addresses. */
#include "cli.h"
#include "../control/lab.h"
#include "../lib/out.h"
#include "../lib/util.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char cmd_status_usage[] =
	"usage: dynamo status [--json] [LAB]\n"
	"\n"
	"List the labs made by 'dynamo up' (name, holder pid, hosts, routers,\n"
	"since when, spec), or, with LAB, the nodes of that lab with their\n"
	"addresses.  A lab whose holder has died is shown as gone.\n"
	"\n"
	"options:\n"
	"  --json       print JSON\n"
	"  -h, --help   show this help\n"
	"\n"
	"exit status: 0 success, 1 no such lab, 2 bad usage\n";

static void one_lab(struct out *o, const struct lab *l, bool nodes)
{
	size_t hosts = 0, routers = 0;
	char since[32];
	time_t t = (time_t)l->started;
	struct tm tm;

	for (size_t i = 0; i < l->nnodes; i++) {
		hosts += !l->nodes[i].router;
		routers += l->nodes[i].router;
	}
	strftime(since, sizeof(since), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
	out_obj_open(o, NULL);
	out_str(o, "name", "%-16s", l->name);
	out_uint(o, "pid", " %-8llu", (unsigned long long)l->pid);
	out_bool(o, "alive", NULL, lab_alive(l));
	out_str(o, "state", " %-5s", lab_alive(l) ? "up" : "gone");
	out_uint(o, "hosts", " %6llu", hosts);
	out_uint(o, "routers", " %7llu", routers);
	out_uint(o, "started", NULL, (unsigned long long)l->started);
	out_str(o, NULL, "  %s", since);
	out_bool(o, "rootless", NULL, l->rootless);
	out_str(o, "spec", "  %s\n", l->spec);
	if (nodes) {
		out_text(o, "\n  %-16s %-7s %s\n", "NODE", "KIND", "ADDRESS");
		out_arr_open(o, "nodes");
		for (size_t i = 0; i < l->nnodes; i++) {
			char a[20];

			fmt_ipv4(a, sizeof(a), l->nodes[i].addr);
			out_obj_open(o, NULL);
			out_str(o, "name", "  %-16s", l->nodes[i].name);
			out_str(o, "kind", " %-7s", l->nodes[i].router ? "router" : "host");
			out_str(o, "address", " %s\n", a);
			out_obj_close(o);
		}
		out_arr_close(o);
	}
	out_obj_close(o);
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *self = cli_find("status");
	char dir[4096], err[256], **names = NULL;
	bool json = false;
	size_t n = 0;
	struct out *o;
	int c, st = EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'h':
			return cli_help(self);
		default:
			return cli_usage_error(self, "bad option");
		}
	}
	if (optind + 1 < argc)
		return cli_usage_error(self, "status takes at most one lab");
	if (optind < argc) {
		struct lab l;

		if ((st = cli_lab_open(argv[optind], dir, sizeof(dir), &l)))
			return st;
		o = out_new(stdout, json);
		out_text(o, "%-16s %-8s %-5s %6s %7s  %-19s  %s\n", "LAB", "PID", "STATE", "HOSTS",
			 "ROUTERS", "SINCE", "SPEC");
		one_lab(o, &l, true);
		out_free(o);
		lab_free(&l);
		return EXIT_OK;
	}
	if (lab_rundir(dir, sizeof(dir), false) || lab_list(dir, &names, &n)) {
		fprintf(stderr, "dynamo: cannot read the run directory %s\n", dir);
		return EXIT_FAIL;
	}
	o = out_new(stdout, json);
	out_obj_open(o, NULL);
	if (!n)
		out_text(o, "no lab is up\n");
	else
		out_text(o, "%-16s %-8s %-5s %6s %7s  %-19s  %s\n", "LAB", "PID", "STATE", "HOSTS",
			 "ROUTERS", "SINCE", "SPEC");
	out_arr_open(o, "labs");
	for (size_t i = 0; i < n; i++) {
		struct lab l;

		if (lab_load(dir, names[i], &l, err, sizeof(err)) == 0) {
			one_lab(o, &l, false);
			lab_free(&l);
		} else {
			out_text(o, "%-16s (unreadable: %s)\n", names[i], err);
		}
		free(names[i]);
	}
	out_arr_close(o);
	out_obj_close(o);
	out_free(o);
	free(names);
	return st;
}
