/* cmd-agent.c - 'dynamo agent PROTO serve|client': run one built-in
 * agent in the current network namespace, for use inside a lab (dynamo
 * exec h1 -- dynamo agent http client h2) or against a server of your
 * own.  Prints the agent's counters when it ends. */
#include "cli.h"
#include "../agents/agent.h"
#include "../agents/generic.h"
#include "../lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

const char cmd_agent_usage[] =
	"usage: dynamo agent PROTO serve [--port P]\n"
	"       dynamo agent PROTO client SERVER [--port P] [--users N] [--duration TIME]\n"
	"                                 [--think-scale X]\n"
	"\n"
	"Run one built-in agent where you are: its server, or users who follow its\n"
	"behaviour model against SERVER (a name or an address).  Inside a lab:\n"
	"    dynamo exec h2 -- dynamo agent http serve &\n"
	"    dynamo exec h1 -- dynamo agent http client h2 --users 20 --duration 30s\n"
	"The client also drives servers that are not dynamo's (nginx, redis, ...).\n"
	"It runs until the duration passes or Ctrl-C, lets the users finish what\n"
	"they are doing, and prints the counters of the agent.\n"
	"\n"
	"options:\n"
	"  --port P          the server's port (default: the protocol's usual one)\n"
	"  --users N         concurrent users (default 1)\n"
	"  --duration TIME   how long the users run: 30s, 2m (default: until Ctrl-C)\n"
	"  --think-scale X   multiply the model's think times by X (0.1 is ten\n"
	"                    times busier; default 1)\n"
	"  --data DIR        behaviour models (default: as for dynamo run)\n"
	"  -h, --help        show this help\n"
	"\n"
	"PROTO is one of: http, https, smtp, imap, dns, ftp, postgresql, redis, mqtt,\n"
	"bitcoin, ssh, sip, or an agent of its own name: hls and hls-tls (streaming\n"
	"video over HTTP and HTTPS), generic and generic-udp (flows to a model's\n"
	"statistics over TCP and UDP, on port 9000 unless --port says).\n"
	"\n"
	"exit status: 0 the agent ran without protocol errors, 1 it could not run or\n"
	"saw errors, 2 usage\n";

static struct host *agent_host;
static struct timer end_timer, stop_timer;
static struct io sig_io;

static void end_cb(struct loop *l, struct timer *t)
{
	(void)t;
	loop_stop(l);
}

static void stop_cb(struct loop *l, struct timer *t)
{
	(void)t;
	if (agent_host->stopping)
		return;
	agent_host->stopping = true;
	end_timer.cb = end_cb;
	loop_timer_start(l, &end_timer, 1500000000ull);
}

static void sig_cb(struct loop *l, struct io *io, unsigned revents)
{
	struct signalfd_siginfo si;

	(void)revents;
	while (read(io->fd, &si, sizeof(si)) == sizeof(si))
		;
	stop_cb(l, &stop_timer);
}

static int resolve(const char *name, uint32_t *addr)
{
	struct addrinfo hints = { .ai_family = AF_INET }, *res = NULL;
	struct in_addr a;

	if (inet_pton(AF_INET, name, &a) == 1) {
		*addr = ntohl(a.s_addr);
		return 0;
	}
	if (getaddrinfo(name, NULL, &hints, &res) || !res)
		return -1;
	*addr = ntohl(((struct sockaddr_in *)res->ai_addr)->sin_addr.s_addr);
	freeaddrinfo(res);
	return 0;
}

int cmd_agent(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "users", required_argument, NULL, 'u' },
		{ "duration", required_argument, NULL, 'd' },
		{ "think-scale", required_argument, NULL, 't' },
		{ "data", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *self = cli_find("agent");
	char datadir[PATH_MAX] = "", err[256] = "", *msg = NULL;
	unsigned long port = 0, users = 1;
	uint64_t duration_us = 0;
	double think = 1;
	const struct agent *a;
	struct model *m = NULL;
	struct stats st = { 0 };
	struct host h;
	bool serve, host_up = false;
	uint32_t server = 0;
	sigset_t set;
	int c, r, status = EXIT_FAIL;
	char *end;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = strtoul(optarg, &end, 10);
			if (*end || !port || port > 65535)
				return cli_usage_error(self, "--port takes 1 to 65535");
			break;
		case 'u':
			users = strtoul(optarg, &end, 10);
			if (*end || !users || users > 1000000)
				return cli_usage_error(self, "--users takes 1 to 1000000");
			break;
		case 'd':
			if (cli_parse_time(optarg, &duration_us))
				return cli_usage_error(self, "--duration takes a time such as 30s or 2m, "
						       "not '%s'", optarg);
			break;
		case 't':
			think = strtod(optarg, &end);
			if (*end || !(think >= 0) || think > 1000)
				return cli_usage_error(self, "--think-scale takes 0 to 1000");
			break;
		case 'D':
			snprintf(datadir, sizeof(datadir), "%s", optarg);
			break;
		case 'h':
			return cli_help(self);
		default:
			return cli_usage_error(self, "bad option");
		}
	}
	if (argc - optind < 2)
		return cli_usage_error(self, "agent needs a protocol and 'serve' or 'client'");
	if (!(a = agent_by_name(argv[optind])))
		return cli_usage_error(self, "no built-in agent speaks '%s'", argv[optind]);
	serve = !strcmp(argv[optind + 1], "serve");
	if (serve ? argc - optind != 2
		  : strcmp(argv[optind + 1], "client") || argc - optind != 3)
		return cli_usage_error(self, "say 'serve', or 'client SERVER'");
	if (!serve && resolve(argv[optind + 2], &server)) {
		fprintf(stderr, "dynamo: cannot find the address of '%s'\n", argv[optind + 2]);
		return EXIT_FAIL;
	}
	if (!port)
		port = spec_proto_port(a->proto);
	if (!port)
		port = GEN_PORT;        /* tcp, udp: the generic agents' */
	if (!datadir[0])
		cli_find_datadir(datadir, sizeof(datadir));
	if (!(m = agent_model(a, datadir, NULL, &msg))) {
		fprintf(stderr, "dynamo: %s\n", msg);
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Many users need many descriptors: raise the soft limit. */
	{
		struct rlimit rl;

		if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}
	if ((r = host_init(&h, serve ? "server" : argv[optind + 2], 0, datadir, 1))) {
		fprintf(stderr, "dynamo: %s\n", strerror(-r));
		goto out;
	}
	host_up = true;
	agent_host = &h;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sig_io.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	sig_io.cb = sig_cb;
	if (sig_io.fd < 0 || loop_io_set(h.loop, &sig_io, IO_IN)) {
		fprintf(stderr, "dynamo: cannot watch signals\n");
		goto out;
	}
	if (serve) {
		r = a->serve(&h, &st, m, (uint16_t)port, err, sizeof(err));
	} else {
		struct agent_env env = {
			.host = &h, .st = &st, .model = m, .server = server, .port = (uint16_t)port,
			.server_name = argv[optind + 2], .users = (uint32_t)users, .think_scale = think,
		};

		r = a->client(&env, err, sizeof(err));
	}
	if (r) {
		fprintf(stderr, "dynamo: %s %s: %s\n", a->name, serve ? "server" : "client",
			err[0] ? err : strerror(-r));
		goto out;
	}
	stop_timer.cb = stop_cb;
	if (duration_us)
		loop_timer_start(h.loop, &stop_timer, duration_us * 1000);
	if ((r = loop_run(h.loop))) {
		fprintf(stderr, "dynamo: event loop: %s\n", strerror(-r));
		goto out;
	}
	printf("%s %s: %llu sessions, %llu actions, %llu connections (%llu failed), "
	       "%llu bytes sent, %llu received, %llu protocol errors\n",
	       a->name, serve ? "server" : "client", (unsigned long long)st.sessions,
	       (unsigned long long)st.actions, (unsigned long long)st.conns,
	       (unsigned long long)st.conn_fail, (unsigned long long)st.tx,
	       (unsigned long long)st.rx, (unsigned long long)st.errors);
	status = st.errors ? EXIT_FAIL : EXIT_OK;
out:
	if (host_up)
		host_fini(&h);
	if (sig_io.fd > 0)
		close(sig_io.fd);
	model_free(m);
	free(msg);
	return status;
}
