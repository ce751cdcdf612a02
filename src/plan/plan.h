/* plan.h - each generate statement resolved against the topology: the
 * hosts at each end, the class parts of a mix with their rates, and the
 * defaults applied.  Checks that each statement fits the links on its
 * paths.  Pure: no I/O. */
#ifndef DYNAMO_PLAN_H
#define DYNAMO_PLAN_H

#include "../spec/spec.h"
#include "../topo/topo.h"

struct plan_part {
	enum spec_class cls;
	spec_protoset protos;   /* never 0: the class's protocols by default */
	uint64_t rate;          /* bits/s */
	uint32_t share_ppm;     /* of the statement (1000000 unless a mix) */
};

struct plan_stmt {
	size_t index;           /* 1-based, in file order */
	const struct spec_gen *gen;
	size_t *from, *to;      /* node indexes */
	size_t nfrom, nto;
	uint64_t pairs;         /* (from, to) host pairs, a != b */
	struct plan_part *parts;
	size_t nparts;
	char *label;
	/* the link on the paths with the least room, and the statement's
	 * share of traffic through it */
	size_t bottleneck_node, bottleneck_iface;
	uint64_t bottleneck_rate;
};

struct plan {
	const struct spec *spec;
	struct topo *topo;      /* owned */
	struct plan_stmt *stmts;
	size_t nstmts;
};

/* Resolve a spec without errors; owns t.  Capacity errors go into s and
 * make it return NULL. */
struct plan *plan_build(struct spec *s, struct topo *t);
void plan_free(struct plan *p);

#endif
