/* steer.h - the controller of one statement part: from what crossed the
 * wire (IP bytes, TCP flows open) and what its client tasks did (bytes
 * at their sockets, time their users waited for the bucket), it sets
 * each task's bucket rate and how many groups of users it runs, so that
 * the part's rate and flows hold their targets (docs/control.md).
 *
 * Pure: numbers in, numbers out, no clock of its own; the run calls
 * steer_tick several times a second. */
#ifndef DYNAMO_STEER_H
#define DYNAMO_STEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../spec/spec.h"

struct steer_task {
	double weight;           /* its share of the part */
	uint32_t groups_max;
	/* in: what the host said */
	uint64_t used;           /* bytes at its sockets, ever */
	uint64_t starved_ns;     /* time its users waited, ever */
	uint32_t running;        /* groups running */
	/* out */
	uint64_t rate;           /* bytes/s for its bucket; 0: no limit */
	uint32_t want;           /* groups */
	double think;            /* multiplies the users' think times */
	/* state */
	uint64_t seen_ns, seen_used, seen_starved;
	uint64_t grown_ns;       /* when groups were last added */
};

struct steer {
	double target;           /* IP bytes/s, both directions; 0: none
				  * (IP packets/s after steer_packets()) */
	enum spec_flow_op op;
	uint32_t flows;
	uint64_t warmup_ns;
	struct steer_task *tasks;
	size_t ntasks;
	/* state */
	double k;                /* wire bytes (packets) per socket byte */
	double k_lo, k_hi;       /* the range it is believed in */
	uint64_t k_min_used;     /* socket units a look needs before k is */
	double demand_tokens;    /* a look at demand spans at least these */
#define K_LOOKS 50
	uint64_t look_wire[K_LOOKS], look_used[K_LOOKS];
	size_t nlooks;
	bool warm;
	uint64_t ref_ns, ref_wire;
	uint64_t last_ns;
	uint64_t flows_ns;       /* last change made for the flows */
};

/* Targets: rate in bits/s (0: none); tasks[i].weight and groups_max and
 * want (the groups to start with) set by the caller. */
void steer_init(struct steer *s, uint64_t rate_bps, enum spec_flow_op op, uint32_t flows,
		uint64_t warmup_ns, struct steer_task *tasks, size_t ntasks);
/* Hold a packet rate instead: target IP packets/s, both directions,
 * counted by the wire figure steer_tick() is given, with the tasks'
 * buckets counting segments (pace_per_segment()); k0 is the packets
 * per segment to start with. */
void steer_packets(struct steer *s, double pps, double k0);
/* A look at now_ns from the part's start: its wire bytes so far and its
 * TCP flows open.  Sets each task's rate and want. */
void steer_tick(struct steer *s, uint64_t now_ns, uint64_t wire, uint64_t open);

#endif
