/* plan.h - each generate statement resolved against the topology: the
 * hosts at each end, the class parts of a mix with their rates, and the
 * defaults applied.  Checks that each statement fits the links on its
 * paths.  Pure: no I/O. */
#ifndef DYNAMO_PLAN_H
#define DYNAMO_PLAN_H

#include "../catalog/catalog.h"
#include "../spec/spec.h"
#include "../topo/topo.h"

/* Per instance, a source is planned at most this fraction of its
 * measured rate-max, so that the controller has room to catch up. */
#define PLAN_HEADROOM 0.8
/* What one client task (a from host, a to host, a protocol) can run. */
#define PLAN_TASK_USERS 1024
#define PLAN_NOPICK 0xff

/* One source the planner chose for a part, from the catalog given to
 * plan_choose() (which must outlive the plan). */
struct plan_source {
	const struct catalog_entry *e;
	spec_protoset protos;   /* the part's protocols it serves */
	uint32_t tasks;         /* client tasks: (from, to, protocol) */
	double share;           /* of the part's rate, 0..1 */
	uint32_t instances;     /* each users users, as measured */
	uint32_t users;
	double think_scale;     /* to start with; the controller steers it */
	uint64_t rate;          /* bits/s (packets/s) expected; 0 when not measured */
	double flows;           /* concurrent TCP flows expected */
};

struct plan_part {
	enum spec_class cls;
	spec_protoset protos;   /* never 0: the class's protocols by default */
	uint64_t rate;          /* bits/s, or packets/s when packets */
	bool packets;
	uint32_t share_ppm;     /* of the statement (1000000 unless a mix) */
	/* plan_choose(): the sources, and for each to host and protocol
	 * the one that serves it there (pick[j * PROTO__COUNT + proto],
	 * an index into srcs, or PLAN_NOPICK) */
	struct plan_source *srcs;
	size_t nsrcs;
	uint8_t *pick;
	uint64_t expect_rate;
	double expect_flows;
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

/* Whether a catalog entry can run here (a program must be installed);
 * false with the reason in why. */
typedef bool (*plan_usable_fn)(const struct catalog_entry *e, char *why, size_t whylen, void *arg);

/* Choose the sources of every part from c: for each to host and
 * protocol one source, as many different sources as fit (a real
 * network runs a mix), one server per host and port across all
 * statements; then instances and knobs from the measured profiles so
 * that the rate and flow constraints are met.  measuring: for 'catalog
 * measure', which runs a source as it is: unmeasured sources too, one
 * instance per task at the default knobs, no sizing.  0, or -ENOENT (no
 * source) / -EINVAL (cannot be met) with "statement N: why" in err. */
int plan_choose(struct plan *p, const struct catalog *c, plan_usable_fn usable, void *arg,
		bool measuring, char *err, size_t errlen) __attribute__((warn_unused_result));
/* One instance's measured rate at the default knobs (at think-scale's
 * min when max): bits/s, or packets/s when packets (the packets at
 * rate-max estimated at the same packet size). */
double plan_instance_rate(const struct catalog_entry *e, bool packets, bool max);
/* Flows one source needs at least for v bits/s (packets/s), by its
 * measured rate per flow at rate-max (0 for sources without TCP
 * flows). */
uint64_t plan_flows_needed(const struct catalog_entry *e, double v, bool packets);

#endif
