/* flow.c - the flow table (see flow.h).  A chained hash on the 5-tuple
 * in canonical order; slots come from chunks and go back to a free
 * list, up to max_flows.  Three lists ordered by last packet, one per
 * idle timeout (closed and lingering, short, open TCP), so the head of
 * each is the next to expire in it; the least recent of the three heads
 * is the one evicted when the table is full. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/util.h"
#include "flow.h"

#define CHUNK 4096              /* slots allocated at a time */
#define FRAGS 4096              /* first fragments remembered (a cache) */

enum { L_LINGER, L_SHORT, L_OPEN, L_COUNT };

/* TCP state, as far as flows need it */
enum { T_NONE, T_SYN, T_OPEN, T_CLOSED };

struct frag {
	uint8_t src[16], dst[16];
	uint32_t id;
	uint8_t proto;
	bool used;
	uint16_t sport, dport;
};

struct list {
	struct flow *head, *tail;
	uint64_t idle_ns;
};

struct flow_table {
	struct flow_config c;
	size_t slot, nbuckets, nflows;
	struct flow **buckets;
	struct flow *free;
	void **chunks;
	size_t nchunks, made_slots;
	struct list lists[L_COUNT];
	struct frag *frags;
	uint64_t now, next_id;
	struct flow_counts counts;
};

static uint64_t ns(double s, double dflt)
{
	return (uint64_t)((s > 0 ? s : dflt) * 1e9);
}

struct flow_table *flow_table_new(const struct flow_config *c)
{
	struct flow_table *t = xcalloc(1, sizeof(*t));

	t->c = *c;
	if (!t->c.max_flows)
		t->c.max_flows = 1u << 20;
	t->slot = sizeof(struct flow) + ((c->user_size + 15) & ~(size_t)15);
	for (t->nbuckets = 1024; t->nbuckets < t->c.max_flows; t->nbuckets <<= 1)
		;
	t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
	t->lists[L_LINGER].idle_ns = ns(c->linger_s, 5);
	t->lists[L_SHORT].idle_ns = ns(c->udp_idle_s, 120);
	t->lists[L_OPEN].idle_ns = ns(c->tcp_idle_s, 600);
	t->frags = xcalloc(FRAGS, sizeof(*t->frags));
	return t;
}

/* One end of a tuple, mixed (splitmix64's finaliser over its words) */
static uint64_t end_hash(const uint8_t *a, uint16_t port)
{
	uint64_t w[2], h;

	memcpy(w, a, 16);
	h = w[0] * 0x9e3779b97f4a7c15ull ^ w[1] ^ ((uint64_t)port << 48);
	h ^= h >> 30;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 27;
	h *= 0x94d049bb133111ebull;
	return h ^ h >> 31;
}

/* The sum of both ends' hashes: the same both ways, no ordering needed */
static uint32_t tuple_hash(const uint8_t *a, uint16_t pa, const uint8_t *b, uint16_t pb,
			   uint8_t proto)
{
	uint64_t h = end_hash(a, pa) + end_hash(b, pb) + proto;

	return (uint32_t)(h ^ h >> 32);
}

static void list_del(struct flow_table *t, struct flow *f)
{
	struct list *l = &t->lists[f->flow__list];

	if (f->flow__lprev)
		f->flow__lprev->flow__lnext = f->flow__lnext;
	else
		l->head = f->flow__lnext;
	if (f->flow__lnext)
		f->flow__lnext->flow__lprev = f->flow__lprev;
	else
		l->tail = f->flow__lprev;
	f->flow__lprev = f->flow__lnext = NULL;
}

static void list_add(struct flow_table *t, struct flow *f, int which)
{
	struct list *l = &t->lists[which];

	f->flow__list = (uint8_t)which;
	f->flow__lprev = l->tail;
	f->flow__lnext = NULL;
	if (l->tail)
		l->tail->flow__lnext = f;
	else
		l->head = f;
	l->tail = f;
}

static void flow_end(struct flow_table *t, struct flow *f, enum flow_end why)
{
	struct flow **pp = &t->buckets[f->flow__hash & (t->nbuckets - 1)];

	while (*pp != f)
		pp = &(*pp)->flow__next;
	*pp = f->flow__next;
	list_del(t, f);
	t->c.end(f, why, t->c.arg);
	f->flow__next = t->free;
	t->free = f;
	t->nflows--;
}

static void expire(struct flow_table *t)
{
	for (int i = 0; i < L_COUNT; i++) {
		struct list *l = &t->lists[i];

		while (l->head && l->head->last_ns + l->idle_ns < t->now)
			flow_end(t, l->head, i == L_LINGER ? FLOW_CLOSED : FLOW_IDLE);
	}
}

static struct flow *slot_get(struct flow_table *t)
{
	struct flow *f;

	if (t->nflows == t->c.max_flows) {
		struct flow *old = NULL;

		for (int i = 0; i < L_COUNT; i++) {
			struct flow *h = t->lists[i].head;

			if (h && (!old || h->last_ns < old->last_ns))
				old = h;
		}
		flow_end(t, old, FLOW_EVICTED);
		t->counts.evicted++;
	}
	if (!t->free) {
		char *c = xcalloc(CHUNK, t->slot);

		t->chunks = xreallocarray(t->chunks, t->nchunks + 1, sizeof(*t->chunks));
		t->chunks[t->nchunks++] = c;
		for (size_t i = CHUNK; i-- > 0;) {
			f = (struct flow *)(void *)(c + i * t->slot);
			f->flow__next = t->free;
			t->free = f;
		}
	}
	f = t->free;
	t->free = f->flow__next;
	memset(f, 0, t->slot);
	t->nflows++;
	t->counts.peak = MAX(t->counts.peak, t->nflows);
	return f;
}

static bool well_known(uint16_t p)
{
	return p && p < 1024;
}

/* Who opened a flow whose first packet is k: a SYN says; else a
 * multicast or broadcast address (the last of a /24 taken as one) is
 * the server; else the side on a well-known port, or not in the ephemeral range, or else on the
 * lower port, is the server; with equal ports the first sender is the
 * client. */
static bool first_is_client(const struct pkt *k)
{
	if (k->proto == IPPROTO_TCP && (k->tcp_flags & 0x02))
		return !(k->tcp_flags & 0x10);
	if (decode_is_group(k->dst) != decode_is_group(k->src))
		return decode_is_group(k->dst);
	if (well_known(k->dport) != well_known(k->sport))
		return well_known(k->dport);
	if ((k->dport >= 32768) != (k->sport >= 32768))
		return k->sport >= 32768;
	if (k->sport != k->dport)
		return k->dport < k->sport;
	return true;
}

static struct frag *frag_slot(struct flow_table *t, const struct pkt *k)
{
	uint32_t h = tuple_hash(k->src, 0, k->dst, 0, k->proto) ^ k->frag_id * 2654435761u;

	return &t->frags[h % FRAGS];
}

/* Ports for a later fragment, from its first; false if not known. */
static bool frag_ports(struct flow_table *t, struct pkt *k)
{
	struct frag *fr;

	if (k->frag == FRAG_NONE)
		return true;
	fr = frag_slot(t, k);

	if (k->frag == FRAG_FIRST) {
		memcpy(fr->src, k->src, 16);
		memcpy(fr->dst, k->dst, 16);
		fr->id = k->frag_id;
		fr->proto = k->proto;
		fr->sport = k->sport;
		fr->dport = k->dport;
		fr->used = true;
		return true;
	}
	if (k->frag != FRAG_LATER)
		return true;
	if (fr->used && fr->id == k->frag_id && fr->proto == k->proto &&
	    !memcmp(fr->src, k->src, 16) && !memcmp(fr->dst, k->dst, 16)) {
		k->sport = fr->sport;
		k->dport = fr->dport;
		return true;
	}
	return false;
}

static void tcp_track(struct flow_table *t, struct flow *f, const struct pkt *k, int dir,
		      uint64_t ts)
{
	uint8_t fl = k->tcp_flags;
	int want;

	/* The round trip: the SYN (the flow's first packet) to the SYN-ACK,
	 * and that to the client's ACK, whichever end the capture is at;
	 * a retransmitted SYN or SYN-ACK leaves it unknown. */
	if ((fl & 0x12) == 0x12 && dir == FLOW_DOWN && f->flow__state == T_SYN && f->packets[FLOW_UP] == 1 &&
	    !f->flow__synack_ns) {
		f->flow__synack_ns = ts;
		f->flow__hs_us = (uint32_t)MIN((ts - f->first_ns) / 1000, (uint64_t)UINT32_MAX / 2);
	} else if (dir == FLOW_UP && (fl & 0x12) == 0x10 && f->flow__synack_ns && !f->rtt_us &&
		   f->packets[FLOW_DOWN] == 1) {
		f->rtt_us = f->flow__hs_us + (uint32_t)MIN((ts - f->flow__synack_ns) / 1000,
							   (uint64_t)UINT32_MAX / 2);
		f->rtt_us = MAX(f->rtt_us, 1u);
	}
	if (fl & 0x04) {                                /* RST */
		f->flow__state = T_CLOSED;
	} else if ((fl & 0x12) == 0x12 && dir == FLOW_DOWN) {   /* SYN-ACK */
		f->answered = true;
		f->syn_only = false;
		if (f->flow__state == T_SYN || f->flow__state == T_NONE)
			f->flow__state = T_OPEN;
	} else if (fl & 0x01) {                         /* FIN */
		f->flow__fins |= (uint8_t)(1 << dir);
		if (f->flow__fins == 3)
			f->flow__state = T_CLOSED;
	} else if (f->flow__state == T_NONE || (f->flow__state == T_SYN && (fl & 0x10))) {
		/* joined mid-flow, or the capture missed the SYN-ACK */
		f->flow__state = T_OPEN;
	}
	if (dir == FLOW_DOWN && !(fl & 0x04)) {
		f->answered = true;
		f->syn_only = false;
	}
	want = f->flow__state == T_CLOSED ? L_LINGER : f->flow__state == T_SYN ? L_SHORT : L_OPEN;
	if (want != f->flow__list) {
		list_del(t, f);
		list_add(t, f, want);
	}
}

struct flow *flow_packet(struct flow_table *t, const struct pkt *kin, uint64_t ts_ns, int *dir,
			 bool *is_new)
{
	struct pkt kk;
	const struct pkt *k = kin;
	struct flow *f;
	uint32_t h;

	if (ts_ns < t->now)
		t->counts.backwards++;
	else
		t->now = ts_ns;
	if (kin->frag != FRAG_NONE) {
		/* a copy, to give a later fragment its first's ports */
		kk = *kin;
		k = &kk;
		if (!frag_ports(t, &kk))
			t->counts.frag_orphans++;
	}
	expire(t);
	h = tuple_hash(k->src, k->sport, k->dst, k->dport, k->proto);
	*is_new = false;
	for (f = t->buckets[h & (t->nbuckets - 1)]; f; f = f->flow__next) {
		if (f->flow__hash != h || f->proto != k->proto)
			continue;
		if (f->cport == k->sport && f->sport == k->dport && !memcmp(f->client, k->src, 16) &&
		    !memcmp(f->server, k->dst, 16)) {
			*dir = FLOW_UP;
			break;
		}
		if (f->cport == k->dport && f->sport == k->sport && !memcmp(f->client, k->dst, 16) &&
		    !memcmp(f->server, k->src, 16)) {
			*dir = FLOW_DOWN;
			break;
		}
	}
	/* A new SYN on a flow that closed is a new connection */
	if (f && k->proto == IPPROTO_TCP && (k->tcp_flags & 0x12) == 0x02 &&
	    f->flow__state == T_CLOSED) {
		flow_end(t, f, FLOW_REUSED);
		f = NULL;
	}
	if (!f) {
		bool up = first_is_client(k);

		f = slot_get(t);
		f->client_sure = k->proto == IPPROTO_TCP && (k->tcp_flags & 0x02);
		memcpy(f->client, up ? k->src : k->dst, 16);
		memcpy(f->server, up ? k->dst : k->src, 16);
		f->cport = up ? k->sport : k->dport;
		f->sport = up ? k->dport : k->sport;
		f->proto = k->proto;
		f->family = k->family;
		f->vlan = k->vlan;
		f->first_ns = t->now;
		f->id = ++t->next_id;
		f->flow__hash = h;
		f->flow__state = k->proto == IPPROTO_TCP && (k->tcp_flags & 0x12) == 0x02 ? T_SYN
										    : T_NONE;
		f->syn_only = f->flow__state == T_SYN;
		f->flow__next = t->buckets[h & (t->nbuckets - 1)];
		t->buckets[h & (t->nbuckets - 1)] = f;
		list_add(t, f, L_SHORT);
		t->counts.flows++;
		*dir = up ? FLOW_UP : FLOW_DOWN;
		*is_new = true;
	} else {
		list_del(t, f);
		list_add(t, f, f->flow__list);
	}
	f->last_ns = t->now;
	f->last_dir_ns[*dir] = t->now;
	f->bytes[*dir] += k->ip_len;
	f->packets[*dir]++;
	f->payload[*dir] += k->payload_len;
	if (k->has_mac) {
		if (*dir == FLOW_UP && !f->has_cmac) {
			memcpy(f->cmac, k->smac, 6);
			f->has_cmac = true;
		} else if (*dir == FLOW_DOWN && !f->has_smac) {
			memcpy(f->smac, k->smac, 6);
			f->has_smac = true;
		}
	}
	if (k->proto == IPPROTO_TCP && k->frag != FRAG_LATER)
		tcp_track(t, f, k, *dir, t->now);
	else if (*dir == FLOW_DOWN)
		f->answered = true;
	return f;
}

void flow_flush(struct flow_table *t)
{
	for (int i = 0; i < L_COUNT; i++)
		while (t->lists[i].head)
			flow_end(t, t->lists[i].head, FLOW_FLUSHED);
}

void flow_counts(const struct flow_table *t, struct flow_counts *c)
{
	*c = t->counts;
}

void flow_table_free(struct flow_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nchunks; i++)
		free(t->chunks[i]);
	free(t->chunks);
	free(t->buckets);
	free(t->frags);
	free(t);
}
