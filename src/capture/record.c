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

#include "../lib/bytes.h"
#include "../lib/util.h"
#include "../packet/decode.h"
#include "pcapng.h"
#include "record.h"

#define BATCH 32

const uint32_t record_size_upper[RECORD_SIZES] = { 64, 128, 256, 512, 1024, 1500, 9000, 65535 };

/* Every flow seen, in the order of its first packet, with a hash index
 * (open addressing, slots hold index + 1) on its 5-tuple. */
struct flowtab {
	struct record_flow *v;
	size_t n, cap;
	uint32_t *slot;
	size_t nslots;
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
	struct series {
		struct record_window *v;
		size_t n, cap;
	} *series;
	uint64_t origin;
	struct flowtab flows;
	size_t ncounters;
	struct src *srcs;
	size_t nsrcs, srcs_cap;
	uint64_t drops, packets;
	int err;
	unsigned char *bufs;     /* BATCH x RECORD_SNAPLEN */
};

int record_new(struct recorder **out, const char *path, size_t ncounters,
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
	r->ncounters = ncounters;
	r->counts = xcalloc(ncounters ? ncounters : 1, sizeof(*r->counts));
	r->series = xcalloc(ncounters ? ncounters : 1, sizeof(*r->series));
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

/* The hash of a flow's 5-tuple, the same in both directions. */
static uint64_t flow_hash(uint32_t a, uint32_t b, uint16_t pa, uint16_t pb, uint8_t proto)
{
	uint64_t x = mix((uint64_t)a << 32 | pa), y = mix((uint64_t)b << 32 | pb);

	return mix((x ^ y) + proto);
}

static bool flow_is(const struct record_flow *f, uint32_t a, uint32_t b, uint16_t pa,
		    uint16_t pb, uint8_t proto, int *dir)
{
	if (f->proto != proto)
		return false;
	if (f->a == a && f->b == b && f->pa == pa && f->pb == pb) {
		*dir = 0;
		return true;
	}
	if (f->a == b && f->b == a && f->pa == pb && f->pb == pa) {
		*dir = 1;
		return true;
	}
	return false;
}

static void flowtab_index(struct flowtab *t, size_t i)
{
	const struct record_flow *f = &t->v[i];
	size_t k = (size_t)flow_hash(f->a, f->b, f->pa, f->pb, f->proto) & (t->nslots - 1);

	while (t->slot[k])
		k = (k + 1) & (t->nslots - 1);
	t->slot[k] = (uint32_t)(i + 1);
}

/* The flow of a packet from a to b, made when new (*isnew); *dir is 0
 * when the packet goes the flow's way (a to b). */
static struct record_flow *flowtab_get(struct flowtab *t, uint32_t a, uint32_t b, uint16_t pa,
				       uint16_t pb, uint8_t proto, int *dir, bool *isnew)
{
	size_t k;

	*isnew = false;
	if (t->nslots) {
		for (k = (size_t)flow_hash(a, b, pa, pb, proto) & (t->nslots - 1); t->slot[k];
		     k = (k + 1) & (t->nslots - 1))
			if (flow_is(&t->v[t->slot[k] - 1], a, b, pa, pb, proto, dir))
				return &t->v[t->slot[k] - 1];
	}
	if (2 * (t->n + 1) > t->nslots) {
		free(t->slot);
		t->nslots = t->nslots ? 2 * t->nslots : 4096;
		t->slot = xcalloc(t->nslots, sizeof(*t->slot));
		for (size_t i = 0; i < t->n; i++)
			flowtab_index(t, i);
	}
	struct record_flow *f = VEC_PUSH(t->v, t->n, t->cap);

	f->a = a;
	f->b = b;
	f->pa = pa;
	f->pb = pb;
	f->proto = proto;
	f->rule = -1;
	flowtab_index(t, t->n - 1);
	*dir = 0;
	*isnew = true;
	return f;
}

/* Decide and count one packet: false when another socket keeps it. */
static bool classify(struct recorder *r, const unsigned char *p, size_t len, uint32_t wirelen,
		     bool outgoing, uint64_t ts)
{
	uint32_t src, dst, iplen;
	uint16_t sport = 0, dport = 0;
	uint8_t proto;
	bool ports = false, isnew;
	struct record_flow *f;
	struct record_count *c;
	struct pkt k;
	const char *why;
	uint64_t origin;
	int dir;

	/* The emulation is IPv4 inside; anything else is kept as it is */
	if (decode_frame(LINK_ETHERNET, p, (uint32_t)len, wirelen, &k, &why) != DECODE_OK ||
	    k.family != 4)
		return outgoing;
	proto = k.proto;
	iplen = k.ip_len;
	src = be32(k.src + 12);
	dst = be32(k.dst + 12);
	if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && k.frag != FRAG_LATER) {
		sport = k.sport;
		dport = k.dport;
		ports = true;
		/* Keep it at the client end only. */
		if (outgoing ? sport < RECORD_EPHEMERAL : dport < RECORD_EPHEMERAL)
			return false;
	} else if (!outgoing) {
		return false;
	}
	r->packets++;
	f = flowtab_get(&r->flows, src, dst, sport, dport, proto, &dir, &isnew);
	if (isnew) {
		f->first_ns = ts;
		for (size_t i = 0; ports && i < r->nrules; i++) {
			const struct record_rule *u = &r->rules[i];

			if (u->proto != proto)
				continue;
			if (src == u->client && dst == u->server && dport >= u->port_lo &&
			    dport <= u->port_hi) {
				f->rule = (int32_t)i;
			} else if (src == u->server && dst == u->client && sport >= u->port_lo &&
				   sport <= u->port_hi) {
				/* the flow is the client's: turn it round
				 * (the hash is the same both ways) */
				f->rule = (int32_t)i;
				f->a = dst;
				f->b = src;
				f->pa = dport;
				f->pb = sport;
				dir = 1;
			} else {
				continue;
			}
			c = &r->counts[u->counter];
			RELAXED_STORE(c->flows, c->flows + 1);
			if (proto == IPPROTO_TCP)
				RELAXED_STORE(c->open, c->open + 1);
			break;
		}
	}
	f->last_ns = ts;
	f->packets[dir]++;
	f->bytes[dir] += wirelen;
	if (f->rule < 0)
		return true;
	c = &r->counts[r->rules[f->rule].counter];
	if (proto == IPPROTO_TCP && ports && !f->closed) {
		uint8_t flags = k.tcp_flags;

		if (flags & 0x01)      /* FIN */
			f->fins |= (uint8_t)(1u << dir);
		if ((flags & 0x04) || f->fins == 3) {
			f->closed = true;
			RELAXED_STORE(c->open, c->open - 1);
		}
	}
	RELAXED_STORE(c->bytes, c->bytes + iplen);
	RELAXED_STORE(c->packets, c->packets + 1);
	for (int i = 0; i < RECORD_SIZES; i++)
		if (iplen <= record_size_upper[i] || i == RECORD_SIZES - 1) {
			RELAXED_STORE(c->sizes[i], c->sizes[i] + 1);
			break;
		}
	if (!c->first_ns)
		RELAXED_STORE(c->first_ns, ts);
	RELAXED_STORE(c->last_ns, ts);
	origin = RELAXED_LOAD(r->origin);
	if (origin && ts >= origin) {
		struct series *sr = &r->series[r->rules[f->rule].counter];
		size_t w = (size_t)((ts - origin) / 1000000000u);

		/* a bound on a clock gone wild: a day of windows */
		if (w < 86400) {
			while (sr->n <= w)
				*VEC_PUSH(sr->v, sr->n, sr->cap) = (struct record_window){ 0 };
			sr->v[w].bytes += iplen;
			sr->v[w].packets++;
		}
	}
	return true;
}

void record_flows(const struct recorder *r, void (*fn)(const struct record_flow *f, void *arg),
		  void *arg)
{
	for (size_t i = 0; i < r->flows.n; i++)
		fn(&r->flows.v[i], arg);
}

const struct record_rule *record_rule_of(const struct recorder *r, const struct record_flow *f)
{
	return f->rule >= 0 ? &r->rules[f->rule] : NULL;
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
			if (classify(r, iov[i].iov_base, cap, len, from[i].sll_pkttype == PACKET_OUTGOING, ts) &&
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

void record_count(const struct recorder *r, size_t counter, struct record_count *c)
{
	const struct record_count *k = &r->counts[counter];

	for (int i = 0; i < RECORD_SIZES; i++)
		c->sizes[i] = RELAXED_LOAD(k->sizes[i]);
	c->bytes = RELAXED_LOAD(k->bytes);
	c->packets = RELAXED_LOAD(k->packets);
	c->flows = RELAXED_LOAD(k->flows);
	c->open = RELAXED_LOAD(k->open);
	c->first_ns = RELAXED_LOAD(k->first_ns);
	c->last_ns = RELAXED_LOAD(k->last_ns);
}

void record_origin(struct recorder *r, uint64_t ns)
{
	RELAXED_STORE(r->origin, ns);
}

uint64_t record_origin_ns(const struct recorder *r)
{
	return RELAXED_LOAD(r->origin);
}

const struct record_window *record_series(const struct recorder *r, size_t counter, size_t *n)
{
	*n = r->series[counter].n;
	return r->series[counter].v;
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
	free(r->flows.v);
	free(r->flows.slot);
	free(r->srcs);
	free(r->rules);
	for (size_t i = 0; i < r->ncounters; i++)
		free(r->series[i].v);
	free(r->series);
	free(r->counts);
	free(r->bufs);
	free(r);
	return err;
}
