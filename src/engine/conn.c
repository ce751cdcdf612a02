/* conn.c - TCP connections in the event loop, plain or TLS (OpenSSL on
 * the socket, non-blocking).  OpenSSL because TLS 1.3 is not something
 * to write ourselves, and it is the library tshark's peers use. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "../lib/util.h"
#include "conn.h"
#include "stats.h"

enum { ST_IDLE, ST_CONNECTING, ST_HANDSHAKE, ST_OPEN, ST_CLOSED };

struct conn__chunk {
	struct conn__chunk *next;
	const char *p;     /* into data[] when copied, else the caller's */
	size_t len;
	char data[];
};

#define IN_MIN 2048
#define WINDOW_MIN 2048         /* a paced connection's receive buffer, at least */
#define WINDOW_SEGMENTS 4.0     /* full segments its window should hold, */
#define WINDOW_BURST_S 0.02     /* if they are no more than this much of its rate */
#define RTT_FLOOR_US 250       /* the round trip its window is made for, at least */
#define IOV_MAX_BATCH 64

static void conn_cb(struct loop *l, struct io *io, unsigned revents);

static void init(struct conn *c, struct loop *l, const struct conn_ops *ops, int fd)
{
	struct stats *st = c->st;
	bool unpaced = c->unpaced;

	memset(c, 0, sizeof(*c));
	c->st = st;
	c->unpaced = unpaced;
	c->io.fd = fd;
	c->io.cb = conn_cb;
	c->loop = l;
	c->ops = ops;
	c->out_tail = &c->out;
}

/* What a failed TLS call means, as -errno: a peer that went away
 * (reset, or gone without close_notify, as a run's end cuts it) is
 * -ECONNRESET, not a protocol error; the rest is -EPROTO. */
static int tls_err(int e)
{
	if (e == SSL_ERROR_SYSCALL && errno)
		return -errno;
	if (e == SSL_ERROR_SYSCALL)
		return -ECONNRESET;
	if (e == SSL_ERROR_SSL && ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return -ECONNRESET;
	return -EPROTO;
}

static void free_queue(struct conn *c)
{
	while (c->out) {
		struct conn__chunk *k = c->out;

		c->out = k->next;
		free(k);
	}
	c->out_tail = &c->out;
	c->queued = 0;
}

static void finish(struct conn *c, int err)
{
	if (c->state == ST_CLOSED)
		return;
	loop_io_stop(c->loop, &c->io);
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->io.fd >= 0)
		close(c->io.fd);
	c->io.fd = -1;
	free_queue(c);
	free(c->in.p);
	c->in.p = NULL;
	c->in.len = c->in.cap = 0;
	pace_cancel(&c->pw);
	if (c->st && c->state >= ST_HANDSHAKE)
		c->st->active--;
	if (c->st && err && c->state == ST_CONNECTING)
		c->st->conn_fail++;
	c->state = ST_CLOSED;
	if (c->ops->closed)
		c->ops->closed(c, err);
}

void conn_close(struct conn *c, int err)
{
	finish(c, err);
}

bool conn_held(const struct conn *c)
{
	return c->pw.next != NULL;
}

bool conn_is_open(const struct conn *c)
{
	return c->state != ST_CLOSED && c->state != ST_IDLE;
}

static int nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	return 0;
}

static struct pace *pace_of(const struct conn *c)
{
	return c->st && c->state == ST_OPEN && !c->unpaced ? c->st->pace : NULL;
}

static void conn_cb(struct loop *l, struct io *io, unsigned revents);

/* The bucket has tokens again: do what waited (TLS may hold input the
 * socket no longer shows, so try both ways). */
static void paced_cb(struct pace_wait *w)
{
	struct conn *c = container_of(w, struct conn, pw);

	if (c->state == ST_OPEN)
		conn_cb(c->loop, &c->io, IO_IN | IO_OUT);
}

static void want(struct conn *c)
{
	unsigned mask = c->peer_eof ? 0 : IO_IN;
	struct pace *pc = pace_of(c);

	if (c->state == ST_CONNECTING || c->out)
		mask |= IO_OUT;
	if (c->ssl && c->state == ST_HANDSHAKE)
		mask = IO_IN | (SSL_want_write(c->ssl) ? IO_OUT : 0);
	if (pc && mask && !pace_ok(pc)) {
		/* out of tokens: no writing until the bucket refills, and
		 * no reading either once the reads have run their allowance
		 * ahead of it */
		unsigned keep = mask & IO_IN && pace_ok_read(pc) ? IO_IN : 0;

		if (mask & ~keep) {
			c->pw.cb = paced_cb;
			pace_wait(pc, &c->pw);
		}
		mask = keep;
	}
	if (loop_io_set(c->loop, &c->io, mask) < 0)
		finish(c, -EBADF);
}

static void opened(struct conn *c)
{
	c->state = ST_OPEN;
	if (c->ops->connected)
		c->ops->connected(c);
	if (c->state == ST_OPEN)
		want(c);
}

/* A server acknowledges a request with its answer, as servers on the
 * Internet are seen to: out of the kernel's quick-ACK mode (the start of
 * a connection, and after a delayed ACK's timer ran out) until the next
 * read.  In quick-ACK mode every request got a bare ACK of its own
 * before the answer: 3 % of a web copy's packets, which the captures it
 * copies have not. */
static void delay_acks(int fd)
{
	int zero = 0;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof(zero));
}

/* A paced connection reads only what its bucket allows; whatever its
 * receive window lets the peer send beyond that waits in the kernel,
 * having crossed the wire early, in bursts.  So its receive buffer is
 * made small before the connect, when the window is still to be offered
 * (shrinking it later makes the kernel drop what it had accepted), and
 * raised once connected if the path's round trip needs more at the
 * bucket's rate.  A clamp on the window alone leaves the kernel room to
 * run ahead by several times as much.  Best effort: the default buffer
 * is only less smooth. */
static bool paced(const struct conn *c)
{
	return !c->unpaced && c->st && c->st->pace && c->st->pace->rate > 0;
}

/* The receive buffer for bucket p over a round trip of rtt_us with
 * segments of mss bytes. */
static double window_for(const struct pace *p, double rtt_us, double mss)
{
	/* the handshake's round trip in an idle namespace is tens of
	 * microseconds, far below what a busy host's loop makes of it */
	double want = p->rate * p->unit * MAX(rtt_us, RTT_FLOOR_US) / 1e6 * 2;

	/* Room for a few full segments, where that is no more than a
	 * moment of the rate: a window of a segment or less makes the peer
	 * send segments of what was just read (782 bytes at 2.5 Mbps),
	 * which real senders at that rate do not.  More than that is not
	 * needed: reads run ahead of the bucket (pace.h), so the window
	 * opens as fast as the data comes; and each connection's window is
	 * what its peer may send ahead of the reads, whose sum over many
	 * connections would make the seconds uneven. */
	return MAX(want, MIN(WINDOW_SEGMENTS * mss, p->rate * p->unit * WINDOW_BURST_S));
}

static void set_rcvbuf(int fd, double want)
{
	int size = want > (1 << 22) ? 1 << 22 : (int)want;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

void conn_window_small(int fd, const struct pace *p)
{
	/* What the window would be at the floor's round trip: a first
	 * window of a few hundred bytes made the first response of every
	 * connection leave in halves of a segment (690 bytes at 1380),
	 * and its tail in slivers of what the window had left. */
	if (p && p->rate > 0)
		set_rcvbuf(fd, MAX(WINDOW_MIN, window_for(p, RTT_FLOOR_US, PACE_SEGMENT)));
}

void conn_window_fit(int fd, const struct pace *p)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	double want;

	if (!p || p->rate <= 0 || getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return;
	want = window_for(p, ti.tcpi_rtt, MAX(ti.tcpi_advmss, ti.tcpi_rcv_mss));
	if (want > MAX(WINDOW_MIN, window_for(p, RTT_FLOOR_US, PACE_SEGMENT)))
		set_rcvbuf(fd, want);
}

int conn_dial(uint32_t src, uint32_t addr, uint16_t port, const struct pace *p)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1, err;

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (src) {
		sa.sin_addr.s_addr = htonl(src);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			goto fail;
	}
	/* before the SYN: the window it offers is never taken back */
	if (p)
		conn_window_small(fd, p);
	sa.sin_addr.s_addr = htonl(addr);
	sa.sin_port = htons(port);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)
		goto fail;
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

int conn_connect(struct conn *c, struct loop *l, const struct conn_ops *ops,
		 uint32_t src, uint32_t addr, uint16_t port)
{
	int fd = conn_dial(src, addr, port, paced(c) ? c->st->pace : NULL), err;

	init(c, l, ops, fd < 0 ? -1 : fd);
	if (fd < 0)
		return fd;
	c->state = ST_CONNECTING;
	if (c->st) {
		c->st->conns++;
	}
	err = loop_io_set(l, &c->io, IO_IN | IO_OUT);
	if (err) {
		close(fd);
		c->io.fd = -1;
		c->state = ST_IDLE;
		return err;
	}
	return 0;
}

int conn_accept(struct conn *c, struct loop *l, const struct conn_ops *ops, int fd)
{
	int err, one = 1;

	init(c, l, ops, fd);
	err = nonblock(fd);
	if (err)
		return err;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->accepted = true;
	delay_acks(fd);
	c->state = ST_HANDSHAKE;
	if (c->st) {
		c->st->conns++;
		c->st->active++;
	}
	/* connected() comes from the loop, once the owner has set up. */
	return loop_io_set(l, &c->io, IO_OUT);
}

int conn_tls(struct conn *c, SSL_CTX *ctx, bool server, const char *sni)
{
	c->ssl = SSL_new(ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->io.fd))
		return -ENOMEM;
	if (server) {
		SSL_set_accept_state(c->ssl);
	} else {
		SSL_set_connect_state(c->ssl);
		if (sni)
			SSL_set_tlsext_host_name(c->ssl, sni);
	}
	return 0;
}

/* ---- output ------------------------------------------------------------ */

static void queue(struct conn *c, const void *p, size_t n, bool copy)
{
	struct conn__chunk *k;

	if (!n || c->state == ST_CLOSED)
		return;
	k = xmalloc(sizeof(*k) + (copy ? n : 0));
	k->next = NULL;
	k->len = n;
	if (copy) {
		memcpy(k->data, p, n);
		k->p = k->data;
	} else {
		k->p = p;
	}
	*c->out_tail = k;
	c->out_tail = &k->next;
	c->queued += n;
	if (c->state == ST_OPEN && loop_io_set(c->loop, &c->io, IO_IN | IO_OUT) < 0)
		finish(c, -EBADF);
}

void conn_write(struct conn *c, const void *p, size_t n)
{
	queue(c, p, n, true);
}

void conn_write_ref(struct conn *c, const void *p, size_t n)
{
	queue(c, p, n, false);
}

void conn_vprintf(struct conn *c, const char *fmt, va_list ap)
{
	char small[512];
	va_list aq;
	int n;

	va_copy(aq, ap);
	n = vsnprintf(small, sizeof(small), fmt, aq);
	va_end(aq);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		conn_write(c, small, (size_t)n);
	} else {
		char *p = xvasprintf(fmt, ap);

		conn_write(c, p, (size_t)n);
		free(p);
	}
}

void conn_printf(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conn_vprintf(c, fmt, ap);
	va_end(ap);
}

static void sent(struct conn *c, size_t n)
{
	if (c->st)
		c->st->tx += n;
	c->queued -= n;
	while (n) {
		struct conn__chunk *k = c->out;
		size_t take = MIN(n, k->len);

		k->p += take;
		k->len -= take;
		n -= take;
		if (!k->len) {
			c->out = k->next;
			if (!c->out)
				c->out_tail = &c->out;
			free(k);
		}
	}
}

/* Write what the queue holds; 0, or -errno to close with. */
static int flush(struct conn *c)
{
	struct pace *pc = pace_of(c);

	while (c->out) {
		ssize_t n;
		size_t room = SIZE_MAX;

		if (pc) {
			if (!pace_ok(pc))
				return 0;
			room = pace_room(pc, SIZE_MAX);
		}
		if (c->ssl) {
			int r;

			ERR_clear_error();
			r = SSL_write(c->ssl, c->out->p, (int)MIN(MIN(c->out->len, 1u << 20), room));
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);

				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
					return 0;
				return tls_err(e);
			}
			n = r;
		} else {
			struct iovec iov[IOV_MAX_BATCH];
			int cnt = 0;

			for (struct conn__chunk *k = c->out; k && cnt < IOV_MAX_BATCH && room; k = k->next) {
				iov[cnt].iov_base = (void *)k->p;
				iov[cnt].iov_len = MIN(k->len, room);
				room -= iov[cnt++].iov_len;
			}
			n = writev(c->io.fd, iov, cnt);
			if (n < 0)
				return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		}
		if (pc)
			pace_take(pc, (size_t)n);
		sent(c, (size_t)n);
	}
	if (c->eof_after_flush) {
		if (c->ssl)
			SSL_shutdown(c->ssl);
		shutdown(c->io.fd, SHUT_WR);
		c->eof_after_flush = false;
	}
	return 0;
}

void conn_shutdown(struct conn *c)
{
	if (c->state == ST_CLOSED)
		return;
	c->eof_after_flush = true;
	if (c->state == ST_OPEN && !c->out) {
		int err = flush(c);

		if (err)
			finish(c, err);
	}
}

/* ---- input ------------------------------------------------------------- */

const char *conn_line(const struct conn *c, size_t *n, size_t *used)
{
	const char *nl = c->in.len ? memchr(c->in.p, '\n', c->in.len) : NULL;
	size_t len;

	if (!nl)
		return NULL;
	len = (size_t)(nl - c->in.p);
	*used = len + 1;
	if (len && c->in.p[len - 1] == '\r')
		len--;
	*n = len;
	return c->in.p;
}

void conn_consume(struct conn *c, size_t n)
{
	if (n >= c->in.len) {
		/* Idle connections keep no buffer. */
		free(c->in.p);
		c->in.p = NULL;
		c->in.len = c->in.cap = 0;
		return;
	}
	memmove(c->in.p, c->in.p + n, c->in.len - n);
	c->in.len -= (uint32_t)n;
}

/* Read what is there; 1 at EOF, 0 when drained, -errno to close with. */
static int fill(struct conn *c)
{
	uint32_t start = c->in.len;
	struct pace *pc = pace_of(c);

	for (;;) {
		ssize_t n;
		size_t room;

		if (c->in.len == c->in.cap) {
			/* Full: let the owner parse what came in this time
			 * (the rest waits in the socket); a full buffer the
			 * owner left unparsed is the peer's overflow. */
			if (c->in.cap >= CONN_MAX_IN)
				return c->in.len > start ? 0 : -EMSGSIZE;
			c->in.cap = c->in.cap ? c->in.cap * 2 : IN_MIN;
			c->in.p = xreallocarray(c->in.p, c->in.cap, 1);
		}
		room = c->in.cap - c->in.len;
		if (pc) {
			if (!pace_ok_read(pc))
				return 0;
			room = pace_room_read(pc, room);
		}
		if (c->ssl) {
			int r;

			ERR_clear_error();
			r = SSL_read(c->ssl, c->in.p + c->in.len, (int)room);
			if (r <= 0) {
				int e = SSL_get_error(c->ssl, r);

				if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
					return 0;
				if (e == SSL_ERROR_ZERO_RETURN)
					return 1;
				if (e == SSL_ERROR_SYSCALL && !errno)
					return 1;
				return tls_err(e);
			}
			n = r;
		} else {
			n = read(c->io.fd, c->in.p + c->in.len, room);
			if (n == 0)
				return 1;
			if (n < 0)
				return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		}
		c->in.len += (uint32_t)n;
		if (c->st)
			c->st->rx += (uint64_t)n;
		if (pc)
			pace_take(pc, (size_t)n);
		if ((size_t)n < room)
			return 0;
	}
}

static void handshake(struct conn *c)
{
	int r;

	if (!c->ssl) {
		opened(c);
		return;
	}
	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		opened(c);
		return;
	}
	r = SSL_get_error(c->ssl, r);
	if (r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE)
		want(c);
	else
		finish(c, tls_err(r));
}

static void conn_cb(struct loop *l, struct io *io, unsigned revents)
{
	struct conn *c = container_of(io, struct conn, io);
	int err;

	(void)l;
	if (c->state == ST_CONNECTING) {
		socklen_t len = sizeof(err);

		if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			finish(c, -err);
			return;
		}
		if (!(revents & IO_OUT))
			return;
		c->state = ST_HANDSHAKE;
		if (c->st)
			c->st->active++;
		if (paced(c))
			conn_window_fit(c->io.fd, c->st->pace);
	}
	if (c->state == ST_HANDSHAKE) {
		handshake(c);
		return;
	}
	if (c->state != ST_OPEN)
		return;
	/* TLS may need to read to write and the reverse: try both. */
	if (!c->peer_eof && ((revents & IO_IN) || c->ssl)) {
		uint32_t before = c->in.len;
		int eof = fill(c);

		if (eof < 0) {
			finish(c, eof);
			return;
		}
		if (c->accepted && c->in.len != before)
			delay_acks(c->io.fd);
		if (c->in.len != before && c->ops->readable) {
			c->ops->readable(c);
			if (c->state != ST_OPEN)
				return;
		}
		if (eof && !c->out) {
			finish(c, 0);
			return;
		}
		/* The peer is done sending (a half-close): answer what it
		 * asked, then close. */
		c->peer_eof = eof;
	}
	if (c->out) {
		err = flush(c);
		if (err) {
			finish(c, err);
			return;
		}
		if (!c->out && c->peer_eof) {
			finish(c, 0);
			return;
		}
		if (!c->out && c->ops->drained) {
			c->ops->drained(c);
			if (c->state != ST_OPEN)
				return;
		}
	}
	want(c);
}

/* ---- TLS contexts -------------------------------------------------------- */

SSL_CTX *conn_tls_server_ctx(const char *cn)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name;
	bool ok = false;

	if (!ctx || !key || !x)
		goto out;
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, name);
	ok = X509_sign(x, key, EVP_sha256()) > 0 && SSL_CTX_use_certificate(ctx, x) == 1 &&
	     SSL_CTX_use_PrivateKey(ctx, key) == 1;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	if (!ok) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

SSL_CTX *conn_tls_client_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	/* The emulation's servers have certificates made at start; there
	 * is nothing to verify them against. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}
