/* generic.h - flows for traffic no agent speaks (class generic, over
 * tcp or udp), made to a model's statistics: a flow is a schedule of
 * packets, and for each its gap from the flow's last packet, its
 * direction and its payload's size, drawn from the model:
 *
 *   packets     packets in a flow, both ways (at least 1)
 *   gap         the time from a flow's packet to its next, either way
 *   down        the chance a packet is the server's
 *   up_size     payload bytes of a client's packet
 *   down_size   payload bytes of a server's packet
 *   port        the server's port (optional; the spec's 'serves tcp port
 *               P' comes first; else 9000)
 *
 * Both ends walk the same schedule from one seed, which the client
 * sends in the first 8 bytes of its first packet (so that packet is 8
 * bytes at least); each end sends its own packets at their times and
 * counts the other's, so the flow's packets keep the model's sizes and
 * gaps whatever the direction.  The walk is a pure function of the
 * model and the seed, for the tests. */
#ifndef DYNAMO_GENERIC_H
#define DYNAMO_GENERIC_H

#include <stdbool.h>
#include <stdint.h>

#include "../engine/model.h"
#include "../engine/rng.h"

#define GEN_PORT 9000
#define GEN_SEED_BYTES 8
#define GEN_MAX_PACKETS 10000000ull
#define GEN_MAX_TCP 1448u          /* a payload that leaves as one segment */
#define GEN_MAX_UDP 1472u          /* a datagram in one 1500-byte packet */
#define GEN_MAX_GAP 3600.0

struct gen_walk {
	struct rng r;
	uint64_t left;             /* packets after this one */
	double at;                 /* s from the flow's first packet to this one */
	uint32_t size;             /* this packet's payload */
	bool down;                 /* this packet is the server's */
	bool tcp;
};

/* The schedule of seed under m: its first packet (the client's, at 0). */
void gen__begin(struct gen_walk *w, const struct model *m, uint64_t seed, bool tcp);
/* On to the next packet; false when the schedule has no more. */
bool gen__next(struct gen_walk *w, const struct model *m);

#endif
