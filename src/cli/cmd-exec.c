/* cmd-exec.c - 'dynamo exec [--lab LAB] HOST [--] COMMAND...': run a
 * program inside a host of a lab.  This process enters the host's network
 * namespace (through the holder's descriptor for it), gets a mount
 * namespace where /etc/hosts names the lab's hosts and a UTS namespace
 * with the host's name, and becomes the program: its exit status, its
 * terminal and its signals are the program's own. */
#include "cli.h"
#include "../control/lab.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

const char cmd_exec_usage[] =
	"usage: dynamo exec [--lab LAB] NODE [--] [COMMAND [ARG...]]\n"
	"\n"
	"Run COMMAND on NODE (a host or router) of a lab made by 'dynamo up', with\n"
	"the node's interfaces, addresses and routes.  Names of the lab's nodes\n"
	"resolve through /etc/hosts.  Without a command, run $SHELL.  The exit\n"
	"status is the command's; a terminal stays attached.\n"
	"\n"
	"options:\n"
	"  --lab LAB    the lab (default: the only lab up)\n"
	"  -h, --help   show this help\n"
	"\n"
	"exit status: the command's; 126 it cannot run, 127 not found, 1 no such\n"
	"lab, 2 bad usage or no such node\n"
	"\n"
	"example:\n"
	"    dynamo exec pc1 -- curl http://web1/\n"
	"    dynamo exec --lab office gw -- tcpdump -ni eth1\n";

/* Best effort: the lab's names and the node's hostname. */
static void private_names(const char *dir, const struct lab *l, const char *node)
{
	char hosts[4096];

	if (unshare(CLONE_NEWNS | CLONE_NEWUTS))
		return;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0) {
		lab_path(hosts, sizeof(hosts), dir, l->name, "hosts");
		(void)mount(hosts, "/etc/hosts", NULL, MS_BIND, NULL);
	}
	(void)sethostname(node, strlen(node));
}

int cmd_exec(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "lab", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *self = cli_find("exec");
	const char *labname = NULL, *node;
	char dir[4096], **cmd;
	char *shell_argv[2] = { NULL, NULL };
	struct lab l;
	int c, st;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			labname = optarg;
			break;
		case 'h':
			return cli_help(self);
		default:
			return cli_usage_error(self, "bad option");
		}
	}
	if (optind >= argc)
		return cli_usage_error(self, "exec needs a node");
	node = argv[optind++];
	if (optind < argc && !strcmp(argv[optind], "--"))
		optind++;
	cmd = argv + optind;
	if (!*cmd) {
		shell_argv[0] = getenv("SHELL") ? getenv("SHELL") : "/bin/sh";
		cmd = shell_argv;
	}
	if ((st = cli_lab_enter(labname, node, dir, sizeof(dir), &l)))
		return st;
	private_names(dir, &l, node);
	setenv("DYNAMO_LAB", l.name, 1);
	setenv("DYNAMO_NODE", node, 1);
	lab_free(&l);
	fflush(NULL);
	execvp(cmd[0], cmd);
	st = errno == ENOENT ? 127 : 126;
	fprintf(stderr, "dynamo: cannot run %s: %s\n", cmd[0], strerror(errno));
	return st;
}
