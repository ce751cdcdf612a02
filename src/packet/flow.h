/* flow.h - bidirectional flows from decoded packets: one per transport
 * 5-tuple while it lives, with who opened it, TCP state, and bytes and
 * packets each way.  Flows end when TCP closes (FIN both ways, or RST,
 * after a short linger for the last ACKs), when idle too long, when a
 * new SYN reuses a closed tuple, or when the table is full and the flow
 * is the one seen least recently (evicted, and counted).  Memory is
 * bounded by the most flows the table may hold, given at creation.
 *
 * Time is the capture's: each packet's timestamp moves the table's
 * clock forward (never back: a packet from the past is taken as now). */
#ifndef DYNAMO_FLOW_H
#define DYNAMO_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

/* Directions: from the flow's client (who opened it) to its server,
 * and back. */
enum { FLOW_UP, FLOW_DOWN };

enum flow_end { FLOW_CLOSED, FLOW_IDLE, FLOW_REUSED, FLOW_EVICTED, FLOW_FLUSHED };

struct flow {
	uint8_t client[16], server[16];   /* as in struct pkt */
	uint16_t cport, sport;
	uint8_t proto;
	uint8_t family;
	bool client_sure;        /* a SYN told; else guessed from ports */
	bool answered;           /* TCP: the server's SYN-ACK was seen; else
				  * any packet back */
	bool syn_only;           /* TCP: opened by a SYN never answered */
	uint8_t cmac[6], smac[6];  /* the frames' source MACs each way, */
	bool has_cmac, has_smac;   /* when the link has them */
	uint16_t vlan;
	uint64_t id;             /* in order of first packet, from 1 */
	uint64_t first_ns, last_ns;
	uint64_t last_dir_ns[2];
	uint64_t bytes[2];       /* IP bytes each way */
	uint64_t packets[2];
	uint64_t payload[2];     /* transport payload bytes each way */
	uint32_t rtt_us;         /* TCP: SYN to SYN-ACK to ACK, the round trip
				  * through the capture point (0: not seen) */
	/* internals */
	uint32_t flow__hs_us;    /* SYN to SYN-ACK */
	uint64_t flow__synack_ns;
	uint8_t flow__state, flow__list, flow__fins;
	uint32_t flow__hash;
	struct flow *flow__next, *flow__lprev, *flow__lnext;
};

struct flow_config {
	size_t max_flows;        /* at once; 0: 1048576 */
	size_t user_size;        /* bytes after each struct flow for the caller */
	double tcp_idle_s;       /* an open TCP flow (0: 600) */
	double udp_idle_s;       /* UDP, ICMP, other, and unanswered TCP (0: 120) */
	double linger_s;         /* after FIN both ways or RST (0: 5) */
	/* A flow ends (never NULL): its last call; user data goes with it. */
	void (*end)(struct flow *f, enum flow_end why, void *arg);
	void *arg;
};

struct flow_counts {
	uint64_t flows;          /* made, ever */
	uint64_t evicted;        /* ended early because the table was full */
	uint64_t frag_orphans;   /* later fragments whose first was not seen */
	uint64_t backwards;      /* packets stamped before the clock */
	size_t peak;             /* most flows at once */
};

struct flow_table;

struct flow_table *flow_table_new(const struct flow_config *c);
/* The packet's flow (made if new; *is_new says), and its direction.
 * ts_ns is its capture timestamp. Ends the flows that expire by then. */
struct flow *flow_packet(struct flow_table *t, const struct pkt *k, uint64_t ts_ns, int *dir,
			 bool *is_new);
/* The caller's bytes of f (config.user_size of them, zeroed when made). */
static inline void *flow_user(struct flow *f)
{
	return f + 1;
}
/* End every flow still open (FLOW_FLUSHED). */
void flow_flush(struct flow_table *t);
void flow_counts(const struct flow_table *t, struct flow_counts *c);
/* Ends nothing: call flow_flush() first to see every flow. */
void flow_table_free(struct flow_table *t);

#endif
