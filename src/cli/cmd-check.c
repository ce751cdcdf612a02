/* cmd-check.c - 'dynamo check FILE...': parse, check and resolve specs
 * and report every error of each file. */
#include "cli.h"
#include "../plan/plan.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

const char cmd_check_usage[] =
	"usage: dynamo check [-q] FILE...\n"
	"\n"
	"Check each spec FILE ('-' reads standard input): its syntax, the names\n"
	"and addresses of its network, and that each statement can be met by the\n"
	"links on its paths.  Every error of a file is reported, each as\n"
	"\n"
	"    FILE:LINE:COL: error: MESSAGE\n"
	"\n"
	"with the source line, a caret under the offending token and, where one\n"
	"helps, a hint.  Warnings do not make a file invalid.\n"
	"\n"
	"options:\n"
	"  -q, --quiet   print nothing for valid files\n"
	"  -h, --help    show this help\n"
	"\n"
	"exit status: 0 all files valid, 2 a file is invalid (or bad usage),\n"
	"1 a file cannot be read\n"
	"\n"
	"example:\n"
	"    dynamo check office.dyn\n";

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool quiet = false;
	int c, status = EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case 'h':
			return cli_help(cli_find("check"));
		default:
			return cli_usage_error(cli_find("check"), "bad option");
		}
	}
	if (optind >= argc)
		return cli_usage_error(cli_find("check"), "check needs a spec file");

	for (int i = optind; i < argc; i++) {
		struct spec *s;
		struct plan *p;
		int st = cli_load(argv[i], &s, &p);

		if (st == EXIT_OK && !quiet) {
			size_t hosts = 0, routers = 0;

			for (size_t k = 0; k < p->topo->nnodes; k++) {
				hosts += p->topo->nodes[k].kind == TOPO_HOST;
				routers += p->topo->nodes[k].kind == TOPO_ROUTER;
			}
			printf("%s: ok: %zu statement%s, %zu host%s, %zu router%s, %zu subnet%s\n",
			       s->file, p->nstmts, p->nstmts == 1 ? "" : "s", hosts,
			       hosts == 1 ? "" : "s", routers, routers == 1 ? "" : "s",
			       p->topo->nsubnets, p->topo->nsubnets == 1 ? "" : "s");
		}
		if (st > status)
			status = st;
		plan_free(p);
		spec_free(s);
	}
	return status;
}
