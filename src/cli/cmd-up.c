/* cmd-up.c - 'dynamo up FILE': build a spec's network and keep it up as a
 * lab.  A holder process builds the network in namespaces of its own,
 * checks that every host answers, writes the lab's state file, tells the
 * waiting command it is ready, and holds the network until 'dynamo down'
 * signals it.  Until it is ready it dies with the command (Ctrl-C or a
 * kill of 'dynamo up' leaves nothing). */
#include "cli.h"
#include "../control/emul.h"
#include "../control/lab.h"
#include "../lib/util.h"
#include "../plan/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char cmd_up_usage[] =
	"usage: dynamo up [--name LAB] [--timeout SECONDS] [--mirror WHAT:HOST]... FILE\n"
	"\n"
	"Build the network of the spec FILE (hosts, subnets, routers, the emulated\n"
	"Internet, link conditions) and keep it up as a lab, to run your own\n"
	"programs in it: an IDS, a browser, a scanner, a server.  Returns when\n"
	"every host answers a ping from its gateway or neighbour.  Traffic stays\n"
	"inside the lab's own namespaces: the machine's network is not touched.\n"
	"\n"
	"options:\n"
	"  --name LAB         the lab's name (default: FILE's name without .dyn)\n"
	"  --timeout SECONDS  how long hosts may take to answer (default 10)\n"
	"  --mirror WHAT:HOST copy a subnet's traffic (lan:ids) or a link's\n"
	"                     (h1--lan:ids) to an interface monN of HOST, as the\n"
	"                     spec's 'mirror' statement does; may be repeated\n"
	"  -h, --help         show this help\n"
	"\n"
	"Several labs can be up at once.  Their state is kept in $DYNAMO_RUNDIR,\n"
	"else /run/dynamo (root) or $XDG_RUNTIME_DIR/dynamo.  Without root, the lab\n"
	"lives in a user namespace of your own.\n"
	"\n"
	"exit status: 0 the lab is up, 1 it could not be built, 2 invalid spec or usage\n"
	"\n"
	"example:\n"
	"    dynamo up office.dyn\n"
	"    dynamo exec pc1 -- ping -c 3 web1\n"
	"    dynamo down office\n";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The holder: build, report on fd, then hold until told to go. */
static int __attribute__((noreturn))
holder(int fd, const char *dir, const char *name, const char *spec_path, struct plan *p,
       int timeout_s)
{
	struct emul e;
	struct lab l = { 0 };
	char err[512] = "";
	double t0 = now_s();
	sigset_t set;
	int r, sig;
	char msg[600];

	/* until ready, die with 'dynamo up' */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(1);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);

	if ((r = emul_start(&e, p->topo, timeout_s * 1000, err, sizeof(err))))
		goto fail;
	if ((r = lab_write_hosts(dir, name, p->topo))) {
		snprintf(err, sizeof(err), "cannot write the lab's hosts file: %s", strerror(-r));
		goto fail;
	}
	snprintf(l.name, sizeof(l.name), "%s", name);
	l.pid = getpid();
	l.rootless = e.net.rootless;
	l.started = (long)time(NULL);
	if (!realpath(spec_path, l.spec))
		snprintf(l.spec, sizeof(l.spec), "%s", spec_path);
	l.nnodes = p->topo->nnodes;
	l.nodes = xcalloc(l.nnodes + 1, sizeof(*l.nodes));
	for (size_t i = 0; i < l.nnodes; i++) {
		const struct topo_node *nd = &p->topo->nodes[i];
		struct stat st;

		snprintf(l.nodes[i].name, sizeof(l.nodes[i].name), "%s", nd->name);
		l.nodes[i].router = nd->kind == TOPO_ROUTER;
		l.nodes[i].addr = nd->nifaces ? nd->ifaces[0].addr : 0;
		l.nodes[i].fd = e.net.ns_fd[i];
		l.nodes[i].ino = fstat(e.net.ns_fd[i], &st) ? 0 : (uint64_t)st.st_ino;
	}
	if ((r = lab_save(dir, &l))) {
		snprintf(err, sizeof(err), "cannot write the lab's state: %s", strerror(-r));
		goto fail;
	}
	/* From here the lab outlives 'dynamo up': stop dying with it before
	 * saying we are ready, or its exit could kill us.  If it is already
	 * gone the write fails (SIGPIPE is ignored) and the lab goes too. */
	prctl(PR_SET_PDEATHSIG, 0);
	snprintf(msg, sizeof(msg), "ok %.3f\n", now_s() - t0);
	if (write(fd, msg, strlen(msg)) < 0) {
		lab_kill_inside(&l, SIGKILL);
		lab_remove(dir, name);
		_exit(1);
	}
	close(fd);

	do
		sig = sigwaitinfo(&set, NULL);
	while (sig < 0 && errno == EINTR);
	/* programs started in the lab go with it */
	lab_kill_inside(&l, SIGKILL);
	lab_remove(dir, name);
	emul_stop(&e);
	_exit(0);
fail:
	snprintf(msg, sizeof(msg), "error %s\n", err);
	if (write(fd, msg, strlen(msg)) < 0)
		_exit(1);
	lab_remove(dir, name);
	_exit(1);
}

int cmd_up(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "mirror", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *self = cli_find("up");
	char name[LAB_MAX_NAME + 1] = "", dir[4096], reply[700] = "", lerr[256];
	int c, st, timeout_s = 10, pfd[2];
	struct spec *s = NULL;
	struct plan *p = NULL;
	struct lab old;
	struct buf mirrors = { 0 };
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!lab_name_ok(optarg))
				return cli_usage_error(self, "bad lab name '%s': use up to %d letters, "
						       "digits, '-', '_' or '.'", optarg, LAB_MAX_NAME);
			snprintf(name, sizeof(name), "%s", optarg);
			break;
		case 't': {
			char *end;
			long v = strtol(optarg, &end, 10);

			if (*end || end == optarg || v < 1 || v > 3600)
				return cli_usage_error(self, "--timeout takes 1 to 3600 seconds");
			timeout_s = (int)v;
			break;
		}
		case 'm': {
			/* WHAT:HOST, WHAT a network or NODE--NETWORK: words only, so
			 * that nothing else can slip into the spec */
			char *colon = strrchr(optarg, ':'), *dash = strstr(optarg, "--");

			if (!colon || colon == optarg || !colon[1] ||
			    strspn(optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					   "0123456789_-:") != strlen(optarg) ||
			    (dash && (dash == optarg || dash + 2 >= colon))) {
				buf_free(&mirrors);
				return cli_usage_error(self, "--mirror takes SUBNET:HOST or "
						       "NODE--NETWORK:HOST, not '%s'", optarg);
			}
			if (dash)
				buf_printf(&mirrors, "mirror %.*s -- %.*s to %s ;\n",
					   (int)(dash - optarg), optarg, (int)(colon - dash - 2),
					   dash + 2, colon + 1);
			else
				buf_printf(&mirrors, "mirror %.*s to %s ;\n", (int)(colon - optarg),
					   optarg, colon + 1);
			break;
		}
		case 'h':
			buf_free(&mirrors);
			return cli_help(self);
		default:
			buf_free(&mirrors);
			return cli_usage_error(self, "bad option");
		}
	}
	if (optind + 1 != argc) {
		buf_free(&mirrors);
		return cli_usage_error(self, "up needs one spec file");
	}
	if (!name[0]) {
		const char *base = strrchr(argv[optind], '/');
		size_t len;

		base = base ? base + 1 : argv[optind];
		len = strcspn(base, ".");
		snprintf(name, sizeof(name), "%.*s", (int)MIN(len, (size_t)LAB_MAX_NAME), base);
		if (!lab_name_ok(name))
			return cli_usage_error(self, "cannot name a lab after '%s'; give --name",
					       argv[optind]);
	}
	st = cli_load_with(argv[optind], mirrors.p, &s, &p);
	buf_free(&mirrors);
	if (st != EXIT_OK)
		goto out;
	if ((r = lab_rundir(dir, sizeof(dir), true))) {
		fprintf(stderr, "dynamo: cannot make the run directory %s: %s\n", dir,
			strerror((int)-r));
		st = EXIT_FAIL;
		goto out;
	}
	if (lab_load(dir, name, &old, lerr, sizeof(lerr)) == 0) {
		bool alive = lab_alive(&old);

		if (alive) {
			fprintf(stderr, "dynamo: lab %s is already up (pid %d); 'dynamo down %s' "
				"first, or give another --name\n", name, (int)old.pid, name);
			lab_free(&old);
			st = EXIT_FAIL;
			goto out;
		}
		lab_free(&old);
		lab_remove(dir, name); /* its holder is gone */
	}
	if (pipe(pfd)) {
		fprintf(stderr, "dynamo: pipe: %s\n", strerror(errno));
		st = EXIT_FAIL;
		goto out;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "dynamo: fork: %s\n", strerror(errno));
		st = EXIT_FAIL;
		goto out;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		close(pfd[0]);
		setsid();
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
			close(null);
		}
		holder(pfd[1], dir, name, argv[optind], p, timeout_s);
	}
	close(pfd[1]);
	while (got + 1 < sizeof(reply) &&
	       (r = read(pfd[0], reply + got, sizeof(reply) - 1 - got)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		got += (size_t)r;
	}
	close(pfd[0]);
	reply[got] = '\0';
	reply[strcspn(reply, "\n")] = '\0';
	if (!strncmp(reply, "ok ", 3)) {
		size_t hosts = 0, routers = 0;

		for (size_t i = 0; i < p->topo->nnodes; i++) {
			hosts += p->topo->nodes[i].kind == TOPO_HOST;
			routers += p->topo->nodes[i].kind == TOPO_ROUTER;
		}
		printf("lab %s is up: %zu host%s, %zu router%s, %zu subnet%s, in %s s (pid %d)\n",
		       name, hosts, hosts == 1 ? "" : "s", routers, routers == 1 ? "" : "s",
		       p->topo->nsubnets, p->topo->nsubnets == 1 ? "" : "s", reply + 3, (int)pid);
		printf("  dynamo exec --lab %s HOST -- COMMAND   run a program on a host\n"
		       "  dynamo status %s                       hosts and addresses\n"
		       "  dynamo down %s                         remove it\n", name, name, name);
		st = EXIT_OK;
	} else {
		int ws;

		waitpid(pid, &ws, 0);
		if (!strncmp(reply, "error ", 6))
			fprintf(stderr, "dynamo: lab %s: %s\n", name, reply + 6);
		else
			fprintf(stderr, "dynamo: lab %s: the holder died while building%s\n", name,
				WIFSIGNALED(ws) ? " (killed)" : "");
		st = EXIT_FAIL;
	}
out:
	plan_free(p);
	spec_free(s);
	return st;
}
