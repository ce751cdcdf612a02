/* conn.h - a TCP connection inside the event loop, optionally in TLS:
 * an input buffer the owner parses in place, and an output queue of
 * copied bytes or references to shared content (sent with writev, never
 * copied by us).  Memory stays small while idle: the input buffer is
 * released when empty, and the queue holds nothing when drained.
 *
 * The owner embeds struct conn and gets callbacks through conn_ops.
 * After closed() the connection is dead; the owner frees its memory
 * through loop_defer (see loop.h).  A peer that sends more than
 * CONN_MAX_IN unparsed bytes, stalls past a timeout set by the owner, or
 * breaks TLS ends with closed(-EPROTO/-ETIMEDOUT/...), never a crash.
 *
 * When st->pace is set, an open connection reads and writes only while
 * that bucket has tokens, and charges it what it moved (pace.h). */
#ifndef DYNAMO_CONN_H
#define DYNAMO_CONN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "pace.h"

#define CONN_MAX_IN (1u << 20)  /* unparsed input a peer may leave us */

struct conn;
struct stats;
typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;

struct conn_ops {
	/* The TCP connection (and TLS handshake, if any) is up. */
	void (*connected)(struct conn *c);
	/* New bytes in c->in.p[0..c->in.len); consume what was parsed
	 * with conn_consume().  May close the connection. */
	void (*readable)(struct conn *c);
	/* The output queue emptied (optional): write the next piece. */
	void (*drained)(struct conn *c);
	/* The connection ended: err 0 for an orderly close by the peer or
	 * by conn_close(), else -errno (-EPROTO for a TLS failure or input
	 * overflow).  Called once; the descriptor is closed already. */
	void (*closed)(struct conn *c, int err);
};

struct conn__chunk;

struct conn {
	struct io io;
	struct loop *loop;
	const struct conn_ops *ops;
	struct stats *st;               /* counters to add to, or NULL */
	struct {
		char *p;
		uint32_t len, cap;
	} in;
	struct conn__chunk *out, **out_tail;
	uint64_t queued;                /* bytes in the output queue */
	SSL *ssl;
	uint8_t state;
	bool eof_after_flush;
	bool accepted;                  /* the server's end: ACKs ride on answers */
	bool peer_eof;                  /* the peer half-closed: flush, then close */
	bool unpaced;                   /* its owner charges st->pace itself (set,
					 * as st, before the connect or accept) */
	struct pace_wait pw;            /* waiting for st->pace's tokens */
};

/* The receive buffer of a socket whose reads follow bucket p (nothing
 * if p has no limit): small before the connect, then, once connected,
 * as large as the round trip needs at p's rate (see conn.c).  For
 * sockets a library owns (SSH). */
void conn_window_small(int fd, const struct pace *p);
void conn_window_fit(int fd, const struct pace *p);

/* A non-blocking TCP socket with its connect to addr:port (host order)
 * from src (0: any) under way, with no delay, its receive buffer small
 * for bucket p (if not NULL) before the SYN goes: or -errno.  For
 * sockets a library then owns (SSH). */
int conn_dial(uint32_t src, uint32_t addr, uint16_t port, const struct pace *p);
/* Start a non-blocking connect to addr:port (host order) from src (0:
 * any).  0 or -errno; on success connected() or closed() follows. */
int conn_connect(struct conn *c, struct loop *l, const struct conn_ops *ops,
		 uint32_t src, uint32_t addr, uint16_t port) __attribute__((warn_unused_result));
/* Take an accepted descriptor (made non-blocking here). */
int conn_accept(struct conn *c, struct loop *l, const struct conn_ops *ops, int fd)
	__attribute__((warn_unused_result));
/* Speak TLS over c: call right after conn_connect/conn_accept.
 * connected() then waits for the handshake.  sni may be NULL. */
int conn_tls(struct conn *c, SSL_CTX *ctx, bool server, const char *sni)
	__attribute__((warn_unused_result));

void conn_write(struct conn *c, const void *p, size_t n);
void conn_printf(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void conn_vprintf(struct conn *c, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Queue n bytes at p without copying; p must outlive the connection
 * (shared content, see content.h). */
void conn_write_ref(struct conn *c, const void *p, size_t n);

/* The first line of the input, without its end (\n or \r\n); *n is its
 * length and *used what to consume.  NULL when no full line is in. */
const char *conn_line(const struct conn *c, size_t *n, size_t *used);
void conn_consume(struct conn *c, size_t n);

/* Close after the queue is sent (with a FIN); closed(0) follows. */
void conn_shutdown(struct conn *c);
/* Close at once; closed(err) is called from inside this call.  The
 * struct stays valid until the end of the loop iteration. */
void conn_close(struct conn *c, int err);
bool conn_is_open(const struct conn *c);
/* Is c waiting for its bucket's tokens?  Then an answer may sit unread
 * in the kernel: an owner's timeout for it is no sign of a dead peer. */
bool conn_held(const struct conn *c);

/* A self-signed certificate and key made at start, for TLS servers, and
 * a client context that accepts it.  TLS 1.3 only.  NULL on failure. */
SSL_CTX *conn_tls_server_ctx(const char *cn);
SSL_CTX *conn_tls_client_ctx(void);

#endif
