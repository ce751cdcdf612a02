/* agent-try.c - run one built-in agent's server and client against each
 * other on the loopback of a private network namespace, optionally
 * recording with tshark, and print both sides' counters.  A development
 * and test tool: `agent-try http --seconds 3 --pcap /tmp/h.pcapng`.
 * Exit 0 when the client took actions without protocol errors.
 * --abuse DIR first sets broken peers on the server (see abuse()). */
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
#include "../../src/agents/generic.h"
#include "../../src/agents/sip.h"
#include "../../src/net/net.h"

static struct host *the_host;

/* ---- broken peers (--abuse DIR) -----------------------------------------
 * Each file of DIR (a fuzz corpus: real messages and broken ones) is sent
 * to the server by a peer that then misbehaves in one of four ways:
 * closes at once, resets, stalls without a word more, or trickles the
 * message byte by byte.  The server must keep serving the real client. */
#include <dirent.h>
#include <netinet/in.h>

enum { AB_CLOSE, AB_RESET, AB_STALL, AB_TRICKLE, AB__COUNT };

struct abuser {
	struct conn c;
	struct timer t;
	char *msg;
	size_t len, at;
	int how;
	bool closed;
};

/* Freed at the end (abuse_end), so none is freed inside a callback. */
static struct abuser *ab_all[4096];
static unsigned abusers_done, abusers;

static void ab_closed(struct conn *c, int err)
{
	struct abuser *a = container_of(c, struct abuser, c);

	(void)err;
	loop_timer_stop(c->loop, &a->t);
	abusers_done++;
	a->closed = true;
}

/* At stop: the peers still there go, so the server sees them go (and
 * frees what it holds for them) within the grace. */
static void abuse_stop(void)
{
	for (unsigned i = 0; i < abusers; i++)
		if (!ab_all[i]->closed)
			conn_close(&ab_all[i]->c, 0);
}

static void abuse_end(void)
{
	abuse_stop();
	for (unsigned i = 0; i < abusers; i++) {
		free(ab_all[i]->msg);
		free(ab_all[i]);
	}
}

static void ab_tick(struct loop *l, struct timer *t)
{
	struct abuser *a = container_of(t, struct abuser, t);

	if (a->at < a->len) {
		conn_write(&a->c, a->msg + a->at++, 1);
		loop_timer_start(l, t, 20000000);
	} else {
		conn_shutdown(&a->c);
	}
}

static void ab_connected(struct conn *c)
{
	struct abuser *a = container_of(c, struct abuser, c);

	switch (a->how) {
	case AB_CLOSE:
		conn_write(c, a->msg, a->len);
		conn_shutdown(c);
		break;
	case AB_RESET: {
		struct linger lg = { 1, 0 };

		conn_write(c, a->msg, a->len);
		setsockopt(c->io.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		a->t.cb = ab_tick;
		a->at = a->len; /* the tick closes it, with a RST */
		loop_timer_start(c->loop, &a->t, 50000000);
		break;
	}
	case AB_STALL:
		conn_write(c, a->msg, a->len / 2);
		break;
	case AB_TRICKLE:
		a->t.cb = ab_tick;
		loop_timer_start(c->loop, &a->t, 0);
		break;
	}
}

static void ab_readable(struct conn *c)
{
	conn_consume(c, c->in.len);
}

static const struct conn_ops ab_ops = {
	.connected = ab_connected, .readable = ab_readable, .closed = ab_closed,
};

static void abuse(struct host *h, const char *dir, uint16_t port)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int i = 0;

	if (!d) {
		perror(dir);
		exit(2);
	}
	while ((e = readdir(d))) {
		char path[4096];
		FILE *f;
		struct abuser *a;

		if (e->d_name[0] == '.' || abusers == sizeof(ab_all) / sizeof(ab_all[0]))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!(f = fopen(path, "rb")))
			continue;
		a = calloc(1, sizeof(*a));
		a->msg = malloc(1 << 16);
		a->len = fread(a->msg, 1, 1 << 16, f);
		fclose(f);
		a->how = i++ % AB__COUNT;
		if (conn_connect(&a->c, h->loop, &ab_ops, 0, 0x7f000001, port)) {
			free(a->msg);
			free(a);
			continue;
		}
		ab_all[abusers++] = a;
	}
	closedir(d);
}

/* A UDP agent's server gets each file as a datagram, on its port and on
 * the others it serves (SIP's STUN). */
static unsigned datagrams;

static void abuse_udp(const char *dir, const uint16_t *ports, size_t nports)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (!d || s < 0) {
		perror(dir);
		exit(2);
	}
	while ((e = readdir(d))) {
		static char msg[65507];
		char path[4096];
		size_t n;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (!(f = fopen(path, "rb")))
			continue;
		n = fread(msg, 1, sizeof(msg), f);
		fclose(f);
		for (size_t i = 0; i < nports; i++) {
			struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(ports[i]),
						  .sin_addr.s_addr = htonl(0x7f000001) };

			(void)!sendto(s, msg, n, 0, (struct sockaddr *)&sa, sizeof(sa));
		}
		datagrams++;
	}
	closedir(d);
	close(s);
}

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
	abuse_stop();
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
		{ "grace", 1, 0, 'g' }, { "abuse", 1, 0, 'a' }, { 0 },
	};
	double seconds = 3, think = 1;
	unsigned users = 1, port = 0;
	const char *pcap = NULL, *datadir = "data", *abuse_dir = NULL;
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
		case 'a': abuse_dir = optarg; break;
		default:
			fprintf(stderr, "usage: agent-try PROTO [--seconds S] [--users N] [--pcap FILE] [--datadir DIR] [--think-scale X] [--port P] [--grace S] [--abuse DIR]\n");
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
			execlp("tshark", "tshark", "-q", "-B", "64", "-i", "lo", "-w", pcap, (char *)NULL);
			_exit(127);
		}
		for (int i = 0; i < 100 && stat(pcap, &sb) < 0; i++)
			nanosleep(&ts, NULL);
		nanosleep(&ts, NULL);
	}
	if (!(m = agent_model(a, datadir, NULL, &msg))) {
		fprintf(stderr, "agent-try: %s\n", msg);
		return 1;
	}
	if (host_init(&h, "localhost", 0x7f000001, datadir, 1) < 0)
		return 1;
	the_host = &h;
	if (!port)
		port = spec_proto_port(a->proto);
	if (!port)
		port = GEN_PORT;        /* tcp, udp: the generic agents' */
	rc = a->serve(&h, &srv, m, (uint16_t)port, err, sizeof(err));
	if (!rc && abuse_dir && !strcmp(spec_proto_transport(a->proto), "udp") && a->proto != PROTO_DNS) {
		uint16_t ports[] = { (uint16_t)port, SIP_STUN_PORT };

		abuse_udp(abuse_dir, ports, a->proto == PROTO_SIP ? 2 : 1);
	} else if (!rc && abuse_dir) {
		abuse(&h, abuse_dir, (uint16_t)port);
	}
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
	if (abuse_dir && datagrams)
		printf("abuse  %u datagrams of the corpus sent to the server's ports\n", datagrams);
	else if (abuse_dir)
		printf("abuse  %u broken peers, %u closed by the server or themselves\n", abusers,
		       abusers_done);
	abuse_end();
	host_fini(&h);
	model_free(m);
	if (shark > 0) {
		kill(shark, SIGINT);
		waitpid(shark, NULL, 0);
	}
	/* Broken peers make server errors; the real client must see none. */
	return rc == 0 && cli.actions > 0 && cli.errors == 0 && (abuse_dir || srv.errors == 0) ? 0 : 1;
}
