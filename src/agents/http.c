/* http.c - the web agents: HTTP/1.1 and HTTPS (the same over TLS 1.3).
 * The server answers from a generated site (site.h) with keep-alive and
 * pipelining; the client is a person with a browser, walking the web
 * model: open a page, fetch its embedded objects over a few parallel
 * keep-alive connections, read (think), follow a link, download a file.
 * The message parsers are in http-wire.c; here the server, then the
 * client. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/util.h"
#include "agent.h"
#include "hls.h"
#include "http.h"
#include "resolve.h"
#include "site.h"

#ifndef DYNAMO_VERSION
#define DYNAMO_VERSION "0"
#endif

/* ---- server ---------------------------------------------------------------- */

#define SRV_HEAD_TIMEOUT 30.0       /* s: a request must be in by then */
#define SRV_IDLE_TIMEOUT 60.0       /* s: keep-alive, and a reader making no progress */
#define SRV_MAX_QUEUED (256u << 10) /* answer pipelined requests while less is queued */
#define SRV_MAX_BATCH 64            /* requests answered per read, at most */
#define SRV_MAX_BODY (64ull << 20)  /* request bodies are read and dropped, up to this */

struct ssess;

struct server {
	struct io lio;
	struct timer pause;        /* out of descriptors: accept again later */
	struct loop *loop;
	struct stats *st;
	struct site *site;
	SSL_CTX *tls;              /* NULL for plain HTTP */
	struct server *next;       /* every server, kept for the life of the process */
	struct ssess *sessions;    /* its open connections */
	time_t date_t;
	char date[48];
};

struct ssess {
	struct conn c;
	struct server *srv;
	struct ssess *next, **pprev;
	struct timer t;
	struct defer d;
	uint64_t skip;             /* request body bytes still to drop */
	uint64_t q_snap;           /* queued bytes when the timer was armed */
	bool closing;              /* the last answer closes the connection */
	bool up;                   /* connected (TLS: handshake done) */
};

static struct server *servers;

/* A response head, built in a small buffer without printf. */
struct hb {
	char *p;
	size_t n, cap;
};

static void hb_put(struct hb *b, const char *s, size_t n)
{
	if (b->n + n <= b->cap) {
		memcpy(b->p + b->n, s, n);
		b->n += n;
	}
}

#define HB_LIT(b, s) hb_put(b, s, sizeof(s) - 1)

static void hb_str(struct hb *b, const char *s)
{
	hb_put(b, s, strlen(s));
}

static void hb_u64(struct hb *b, uint64_t v)
{
	char t[20];
	int i = 20;

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	hb_put(b, t + i, (size_t)(20 - i));
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 501: return "Not Implemented";
	case 505: return "HTTP Version Not Supported";
	default: return "Error";
	}
}

static const char *srv_date(struct server *s)
{
	time_t now = time(NULL);

	if (now != s->date_t) {
		struct tm tm;

		gmtime_r(&now, &tm);
		strftime(s->date, sizeof(s->date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		s->date_t = now;
	}
	return s->date;
}

/* Status line and fields up to the blank line, into b. */
static void head(struct ssess *ss, struct hb *b, int status, const char *type, uint64_t len,
		 bool cacheable, int conn_field)
{
	HB_LIT(b, "HTTP/1.1 ");
	hb_u64(b, (uint64_t)status);
	HB_LIT(b, " ");
	hb_str(b, reason(status));
	HB_LIT(b, "\r\nServer: dynamo/" DYNAMO_VERSION "\r\nDate: ");
	hb_str(b, srv_date(ss->srv));
	HB_LIT(b, "\r\nContent-Type: ");
	hb_str(b, type);
	HB_LIT(b, "\r\nContent-Length: ");
	hb_u64(b, len);
	if (cacheable)
		HB_LIT(b, "\r\nCache-Control: public, max-age=86400");
	if (status == 405)
		HB_LIT(b, "\r\nAllow: GET, HEAD");
	if (conn_field < 0)
		HB_LIT(b, "\r\nConnection: close");
	else if (conn_field > 0)
		HB_LIT(b, "\r\nConnection: keep-alive");
	HB_LIT(b, "\r\n\r\n");
}

static void srv_arm(struct ssess *ss, double seconds)
{
	ss->q_snap = ss->c.queued;
	loop_timer_start(ss->c.loop, &ss->t, host_ns(seconds));
}

/* An error page; after it the connection closes when close is set. */
static void answer_error(struct ssess *ss, int status, bool send_body, bool close)
{
	char buf[768], body[256];
	struct hb b = { buf, 0, sizeof(buf) };
	int n = snprintf(body, sizeof(body),
			 "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>\n"
			 "<body><h1>%s</h1></body></html>\n", status, reason(status), reason(status));

	head(ss, &b, status, "text/html; charset=utf-8", (uint64_t)n, false, close ? -1 : 0);
	if (send_body)
		hb_put(&b, body, (size_t)n);
	conn_write(&ss->c, buf, b.n);
	if (close) {
		ss->closing = true;
		conn_shutdown(&ss->c);
	}
}

static void answer(struct ssess *ss, const struct http_req *r)
{
	char buf[512];
	struct hb b = { buf, 0, sizeof(buf) };
	const char *q;
	struct site_obj o;
	size_t n;
	int conn_field = !r->keep_alive ? -1 : r->minor == 0 ? 1 : 0;

	ss->srv->st->actions++;
	if (r->method != HTTP_GET && r->method != HTTP_HEAD) {
		answer_error(ss, r->method == HTTP_OTHER ? 501 : 405, true, !r->keep_alive);
		return;
	}
	q = memchr(r->target, '?', r->target_len);
	n = q ? (size_t)(q - r->target) : r->target_len;
	if (site_lookup(ss->srv->site, r->target, n, &o) < 0) {
		answer_error(ss, 404, r->method == HTTP_GET, !r->keep_alive);
		return;
	}
	head(ss, &b, 200, site_type(&o), o.size, o.kind != SITE_PAGE, conn_field);
	conn_write(&ss->c, buf, b.n);
	if (r->method == HTTP_GET)
		site_send(ss->srv->site, &o, &ss->c);
	if (!r->keep_alive) {
		ss->closing = true;
		conn_shutdown(&ss->c);
	}
}

/* Answer what requests are in, while the output queue is short. */
static void srv_process(struct ssess *ss)
{
	struct conn *c = &ss->c;
	unsigned done = 0;

	while (conn_is_open(c) && !ss->closing && c->in.len) {
		struct http_req r;
		long n;

		if (ss->skip) {
			size_t take = (size_t)MIN((uint64_t)c->in.len, ss->skip);

			conn_consume(c, take);
			ss->skip -= take;
			continue;
		}
		if (c->queued >= SRV_MAX_QUEUED || done >= SRV_MAX_BATCH)
			break;          /* drained() comes back for the rest */
		n = http__parse_request(c->in.p, c->in.len, &r);
		if (!n)
			break;
		if (n < 0) {
			ss->srv->st->errors++;
			answer_error(ss, (int)-n, true, true);
			break;
		}
		if (r.body > SRV_MAX_BODY) {
			ss->srv->st->errors++;
			answer_error(ss, 413, true, true);
			break;
		}
		answer(ss, &r);
		if (!conn_is_open(c))
			break;          /* the queue could not be watched */
		conn_consume(c, (size_t)n);
		ss->skip = r.body;
		done++;
		srv_arm(ss, SRV_IDLE_TIMEOUT);
	}
}

static void srv_readable(struct conn *c)
{
	struct ssess *ss = container_of(c, struct ssess, c);

	if (ss->closing) {
		conn_consume(c, c->in.len);
		return;
	}
	srv_process(ss);
}

static void srv_drained(struct conn *c)
{
	struct ssess *ss = container_of(c, struct ssess, c);

	if (!ss->closing && c->in.len)
		srv_process(ss);
}

static void srv_free(struct defer *d)
{
	free(container_of(d, struct ssess, d));
}

static void srv_closed(struct conn *c, int err)
{
	struct ssess *ss = container_of(c, struct ssess, c);

	/* A broken TLS handshake or record, or a flood of requests left
	 * unread past the input limit. */
	if (err == -EPROTO || err == -EMSGSIZE)
		ss->srv->st->errors++;
	loop_timer_stop(c->loop, &ss->t);
	if (ss->pprev) {
		*ss->pprev = ss->next;
		if (ss->next)
			ss->next->pprev = ss->pprev;
		ss->pprev = NULL;
	}
	loop_defer(c->loop, &ss->d, srv_free);
}

static void srv_timeout(struct loop *l, struct timer *t)
{
	struct ssess *ss = container_of(t, struct ssess, t);
	struct conn *c = &ss->c;

	(void)l;
	if (!conn_is_open(c))
		return;
	if (c->queued && c->queued != ss->q_snap) {
		srv_arm(ss, SRV_IDLE_TIMEOUT);  /* slow, but reading */
		return;
	}
	if (!ss->up || c->queued || c->in.len || ss->closing)
		conn_close(c, -ETIMEDOUT);      /* stalled mid-message */
	else
		conn_shutdown(c);               /* idle keep-alive: a polite FIN */
	if (conn_is_open(c)) {
		ss->closing = true;
		srv_arm(ss, SRV_HEAD_TIMEOUT);
	}
}

static void srv_connected(struct conn *c)
{
	container_of(c, struct ssess, c)->up = true;
}

static const struct conn_ops srv_ops = {
	.connected = srv_connected, .readable = srv_readable, .drained = srv_drained,
	.closed = srv_closed,
};

static void srv_accept(struct loop *l, struct io *io, unsigned revents);

static void srv_resume(struct loop *l, struct timer *t)
{
	struct server *s = container_of(t, struct server, pause);

	if (loop_io_set(l, &s->lio, IO_IN) < 0)
		loop_timer_start(l, t, host_ns(1));
}

static void srv_accept(struct loop *l, struct io *io, unsigned revents)
{
	struct server *s = container_of(io, struct server, lio);

	(void)revents;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), err;
		struct ssess *ss;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Level-triggered: stop listening a while
				 * rather than spin. */
				loop_io_stop(l, io);
				loop_timer_start(l, &s->pause, host_ns(0.1));
			}
			return;
		}
		ss = xcalloc(1, sizeof(*ss));
		ss->srv = s;
		ss->t.cb = srv_timeout;
		ss->c.st = s->st;
		ss->next = s->sessions;
		if (ss->next)
			ss->next->pprev = &ss->next;
		ss->pprev = &s->sessions;
		s->sessions = ss;
		err = conn_accept(&ss->c, l, &srv_ops, fd);
		if (!err && s->tls)
			err = conn_tls(&ss->c, s->tls, true, NULL);
		if (err) {
			conn_close(&ss->c, err);
			continue;
		}
		srv_arm(ss, SRV_HEAD_TIMEOUT);
	}
}

static int serve(struct host *h, struct stats *st, const struct model *m, uint16_t port, char *err,
		 size_t errlen, bool tls)
{
	struct server *s;
	SSL_CTX *ctx = NULL;
	int fd, r;

	if (tls && !(ctx = host_tls_server(h))) {
		snprintf(err, errlen, "cannot make a TLS server context");
		return -EPROTO;
	}
	r = agent_listen_tcp(port, &fd);
	if (r < 0) {
		snprintf(err, errlen, "cannot listen on port %u: %s", port, strerror(-r));
		return r;
	}
	s = xcalloc(1, sizeof(*s));
	s->loop = h->loop;
	s->st = st;
	s->tls = ctx;
	s->site = site_new(m, &h->content, rng_next(&h->rng));
	s->lio.fd = fd;
	s->lio.cb = srv_accept;
	s->pause.cb = srv_resume;
	r = loop_io_set(h->loop, &s->lio, IO_IN);
	if (r < 0) {
		snprintf(err, errlen, "cannot watch port %u: %s", port, strerror(-r));
		close(fd);
		site_free(s->site);
		free(s);
		return r;
	}
	s->next = servers;
	servers = s;
	return 0;
}

/* ---- client ---------------------------------------------------------------- */

#define CLI_MAX_CONNS 8             /* parallel connections of one user, at most */
#define CLI_MAX_OBJS 160            /* objects fetched for one page, at most */
#define CLI_OBJ_BUF 4096            /* their paths */
#define CLI_CACHE 256               /* objects a user remembers having fetched, across visits */
#define CLI_KEEPALIVE 50.0          /* s: a longer pause closes the connections */
#define CLI_TIMEOUT 60.0            /* s: a response must make progress */
#define CLI_LINGER 5.0              /* s: after our FIN, the server's */
#define CLI_WATCH 0.2               /* s: how often the stop flag is looked at */
#define CLI_MAX_REQUEST 8192        /* bytes of a request head, at most (nginx's line limit) */

enum { A_OPEN, A_FETCH, A_THINK, A_FOLLOW, A_DOWNLOAD, A_WATCH, A_SEEK, A__COUNT };

static const char *const actions[] = {
	[A_OPEN] = "open_page", [A_FETCH] = "fetch_objects", [A_THINK] = "think",
	[A_FOLLOW] = "follow_link", [A_DOWNLOAD] = "download", [A_WATCH] = "watch",
	[A_SEEK] = "seek", NULL,
};

/* What each agent's models may do and must give. */
static const char *const web_actions[] = {
	"open_page", "fetch_objects", "think", "follow_link", "download", NULL,
};
static const char *const web_params[] = {
	"site_pages", "page_size", "objects_per_page", "object_size", "object_tail",
	"object_tail_size", "links_per_page", "parallel_conns", NULL,
};
static const char *const hls_actions[] = { "watch", "seek", "think", NULL };
static const char *const hls_params[] = {
	"videos", "video_length", "segment", "rungs", "rung_low", "rung_high", "buffer",
	"startup", "watch_length", NULL,
};

static const char *const user_agents[] = {
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
	"Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.80",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
};

enum { R_PAGE, R_OBJECT, R_FILE, R_MASTER, R_MEDIA, R_INIT, R_SEGMENT };
enum { B_IDLE, B_HEAD, B_LEN, B_CHUNKED, B_EOF };
enum { U_WAIT, U_BUSY };
#define NEXT_SESSION (-2)

struct user;

/* One statement's users on one host. */
struct client {
	struct agent_env env;
	struct client *next;       /* every client, kept for the life of the process */
	struct user *users;        /* those still running */
	struct timer watch;
	struct defer d;
	int act[A__COUNT];         /* the model's index of each action, or -1 */
	bool tls;
	bool ended;
	char host[80];             /* Host: */
	char origin[96];           /* scheme://host, for Referer: */
};

/* A connection of a user's, one request at a time. */
struct hconn {
	struct conn c;
	struct user *u;            /* NULL once let go */
	struct timer t;            /* response progress, or linger after FIN */
	struct defer d;
	struct http_chunked ch;
	uint64_t left;             /* body bytes to come */
	uint64_t nbody;            /* body bytes of the response in flight */
	uint64_t sent_at;          /* loop clock when its request went */
	uint32_t nreq;             /* requests sent on it */
	uint32_t max_req;          /* then it is closed (conn_requests); 0: never */
	uint8_t slot;
	uint8_t kind;              /* R_* of the request in flight */
	uint8_t body;              /* B_* */
	bool open;                 /* connected (TLS: handshake done) */
	bool html;                 /* scan the body for URLs */
	bool keep;                 /* keep-alive after this response */
	bool got;                  /* bytes of the response came */
	bool ok;                   /* a 2xx */
	bool counted;              /* its failure is counted in errors already */
	bool is_retry;             /* the request in flight is asked again */
	char path[HTTP_URL_MAX];   /* the request in flight, to retry */
};

/* Embedded objects of the page shown, in fetch order. */
struct objs {
	uint16_t n, next, used;
	uint16_t off[CLI_MAX_OBJS];
	char buf[CLI_OBJ_BUF];
};

struct player;

struct user {
	struct client *cl;
	struct player *pl;         /* a streaming user's player, or NULL */
	struct user *next, **pprev;
	struct timer t;
	struct defer d;
	struct rng rng;
	struct hconn *hc[CLI_MAX_CONNS];
	struct objs *objs;
	int action, next_action;
	uint8_t state;             /* U_* */
	uint8_t nconn;             /* connections this session may open */
	uint8_t ua;
	uint16_t cache_at;
	uint16_t inflight;         /* requests sent, not yet answered */
	bool failed;               /* could not connect during this action */
	bool resolved;             /* the visit's name lookup is done */
	struct resolve *rq;        /* the lookup in flight, or NULL */
	bool in_act;               /* inside act(): do not start the next one */
	uint32_t nlinks, ndl;      /* links seen on the page, for a fair pick */
	uint32_t cache[CLI_CACHE]; /* hashes of fetched objects (the browser cache) */
	char page[HTTP_URL_MAX];   /* the page shown, for Referer: */
	char loading[HTTP_URL_MAX];/* the page asked for */
	char link[HTTP_URL_MAX];   /* a link on the page, picked */
	char dl[HTTP_URL_MAX];     /* a download link on the page, picked */
};

static struct client *clients;

static void request_done(struct user *u);
static void action_done(struct user *u);
static void user_finish(struct user *u);
static void pl_collect(struct user *u, const char *p, size_t n);
static void pl_complete(struct user *u, const struct hconn *hc);
static void pl_step(struct user *u);
static void pl_free(struct user *u);

static bool stopping(const struct user *u)
{
	return u->cl->env.host->stopping;
}

static int kind_of(const struct client *cl, int a)
{
	for (int k = 0; k < A__COUNT; k++)
		if (cl->act[k] == a)
			return k;
	return -1;
}

/* ---- connections ---- */

static void hc_free(struct defer *d)
{
	free(container_of(d, struct hconn, d));
}

/* Give the connection up: a FIN when it is up, else close at once.
 * Its memory goes when closed() comes. */
static void let_go(struct hconn *hc)
{
	if (hc->u && hc->u->hc[hc->slot] == hc)
		hc->u->hc[hc->slot] = NULL;
	hc->u = NULL;
	if (!conn_is_open(&hc->c))
		return;
	if (hc->open && !hc->body) {
		conn_shutdown(&hc->c);
		loop_timer_start(hc->c.loop, &hc->t, host_ns(CLI_LINGER));
	} else {
		conn_close(&hc->c, 0);
	}
}

static void release_conns(struct user *u)
{
	for (int i = 0; i < CLI_MAX_CONNS; i++)
		if (u->hc[i])
			let_go(u->hc[i]);
}

static const char *accept_for(const char *path, int kind)
{
	const char *dot = strrchr(path, '.');

	if (kind >= R_MASTER)
		return "*/*";           /* a player's requests (hls.js: XHR) */
	if (kind != R_OBJECT || !dot)
		return "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
	if (!strcmp(dot, ".css"))
		return "text/css,*/*;q=0.1";
	if (!strcmp(dot, ".gif") || !strcmp(dot, ".png") || !strcmp(dot, ".jpg") ||
	    !strcmp(dot, ".webp") || !strcmp(dot, ".svg") || !strcmp(dot, ".ico"))
		return "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5";
	return "*/*";
}

/* Cookies that bring a request to want bytes (request_size): the
 * session and tracking values a site sets, which make most of the
 * spread of real request sizes.  Names and values are drawn; nothing
 * when the request is that large already. */
static void cookies(struct hb *b, size_t want, size_t tail, struct rng *r)
{
	static const char *const names[] = { "_ga", "_gid", "sid", "csrftoken", "_fbp", "consent", "prefs", "ab" };
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	/* and the tail still to come: the Connection field, the empty line */
	size_t end = MIN(want, b->cap) - tail;
	unsigned i = 0;

	if (MIN(want, b->cap) < 64 || b->n + 40 > end)
		return;
	HB_LIT(b, "\r\nCookie: ");
	for (;;) {
		const char *nm = names[i % ARRAY_SIZE(names)];
		size_t n = strlen(nm), len;

		/* "; " name, a number after the first round, "=", a value */
		if (b->n + 2 + n + 4 + 1 + 8 > end)
			break;
		if (i)
			HB_LIT(b, "; ");
		hb_put(b, nm, n);
		if (i >= ARRAY_SIZE(names))
			hb_u64(b, i / ARRAY_SIZE(names));
		HB_LIT(b, "=");
		len = 16 + rng_below(r, 80);    /* once: MIN() names its arguments twice */
		len = MIN(end - b->n, len);
		if (end - b->n - len < 24)
			len = end - b->n;       /* no scrap of a value at the end */
		for (size_t k = 0; k < len; k++)
			b->p[b->n + k] = b64[rng_below(r, 64)];
		b->n += len;
		i++;
	}
}

static void hc_send(struct hconn *hc, const char *path, int kind)
{
	struct user *u = hc->u;
	struct client *cl = u->cl;
	char buf[CLI_MAX_REQUEST];
	struct hb b = { buf, 0, sizeof(buf) };
	bool last = hc->max_req && hc->nreq + 1 >= hc->max_req;
	const char *tail;
	double want = model_draw(cl->env.model, "request_size", &u->rng, 0);

	HB_LIT(&b, "GET ");
	hb_str(&b, path);
	HB_LIT(&b, " HTTP/1.1\r\nHost: ");
	hb_str(&b, cl->host);
	HB_LIT(&b, "\r\nUser-Agent: ");
	hb_str(&b, user_agents[u->ua]);
	HB_LIT(&b, "\r\nAccept: ");
	hb_str(&b, accept_for(path, kind));
	HB_LIT(&b, "\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: identity");
	if (u->page[0]) {
		HB_LIT(&b, "\r\nReferer: ");
		hb_str(&b, cl->origin);
		hb_str(&b, u->page);
	}
	tail = last ? "\r\nConnection: close\r\n\r\n" : "\r\nConnection: keep-alive\r\n\r\n";
	if (want > 0)
		cookies(&b, (size_t)MIN(want, CLI_MAX_REQUEST), strlen(tail), &u->rng);
	hb_str(&b, tail);
	conn_write(&hc->c, buf, b.n);
	if (!conn_is_open(&hc->c)) {
		u->failed = true;       /* closed already: its memory is going */
		return;
	}
	snprintf(hc->path, sizeof(hc->path), "%s", path);
	hc->kind = (uint8_t)kind;
	hc->body = B_HEAD;
	hc->got = hc->ok = hc->html = hc->counted = hc->is_retry = false;
	hc->nbody = 0;
	hc->sent_at = loop_now(hc->c.loop);
	hc->nreq++;
	u->inflight++;
	loop_timer_start(hc->c.loop, &hc->t, host_ns(CLI_TIMEOUT));
}

static const struct conn_ops cli_ops;

static void hc_timeout(struct loop *l, struct timer *t)
{
	struct hconn *hc = container_of(t, struct hconn, t);

	(void)l;
	if (!conn_is_open(&hc->c))
		return;
	if (hc->u && hc->body) {
		if (hc->open) {
			hc->u->cl->env.st->errors++;    /* the server stopped answering */
			hc->counted = true;
		}
		conn_close(&hc->c, -ETIMEDOUT);
	} else {
		conn_close(&hc->c, 0);
	}
}

/* A connection for the next request: an idle one, else a new one in
 * a free slot; NULL when all are busy or a connect fails at once. */
static struct hconn *hc_get(struct user *u)
{
	struct client *cl = u->cl;
	struct hconn *hc;
	int slot = -1, r;

	for (int i = 0; i < u->nconn; i++) {
		if (u->hc[i] && !u->hc[i]->body)
			return u->hc[i];
		if (!u->hc[i] && slot < 0)
			slot = i;
	}
	if (slot < 0)
		return NULL;
	hc = xcalloc(1, sizeof(*hc));
	hc->slot = (uint8_t)slot;
	hc->t.cb = hc_timeout;
	if (model_has(cl->env.model, "conn_requests"))
		hc->max_req = (uint32_t)MAX(1, MIN(1e6, lround(model_draw(cl->env.model, "conn_requests",
									     &u->rng, 1))));
	hc->c.st = cl->env.st;
	r = conn_connect(&hc->c, cl->env.host->loop, &cli_ops, cl->env.host->addr, cl->env.server,
			 cl->env.port);
	if (r < 0) {
		cl->env.st->conn_fail++;
		free(hc);
		u->failed = true;
		return NULL;
	}
	if (cl->tls && (r = conn_tls(&hc->c, host_tls_client(cl->env.host), false,
				     cl->env.server_name)) < 0) {
		conn_close(&hc->c, r);  /* hc->u is NULL: closed() frees it */
		u->failed = true;
		return NULL;
	}
	hc->u = u;
	u->hc[slot] = hc;
	return hc;
}

/* ---- what a page holds ---- */

static uint32_t url_hash(const char *p)
{
	return (uint32_t)rng_hash(p, strlen(p), 7) | 1;
}

static bool cached(const struct user *u, uint32_t h)
{
	for (int i = 0; i < CLI_CACHE; i++)
		if (u->cache[i] == h)
			return true;
	return false;
}

static void on_url(void *arg, enum http_url_kind kind, const char *url, size_t n)
{
	struct user *u = arg;
	struct objs *o = u->objs;
	char path[HTTP_URL_MAX];
	int len = http__url_path(url, n, u->cl->env.server_name, u->loading, path, sizeof(path));

	if (len <= 0)
		return;
	if (kind == HTTP_URL_LINK) {
		bool dl = !strncmp(path, "/dl/", 4);
		uint32_t seen = dl ? ++u->ndl : ++u->nlinks;

		/* Reservoir sampling: each link is as likely to be the one. */
		if (rng_below(&u->rng, seen) == 0)
			memcpy(dl ? u->dl : u->link, path, (size_t)len + 1);
		return;
	}
	if (!o || o->n == CLI_MAX_OBJS || o->used + (size_t)len + 1 > sizeof(o->buf) ||
	    cached(u, url_hash(path)))
		return;
	for (unsigned i = 0; i < o->n; i++)
		if (!strcmp(o->buf + o->off[i], path))
			return;
	o->off[o->n++] = o->used;
	memcpy(o->buf + o->used, path, (size_t)len + 1);
	o->used = (uint16_t)(o->used + len + 1);
}

/* A page arrives: it is the one shown now, and its links and objects
 * replace the last page's. */
static void page_begin(struct user *u)
{
	memcpy(u->page, u->loading, sizeof(u->page));
	u->link[0] = u->dl[0] = 0;
	u->nlinks = u->ndl = 0;
	if (!u->objs)
		u->objs = xmalloc(sizeof(*u->objs));
	u->objs->n = u->objs->next = u->objs->used = 0;
}

/* ---- responses ---- */

static void hc_complete(struct hconn *hc)
{
	struct user *u = hc->u;

	hc->body = B_IDLE;
	loop_timer_stop(hc->c.loop, &hc->t);
	if (hc->kind == R_OBJECT && hc->ok) {
		u->cache[u->cache_at++ % CLI_CACHE] = url_hash(hc->path);
	}
	if (u->pl)
		pl_complete(u, hc);
	u->inflight--;
	if (!hc->keep)
		let_go(hc);
	request_done(u);
}

static void hc_fail(struct hconn *hc, int err)
{
	hc->u->cl->env.st->errors++;
	hc->counted = true;
	conn_close(&hc->c, err);
}

static void start_body(struct hconn *hc, const struct http_resp *r)
{
	hc->keep = r->keep_alive;
	hc->ok = r->status < 300;
	if (r->status >= 400)
		hc->u->cl->env.st->errors++;    /* our pages only name what exists */
	hc->html = hc->kind == R_PAGE && r->status == 200 && r->html;
	if (hc->html)
		page_begin(hc->u);
	if (r->status == 204 || r->status == 304) {
		hc_complete(hc);
	} else if (r->chunked) {
		memset(&hc->ch, 0, sizeof(hc->ch));
		hc->body = B_CHUNKED;
	} else if (r->length) {
		hc->left = r->body;
		hc->body = B_LEN;
		if (!hc->left)
			hc_complete(hc);
	} else {
		hc->keep = false;
		hc->body = B_EOF;
	}
}

static void cli_readable(struct conn *c)
{
	struct hconn *hc = container_of(c, struct hconn, c);

	if (!hc->u || !hc->body) {
		conn_consume(c, c->in.len);     /* nothing asked: dropped */
		return;
	}
	hc->got = true;
	loop_timer_start(c->loop, &hc->t, host_ns(CLI_TIMEOUT));
	while (hc->u && hc->body && conn_is_open(c) && c->in.len) {
		struct http_resp r;
		size_t avail, used, off, nd;
		bool done;
		long n;

		switch (hc->body) {
		case B_HEAD:
			n = http__parse_response(c->in.p, c->in.len, &r);
			if (!n)
				return;
			if (n < 0 || r.status == 101) {
				hc_fail(hc, -EPROTO);
				return;
			}
			conn_consume(c, (size_t)n);
			if (r.status >= 200)
				start_body(hc, &r);
			break;
		case B_LEN:
			avail = (size_t)MIN((uint64_t)c->in.len, hc->left);
			used = hc->html ? http__html_scan(c->in.p, avail, avail == hc->left, on_url, hc->u)
					: avail;
			if (hc->kind == R_MASTER || hc->kind == R_MEDIA)
				pl_collect(hc->u, c->in.p, used);
			/* While a large body streams in, keep a byte so the
			 * connection keeps its grown buffer: emptied, it is
			 * freed, and regrowing it from 2 KiB on every read
			 * copies the data over and over. */
			if (used == avail && avail < hc->left && avail >= (64u << 10))
				used--;
			conn_consume(c, used);
			hc->nbody += used;
			hc->left -= used;
			if (!hc->left)
				hc_complete(hc);
			else
				return;         /* the rest is still to come */
			break;
		case B_CHUNKED:
			n = http__chunked(&hc->ch, c->in.p, c->in.len, &off, &nd, &done);
			if (n < 0) {
				hc_fail(hc, -EPROTO);
				return;
			}
			if (nd && hc->html)
				http__html_scan(c->in.p + off, nd, true, on_url, hc->u);
			if (nd && (hc->kind == R_MASTER || hc->kind == R_MEDIA))
				pl_collect(hc->u, c->in.p + off, nd);
			hc->nbody += nd;
			conn_consume(c, (size_t)n);
			if (done)
				hc_complete(hc);
			else if (!n)
				return;
			break;
		case B_EOF:
			if (hc->html)
				http__html_scan(c->in.p, c->in.len, true, on_url, hc->u);
			if (hc->kind == R_MASTER || hc->kind == R_MEDIA)
				pl_collect(hc->u, c->in.p, c->in.len);
			hc->nbody += c->in.len;
			conn_consume(c, c->in.len);
			return;
		}
	}
	/* More than the response said: the server is broken. */
	if (hc->u && !hc->body && conn_is_open(c) && c->in.len) {
		conn_consume(c, c->in.len);
		hc_fail(hc, -EPROTO);
	}
}

static void cli_connected(struct conn *c)
{
	struct hconn *hc = container_of(c, struct hconn, c);

	hc->open = true;
	if (!hc->u) {
		conn_shutdown(c);
		loop_timer_start(c->loop, &hc->t, host_ns(CLI_LINGER));
	}
}

static void cli_closed(struct conn *c, int err)
{
	struct hconn *hc = container_of(c, struct hconn, c);
	struct user *u = hc->u;

	loop_timer_stop(c->loop, &hc->t);
	loop_defer(c->loop, &hc->d, hc_free);
	if (!u)
		return;
	if (u->hc[hc->slot] == hc)
		u->hc[hc->slot] = NULL;
	hc->u = NULL;
	if (!hc->body)
		return;                 /* an idle connection the server closed */
	if (hc->body == B_EOF && !err) {
		hc->u = u;              /* the body ends with the connection */
		hc->keep = false;
		hc_complete(hc);
		return;
	}
	/* A keep-alive connection the server closed as we asked: ask again,
	 * once, on a new one, as browsers do. */
	if (!hc->got && !hc->counted && !hc->is_retry && hc->open && hc->nreq > 1 && !stopping(u)) {
		struct hconn *n;

		u->inflight--;
		n = hc_get(u);
		if (n) {
			hc_send(n, hc->path, hc->kind);
			if (n->body) {
				n->is_retry = true;
				return;
			}
		}
		u->inflight++;
	}
	if (!hc->open)
		u->failed = true;       /* conn_fail counted it */
	else if (!hc->counted)
		u->cl->env.st->errors++;        /* cut short */
	u->inflight--;
	request_done(u);
}

static const struct conn_ops cli_ops = {
	.connected = cli_connected, .readable = cli_readable, .closed = cli_closed,
};

/* ---- the user's walk ---- */

static void user_free(struct defer *d)
{
	struct user *u = container_of(d, struct user, d);

	free(u->objs);
	free(u);
}

static void client_free(struct defer *d)
{
	free(container_of(d, struct client, d));
}

static void client_end(struct client *cl)
{
	struct client **pp = &clients;

	if (cl->ended)
		return;
	cl->ended = true;
	loop_timer_stop(cl->env.host->loop, &cl->watch);
	while (*pp && *pp != cl)
		pp = &(*pp)->next;
	if (*pp)
		*pp = cl->next;
	loop_defer(cl->env.host->loop, &cl->d, client_free);
}

/* The run is over for this user: close politely and go. */
static void user_finish(struct user *u)
{
	struct client *cl = u->cl;

	loop_timer_stop(cl->env.host->loop, &u->t);
	resolve_cancel(u->rq);
	u->rq = NULL;
	pl_free(u);
	release_conns(u);
	*u->pprev = u->next;
	if (u->next)
		u->next->pprev = u->pprev;
	loop_defer(cl->env.host->loop, &u->d, user_free);
	if (!cl->users && cl->env.host->stopping)
		client_end(cl);
}

static void fetch(struct user *u, const char *path, int kind)
{
	struct hconn *hc = hc_get(u);

	if (hc)
		hc_send(hc, path, kind);
}

/* Send object requests on free connections while objects are left. */
static void dispatch(struct user *u)
{
	struct objs *o = u->objs;

	while (o && o->next < o->n && !stopping(u)) {
		struct hconn *hc = hc_get(u);

		if (!hc)
			break;
		hc_send(hc, o->buf + o->off[o->next++], R_OBJECT);
	}
}


/* ---- the player: streaming users ---- */

/* A person watching a title: the master playlist, then the media
 * playlist and init segment of the rung the throughput allows, then its
 * segments one after another until the buffer holds 'buffer' seconds
 * (the start: as fast as the link goes), then one whenever the buffer
 * has drained below it again (a segment per segment's duration), until
 * the person has watched 'watch_length' or the title ends.  The rung
 * follows the estimate of the link (hls.h), so a slow link makes a
 * player step down and fetch the lower rung's playlist and init. */

#define PL_EST0 500e3               /* bits/s believed before the first segment */
#define PL_SAMPLE_MIN 16384         /* bytes: a smaller download says little of the link */

struct rung {
	char path[HTTP_URL_MAX];   /* its media playlist */
	char *text;                /* the playlist once fetched, or NULL */
	struct hls_seg *seg;
	struct hls_media m;
	char init[HTTP_URL_MAX];   /* its init segment, "" when none */
	bool have_init;
};

struct player {
	struct timer t;
	struct user *u;
	bool busy;                 /* watching: requests and the timer are the player's */
	bool titled;               /* a title is loaded (its master playlist) */
	bool playing;              /* playback has begun (not starting, not stalled) */
	bool ok;                   /* the last response was whole and 2xx */
	uint8_t want;              /* R_* of the request in flight */
	uint32_t title, nr, cur, next;   /* rungs; the rung fetched; the next segment */
	uint64_t bps[HLS_MAX_VARIANTS];  /* rising */
	struct rung r[HLS_MAX_VARIANTS];
	char master[HTTP_URL_MAX];
	double buffer;             /* s of media ahead of the playhead */
	double target, startup;    /* s: the buffer kept; the buffer playback starts on */
	double played, watch;      /* s watched of this viewing; s to watch */
	double clock;              /* s (loop clock) when those were brought up to date */
	double secs;               /* the last download's time, s */
	uint64_t bytes;            /* and its bytes */
	struct hls_est est;
	struct buf body;           /* a playlist coming in */
	bool too_big;
};

static double pl_now(const struct user *u)
{
	return (double)loop_now(u->cl->env.host->loop) / 1e9;
}

static void rung_clear(struct rung *rg)
{
	free(rg->text);
	free(rg->seg);
	memset(rg, 0, sizeof(*rg));
}

static void pl_free(struct user *u)
{
	struct player *pl = u->pl;

	if (!pl)
		return;
	loop_timer_stop(u->cl->env.host->loop, &pl->t);
	for (uint32_t i = 0; i < HLS_MAX_VARIANTS; i++)
		rung_clear(&pl->r[i]);
	buf_free(&pl->body);
	free(pl);
	u->pl = NULL;
}

static void pl_collect(struct user *u, const char *p, size_t n)
{
	struct player *pl = u ? u->pl : NULL;

	if (!pl || pl->too_big || !n)
		return;
	if (pl->body.len + n > HLS_MAX_PLAYLIST) {
		pl->too_big = true;
		return;
	}
	buf_put(&pl->body, p, n);
}

static void pl_complete(struct user *u, const struct hconn *hc)
{
	struct player *pl = u->pl;

	pl->ok = hc->ok;
	pl->bytes = hc->nbody;
	pl->secs = (double)(loop_now(hc->c.loop) - hc->sent_at) / 1e9;
}

/* The viewing is over (watched, the title ended, or it failed). */
static void pl_end(struct user *u)
{
	struct player *pl = u->pl;

	loop_timer_stop(u->cl->env.host->loop, &pl->t);
	pl->busy = false;
	action_done(u);
}

static void pl_fetch(struct user *u, const char *path, int kind)
{
	struct player *pl = u->pl;

	pl->want = (uint8_t)kind;
	pl->ok = false;
	pl->body.len = 0;
	pl->too_big = false;
	fetch(u, path, kind);
	if (!u->inflight)
		pl_end(u);              /* no connection: u->failed says so */
}

/* Bring the buffer and the time watched up to now. */
static void pl_play(struct player *pl, double now)
{
	if (pl->playing) {
		double d = MIN(now - pl->clock, pl->buffer);

		pl->buffer -= d;
		pl->played += d;
		if (pl->buffer <= 0 && now - pl->clock > d)
			pl->playing = false;    /* stalled: waits for the buffer again */
	}
	pl->clock = now;
}

/* What the server sent cannot be played: counted, and the viewing ends. */
static void pl_error(struct user *u)
{
	u->cl->env.st->errors++;
	pl_end(u);
}

/* A playlist's URI at off/len of text, as a path on the server, from base. */
static bool pl_path(struct user *u, const char *text, uint32_t off, uint32_t len, const char *base,
		    char *out)
{
	return http__url_path(text + off, len, u->cl->env.server_name, base, out, HTTP_URL_MAX) > 0;
}

static void pl_next(struct user *u);

static void pl_tick(struct loop *l, struct timer *t)
{
	struct player *pl = container_of(t, struct player, t);

	(void)l;
	if (pl->busy && !pl->u->inflight)
		pl_next(pl->u);
}

static void pl_wait(struct user *u, double s)
{
	loop_timer_start(u->cl->env.host->loop, &u->pl->t, host_ns(MAX(0.01, s)));
}

/* What to do now: the rung's playlist and init first, then a segment
 * if the buffer has room, else wait until it has. */
static void pl_next(struct user *u)
{
	struct player *pl = u->pl;
	struct rung *rg = &pl->r[pl->cur];
	double now = pl_now(u);
	char path[HTTP_URL_MAX];

	if (stopping(u)) {
		pl_end(u);
		return;
	}
	pl_play(pl, now);
	if (pl->played >= pl->watch) {
		pl_end(u);
		return;
	}
	if (!rg->text) {
		pl_fetch(u, rg->path, R_MEDIA);
		return;
	}
	if (rg->init[0] && !rg->have_init) {
		pl_fetch(u, rg->init, R_INIT);
		return;
	}
	if (pl->next >= rg->m.nseg) {
		/* all fetched: play out what is left */
		if (pl->buffer <= 0 || !pl->playing)
			pl_end(u);
		else
			pl_wait(u, MIN(pl->buffer, pl->watch - pl->played));
		return;
	}
	if (pl->buffer >= pl->target) {
		/* full: the next fetch when it has drained below the target */
		pl_wait(u, MIN(pl->buffer - pl->target + 0.05, pl->watch - pl->played));
		return;
	}
	if (!pl_path(u, rg->text, rg->seg[pl->next].off, rg->seg[pl->next].len, rg->path, path)) {
		pl_error(u);
		return;
	}
	pl_fetch(u, path, R_SEGMENT);
}

/* The rungs of a master playlist, rising; the first by the estimate. */
static bool pl_master(struct user *u)
{
	struct player *pl = u->pl;
	struct hls_variant v[HLS_MAX_VARIANTS];
	const char *why;
	unsigned line;
	int n = hls__master(pl->body.p, pl->body.len, v, HLS_MAX_VARIANTS, &line, &why);

	if (n <= 0)
		return false;
	/* by the rate a variant averages (its peak when not given) */
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && (v[j].average ? v[j].average : v[j].bandwidth) <
					   (v[j - 1].average ? v[j - 1].average : v[j - 1].bandwidth); j--) {
			struct hls_variant x = v[j];

			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	for (uint32_t i = 0; i < HLS_MAX_VARIANTS; i++)
		rung_clear(&pl->r[i]);
	pl->nr = (uint32_t)n;
	for (int i = 0; i < n; i++) {
		pl->bps[i] = v[i].average ? v[i].average : v[i].bandwidth;
		if (!pl_path(u, pl->body.p, v[i].off, v[i].len, pl->master, pl->r[i].path))
			return false;
	}
	pl->cur = (uint32_t)hls__pick(pl->bps, pl->nr, pl->nr - 1, hls__estimate(&pl->est, PL_EST0),
				      0, 1);
	pl->titled = true;
	return true;
}

/* A rung's media playlist: kept, with its segments. */
static bool pl_media(struct user *u)
{
	struct player *pl = u->pl;
	struct rung *rg = &pl->r[pl->cur];
	struct hls_seg *seg = xreallocarray(NULL, HLS_MAX_SEGS, sizeof(*seg));
	const char *why;
	unsigned line;

	if (hls__media(pl->body.p, pl->body.len, &rg->m, seg, HLS_MAX_SEGS, &line, &why) ||
	    !rg->m.nseg || (rg->m.map && !pl_path(u, pl->body.p, rg->m.map_off, rg->m.map_len,
						    rg->path, rg->init))) {
		free(seg);
		memset(&rg->m, 0, sizeof(rg->m));
		return false;
	}
	rg->seg = xreallocarray(seg, rg->m.nseg, sizeof(*seg));
	rg->text = buf_steal(&pl->body);
	return true;
}

/* A response of the player's is in (or its connection failed). */
static void pl_step(struct user *u)
{
	struct player *pl = u->pl;
	struct rung *rg = &pl->r[pl->cur];
	double now = pl_now(u), seg;

	if (!pl->ok || pl->too_big) {
		if (pl->ok)
			u->cl->env.st->errors++;        /* the http layer counted the rest */
		pl_end(u);
		return;
	}
	pl_play(pl, now);
	switch (pl->want) {
	case R_MASTER:
		if (!pl_master(u)) {
			pl_error(u);
			return;
		}
		break;
	case R_MEDIA:
		if (!pl_media(u)) {
			pl_error(u);
			return;
		}
		pl->next = MIN(pl->next, rg->m.nseg);
		break;
	case R_INIT:
		rg->have_init = true;
		break;
	case R_SEGMENT:
		seg = rg->m.target > 0 ? rg->m.target : rg->seg[pl->next].dur;
		pl->buffer += rg->seg[pl->next].dur;
		pl->next++;
		if (pl->bytes >= PL_SAMPLE_MIN)
			hls__sample(&pl->est, pl->secs, (double)pl->bytes * 8);
		if (!pl->playing && (pl->buffer >= pl->startup || pl->next >= rg->m.nseg)) {
			pl->playing = true;
			pl->clock = now;
		}
		pl->cur = (uint32_t)hls__pick(pl->bps, pl->nr, pl->cur,
					      hls__estimate(&pl->est, PL_EST0), pl->buffer, seg);
		break;
	}
	pl_next(u);
}

/* watch: a title from its start; seek: further on in the title being
 * watched (a new one when there is none). */
static void pl_watch(struct user *u, bool seek)
{
	struct client *cl = u->cl;
	const struct model *m = cl->env.model;
	struct player *pl = u->pl;
	struct rung *rg;
	double videos;

	if (!pl) {
		pl = u->pl = xcalloc(1, sizeof(*pl));
		pl->u = u;
		pl->t.cb = pl_tick;
	}
	pl->busy = true;
	pl->playing = false;
	pl->buffer = pl->played = 0;
	pl->clock = pl_now(u);
	pl->target = MAX(1.0, model_draw(m, "buffer", &u->rng, 30));
	pl->startup = MIN(pl->target, model_draw(m, "startup", &u->rng, 4));
	pl->watch = model_draw(m, "watch_length", &u->rng, 120);
	rg = &pl->r[pl->cur];
	if (seek && pl->titled && rg->text && pl->next < rg->m.nseg) {
		/* forward, somewhere in what is left */
		pl->next += (uint32_t)rng_below(&u->rng, rg->m.nseg - pl->next);
		pl_next(u);
		return;
	}
	/* Titles are watched as popularity goes: title i about 1/(i+1). */
	videos = MAX(1, MIN(1e6, model_draw(m, "videos", &u->rng, 100)));
	pl->title = (uint32_t)MIN(videos - 1, floor(exp(rng_unit(&u->rng) * log(videos + 1))) - 1);
	pl->titled = false;
	pl->next = 0;
	snprintf(pl->master, sizeof(pl->master), "/v/%u/master.m3u8", pl->title);
	pl_fetch(u, pl->master, R_MASTER);
}

static void act(struct user *u, int a)
{
	struct client *cl = u->cl;
	char path[32];

	if (stopping(u)) {
		user_finish(u);
		return;
	}
	u->action = a;
	u->state = U_BUSY;
	u->failed = false;
	u->in_act = true;
	cl->env.st->actions++;
	switch (kind_of(cl, a)) {
	case A_OPEN:
		/* Typed in, or a bookmark: the home page. */
		snprintf(u->loading, sizeof(u->loading), "/");
		u->page[0] = 0;
		free(u->objs);
		u->objs = NULL;
		fetch(u, u->loading, R_PAGE);
		break;
	case A_FOLLOW:
		snprintf(u->loading, sizeof(u->loading), "%s", u->link[0] ? u->link : "/");
		free(u->objs);
		u->objs = NULL;
		fetch(u, u->loading, R_PAGE);
		break;
	case A_FETCH:
		dispatch(u);
		break;
	case A_WATCH:
	case A_SEEK:
		pl_watch(u, kind_of(cl, a) == A_SEEK);
		break;
	case A_DOWNLOAD:
		if (!u->dl[0]) {
			double pages = model_draw(cl->env.model, "site_pages", &u->rng, 1000);

			snprintf(path, sizeof(path), "/dl/%u.bin",
				 (unsigned)rng_below(&u->rng, pages >= 1 ? (uint64_t)pages : 1));
			fetch(u, path, R_FILE);
		} else {
			fetch(u, u->dl, R_FILE);
		}
		break;
	default:
		break;          /* think: the pause is the action */
	}
	u->in_act = false;
	/* a viewing waiting on its buffer ends when the player says */
	if (!u->inflight && !(u->pl && u->pl->busy))
		action_done(u);
}

static void user_tick(struct loop *l, struct timer *t);

/* The visit's lookup is over, answered or not: the visit goes on. */
static void resolved(void *arg, bool answered)
{
	struct user *u = arg;

	(void)answered;
	u->rq = NULL;
	u->resolved = true;
	user_tick(u->cl->env.host->loop, &u->t);
}

static void user_tick(struct loop *l, struct timer *t)
{
	struct user *u = container_of(t, struct user, t);
	struct client *cl = u->cl;
	double n;

	(void)l;
	if (stopping(u)) {
		user_finish(u);
		return;
	}
	if (u->next_action == MODEL_END) {
		/* The session is over; the next begins after a pause. */
		release_conns(u);
		free(u->objs);
		u->objs = NULL;
		pl_free(u);
		u->page[0] = u->link[0] = u->dl[0] = 0;
		u->next_action = NEXT_SESSION;
		loop_timer_start(l, t, host_ns(model_draw(cl->env.model, "session_gap", &u->rng, 1) *
					       agent_think_scale(&cl->env)));
		return;
	}
	if (u->next_action == NEXT_SESSION && cl->env.resolver && !u->resolved) {
		/* A visit begins with the browser looking the site up. */
		if (!u->rq)
			u->rq = resolve_start(cl->env.host, cl->env.st, cl->env.resolver,
					      cl->env.server_name, resolved, u);
		if (u->rq)
			return;
	}
	u->resolved = false;
	if (u->next_action == NEXT_SESSION) {
		cl->env.st->sessions++;
		n = model_draw(cl->env.model, "parallel_conns", &u->rng, 6);
		u->nconn = (uint8_t)(n < 1 ? 1 : n > CLI_MAX_CONNS ? CLI_MAX_CONNS : n + 0.5);
		u->next_action = model_start(cl->env.model);
	}
	act(u, u->next_action);
}

static void action_done(struct user *u)
{
	struct client *cl = u->cl;
	double think;

	if (u->state != U_BUSY)
		return;
	u->state = U_WAIT;
	if (stopping(u)) {
		user_finish(u);
		return;
	}
	if (kind_of(cl, u->action) == A_FETCH) {
		free(u->objs);
		u->objs = NULL;
	}
	u->next_action = model_next(cl->env.model, u->action, &u->rng);
	think = model_think(cl->env.model, u->action, &u->rng) * agent_think_scale(&cl->env);
	if (u->failed) {
		/* The server is not there: give up this session. */
		u->next_action = MODEL_END;
		think = MAX(think, 1.0);
	}
	if (think > CLI_KEEPALIVE)
		release_conns(u);
	/* No pause after an answer: go on at once, saving a turn of the
	 * loop per request when the model runs flat out.  An action that
	 * ended without waiting goes through the timer, so a chain of
	 * them cannot recurse. */
	if (!(think > 0) && !u->in_act && u->next_action != MODEL_END) {
		act(u, u->next_action);
		return;
	}
	loop_timer_start(cl->env.host->loop, &u->t, host_ns(think));
}

static void request_done(struct user *u)
{
	if (u->state != U_BUSY)
		return;
	if (u->pl && u->pl->busy) {
		pl_step(u);
		return;
	}
	if (kind_of(u->cl, u->action) == A_FETCH)
		dispatch(u);
	if (!u->inflight)
		action_done(u);
}

static void watch(struct loop *l, struct timer *t)
{
	struct client *cl = container_of(t, struct client, watch);

	if (!cl->env.host->stopping) {
		loop_timer_start(l, t, host_ns(CLI_WATCH));
		return;
	}
	for (struct user *u = cl->users, *next; u; u = next) {
		next = u->next;
		/* and players waiting for their buffer to drain */
		if (u->state != U_BUSY || (u->pl && u->pl->busy && !u->inflight))
			user_finish(u);     /* may end the client */
	}
	if (cl->users)
		loop_timer_start(l, t, host_ns(CLI_WATCH));
	else
		client_end(cl);
}

static int client(const struct agent_env *env, char *err, size_t errlen, bool tls)
{
	struct client *cl;
	uint16_t dport = tls ? 443 : 80;

	if (tls && !host_tls_client(env->host)) {
		snprintf(err, errlen, "cannot make a TLS client context");
		return -EPROTO;
	}
	cl = xcalloc(1, sizeof(*cl));
	cl->env = *env;
	cl->tls = tls;
	if (env->port == dport)
		snprintf(cl->host, sizeof(cl->host), "%s", env->server_name);
	else
		snprintf(cl->host, sizeof(cl->host), "%s:%u", env->server_name, env->port);
	snprintf(cl->origin, sizeof(cl->origin), "%s://%s", tls ? "https" : "http", cl->host);
	for (int k = 0; k < A__COUNT; k++)
		cl->act[k] = model_action(env->model, actions[k]);
	for (uint32_t i = 0; i < env->users; i++) {
		struct user *u = xcalloc(1, sizeof(*u));

		u->cl = cl;
		rng_seed(&u->rng, rng_next(&env->host->rng));
		u->ua = (uint8_t)rng_below(&u->rng, ARRAY_SIZE(user_agents));
		u->state = U_WAIT;
		u->next_action = NEXT_SESSION;
		u->t.cb = user_tick;
		u->next = cl->users;
		if (u->next)
			u->next->pprev = &u->next;
		u->pprev = &cl->users;
		cl->users = u;
		/* People do not all start at the same instant. */
		loop_timer_start(env->host->loop, &u->t, host_ns(rng_unit(&u->rng) * 0.5));
	}
	cl->watch.cb = watch;
	loop_timer_start(env->host->loop, &cl->watch, host_ns(CLI_WATCH));
	cl->next = clients;
	clients = cl;
	return 0;
}

/* ---- the two agents ---- */

static int http_serve(struct host *h, struct stats *st, const struct model *m, uint16_t port,
		      char *err, size_t errlen)
{
	return serve(h, st, m, port, err, errlen, false);
}

static int https_serve(struct host *h, struct stats *st, const struct model *m, uint16_t port,
		       char *err, size_t errlen)
{
	return serve(h, st, m, port, err, errlen, true);
}

static int http_client(const struct agent_env *env, char *err, size_t errlen)
{
	return client(env, err, errlen, false);
}

static int https_client(const struct agent_env *env, char *err, size_t errlen)
{
	return client(env, err, errlen, true);
}

const struct agent agent_http = {
	.name = "http", .proto = PROTO_HTTP, .model = "web", .actions = web_actions,
	.params = web_params, .serve = http_serve, .client = http_client,
};

const struct agent agent_https = {
	.name = "https", .proto = PROTO_HTTPS, .model = "web", .actions = web_actions,
	.params = web_params, .serve = https_serve, .client = https_client,
};

/* Streaming: the same server, its site holding the model's videos, and
 * users who watch them (the player above). */
const struct agent agent_hls = {
	.name = "hls", .source = "hls", .proto = PROTO_HTTP, .model = "streaming",
	.actions = hls_actions, .params = hls_params, .serve = http_serve, .client = http_client,
};

const struct agent agent_hls_tls = {
	.name = "hls-tls", .source = "hls", .proto = PROTO_HTTPS, .model = "streaming",
	.actions = hls_actions, .params = hls_params, .serve = https_serve, .client = https_client,
};
