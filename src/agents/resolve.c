/* resolve.c - see resolve.h.  The lookup owns its memory: it frees
 * itself through loop_defer after done() or a cancel. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/util.h"
#include "dns.h"
#include "resolve.h"

#define TIMEOUT_NS 1000000000ull   /* then once more, then give up */

struct resolve {
	struct io io;
	struct timer t;
	struct defer d;
	struct loop *loop;
	struct stats *st;
	void (*done)(void *arg, bool answered);
	void *arg;
	uint16_t id[2];
	uint8_t got, tries;
	uint8_t q[2][300];
	size_t qlen[2];
};

static size_t make_query(uint8_t *q, size_t cap, uint16_t id, const char *name, uint16_t type)
{
	size_t at = DNS_HDR;
	const char *p = name;

	memset(q, 0, DNS_HDR);
	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	q[2] = 0x01;   /* RD */
	q[5] = 1;      /* one question */
	while (*p) {
		size_t n = strcspn(p, ".");

		if (!n || n > 63 || at + n + 6 > cap)
			return 0;
		q[at++] = (uint8_t)n;
		memcpy(q + at, p, n);
		at += n;
		p += n;
		if (*p == '.')
			p++;
	}
	q[at++] = 0;
	q[at++] = (uint8_t)(type >> 8);
	q[at++] = (uint8_t)type;
	q[at++] = 0;
	q[at++] = DNS_C_IN;
	return at;
}

static void resolve_free(struct defer *d)
{
	free(container_of(d, struct resolve, d));
}

static void finish(struct resolve *r, bool answered, bool call)
{
	loop_io_stop(r->loop, &r->io);
	loop_timer_stop(r->loop, &r->t);
	close(r->io.fd);
	r->io.fd = -1;
	if (call)
		r->done(r->arg, answered);
	loop_defer(r->loop, &r->d, resolve_free);
}

static void send_all(struct resolve *r)
{
	for (int i = 0; i < 2; i++)
		if (!(r->got & (1u << i)) && send(r->io.fd, r->q[i], r->qlen[i], 0) == (ssize_t)r->qlen[i])
			r->st->tx += r->qlen[i];
}

static void readable(struct loop *l, struct io *io, unsigned revents)
{
	struct resolve *r = container_of(io, struct resolve, io);
	uint8_t buf[DNS_UDP_MAX];
	struct dns__hdr h;
	ssize_t n;

	(void)l;
	(void)revents;
	while ((n = recv(io->fd, buf, sizeof(buf), 0)) > 0) {
		r->st->rx += (uint64_t)n;
		if (dns__parse_header(buf, (size_t)n, &h) || !(h.flags & DNS_F_QR))
			continue;
		for (int i = 0; i < 2; i++)
			if (h.id == r->id[i])
				r->got |= (uint8_t)(1u << i);
		if (r->got == 3) {
			finish(r, true, true);
			return;
		}
	}
}

static void timeout(struct loop *l, struct timer *t)
{
	struct resolve *r = container_of(t, struct resolve, t);

	if (++r->tries >= 2) {
		finish(r, false, true);
		return;
	}
	send_all(r);
	loop_timer_start(l, t, TIMEOUT_NS);
}

struct resolve *resolve_start(struct host *h, struct stats *st, uint32_t server,
			      const char *name, void (*done)(void *arg, bool answered), void *arg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53),
				  .sin_addr.s_addr = htonl(server) };
	struct resolve *r = xcalloc(1, sizeof(*r));
	char fqdn[256];

	snprintf(fqdn, sizeof(fqdn), "%s.%s", name, RESOLVE_DOMAIN);
	r->loop = h->loop;
	r->st = st;
	r->done = done;
	r->arg = arg;
	for (int i = 0; i < 2; i++) {
		r->id[i] = (uint16_t)rng_next(&h->rng);
		r->qlen[i] = make_query(r->q[i], sizeof(r->q[i]), r->id[i], fqdn,
					i ? DNS_T_AAAA : DNS_T_A);
	}
	r->io.fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	r->io.cb = readable;
	r->t.cb = timeout;
	if (r->io.fd < 0 || !r->qlen[0] ||
	    connect(r->io.fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    loop_io_set(r->loop, &r->io, IO_IN) < 0) {
		if (r->io.fd >= 0)
			close(r->io.fd);
		free(r);
		return NULL;
	}
	send_all(r);
	loop_timer_start(r->loop, &r->t, TIMEOUT_NS);
	return r;
}

void resolve_cancel(struct resolve *r)
{
	if (r)
		finish(r, false, false);
}
