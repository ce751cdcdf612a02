/* generic.c - the generic agents (generic.h): flows whose packets keep
 * the sizes and gaps a model gives, for traffic no agent speaks.  Over
 * TCP ('generic') each packet is one write on a TCP_NODELAY connection,
 * so a payload up to a segment leaves as one segment (the kernel adds
 * its ACKs, as it would for the real application); over UDP
 * ('generic-udp') each packet is a datagram.  The client ends a flow
 * once it has sent its packets and had the server's (a UDP flow waits
 * at most UDP_LINGER for datagrams that may be lost); the server ends
 * its side when the client has, or after IDLE_TIMEOUT of silence. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../engine/pace.h"
#include "../lib/bytes.h"
#include "../lib/util.h"
#include "agent.h"
#include "generic.h"

#define IDLE_TIMEOUT 10.0          /* s: a flow silent this long is over */
#define UDP_LINGER 1.0             /* s: a client's wait for late datagrams */
#define MAX_SESSIONS 4096u         /* UDP flows a server keeps at once */
#define CLI_WATCH 0.2              /* s: how often the stop flag is looked at */
#define SPIN_NS 60000u             /* a packet's last wait, on the clock */

/* ---- the schedule ----------------------------------------------------------- */

static uint32_t draw_size(struct gen_walk *w, const struct model *m)
{
	double x = model_draw(m, w->down ? "down_size" : "up_size", &w->r, 100);
	double hi = w->tcp ? GEN_MAX_TCP : GEN_MAX_UDP;

	if (!(x >= 0))
		x = 0;
	/* cut to whole bytes: a histogram's bin [a, b) of a capture's
	 * payloads holds the sizes a .. b - 1 */
	x = MIN(hi, floor(x));
	/* a TCP packet carries a byte at least (an empty one is an ACK,
	 * which the kernel sends by itself) */
	return (uint32_t)MAX(w->tcp ? 1.0 : 0.0, x);
}

void gen__begin(struct gen_walk *w, const struct model *m, uint64_t seed, bool tcp)
{
	double n;

	memset(w, 0, sizeof(*w));
	rng_seed(&w->r, seed);
	w->tcp = tcp;
	n = model_draw(m, "packets", &w->r, 10);
	w->left = !(n >= 1) ? 0 : n >= (double)GEN_MAX_PACKETS ? GEN_MAX_PACKETS - 1 : (uint64_t)n - 1;
	w->down = false;
	w->size = MAX(GEN_SEED_BYTES, draw_size(w, m));
}

bool gen__next(struct gen_walk *w, const struct model *m)
{
	double gap, p;

	if (!w->left)
		return false;
	w->left--;
	gap = model_draw(m, "gap", &w->r, 0.1);
	w->at += !(gap > 0) ? 0 : MIN(gap, GEN_MAX_GAP);
	p = model_draw(m, "down", &w->r, 0.5);
	w->down = rng_unit(&w->r) < p;
	w->size = draw_size(w, m);
	return true;
}

/* ---- flows, either end -------------------------------------------------------- */

struct guser;
struct gserver;

struct gflow {
	struct conn c;             /* TCP */
	struct io io;              /* UDP: the client's socket (the server's is shared) */
	struct timer t;            /* the next own packet; then the end */
	struct defer d;
	const struct model *m;
	struct host *h;
	struct stats *st;
	struct guser *u;           /* the client's end: its user (NULL: let go) */
	struct gserver *srv;       /* the server's end */
	struct gflow *next, **pprev;   /* the server's flows */
	struct gen_walk w;
	uint64_t t0;               /* loop clock of the first packet */
	uint64_t expect, got;      /* the other end's payload: walked past, received */
	uint64_t sent;             /* own packets sent */
	uint32_t peer;             /* UDP server: the client */
	uint16_t pport;
	uint8_t seed[GEN_SEED_BYTES];
	uint8_t nseed;             /* TCP server: seed bytes in */
	bool tcp, server, walking, over, ended;
};

struct gserver {
	struct host *h;
	struct stats *st;
	const struct model *m;
	struct io lio;             /* TCP: listening; UDP: the socket */
	struct gflow *flows;
	uint32_t nflows;
	struct gserver *next;      /* every server, kept for the life of the process */
};

static struct gserver *servers;

static void flow_end(struct gflow *f, bool ok);
static void flow_pump(struct gflow *f);

static const char *payload(const struct gflow *f, size_t n)
{
	return content_get(&f->h->content, CONTENT_BINARY, f->sent * 7919 + f->w.size, n);
}

/* n bytes of a client's flow moved, either way (charge() paid them). */
static void moved(struct gflow *f, size_t n)
{
	if (!f->server && f->st->pace)
		pace_moved(f->st->pace, n);
}

/* Send the walk's packet (ours, due now). */
static void flow_send(struct gflow *f)
{
	uint32_t n = f->w.size;
	uint8_t first[GEN_MAX_UDP];
	const void *p = payload(f, n);

	if (!f->sent && !f->server) {
		memcpy(first, f->seed, GEN_SEED_BYTES);
		memcpy(first + GEN_SEED_BYTES, p, n - GEN_SEED_BYTES);
		p = first;
	}
	f->sent++;
	moved(f, n);
	if (f->tcp) {                   /* the connection counts its bytes */
		if (p == first)
			conn_write(&f->c, p, n);
		else
			conn_write_ref(&f->c, p, n);
		return;
	}
	f->st->tx += n;
	if (f->server) {
		struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(f->pport),
					  .sin_addr.s_addr = htonl(f->peer) };

		(void)sendto(f->srv->lio.fd, p, n, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa));
	} else if (send(f->io.fd, p, n, MSG_DONTWAIT) < 0 && errno != EAGAIN && errno != ENOBUFS) {
		f->st->errors++;        /* no route, refused: the flow is over */
		flow_end(f, false);
	}
}

static void flow_timer(struct loop *l, struct timer *t)
{
	struct gflow *f = container_of(t, struct gflow, t);

	(void)l;
	if (f->over)
		flow_end(f, f->got >= f->expect);       /* waited long enough */
	else
		flow_pump(f);
}

/* Send what is due; walk past the other end's packets; arm the timer.
 * The timer wakes SPIN_NS early and the last stretch is waited out on
 * the clock: a timer fires tens of microseconds late, and on the log
 * scale of gaps that moves every gap under a millisecond. */
static void flow_pump(struct gflow *f)
{
	struct loop *l = f->h->loop;

	while (!f->over && !f->ended) {
		if (f->h->stopping && !f->server) {
			flow_end(f, true);      /* the run is over: no more */
			return;
		}
		if (f->w.down == f->server) {
			uint64_t due = f->t0 + host_ns(f->w.at), now = loop_now(l);

			if (due > now + SPIN_NS) {
				loop_timer_start(l, &f->t, due - now - SPIN_NS);
				return;
			}
			while (loop_clock() < due)
				;
			flow_send(f);
			if (f->ended)
				return;
		} else {
			f->expect += f->w.size;
		}
		if (!gen__next(&f->w, f->m))
			f->over = true;
	}
	if (f->ended)
		return;
	/* All ours is sent.  The client ends once it has the server's; the
	 * server, when the client ends (or goes quiet). */
	if (!f->server && f->got >= f->expect) {
		flow_end(f, true);
		return;
	}
	loop_timer_start(l, &f->t, host_ns(f->tcp || f->server ? IDLE_TIMEOUT : UDP_LINGER));
}

/* Bytes of the other end came. */
static void flow_got(struct gflow *f, size_t n)
{
	f->got += n;
	moved(f, n);
	if (!f->tcp)
		f->st->rx += n;         /* a connection counts its own */
	if (f->over && !f->server && f->got >= f->expect)
		flow_end(f, true);
	else if (f->over && f->server)
		loop_timer_start(f->h->loop, &f->t, host_ns(IDLE_TIMEOUT));
}

/* ---- server ------------------------------------------------------------------- */

static void flow_free(struct defer *d)
{
	free(container_of(d, struct gflow, d));
}

static void srv_unlink(struct gflow *f)
{
	if (!f->pprev)
		return;
	*f->pprev = f->next;
	if (f->next)
		f->next->pprev = f->pprev;
	f->pprev = NULL;
	f->srv->nflows--;
}

static void srv_link(struct gserver *s, struct gflow *f)
{
	f->next = s->flows;
	if (f->next)
		f->next->pprev = &f->next;
	f->pprev = &s->flows;
	s->flows = f;
	s->nflows++;
}

/* The seed is in: the walk begins, at the first packet's arrival. */
static void srv_begin(struct gflow *f)
{
	uint64_t seed = (uint64_t)be32(f->seed) << 32 | be32(f->seed + 4);

	gen__begin(&f->w, f->m, seed, f->tcp);
	f->walking = true;
	f->t0 = loop_now(f->h->loop);
	flow_pump(f);
}

static void tsrv_readable(struct conn *c)
{
	struct gflow *f = container_of(c, struct gflow, c);
	size_t n = c->in.len;

	if (!f->walking) {
		size_t take = MIN(n, (size_t)(GEN_SEED_BYTES - f->nseed));

		memcpy(f->seed + f->nseed, c->in.p, take);
		f->nseed = (uint8_t)(f->nseed + take);
	}
	conn_consume(c, n);
	flow_got(f, n);
	if (!f->walking && f->nseed == GEN_SEED_BYTES)
		srv_begin(f);
	if (f->over && !f->ended && f->got > f->expect) {
		f->st->errors++;        /* more than the schedule holds */
		conn_close(c, -EPROTO);
	}
}

static void tsrv_closed(struct conn *c, int err)
{
	struct gflow *f = container_of(c, struct gflow, c);

	(void)err;
	f->ended = true;
	loop_timer_stop(c->loop, &f->t);
	srv_unlink(f);
	loop_defer(c->loop, &f->d, flow_free);
}

static const struct conn_ops tsrv_ops = { .readable = tsrv_readable, .closed = tsrv_closed };

static void tsrv_accept(struct loop *l, struct io *io, unsigned revents)
{
	struct gserver *s = container_of(io, struct gserver, lio);

	(void)revents;
	for (;;) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct gflow *f;

		if (fd < 0)
			return;
		f = xcalloc(1, sizeof(*f));
		f->h = s->h;
		f->st = s->st;
		f->m = s->m;
		f->srv = s;
		f->tcp = f->server = true;
		f->t.cb = flow_timer;
		f->t.precise = true;
		f->c.st = s->st;
		if (conn_accept(&f->c, l, &tsrv_ops, fd) < 0) {
			free(f);
			continue;
		}
		srv_link(s, f);         /* the connection counts itself */
	}
}

/* A UDP flow of the server's ends: counted, freed. */
static void usrv_drop(struct gflow *f)
{
	loop_timer_stop(f->h->loop, &f->t);
	srv_unlink(f);
	f->st->active--;
	loop_defer(f->h->loop, &f->d, flow_free);
}

static void usrv_readable(struct loop *l, struct io *io, unsigned revents)
{
	struct gserver *s = container_of(io, struct gserver, lio);
	uint8_t buf[65536];

	(void)revents;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		ssize_t n = recvfrom(io->fd, buf, sizeof(buf), 0, (struct sockaddr *)&sa, &sl);
		uint32_t peer;
		uint16_t pport;
		struct gflow *f;

		if (n < 0)
			return;
		peer = ntohl(sa.sin_addr.s_addr);
		pport = ntohs(sa.sin_port);
		for (f = s->flows; f && (f->peer != peer || f->pport != pport); f = f->next)
			;
		if (!f) {
			if (n < GEN_SEED_BYTES || s->nflows >= MAX_SESSIONS) {
				s->st->errors++;        /* not a flow's first packet */
				continue;
			}
			f = xcalloc(1, sizeof(*f));
			f->h = s->h;
			f->st = s->st;
			f->m = s->m;
			f->srv = s;
			f->server = true;
			f->peer = peer;
			f->pport = pport;
			f->t.cb = flow_timer;
			f->t.precise = true;
			memcpy(f->seed, buf, GEN_SEED_BYTES);
			s->st->conns++;
			s->st->active++;
			srv_link(s, f);
			flow_got(f, (size_t)n);
			srv_begin(f);
			continue;
		}
		flow_got(f, (size_t)n);
	}
	(void)l;
}

static int gen_serve(struct host *h, struct stats *st, const struct model *m, uint16_t port,
		     char *err, size_t errlen, bool tcp)
{
	struct gserver *s = xcalloc(1, sizeof(*s));
	int r = tcp ? agent_listen_tcp(port, &s->lio.fd) : agent_bind_udp(port, &s->lio.fd);

	if (r < 0) {
		snprintf(err, errlen, "cannot %s port %u: %s", tcp ? "listen on" : "bind", port,
			 strerror(-r));
		free(s);
		return r;
	}
	s->h = h;
	s->st = st;
	s->m = m;
	prctl(PR_SET_TIMERSLACK, 1000UL);      /* as gen_client() */
	s->lio.cb = tcp ? tsrv_accept : usrv_readable;
	r = loop_io_set(h->loop, &s->lio, IO_IN);
	if (r < 0) {
		snprintf(err, errlen, "cannot watch port %u: %s", port, strerror(-r));
		close(s->lio.fd);
		free(s);
		return r;
	}
	s->next = servers;
	servers = s;
	return 0;
}

/* ---- users ------------------------------------------------------------------- */

struct gclient {
	struct agent_env env;
	struct guser *users;
	struct timer watch;
	struct defer d;
	bool tcp, ended;
};

struct guser {
	struct gclient *cl;
	struct guser *next, **pprev;
	struct timer t;
	struct defer d;
	struct rng rng;
	struct gflow *f;           /* the flow in progress, or NULL */
	int action, next_action;
	bool busy;
};

#define NEXT_SESSION (-2)

static void user_next(struct guser *u);

static void user_free(struct defer *d)
{
	free(container_of(d, struct guser, d));
}

static void client_free(struct defer *d)
{
	free(container_of(d, struct gclient, d));
}

static void user_finish(struct guser *u)
{
	struct gclient *cl = u->cl;

	struct gflow *f = u->f;

	loop_timer_stop(cl->env.host->loop, &u->t);
	if (f) {
		u->f = NULL;
		f->u = NULL;            /* so its end does not call on u */
		flow_end(f, true);
	}
	*u->pprev = u->next;
	if (u->next)
		u->next->pprev = u->pprev;
	loop_defer(cl->env.host->loop, &u->d, user_free);
	if (!cl->users && cl->env.host->stopping && !cl->ended) {
		cl->ended = true;
		loop_timer_stop(cl->env.host->loop, &cl->watch);
		loop_defer(cl->env.host->loop, &cl->d, client_free);
	}
}

/* The client's end of a flow is over (ok: as the schedule said). */
static void flow_end(struct gflow *f, bool ok)
{
	struct guser *u = f->u;

	if (f->ended)
		return;
	f->ended = true;
	loop_timer_stop(f->h->loop, &f->t);
	if (f->server) {
		if (f->tcp)
			conn_close(&f->c, 0);
		else
			usrv_drop(f);
		return;
	}
	if (!ok)
		f->st->errors++;
	if (f->tcp) {
		if (conn_is_open(&f->c))
			conn_shutdown(&f->c);   /* closed() frees it */
	} else {
		loop_io_stop(f->h->loop, &f->io);
		close(f->io.fd);
		f->st->active--;
		loop_defer(f->h->loop, &f->d, flow_free);
	}
	f->u = NULL;
	if (u) {
		u->f = NULL;
		user_next(u);
	}
}

static void tcli_connected(struct conn *c)
{
	struct gflow *f = container_of(c, struct gflow, c);

	if (f->ended)
		return;
	f->t0 = loop_now(c->loop);
	flow_pump(f);
}

static void tcli_readable(struct conn *c)
{
	struct gflow *f = container_of(c, struct gflow, c);
	size_t n = c->in.len;

	conn_consume(c, n);
	if (!f->ended)
		flow_got(f, n);
}

static void tcli_closed(struct conn *c, int err)
{
	struct gflow *f = container_of(c, struct gflow, c);

	if (!f->ended) {
		flow_end(f, !err && f->over && f->got >= f->expect);
	}
	loop_timer_stop(c->loop, &f->t);
	loop_defer(c->loop, &f->d, flow_free);
}

static const struct conn_ops tcli_ops = {
	.connected = tcli_connected, .readable = tcli_readable, .closed = tcli_closed,
};

static void ucli_readable(struct loop *l, struct io *io, unsigned revents)
{
	struct gflow *f = container_of(io, struct gflow, io);
	uint8_t buf[65536];

	(void)l;
	(void)revents;
	for (int i = 0; i < 64 && !f->ended; i++) {
		ssize_t n = recv(io->fd, buf, sizeof(buf), 0);

		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				f->st->errors++;        /* refused: no server */
				flow_end(f, false);
			}
			return;
		}
		flow_got(f, (size_t)n);
	}
}

/* A UDP socket of the user's, from the host's address to the server. */
static int udp_open(const struct agent_env *e, int *fd)
{
	struct sockaddr_in src = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(e->host->addr) };
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons(e->port),
				   .sin_addr.s_addr = htonl(e->server) };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err;

	if (s < 0)
		return -errno;
	if ((e->host->addr && bind(s, (struct sockaddr *)&src, sizeof(src)) < 0) ||
	    connect(s, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		err = -errno;
		close(s);
		return err;
	}
	*fd = s;
	return 0;
}

/* The whole flow's payload, both ways, is taken from the group's bucket
 * as it starts: the next flow waits until it is paid for (user_tick),
 * and the packets of this one keep their times, which a bucket that
 * held them back would not. */
static void charge(struct gflow *f)
{
	struct gen_walk w = f->w;
	uint64_t total = 0;

	if (!f->st->pace)
		return;
	do
		total += w.size;
	while (gen__next(&w, f->m));
	pace_charge(f->st->pace, total);
}


static void flow_start(struct guser *u)
{
	struct gclient *cl = u->cl;
	const struct agent_env *e = &cl->env;
	struct gflow *f = xcalloc(1, sizeof(*f));
	uint64_t seed = rng_next(&u->rng);

	f->h = e->host;
	f->st = e->st;
	f->m = e->model;
	f->u = u;
	f->tcp = cl->tcp;
	f->t.cb = flow_timer;
	f->t.precise = true;
	put_be32(f->seed, (uint32_t)(seed >> 32));
	put_be32(f->seed + 4, (uint32_t)seed);
	gen__begin(&f->w, f->m, seed, f->tcp);
	f->walking = true;
	u->f = f;
	charge(f);
	if (f->tcp) {
		/* the connection counts itself, and a connect that fails
		 * later; the flow paid its bucket already */
		f->c.st = e->st;
		f->c.unpaced = true;
		if (conn_connect(&f->c, e->host->loop, &tcli_ops, e->host->addr, e->server, e->port) < 0) {
			e->st->conn_fail++;
			u->f = NULL;
			free(f);
			user_next(u);
		}
		return;                 /* connected() starts the walk */
	}
	if (udp_open(e, &f->io.fd) < 0) {
		e->st->conn_fail++;
		u->f = NULL;
		free(f);
		user_next(u);
		return;
	}
	f->io.cb = ucli_readable;
	if (loop_io_set(e->host->loop, &f->io, IO_IN) < 0) {
		close(f->io.fd);
		u->f = NULL;
		free(f);
		user_next(u);
		return;
	}
	e->st->conns++;
	e->st->active++;
	f->t0 = loop_now(e->host->loop);
	flow_pump(f);
}

static void user_tick(struct loop *l, struct timer *t)
{
	struct guser *u = container_of(t, struct guser, t);
	struct gclient *cl = u->cl;
	struct pace *pc = cl->env.st->pace;

	(void)l;
	if (cl->env.host->stopping) {
		user_finish(u);
		return;
	}
	if (u->next_action == NEXT_SESSION) {
		cl->env.st->sessions++;
		u->next_action = model_start(cl->env.model);
	}
	/* A flow starts while the group's bucket has tokens. */
	if (pc && !pace_ok(pc)) {
		loop_timer_start(l, t, host_ns(0.05));
		return;
	}
	u->action = u->next_action;
	u->busy = true;
	cl->env.st->actions++;
	flow_start(u);
}

/* The flow is over: think, then the next action (or a new session). */
static void user_next(struct guser *u)
{
	struct gclient *cl = u->cl;
	double think;

	if (!u->busy)
		return;
	u->busy = false;
	if (cl->env.host->stopping) {
		user_finish(u);
		return;
	}
	think = model_think(cl->env.model, u->action, &u->rng) * agent_think_scale(&cl->env);
	u->next_action = model_next(cl->env.model, u->action, &u->rng);
	if (u->next_action == MODEL_END) {
		u->next_action = NEXT_SESSION;
		think += model_draw(cl->env.model, "session_gap", &u->rng, 1) * agent_think_scale(&cl->env);
	}
	loop_timer_start(cl->env.host->loop, &u->t, host_ns(think));
}

static void watch(struct loop *l, struct timer *t)
{
	struct gclient *cl = container_of(t, struct gclient, watch);

	if (!cl->env.host->stopping) {
		loop_timer_start(l, t, host_ns(CLI_WATCH));
		return;
	}
	while (cl->users && !cl->ended)
		user_finish(cl->users);     /* ends the client with the last */
}

static int gen_client(const struct agent_env *env, char *err, size_t errlen, bool tcp)
{
	struct gclient *cl = xcalloc(1, sizeof(*cl));

	(void)err;
	(void)errlen;
	/* timers to the microsecond, not the kernel's default 50: gaps of
	 * tens of microseconds are a flow's shape */
	prctl(PR_SET_TIMERSLACK, 1000UL);
	cl->env = *env;
	cl->tcp = tcp;
	for (uint32_t i = 0; i < env->users; i++) {
		struct guser *u = xcalloc(1, sizeof(*u));

		u->cl = cl;
		rng_seed(&u->rng, rng_next(&env->host->rng));
		u->next_action = NEXT_SESSION;
		u->t.cb = user_tick;
		u->next = cl->users;
		if (u->next)
			u->next->pprev = &u->next;
		u->pprev = &cl->users;
		cl->users = u;
		/* flows do not all start at the same instant */
		loop_timer_start(env->host->loop, &u->t, host_ns(rng_unit(&u->rng) * 0.5));
	}
	cl->watch.cb = watch;
	loop_timer_start(env->host->loop, &cl->watch, host_ns(CLI_WATCH));
	return 0;
}

/* ---- the two agents -------------------------------------------------------- */

static const char *const actions[] = { "flow", NULL };
static const char *const params[] = { "packets", "gap", "down", "up_size", "down_size", NULL };

static int tcp_serve(struct host *h, struct stats *st, const struct model *m, uint16_t port,
		     char *err, size_t errlen)
{
	return gen_serve(h, st, m, port, err, errlen, true);
}

static int udp_serve(struct host *h, struct stats *st, const struct model *m, uint16_t port,
		     char *err, size_t errlen)
{
	return gen_serve(h, st, m, port, err, errlen, false);
}

static int tcp_client(const struct agent_env *env, char *err, size_t errlen)
{
	return gen_client(env, err, errlen, true);
}

static int udp_client(const struct agent_env *env, char *err, size_t errlen)
{
	return gen_client(env, err, errlen, false);
}

const struct agent agent_generic = {
	.name = "generic", .source = "generic", .proto = PROTO_TCP, .model = "generic",
	.actions = actions, .params = params, .serve = tcp_serve, .client = tcp_client,
};

const struct agent agent_generic_udp = {
	.name = "generic-udp", .source = "generic", .proto = PROTO_UDP, .model = "generic",
	.actions = actions, .params = params, .serve = udp_serve, .client = udp_client,
};
