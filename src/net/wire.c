/* wire.c - see wire.h.  Each direction of a wire is a byte ring of
 * (due time, length, virtio-net header + frame) records in arrival order;
 * a frame's due time is never before its predecessor's, so the head is
 * always the next to leave.  One timerfd wakes the loop at the earliest
 * head of all rings. */
#include "wire.h"
#include "../lib/util.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <net/ethernet.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

#define RING_BYTES (8u << 20)           /* queue of one direction */
#define FRAME_MAX (65536 + sizeof(struct virtio_net_hdr))

struct rec {
	uint64_t due;   /* CLOCK_MONOTONIC ns */
	uint32_t len;   /* bytes that follow: header and frame */
	uint32_t pad;
};

struct dir {
	int rx, tx;             /* sockets; rx is the other direction's tx */
	uint64_t delay, jitter; /* ns */
	uint32_t loss_ppm;
	uint8_t *ring;
	size_t head, tail, used; /* byte offsets; used counts wrapped bytes */
	uint64_t last_due;
	struct wire_stats st;
};

struct wire {
	int sk[2];              /* on a and on b */
	struct dir d[2];        /* a->b, b->a */
};

struct wires {
	struct wire *v;
	size_t n, cap;
	int ep, tfd;
	uint64_t rng;
	uint8_t *frame;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: fast, and reproducible from the seed */
static uint64_t rnd(struct wires *w)
{
	w->rng ^= w->rng >> 12;
	w->rng ^= w->rng << 25;
	w->rng ^= w->rng >> 27;
	return w->rng * 2685821657736338717ull;
}

int wires_new(struct wires **out, uint64_t seed)
{
	struct wires *w = xcalloc(1, sizeof(*w));
	struct epoll_event ev = { .events = EPOLLIN };

	w->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
	w->ep = epoll_create1(EPOLL_CLOEXEC);
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	w->frame = xmalloc(FRAME_MAX);
	if (w->ep < 0 || w->tfd < 0) {
		int e = -errno;

		wires_free(w);
		return e;
	}
	ev.data.u64 = UINT64_MAX; /* the timer */
	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, w->tfd, &ev)) {
		int e = -errno;

		wires_free(w);
		return e;
	}
	*out = w;
	return 0;
}

void wires_free(struct wires *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++) {
		for (int k = 0; k < 2; k++) {
			if (w->v[i].sk[k] >= 0)
				close(w->v[i].sk[k]);
			free(w->v[i].d[k].ring);
		}
	}
	free(w->v);
	if (w->ep >= 0)
		close(w->ep);
	if (w->tfd >= 0)
		close(w->tfd);
	free(w->frame);
	free(w);
}

/* A raw socket on interface ifindex that sees frames arriving there, not
 * the ones it sends itself, each with its virtio-net header. */
static int packet_socket(int ifindex)
{
	int one = 1, bufsz = 8 << 20;
	struct sockaddr_ll sa = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = ifindex,
	};
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int e = -errno;

		close(fd);
		return e;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	return fd;
}

int wire_add(struct wires *w, int a, int b, const struct topo_cond *a2b,
	     const struct topo_cond *b2a, char *err, size_t errlen)
{
	struct wire *wr = VEC_PUSH(w->v, w->n, w->cap);
	const struct topo_cond *c[2] = { a2b, b2a };
	size_t idx = w->n - 1;

	wr->sk[0] = packet_socket(a);
	wr->sk[1] = packet_socket(b);
	if (wr->sk[0] < 0 || wr->sk[1] < 0) {
		int e = wr->sk[0] < 0 ? wr->sk[0] : wr->sk[1];

		snprintf(err, errlen, "cannot open a packet socket for a link: %s", strerror(-e));
		return e;
	}
	for (int k = 0; k < 2; k++) {
		struct dir *d = &wr->d[k];
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = idx << 1 | (uint64_t)k };

		d->rx = wr->sk[k];
		d->tx = wr->sk[1 - k];
		d->delay = c[k]->delay_us * 1000;
		d->jitter = c[k]->jitter_us * 1000;
		d->loss_ppm = c[k]->loss_ppm;
		d->ring = xmalloc(RING_BYTES);
		if (epoll_ctl(w->ep, EPOLL_CTL_ADD, d->rx, &ev)) {
			int e = -errno;

			snprintf(err, errlen, "epoll: %s", strerror(-e));
			return e;
		}
	}
	return 0;
}

/* Room at the tail for n contiguous bytes: wrap to the start when the
 * end is too short (the gap is marked by a zero-length record). */
static uint8_t *ring_reserve(struct dir *d, size_t n)
{
	if (d->used && d->tail == d->head)
		return NULL; /* exactly full */
	if (d->tail >= d->head && d->used) {
		if (RING_BYTES - d->tail >= n)
			return d->ring + d->tail;
		if (d->head > n) {
			if (RING_BYTES - d->tail >= sizeof(struct rec))
				((struct rec *)(d->ring + d->tail))->len = UINT32_MAX; /* wrap */
			d->tail = 0;
			return d->ring;
		}
		return NULL;
	}
	if (!d->used) {
		d->head = d->tail = 0;
		return n <= RING_BYTES ? d->ring : NULL;
	}
	return d->head - d->tail >= n + 1 ? d->ring + d->tail : NULL;
}

static size_t rec_size(uint32_t len)
{
	return (sizeof(struct rec) + len + 7) & ~(size_t)7;
}

/* Read every frame waiting on d's socket into its ring. */
static void take(struct wires *w, struct dir *d)
{
	for (;;) {
		ssize_t n = recv(d->rx, w->frame, FRAME_MAX, MSG_TRUNC);
		uint64_t now, delay;
		struct rec *r;
		uint8_t *slot;

		if (n < 0)
			return; /* EAGAIN, or nothing sane to do but wait */
		if ((size_t)n > FRAME_MAX)
			continue; /* larger than any frame: cannot be forwarded whole */
		if (d->loss_ppm && rnd(w) % 1000000 < d->loss_ppm) {
			d->st.lost++;
			continue;
		}
		slot = ring_reserve(d, rec_size((uint32_t)n));
		if (!slot) {
			d->st.overflow++;
			continue;
		}
		now = now_ns();
		delay = d->delay;
		if (d->jitter) {
			uint64_t j = rnd(w) % (2 * d->jitter + 1);

			delay = delay + j > d->jitter ? delay + j - d->jitter : 0;
		}
		r = (struct rec *)slot;
		r->due = MAX(now + delay, d->last_due); /* a link keeps order */
		r->len = (uint32_t)n;
		d->last_due = r->due;
		memcpy(r + 1, w->frame, (size_t)n);
		d->tail = (size_t)(slot - d->ring) + rec_size((uint32_t)n);
		if (d->tail == RING_BYTES)
			d->tail = 0;
		d->used++;
	}
}

/* Send every frame of d that is due; returns the next due time or 0. */
static uint64_t give(struct dir *d, uint64_t now)
{
	while (d->used) {
		struct rec *r;

		if (RING_BYTES - d->head < sizeof(struct rec) ||
		    ((struct rec *)(d->ring + d->head))->len == UINT32_MAX)
			d->head = 0; /* the writer wrapped here */
		r = (struct rec *)(d->ring + d->head);
		if (r->due > now)
			return r->due;
		if (send(d->tx, r + 1, r->len, 0) < 0) {
			if (errno == EAGAIN || errno == ENOBUFS)
				return now + 100000; /* the device is busy: retry in 100 us */
			d->st.overflow++; /* cannot be sent: dropped */
		} else {
			d->st.passed++;
		}
		d->head += rec_size(r->len);
		if (d->head >= RING_BYTES)
			d->head = 0;
		d->used--;
	}
	return 0;
}

int wires_run(struct wires *w, int stop_fd, char *err, size_t errlen)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = UINT64_MAX - 1 };
	struct epoll_event evs[64];

	if (epoll_ctl(w->ep, EPOLL_CTL_ADD, stop_fd, &ev)) {
		int e = -errno;

		snprintf(err, errlen, "epoll: %s", strerror(-e));
		return e;
	}
	for (;;) {
		int n = epoll_wait(w->ep, evs, 64, -1);
		uint64_t now, next = 0;
		struct itimerspec its = { 0 };

		if (n < 0 && errno != EINTR) {
			int e = -errno;

			snprintf(err, errlen, "epoll_wait: %s", strerror(-e));
			return e;
		}
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;

			if (tag == UINT64_MAX - 1)
				return 0;
			if (tag == UINT64_MAX) {
				uint64_t ticks;

				(void)!read(w->tfd, &ticks, sizeof(ticks));
				continue;
			}
			take(w, &w->v[tag >> 1].d[tag & 1]);
		}
		now = now_ns();
		for (size_t i = 0; i < w->n; i++) {
			for (int k = 0; k < 2; k++) {
				uint64_t due = give(&w->v[i].d[k], now);

				if (due && (!next || due < next))
					next = due;
			}
		}
		if (next) {
			its.it_value.tv_sec = (time_t)(next / 1000000000ull);
			its.it_value.tv_nsec = (long)(next % 1000000000ull);
			timerfd_settime(w->tfd, TFD_TIMER_ABSTIME, &its, NULL);
		}
	}
}

void wire_stats(const struct wires *w, size_t i, int dir, struct wire_stats *st)
{
	*st = w->v[i].d[dir].st;
}

size_t wires_count(const struct wires *w)
{
	return w->n;
}
