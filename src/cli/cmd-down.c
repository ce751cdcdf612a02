/* cmd-down.c - 'dynamo down [LAB | --all]': stop a lab's holder, which
 * takes the lab's namespaces, interfaces and routes with it, and kill
 * whatever still runs inside them. */
#include "cli.h"
#include "../control/lab.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const char cmd_down_usage[] =
	"usage: dynamo down [LAB | --all]\n"
	"\n"
	"Remove a lab made by 'dynamo up': its holder exits, the kernel removes\n"
	"the lab's namespaces with every interface and route in them, and any\n"
	"program still running inside the lab is killed.  Without LAB, the only\n"
	"lab up.  A lab whose holder has died is cleaned up the same way.\n"
	"\n"
	"options:\n"
	"  --all        remove every lab\n"
	"  -h, --help   show this help\n"
	"\n"
	"exit status: 0 removed, 1 no such lab or it would not stop, 2 bad usage\n";

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

static int down_one(const char *dir, struct lab *l)
{
	int killed;

	/* programs run with 'dynamo exec' hold the namespaces: they go first */
	killed = lab_kill_inside(l, SIGKILL);
	/* alive means holding the lab: an exited holder waiting to be reaped
	 * (a zombie) holds nothing any more */
	if (lab_alive(l)) {
		kill(l->pid, SIGTERM);
		for (int i = 0; i < 500 && lab_alive(l); i++)
			sleep_ms(2);
		if (lab_alive(l)) {
			kill(l->pid, SIGKILL);
			for (int i = 0; i < 500 && lab_alive(l); i++)
				sleep_ms(2);
		}
		if (lab_alive(l)) {
			fprintf(stderr, "dynamo: lab %s: holder %d does not stop\n", l->name,
				(int)l->pid);
			return EXIT_FAIL;
		}
	}
	lab_remove(dir, l->name);
	printf("lab %s is down%s\n", l->name,
	       killed > 0 ? " (programs still running in it were killed)" : "");
	return EXIT_OK;
}

int cmd_down(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *self = cli_find("down");
	bool all = false;
	char dir[4096];
	int c, st = EXIT_OK;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'h':
			return cli_help(self);
		default:
			return cli_usage_error(self, "bad option");
		}
	}
	if (optind + 1 < argc || (all && optind < argc))
		return cli_usage_error(self, "down takes one lab, or --all");
	if (all) {
		char **names = NULL, err[256];
		size_t n = 0;

		if (lab_rundir(dir, sizeof(dir), false) || lab_list(dir, &names, &n)) {
			fprintf(stderr, "dynamo: cannot read the run directory %s\n", dir);
			return EXIT_FAIL;
		}
		if (!n)
			printf("no lab is up\n");
		for (size_t i = 0; i < n; i++) {
			struct lab l;

			if (lab_load(dir, names[i], &l, err, sizeof(err)) == 0) {
				if (down_one(dir, &l))
					st = EXIT_FAIL;
				lab_free(&l);
			} else {
				fprintf(stderr, "dynamo: lab %s: %s; removing its files\n", names[i], err);
				lab_remove(dir, names[i]);
			}
			free(names[i]);
		}
		free(names);
		return st;
	}
	{
		struct lab l;

		if ((st = cli_lab_open(optind < argc ? argv[optind] : NULL, dir, sizeof(dir), &l)))
			return st;
		st = down_one(dir, &l);
		lab_free(&l);
	}
	return st;
}
