/* smtp.c - the SMTP agent: a mail submission server that accepts and
 * discards messages (ESMTP with PIPELINING and SIZE, RFC 5321), and
 * clients whose users send the mail the "mail" model says: to lists,
 * to one person, to a few, and replies, as MIME messages (mail.c).
 * Messages are never stored: the server counts them and says so. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/util.h"
#include "agent.h"
#include "mail.h"
#include "smtp.h"

#define SMTP_MAX_SIZE (40u << 20)   /* SIZE we advertise: above what mail.c makes */
#define SMTP_MAX_RCPT 100
#define SMTP_MAX_ERRORS 10          /* bad commands before we hang up */
#define SMTP_IDLE_S 30.0            /* server: a silent peer is dropped */
#define SMTP_REPLY_S 60.0           /* client: a silent server is dropped */
#define SMTP_KEEP_S 10.0            /* client: longer thinks hang up first */
#define SMTP_TICK_S 0.5             /* how soon a thinking user sees stopping */
#define SMTP_MAX_PENDING 4096       /* unparsed line bytes we wait on */

/* ---- parsers --------------------------------------------------------------- */

static const struct {
	const char *name;
	enum smtp_verb verb;
} verbs[] = {
	{ "HELO", SMTP_HELO }, { "EHLO", SMTP_EHLO }, { "MAIL", SMTP_MAIL },
	{ "RCPT", SMTP_RCPT }, { "DATA", SMTP_DATA }, { "RSET", SMTP_RSET },
	{ "NOOP", SMTP_NOOP }, { "QUIT", SMTP_QUIT }, { "VRFY", SMTP_VRFY },
	{ "EXPN", SMTP_EXPN }, { "HELP", SMTP_HELP }, { "STARTTLS", SMTP_STARTTLS },
	{ "AUTH", SMTP_AUTH }, { "BDAT", SMTP_BDAT },
};

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool local_char(char c)
{
	return is_alnum(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~.", c));
}

/* local@domain, or a bare "postmaster" when allowed. */
static bool valid_mailbox(const char *p, size_t n, bool postmaster)
{
	const char *at = memchr(p, '@', n);
	size_t ll, dl;

	if (!at)
		return postmaster && n == 10 && !strncasecmp(p, "postmaster", 10);
	ll = (size_t)(at - p);
	dl = n - ll - 1;
	if (!ll || ll > 64 || !dl || dl > 255)
		return false;
	for (size_t i = 0; i < ll; i++)
		if (!local_char(p[i]))
			return false;
	at++;
	if (at[0] == '[') {
		if (dl < 3 || at[dl - 1] != ']')
			return false;
		for (size_t i = 1; i + 1 < dl; i++)
			if (at[i] <= ' ' || at[i] > '~' || at[i] == '[' || at[i] == ']' || at[i] == '\\')
				return false;
		return true;
	}
	for (size_t i = 0; i < dl; i++)
		if (!is_alnum(at[i]) && at[i] != '-' && at[i] != '.')
			return false;
	return at[0] != '.' && at[dl - 1] != '.';
}

/* "FROM:<path> params" after the keyword; the path without <>. */
static int parse_path(struct smtp_cmd *cmd, const char *kw, bool mail)
{
	const char *p = cmd->arg, *e = cmd->arg + cmd->arglen, *gt;
	size_t kl = strlen(kw);

	if (cmd->arglen < kl || strncasecmp(p, kw, kl))
		return -EINVAL;
	p += kl;
	while (p < e && *p == ' ')
		p++;
	if (p == e || *p != '<')
		return -EINVAL;
	gt = memchr(p, '>', (size_t)(e - p));
	if (!gt)
		return -EINVAL;
	cmd->addr = p + 1;
	cmd->addrlen = (size_t)(gt - p - 1);
	/* An old source route "@a,@b:user@c" names the same mailbox. */
	if (cmd->addrlen && cmd->addr[0] == '@') {
		const char *colon = memchr(cmd->addr, ':', cmd->addrlen);

		if (!colon)
			return -EINVAL;
		cmd->addrlen -= (size_t)(colon + 1 - cmd->addr);
		cmd->addr = colon + 1;
	}
	if (cmd->addrlen > SMTP_MAX_PATH)
		return -EINVAL;
	if (cmd->addrlen ? !valid_mailbox(cmd->addr, cmd->addrlen, !mail) : !mail)
		return -EINVAL;
	/* ESMTP parameters: KEY[=VALUE], separated by spaces. */
	p = gt + 1;
	while (p < e) {
		const char *k, *eq, *ke;

		if (*p != ' ')
			return -EINVAL;
		while (p < e && *p == ' ')
			p++;
		if (p == e)
			break;
		k = p;
		while (p < e && *p != ' ')
			p++;
		ke = p;
		eq = memchr(k, '=', (size_t)(ke - k));
		if (mail && eq && eq - k == 4 && !strncasecmp(k, "SIZE", 4)) {
			uint64_t v = 0;

			if (eq + 1 == ke)
				return -EINVAL;
			for (const char *d = eq + 1; d < ke; d++) {
				if (*d < '0' || *d > '9' || v > UINT64_MAX / 10 - 1)
					return -EINVAL;
				v = v * 10 + (uint64_t)(*d - '0');
			}
			cmd->size = v;
			continue;
		}
		{
			static const char *const known[] = { "BODY", "SMTPUTF8", "RET", "ENVID", "AUTH",
							     "NOTIFY", "ORCPT" };
			size_t kn = eq ? (size_t)(eq - k) : (size_t)(ke - k);
			bool ok = false;

			for (size_t i = 0; i < ARRAY_SIZE(known); i++)
				if (strlen(known[i]) == kn && !strncasecmp(known[i], k, kn))
					ok = true;
			if (!ok)
				return -EINVAL;
		}
	}
	return 0;
}

int smtp__parse_command(const char *line, size_t len, struct smtp_cmd *cmd)
{
	size_t vl = 0;
	size_t i;

	memset(cmd, 0, sizeof(*cmd));
	if (len + 2 > SMTP_MAX_LINE)
		return -EMSGSIZE;
	while (vl < len && line[vl] != ' ')
		vl++;
	for (i = 0; i < ARRAY_SIZE(verbs); i++)
		if (strlen(verbs[i].name) == vl && !strncasecmp(verbs[i].name, line, vl))
			break;
	if (i == ARRAY_SIZE(verbs))
		return -ENOENT;
	cmd->verb = verbs[i].verb;
	cmd->arg = line + vl;
	while (cmd->arg < line + len && *cmd->arg == ' ')
		cmd->arg++;
	cmd->arglen = (size_t)(line + len - cmd->arg);
	while (cmd->arglen && cmd->arg[cmd->arglen - 1] == ' ')
		cmd->arglen--;
	for (i = 0; i < cmd->arglen; i++)
		if ((unsigned char)cmd->arg[i] < ' ' || cmd->arg[i] == 127)
			return -EINVAL;
	switch (cmd->verb) {
	case SMTP_HELO:
	case SMTP_EHLO:
	case SMTP_VRFY:
	case SMTP_EXPN:
	case SMTP_AUTH:
	case SMTP_BDAT:
		return cmd->arglen ? 0 : -EINVAL;
	case SMTP_MAIL:
		return parse_path(cmd, "FROM:", true);
	case SMTP_RCPT:
		return parse_path(cmd, "TO:", false);
	case SMTP_DATA:
	case SMTP_RSET:
	case SMTP_QUIT:
	case SMTP_STARTTLS:
		return cmd->arglen ? -EINVAL : 0;
	default:
		return 0;
	}
}

void smtp__data_init(struct smtp_data *d)
{
	memset(d, 0, sizeof(*d));
	d->bol = 1;
}

static void end_line(struct smtp_data *d)
{
	if (d->linelen > d->longest)
		d->longest = d->linelen;
	d->linelen = 0;
	d->lines++;
	d->bol = 1;
}

int smtp__data_scan(struct smtp_data *d, const char *buf, size_t len, size_t *used)
{
	size_t i = 0;

	while (i < len) {
		char c = buf[i];
		const char *nl;
		size_t take;

		if (d->dot == 1) {
			if (c == '\r') {
				d->dot = 2;
				i++;
				continue;
			}
			d->dot = 0;
			if (c == '\n') {   /* ".\n": a lone LF ends lines too */
				*used = i + 1;
				return 1;
			}
			d->bol = 0;        /* a stuffed dot, dropped; c is data */
			continue;
		}
		if (d->dot == 2) {
			d->dot = 0;
			if (c == '\n') {
				*used = i + 1;
				return 1;
			}
			d->bol = 0;        /* ".\r" then data: the CR is data */
			d->size++;
			d->linelen++;
			continue;
		}
		if (d->bol && c == '.') {
			d->dot = 1;
			d->linelen++;
			i++;
			continue;
		}
		d->bol = 0;
		nl = memchr(buf + i, '\n', len - i);
		take = nl ? (size_t)(nl - (buf + i)) + 1 : len - i;
		d->size += take;
		d->linelen += (uint32_t)MIN(take, (size_t)UINT32_MAX - d->linelen);
		if (nl)
			end_line(d);
		i += take;
	}
	*used = len;
	return 0;
}

int smtp__parse_reply(const char *line, size_t len, unsigned *code, bool *last)
{
	if (len < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '5' ||
	    line[2] < '0' || line[2] > '9')
		return -EINVAL;
	if (len > 3 && line[3] != ' ' && line[3] != '-')
		return -EINVAL;
	if (len > SMTP_MAX_REPLY)
		return -EINVAL;
	*code = (unsigned)(line[0] - '0') * 100 + (unsigned)(line[1] - '0') * 10 +
		(unsigned)(line[2] - '0');
	*last = len == 3 || line[3] == ' ';
	return 0;
}

/* ---- server ---------------------------------------------------------------- */

struct smtp_server {
	struct io io;
	struct host *h;
	struct stats *st;
	struct smtp_server *next;
};

/* Listeners live as long as the process; this list keeps them reachable
 * (the agent API has no teardown, and leak checkers look for owners). */
static struct smtp_server *servers;

enum { S_GREET, S_READY, S_MAIL, S_DATA, S_CLOSING };

struct smtp_srv {
	struct conn c;
	struct timer idle;
	struct defer d;
	struct smtp_server *srv;
	struct smtp_data data;
	uint64_t queued;          /* messages accepted on this connection */
	uint16_t nrcpt;
	uint8_t state;
	uint8_t errors;
	bool helo;
};

static void srv_free(struct defer *d)
{
	free(container_of(d, struct smtp_srv, d));
}

static void srv_idle_cb(struct loop *l, struct timer *t)
{
	struct smtp_srv *s = container_of(t, struct smtp_srv, idle);

	(void)l;
	if (s->state == S_CLOSING) {
		/* The peer would not take our FIN: drop it. */
		conn_close(&s->c, -ETIMEDOUT);
		return;
	}
	conn_printf(&s->c, "421 4.4.2 %s Error: timeout exceeded\r\n", s->srv->h->name);
	s->state = S_CLOSING;
	conn_shutdown(&s->c);
	loop_timer_start(s->c.loop, &s->idle, host_ns(5));
}

/* Reply and hang up after it. */
static void srv_hangup(struct smtp_srv *s, const char *reply)
{
	conn_printf(&s->c, "%s\r\n", reply);
	s->state = S_CLOSING;
	conn_shutdown(&s->c);
	loop_timer_start(s->c.loop, &s->idle, host_ns(5));
}

/* A protocol error of the peer: count it, answer, and give up on a
 * peer that keeps erring. */
static void srv_error(struct smtp_srv *s, const char *reply)
{
	s->srv->st->errors++;
	if (++s->errors >= SMTP_MAX_ERRORS) {
		srv_hangup(s, "421 4.7.0 Error: too many errors");
		return;
	}
	conn_printf(&s->c, "%s\r\n", reply);
}

static void srv_reset(struct smtp_srv *s)
{
	s->nrcpt = 0;
	if (s->state != S_CLOSING)
		s->state = S_READY;
}

static void srv_command(struct smtp_srv *s, const char *line, size_t len)
{
	struct smtp_cmd cmd;
	const char *name = s->srv->h->name;
	int r = smtp__parse_command(line, len, &cmd);

	if (r == -EMSGSIZE) {
		srv_error(s, "500 5.5.0 Error: line too long");
		return;
	}
	if (r == -ENOENT) {
		srv_error(s, "500 5.5.2 Error: command not recognized");
		return;
	}
	if (r) {
		switch (cmd.verb) {
		case SMTP_MAIL:
			srv_error(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
			break;
		case SMTP_RCPT:
			srv_error(s, "501 5.5.4 Syntax: RCPT TO:<address>");
			break;
		case SMTP_HELO:
		case SMTP_EHLO:
			srv_error(s, "501 5.5.4 Syntax: EHLO hostname");
			break;
		default:
			srv_error(s, "501 5.5.4 Syntax error in parameters or arguments");
			break;
		}
		return;
	}
	switch (cmd.verb) {
	case SMTP_HELO:
		srv_reset(s);
		s->helo = true;
		conn_printf(&s->c, "250 %s\r\n", name);
		break;
	case SMTP_EHLO:
		srv_reset(s);
		s->helo = true;
		conn_printf(&s->c, "250-%s\r\n250-PIPELINING\r\n250-SIZE %u\r\n250-8BITMIME\r\n"
				   "250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n", name, SMTP_MAX_SIZE);
		break;
	case SMTP_MAIL:
		if (!s->helo)
			srv_error(s, "503 5.5.1 Error: send HELO/EHLO first");
		else if (s->state == S_MAIL)
			srv_error(s, "503 5.5.1 Error: nested MAIL command");
		else if (cmd.size > SMTP_MAX_SIZE)
			conn_printf(&s->c, "552 5.3.4 Message size exceeds fixed limit\r\n");
		else {
			s->state = S_MAIL;
			s->nrcpt = 0;
			conn_printf(&s->c, "250 2.1.0 Ok\r\n");
		}
		break;
	case SMTP_RCPT:
		if (s->state != S_MAIL)
			srv_error(s, "503 5.5.1 Error: need MAIL command");
		else if (s->nrcpt >= SMTP_MAX_RCPT)
			conn_printf(&s->c, "452 4.5.3 Error: too many recipients\r\n");
		else {
			s->nrcpt++;
			conn_printf(&s->c, "250 2.1.5 Ok\r\n");
		}
		break;
	case SMTP_DATA:
		if (s->state != S_MAIL)
			srv_error(s, "503 5.5.1 Error: need RCPT command");
		else if (!s->nrcpt)
			srv_error(s, "554 5.5.1 Error: no valid recipients");
		else {
			s->state = S_DATA;
			smtp__data_init(&s->data);
			conn_printf(&s->c, "354 End data with <CR><LF>.<CR><LF>\r\n");
		}
		break;
	case SMTP_RSET:
		srv_reset(s);
		conn_printf(&s->c, "250 2.0.0 Ok\r\n");
		break;
	case SMTP_NOOP:
		conn_printf(&s->c, "250 2.0.0 Ok\r\n");
		break;
	case SMTP_QUIT:
		srv_hangup(s, "221 2.0.0 Bye");
		break;
	case SMTP_VRFY:
		conn_printf(&s->c, "252 2.0.0 Cannot VRFY user, but will accept message\r\n");
		break;
	case SMTP_HELP:
		conn_printf(&s->c, "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP\r\n");
		break;
	default:   /* EXPN, STARTTLS, AUTH, BDAT: not offered */
		srv_error(s, "502 5.5.1 Error: command not implemented");
		break;
	}
}

static void srv_data(struct smtp_srv *s)
{
	size_t used;
	int end = smtp__data_scan(&s->data, s->c.in.p, s->c.in.len, &used);

	conn_consume(&s->c, used);
	if (!end) {
		/* Past twice the limit, the peer is not sending mail. */
		if (s->data.size > 2ull * SMTP_MAX_SIZE)
			srv_hangup(s, "552 5.3.4 Error: message file too big");
		return;
	}
	if (s->data.size > SMTP_MAX_SIZE) {
		conn_printf(&s->c, "552 5.3.4 Error: message file too big\r\n");
	} else {
		s->queued++;
		s->srv->st->actions++;
		conn_printf(&s->c, "250 2.0.0 Ok: queued as %08llX%04llX\r\n",
			    (unsigned long long)(rng_hash(&s, sizeof(s), loop_now(s->c.loop)) >> 32),
			    (unsigned long long)(s->queued & 0xffff));
	}
	srv_reset(s);
}

static void srv_readable(struct conn *c)
{
	struct smtp_srv *s = container_of(c, struct smtp_srv, c);

	if (s->state != S_CLOSING)
		loop_timer_start(c->loop, &s->idle, host_ns(SMTP_IDLE_S));
	while (conn_is_open(c) && c->in.len && s->state != S_CLOSING) {
		const char *line;
		size_t n, used;

		if (s->state == S_DATA) {
			srv_data(s);
			continue;
		}
		line = conn_line(c, &n, &used);
		if (!line) {
			if (c->in.len > SMTP_MAX_PENDING) {
				s->srv->st->errors++;
				srv_hangup(s, "500 5.5.0 Error: line too long");
			}
			break;
		}
		srv_command(s, line, n);
		conn_consume(c, used);
	}
	/* Whatever a closing peer sends after QUIT is not read. */
	if (s->state == S_CLOSING && conn_is_open(c))
		conn_consume(c, c->in.len);
}

static void srv_connected(struct conn *c)
{
	struct smtp_srv *s = container_of(c, struct smtp_srv, c);

	conn_printf(c, "220 %s ESMTP dynamo\r\n", s->srv->h->name);
	loop_timer_start(c->loop, &s->idle, host_ns(SMTP_IDLE_S));
}

static void srv_closed(struct conn *c, int err)
{
	struct smtp_srv *s = container_of(c, struct smtp_srv, c);

	(void)err;
	loop_timer_stop(c->loop, &s->idle);
	loop_defer(c->loop, &s->d, srv_free);
}

static const struct conn_ops srv_ops = {
	.connected = srv_connected,
	.readable = srv_readable,
	.closed = srv_closed,
};

static void accept_cb(struct loop *l, struct io *io, unsigned revents)
{
	struct smtp_server *srv = container_of(io, struct smtp_server, io);

	(void)revents;
	for (int i = 0; i < 64; i++) {
		int fd = accept4(io->fd, NULL, NULL, SOCK_CLOEXEC);
		struct smtp_srv *s;

		if (fd < 0)
			return;
		s = xcalloc(1, sizeof(*s));
		s->srv = srv;
		s->c.st = srv->st;
		s->idle.cb = srv_idle_cb;
		s->state = S_GREET;
		if (conn_accept(&s->c, l, &srv_ops, fd)) {
			close(fd);
			free(s);
			continue;
		}
		srv->st->sessions++;
	}
}

static int smtp_serve(struct host *h, struct stats *st, const struct model *m, uint16_t port,
		      char *err, size_t errlen)
{
	struct smtp_server *srv;
	int fd, r;

	(void)m;
	r = agent_listen_tcp(port, &fd);
	if (r) {
		snprintf(err, errlen, "cannot listen on port %u: %s", port, strerror(-r));
		return r;
	}
	srv = xcalloc(1, sizeof(*srv));
	srv->h = h;
	srv->st = st;
	srv->io.fd = fd;
	srv->io.cb = accept_cb;
	r = loop_io_set(h->loop, &srv->io, IO_IN);
	if (r) {
		snprintf(err, errlen, "cannot watch the listening socket: %s", strerror(-r));
		close(fd);
		free(srv);
		return r;
	}
	srv->next = servers;
	servers = srv;
	return 0;
}

/* ---- client ---------------------------------------------------------------- */

/* What the users of one client() share; freed with the last of them
 * (env is copied: the caller's may not outlive the call). */
struct smtp_client {
	struct agent_env env;
	unsigned alive;
};

enum { C_NONE, C_CONNECTING, C_GREETING, C_EHLO, C_READY, C_TXN, C_DATA, C_RSET, C_QUIT };

struct smtp_user {
	struct conn c;
	struct timer think, wait;  /* think time; server reply timeout */
	struct defer d;
	struct smtp_client *cl;
	struct mail_spec spec;     /* the message being sent */
	uint64_t wake;             /* loop time the think ends */
	uint64_t last_queued;      /* output left at the last reply timeout */
	uint32_t person;
	int action, next;
	uint8_t cst;               /* connection state, C_* */
	uint8_t sent, got;         /* transaction commands sent, replied */
	uint8_t accepted;          /* recipients the server took */
	bool busy;                 /* an action is in progress */
	bool session_end;
	bool failed;               /* this transaction went wrong */
	bool pipelining;
	bool done;                 /* freed (deferred) */
};

static void user_action(struct smtp_user *u);

static struct host *uhost(const struct smtp_user *u)
{
	return u->cl->env.host;
}

static struct loop *uloop(const struct smtp_user *u)
{
	return u->cl->env.host->loop;
}

static struct stats *ust(const struct smtp_user *u)
{
	return u->cl->env.st;
}

static void user_free(struct defer *d)
{
	struct smtp_user *u = container_of(d, struct smtp_user, d);
	struct smtp_client *cl = u->cl;

	free(u);
	if (!--cl->alive)
		free(cl);
}

static void user_wait(struct smtp_user *u)
{
	u->last_queued = u->c.queued;
	loop_timer_start(uloop(u), &u->wait, host_ns(SMTP_REPLY_S));
}

static void user_quit(struct smtp_user *u)
{
	conn_printf(&u->c, "QUIT\r\n");
	u->cst = C_QUIT;
	user_wait(u);
}

/* The user stops for good once no connection is left. */
static void user_stop(struct smtp_user *u)
{
	if (u->done)
		return;
	if (u->cst == C_READY) {
		user_quit(u);
		return;
	}
	if (u->cst != C_NONE)
		return;   /* closed() comes back here when the exchange is over */
	u->done = true;
	loop_timer_stop(uloop(u), &u->think);
	loop_timer_stop(uloop(u), &u->wait);
	loop_defer(uloop(u), &u->d, user_free);
}

/* Sleep until the think ends, in ticks, to notice stopping. */
static void arm_think(struct smtp_user *u)
{
	uint64_t now = loop_now(uloop(u)), left = u->wake > now ? u->wake - now : 0;

	loop_timer_start(uloop(u), &u->think, MIN(left, host_ns(SMTP_TICK_S)));
}

static void think_cb(struct loop *l, struct timer *t)
{
	struct smtp_user *u = container_of(t, struct smtp_user, think);

	if (u->busy)
		return;
	if (uhost(u)->stopping) {
		user_stop(u);
		return;
	}
	if (loop_now(l) < u->wake || u->cst == C_QUIT) {
		arm_think(u);
		return;
	}
	if (u->session_end) {
		u->session_end = false;
		ust(u)->sessions++;
		u->action = model_start(u->cl->env.model);
	} else {
		u->action = u->next;
	}
	user_action(u);
}

/* The action is over: draw the think time and what comes next. */
static void user_think(struct smtp_user *u)
{
	const struct agent_env *env = &u->cl->env;
	double think = model_think(env->model, u->action, &uhost(u)->rng) * agent_think_scale(env);

	u->busy = false;
	u->next = model_next(env->model, u->action, &uhost(u)->rng);
	u->session_end = u->next == MODEL_END;
	u->wake = loop_now(uloop(u)) + host_ns(think);
	/* Mail clients hang up at the end of a sitting, or when the user
	 * will be away longer than a server waits. */
	if (u->cst == C_READY && (u->session_end || think > SMTP_KEEP_S || uhost(u)->stopping))
		user_quit(u);
	arm_think(u);
}

/* Transaction command i: MAIL, the RCPTs, DATA. */
static void txn_command(struct smtp_user *u, unsigned i, uint64_t size)
{
	char addr[96];

	if (i == 0) {
		mail_addr(u->spec.from, addr, sizeof(addr));
		conn_printf(&u->c, "MAIL FROM:<%s> SIZE=%llu\r\n", addr, (unsigned long long)size);
	} else if (i <= u->spec.nrcpt) {
		mail_addr(u->spec.rcpt[i - 1], addr, sizeof(addr));
		conn_printf(&u->c, "RCPT TO:<%s>\r\n", addr);
	} else {
		conn_printf(&u->c, "DATA\r\n");
	}
}

static void txn_start(struct smtp_user *u)
{
	struct mail_msg m;
	unsigned total = u->spec.nrcpt + 2u;

	mail_build(&u->spec, &u->cl->env.host->content, &m);
	u->cst = C_TXN;
	u->got = u->accepted = 0;
	u->failed = false;
	/* With PIPELINING the envelope goes in one write (RFC 2920); DATA
	 * ends the group, and the message waits for its 354. */
	u->sent = (uint8_t)(u->pipelining ? total : 1);
	for (unsigned i = 0; i < u->sent; i++)
		txn_command(u, i, m.size);
	user_wait(u);
}

static void txn_data(struct smtp_user *u)
{
	struct mail_msg m;

	mail_build(&u->spec, &u->cl->env.host->content, &m);
	mail_send(&u->c, &m, 0, m.size, true);
	conn_write(&u->c, ".\r\n", 3);
	u->cst = C_DATA;
	user_wait(u);
}

static void txn_abort(struct smtp_user *u)
{
	conn_printf(&u->c, "RSET\r\n");
	u->cst = C_RSET;
	user_wait(u);
}

static void txn_reply(struct smtp_user *u, unsigned code)
{
	unsigned idx = u->got++, total = u->spec.nrcpt + 2u;

	if (idx == 0) {
		if (code != 250) {
			ust(u)->errors++;
			u->failed = true;
		}
	} else if (idx < total - 1) {
		if (code == 250 || code == 251)
			u->accepted++;
		else if (code >= 500)
			ust(u)->errors++;
	} else {
		if (code == 354) {
			if (u->failed || !u->accepted) {
				/* Nothing to send after all: an empty message
				 * ends the DATA the server opened. */
				conn_write(&u->c, ".\r\n", 3);
				u->cst = C_DATA;
				u->failed = true;
				user_wait(u);
			} else {
				txn_data(u);
			}
			return;
		}
		if (!u->failed)
			ust(u)->errors++;
		txn_abort(u);
		return;
	}
	if (u->got < u->sent)
		return;
	if (u->failed) {
		txn_abort(u);
		return;
	}
	if (u->sent < total) {
		txn_command(u, u->sent++, 0);
		user_wait(u);
	}
}

static void cli_reply(struct smtp_user *u, unsigned code)
{
	switch (u->cst) {
	case C_GREETING:
		if (code != 220) {
			ust(u)->errors++;
			user_quit(u);
			break;
		}
		conn_printf(&u->c, "EHLO %s\r\n", uhost(u)->name);
		u->cst = C_EHLO;
		user_wait(u);
		break;
	case C_EHLO:
		if (code != 250) {
			ust(u)->errors++;
			user_quit(u);
			break;
		}
		u->cst = C_READY;
		loop_timer_stop(uloop(u), &u->wait);
		if (u->busy)
			txn_start(u);
		break;
	case C_TXN:
		txn_reply(u, code);
		break;
	case C_DATA:
		if (code != 250 && !u->failed)
			ust(u)->errors++;
		u->cst = C_READY;
		loop_timer_stop(uloop(u), &u->wait);
		user_think(u);
		break;
	case C_RSET:
		u->cst = C_READY;
		loop_timer_stop(uloop(u), &u->wait);
		user_think(u);
		break;
	case C_QUIT:
		if (code != 221)
			ust(u)->errors++;
		conn_shutdown(&u->c);
		break;
	default:
		ust(u)->errors++;   /* a reply to nothing we said */
		break;
	}
}

static void cli_readable(struct conn *c)
{
	struct smtp_user *u = container_of(c, struct smtp_user, c);
	const char *line;
	size_t n, used;

	while (conn_is_open(c) && (line = conn_line(c, &n, &used))) {
		unsigned code;
		bool last;

		if (smtp__parse_reply(line, n, &code, &last)) {
			ust(u)->errors++;
			conn_close(c, -EPROTO);
			return;
		}
		if (u->cst == C_EHLO && n >= 14 && !strncasecmp(line + 4, "PIPELINING", 10))
			u->pipelining = true;
		conn_consume(c, used);
		if (last)
			cli_reply(u, code);
	}
	if (conn_is_open(c) && c->in.len > SMTP_MAX_PENDING) {
		ust(u)->errors++;
		conn_close(c, -EPROTO);
	}
}

static void cli_connected(struct conn *c)
{
	struct smtp_user *u = container_of(c, struct smtp_user, c);

	u->cst = C_GREETING;
	u->pipelining = false;
	user_wait(u);
}

static void cli_closed(struct conn *c, int err)
{
	struct smtp_user *u = container_of(c, struct smtp_user, c);
	uint8_t was = u->cst;

	u->cst = C_NONE;
	loop_timer_stop(uloop(u), &u->wait);
	/* A server that hangs up mid-exchange is at fault; a refused or
	 * failed connect is counted by conn as conn_fail, and our own
	 * timeout (-ETIMEDOUT) by wait_cb. */
	if (err == -ETIMEDOUT)
		;
	else if (was != C_QUIT && was != C_CONNECTING && was != C_READY)
		ust(u)->errors++;
	else if (was == C_READY && err)
		ust(u)->errors++;
	if (u->busy)
		user_think(u);   /* the action ends here, failed */
	else
		arm_think(u);
}

static const struct conn_ops cli_ops = {
	.connected = cli_connected,
	.readable = cli_readable,
	.closed = cli_closed,
};

static void wait_cb(struct loop *l, struct timer *t)
{
	struct smtp_user *u = container_of(t, struct smtp_user, wait);

	(void)l;
	/* A large message still going out on a slow link is progress:
	 * the wait for the reply starts again. */
	if (u->c.queued && u->c.queued != u->last_queued) {
		u->last_queued = u->c.queued;
		user_wait(u);
		return;
	}
	/* A connect that times out is conn's conn_fail, not an error. */
	if (u->cst != C_QUIT && u->cst != C_CONNECTING)
		ust(u)->errors++;
	conn_close(&u->c, -ETIMEDOUT);
}

static void user_action(struct smtp_user *u)
{
	const struct agent_env *env = &u->cl->env;
	const char *name = model_action_name(env->model, u->action);
	struct rng *r = &uhost(u)->rng;
	int64_t now = (int64_t)time(NULL);

	if (uhost(u)->stopping) {
		user_stop(u);
		return;
	}
	env->st->actions++;
	u->busy = true;
	if (!strcmp(name, "send_group")) {
		mail_new(&u->spec, MAIL_GROUP, u->person, env->model, r, now);
	} else if (!strcmp(name, "send_many")) {
		mail_new(&u->spec, MAIL_MANY, u->person, env->model, r, now);
	} else if (!strcmp(name, "send_one")) {
		mail_new(&u->spec, MAIL_ONE, u->person, env->model, r, now);
	} else if (!strcmp(name, "reply")) {
		struct mail_box box;
		struct mail_spec parent;

		/* An answer to a message of the user's own inbox, as the
		 * IMAP server has it. */
		mail_box_open(&box, u->person, env->model);
		mail_inbox(&parent, u->person, box.seed, 1 + (uint32_t)rng_below(r, box.base),
			   env->model, now);
		mail_reply(&u->spec, &parent, u->person, env->model, r, now);
	} else {
		/* read_inbox: reading is the IMAP agent's part; here the
		 * user is only away from SMTP for a while. */
		user_think(u);
		return;
	}
	if (u->cst == C_READY) {
		txn_start(u);
		return;
	}
	if (conn_connect(&u->c, uloop(u), &cli_ops, 0, env->server, env->port)) {
		env->st->conn_fail++;
		user_think(u);
		return;
	}
	u->cst = C_CONNECTING;
	user_wait(u);
}

static int smtp_client(const struct agent_env *env, char *err, size_t errlen)
{
	struct smtp_client *cl;

	(void)err;
	(void)errlen;
	if (!env->users)
		return 0;
	cl = xcalloc(1, sizeof(*cl));
	cl->env = *env;
	for (uint32_t i = 0; i < env->users; i++) {
		struct smtp_user *u = xcalloc(1, sizeof(*u));

		u->cl = cl;
		cl->alive++;
		u->c.st = env->st;
		u->c.io.fd = -1;
		u->think.cb = think_cb;
		u->wait.cb = wait_cb;
		u->person = (uint32_t)rng_below(&env->host->rng, mail_people());
		/* Users sit down at slightly different times. */
		u->session_end = true;
		u->wake = loop_now(env->host->loop) + host_ns(rng_unit(&env->host->rng) * 0.5);
		arm_think(u);
	}
	return 0;
}

static const char *const smtp_actions[] = {
	"read_inbox", "send_group", "send_one", "send_many", "reply", NULL,
};

static const char *const smtp_params[] = {
	"group_size", "many_size", "body_size", "attach_prob", "attach_size", "reply_all",
	"inbox_size", NULL,
};

const struct agent agent_smtp = {
	.name = "smtp",
	.proto = PROTO_SMTP,
	.model = "mail",
	.actions = smtp_actions,
	.params = smtp_params,
	.serve = smtp_serve,
	.client = smtp_client,
};
