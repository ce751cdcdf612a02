/* record.c - see record.h.  One thread reads every packet socket with
 * recvmmsg and kernel timestamps, keeps each packet once, counts it for
 * its statement and appends it to the file. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../lib/util.h"
#include "pcapng.h"
#include "record.h"

#define BATCH 32

struct flowkey {
	uint32_t a, b;
	uint16_t pa, pb;
	uint8_t proto;
};

/* Distinct flows per statement: an open-addressing set of key hashes
 * (a 64-bit hash per 5-tuple; a collision would undercount by one in
 * about 2^-40 of runs with a million flows). */
struct flowset {
	uint64_t *slot;
	size_t cap, n;
};

struct src {
	int fd;
	uint32_t iface;          /* in the file */
};

struct recorder {
	struct pcapng w;
	bool writing;
	struct record_rule *rules;
	size_t nrules;
	struct record_count *counts;
	struct flowset *flows;
	size_t nstmts;
	struct src *srcs;
	size_t nsrcs, srcs_cap;
	uint64_t drops, packets;
	int err;
	unsigned char *bufs;     /* BATCH x RECORD_SNAPLEN */
};

int record_new(struct recorder **out, const char *path, size_t nstmts,
	       const struct record_rule *rules, size_t nrules)
{
	struct recorder *r = xcalloc(1, sizeof(*r));
	int err;

	if (path) {
		err = pcapng_open(&r->w, path, "dynamo " DYNAMO_VERSION);
		if (err) {
			free(r);
			return err;
		}
		r->writing = true;
	}
	r->rules = xcalloc(nrules ? nrules : 1, sizeof(*rules));
	if (nrules)
		memcpy(r->rules, rules, nrules * sizeof(*rules));
	r->nrules = nrules;
	r->nstmts = nstmts;
	r->counts = xcalloc(nstmts ? nstmts : 1, sizeof(*r->counts));
	r->flows = xcalloc(nstmts ? nstmts : 1, sizeof(*r->flows));
	r->bufs = xmalloc((size_t)BATCH * RECORD_SNAPLEN);
	*out = r;
	return 0;
}

int record_add(struct recorder *r, const char *ifname, const char *name)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int fd, one = 1, size = 32 << 20, err;
	struct src *s;

	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex)
		return -errno;
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
	if (fd < 0)
		return -errno;
	/* A large buffer rides out bursts while the file is written; the
	 * forced size needs CAP_NET_ADMIN over the init namespace, so fall
	 * back to the ordinary limit behind a user namespace. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	s = VEC_PUSH(r->srcs, r->nsrcs, r->srcs_cap);
	s->fd = fd;
	s->iface = r->writing ? pcapng_iface(&r->w, name, RECORD_SNAPLEN) : 0;
	return 0;
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	return h ^ (h >> 33);
}

/* Add a flow; true when new. */
static bool flowset_add(struct flowset *s, uint64_t h)
{
	size_t i;

	h |= 1; /* 0 marks an empty slot */
	if (2 * (s->n + 1) > s->cap) {
		struct flowset g = { .cap = s->cap ? 2 * s->cap : 1024 };

		g.slot = xcalloc(g.cap, sizeof(*g.slot));
		for (i = 0; i < s->cap; i++)
			if (s->slot[i])
				(void)flowset_add(&g, s->slot[i]);
		free(s->slot);
		*s = g;
	}
	for (i = (size_t)h & (s->cap - 1); s->slot[i]; i = (i + 1) & (s->cap - 1))
		if (s->slot[i] == h)
			return false;
	s->slot[i] = h;
	s->n++;
	return true;
}

/* Decide and count one packet: false when another socket keeps it. */
static bool classify(struct recorder *r, const unsigned char *p, size_t len, bool outgoing,
		     uint64_t ts)
{
	const unsigned char *ip;
	uint32_t src, dst, iplen;
	uint16_t sport = 0, dport = 0, frag;
	unsigned ihl;
	uint8_t proto;
	bool ports = false;

	if (len < 14 + 20 || p[12] != 0x08 || p[13] != 0x00)
		return outgoing;
	ip = p + 14;
	ihl = (ip[0] & 0x0f) * 4u;
	if ((ip[0] >> 4) != 4 || ihl < 20 || len < 14 + ihl)
		return outgoing;
	proto = ip[9];
	iplen = (uint32_t)ip[2] << 8 | ip[3];
	frag = (uint16_t)((ip[6] & 0x1f) << 8 | ip[7]);
	memcpy(&src, ip + 12, 4);
	memcpy(&dst, ip + 16, 4);
	src = ntohl(src);
	dst = ntohl(dst);
	if ((proto == 6 || proto == 17) && !frag && len >= 14 + ihl + 4) {
		sport = (uint16_t)(ip[ihl] << 8 | ip[ihl + 1]);
		dport = (uint16_t)(ip[ihl + 2] << 8 | ip[ihl + 3]);
		ports = true;
		/* Keep it at the client end only. */
		if (outgoing ? sport < RECORD_EPHEMERAL : dport < RECORD_EPHEMERAL)
			return false;
	} else if (!outgoing) {
		return false;
	}
	r->packets++;
	if (!ports)
		return true;
	for (size_t i = 0; i < r->nrules; i++) {
		const struct record_rule *u = &r->rules[i];
		struct record_count *c;
		struct flowkey k = { 0 };
		bool up;

		if (u->proto != proto)
			continue;
		if (src == u->client && dst == u->server && dport >= u->port_lo && dport <= u->port_hi)
			up = true;
		else if (src == u->server && dst == u->client && sport >= u->port_lo && sport <= u->port_hi)
			up = false;
		else
			continue;
		c = &r->counts[u->stmt];
		c->bytes += iplen;
		c->packets++;
		if (!c->first_ns)
			c->first_ns = ts;
		c->last_ns = ts;
		k.a = up ? src : dst;
		k.b = up ? dst : src;
		k.pa = up ? sport : dport;
		k.pb = up ? dport : sport;
		k.proto = proto;
		if (flowset_add(&r->flows[u->stmt],
				mix(((uint64_t)k.a << 32 | k.b) ^ mix((uint64_t)k.pa << 24 | (uint64_t)k.pb << 8 | k.proto))))
			c->flows++;
		break;
	}
	return true;
}

static void drain(struct recorder *r, struct src *s)
{
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_ll from[BATCH];
	char ctl[BATCH][64];
	int n;

	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = r->bufs + (size_t)i * RECORD_SNAPLEN;
		iov[i].iov_len = RECORD_SNAPLEN;
		msgs[i].msg_hdr = (struct msghdr){
			.msg_name = &from[i], .msg_namelen = sizeof(from[i]),
			.msg_iov = &iov[i], .msg_iovlen = 1,
			.msg_control = ctl[i], .msg_controllen = sizeof(ctl[i]),
		};
	}
	while ((n = recvmmsg(s->fd, msgs, BATCH, MSG_DONTWAIT | MSG_TRUNC, NULL)) > 0) {
		for (int i = 0; i < n; i++) {
			struct msghdr *h = &msgs[i].msg_hdr;
			uint32_t len = msgs[i].msg_len, cap = MIN(len, (uint32_t)RECORD_SNAPLEN);
			uint64_t ts = 0;

			for (struct cmsghdr *cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR(h, cm))
				if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SO_TIMESTAMPNS) {
					struct timespec t;

					memcpy(&t, CMSG_DATA(cm), sizeof(t));
					ts = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
				}
			if (!ts) {
				struct timespec t;

				clock_gettime(CLOCK_REALTIME, &t);
				ts = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
			}
			if (classify(r, iov[i].iov_base, cap, from[i].sll_pkttype == PACKET_OUTGOING, ts) &&
			    r->writing)
				pcapng_packet(&r->w, s->iface, ts, iov[i].iov_base, cap, len);
			/* recvmmsg rewrites these; put them back */
			h->msg_namelen = sizeof(from[i]);
			h->msg_controllen = sizeof(ctl[i]);
		}
	}
}

int record_run(struct recorder *r, int stop_fd)
{
	struct pollfd *pfd = xcalloc(r->nsrcs + 1, sizeof(*pfd));
	bool stopping = false;
	int err = 0;

	for (size_t i = 0; i < r->nsrcs; i++) {
		pfd[i].fd = r->srcs[i].fd;
		pfd[i].events = POLLIN;
	}
	pfd[r->nsrcs].fd = stop_fd;
	pfd[r->nsrcs].events = POLLIN;
	for (;;) {
		int n = poll(pfd, r->nsrcs + 1, stopping ? 0 : 200);

		if (n < 0 && errno != EINTR) {
			err = -errno;
			break;
		}
		for (size_t i = 0; i < r->nsrcs; i++)
			if (stopping || (pfd[i].revents & POLLIN))
				drain(r, &r->srcs[i]);
		if (stopping)
			break;
		if (pfd[r->nsrcs].revents & POLLIN)
			stopping = true; /* one more pass over every socket */
	}
	for (size_t i = 0; i < r->nsrcs; i++) {
		struct tpacket_stats st;
		socklen_t sl = sizeof(st);

		if (!getsockopt(r->srcs[i].fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl))
			r->drops += st.tp_drops;
	}
	free(pfd);
	return err;
}

void record_count(const struct recorder *r, size_t stmt, struct record_count *c)
{
	*c = r->counts[stmt];
}

uint64_t record_drops(const struct recorder *r)
{
	return r->drops;
}

uint64_t record_packets(const struct recorder *r)
{
	return r->packets;
}

int record_close(struct recorder *r)
{
	int err = 0;

	if (!r)
		return 0;
	if (r->writing)
		err = pcapng_close(&r->w);
	for (size_t i = 0; i < r->nsrcs; i++)
		close(r->srcs[i].fd);
	for (size_t i = 0; i < r->nstmts; i++)
		free(r->flows[i].slot);
	free(r->flows);
	free(r->srcs);
	free(r->rules);
	free(r->counts);
	free(r->bufs);
	free(r);
	return err;
}
