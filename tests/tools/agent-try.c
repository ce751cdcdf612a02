/* agent-try.c - run one built-in agent's server and client against each
 * other on the loopback of a private network namespace, optionally
 * recording with tshark, and print both sides' counters.  A development
 * and test tool: `agent-try http --seconds 3 --pcap /tmp/h.pcapng`.
 * Exit 0 when the client took actions without protocol errors. */
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../src/agents/agent.h"
#include "../../src/net/net.h"

static struct host *the_host;
static double grace = 1.0;

static void lo_up(void)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		goto fail;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		goto fail;
	close(s);
	return;
fail:
	perror("agent-try: lo up");
	exit(1);
}

static void end_cb(struct loop *l, struct timer *t)
{
	(void)t;
	loop_stop(l);
}

static void stop_cb(struct loop *l, struct timer *t)
{
	static struct timer end = { .cb = end_cb };

	(void)t;
	the_host->stopping = true;
	loop_timer_start(l, &end, host_ns(grace));
}

static void print(const char *who, const struct stats *s)
{
	printf("%-6s tx %llu rx %llu conns %llu fail %llu sessions %llu actions %llu errors %llu active %lld\n",
	       who, (unsigned long long)s->tx, (unsigned long long)s->rx,
	       (unsigned long long)s->conns, (unsigned long long)s->conn_fail,
	       (unsigned long long)s->sessions, (unsigned long long)s->actions,
	       (unsigned long long)s->errors, (long long)s->active);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", 1, 0, 's' }, { "users", 1, 0, 'u' }, { "pcap", 1, 0, 'p' },
		{ "datadir", 1, 0, 'd' }, { "think-scale", 1, 0, 't' }, { "port", 1, 0, 'P' },
		{ "grace", 1, 0, 'g' }, { 0 },
	};
	double seconds = 3, think = 1;
	unsigned users = 1, port = 0;
	const char *pcap = NULL, *datadir = "data";
	struct stats cli = { 0 }, srv = { 0 };
	struct host h;
	struct timer stop = { .cb = stop_cb };
	const struct agent *a;
	struct model *m;
	char err[256] = "", *msg = NULL;
	bool rootless;
	pid_t shark = -1;
	int c, rc;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': seconds = atof(optarg); break;
		case 'u': users = (unsigned)atoi(optarg); break;
		case 'p': pcap = optarg; break;
		case 'd': datadir = optarg; break;
		case 't': think = atof(optarg); break;
		case 'P': port = (unsigned)atoi(optarg); break;
		case 'g': grace = atof(optarg); break;
		default:
			fprintf(stderr, "usage: agent-try PROTO [--seconds S] [--users N] [--pcap FILE] [--datadir DIR] [--think-scale X] [--port P] [--grace S]\n");
			return 2;
		}
	}
	if (optind + 1 != argc || !(a = agent_by_name(argv[optind]))) {
		fprintf(stderr, "agent-try: name one agent\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (net_private(&rootless, err, sizeof(err)) < 0) {
		fprintf(stderr, "agent-try: %s\n", err);
		return 1;
	}
	lo_up();
	if (pcap) {
		struct timespec ts = { 0, 100000000 };
		struct stat sb;

		unlink(pcap);
		shark = fork();
		if (shark == 0) {
			execlp("tshark", "tshark", "-q", "-i", "lo", "-w", pcap, (char *)NULL);
			_exit(127);
		}
		for (int i = 0; i < 100 && stat(pcap, &sb) < 0; i++)
			nanosleep(&ts, NULL);
		nanosleep(&ts, NULL);
	}
	char *dir = NULL;

	if (asprintf(&dir, "%s/behaviours", datadir) < 0)
		return 1;
	m = model_load(dir, a->model, &msg);
	if (!m || (msg = model_check(m, a->actions, a->params))) {
		fprintf(stderr, "agent-try: %s\n", msg);
		return 1;
	}
	if (host_init(&h, "localhost", 0x7f000001, datadir, 1) < 0)
		return 1;
	the_host = &h;
	if (!port)
		port = spec_proto_port(a->proto);
	rc = a->serve(&h, &srv, m, (uint16_t)port, err, sizeof(err));
	if (!rc) {
		struct agent_env env = {
			.host = &h, .st = &cli, .model = m, .server = 0x7f000001,
			.port = (uint16_t)port, .server_name = "localhost", .users = users,
			.think_scale = think,
		};

		rc = a->client(&env, err, sizeof(err));
	}
	if (rc) {
		fprintf(stderr, "agent-try: %s: %s\n", a->name, err[0] ? err : strerror(-rc));
		return 1;
	}
	loop_timer_start(h.loop, &stop, host_ns(seconds));
	rc = loop_run(h.loop);
	print("client", &cli);
	print("server", &srv);
	host_fini(&h);
	model_free(m);
	free(dir);
	if (shark > 0) {
		kill(shark, SIGINT);
		waitpid(shark, NULL, 0);
	}
	return rc == 0 && cli.actions > 0 && cli.errors == 0 && srv.errors == 0 ? 0 : 1;
}
