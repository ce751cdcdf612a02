/* compare.h - how close a generated trace is to its reference: the class
 * and protocol mix by bytes, the rate over active time, the internal
 * hosts and services of the reference that the generated trace has, and
 * per class the distances between the distributions clone measures
 * (packet sizes, inter-arrival times, flow sizes and durations, and TCP
 * request and response sizes):
 * Jensen-Shannon, Kolmogorov-Smirnov and earth mover's.  Pure: it works
 * on two clone results (clone.h). */
#ifndef DYNAMO_COMPARE_H
#define DYNAMO_COMPARE_H

#include "../clone/clone.h"
#include "../lib/hist.h"

enum cmp_metric { CMP_PKT_SIZE, CMP_IAT, CMP_FLOW_BYTES, CMP_FLOW_DUR, CMP_REQ, CMP_RESP,
		  CMP__COUNT };

struct cmp_dist {
	double js, ks, emd;
	double js_floor;              /* a sample of ref's size from gen itself */
	struct hist ref, gen;
};

struct cmp_class {
	bool present;                 /* in either trace */
	double share_ref, share_gen;  /* of all bytes, 0..1 */
	struct cmp_dist d[CMP__COUNT];
};

struct cmp_result {
	uint64_t rate_ref, rate_gen;  /* bits/s over active time */
	double mix_error;             /* the largest class share difference, 0..1 */
	int mix_worst;                /* its class, or -1 */
	double proto_ref[PROTO__COUNT], proto_gen[PROTO__COUNT];
	double proto_error;
	size_t hosts_ref, hosts_covered;       /* the reference's internal hosts */
	size_t services_ref, services_covered; /* its internal (host, transport, port) answered */
	size_t external_ref, external_gen;     /* external hosts on each side */
	struct cmp_class cls[CLASS__COUNT];
	struct cmp_dist all[CMP__COUNT];       /* every class together */
};

const char *cmp_metric_name(enum cmp_metric m);   /* "packet_size", ... */
const char *cmp_metric_unit(enum cmp_metric m);   /* "B", "us" */

void compare_results(const struct clone_result *ref, const struct clone_result *gen,
		     struct cmp_result *out);

/* Profiles (dynamo clone --profile) stand for their captures: what
 * compare needs of one (totals, classes, hosts and services, each
 * group's distributions) read back as a clone result.  -1 with err
 * naming the place: "NAME:LINE:COLUMN: ..." for JSON that does not
 * parse, "NAME: groups[2].class: ..." for a value that is not right. */
int profile_parse(const char *name, const char *text, size_t len, struct clone_result *r, char *err,
		  size_t errlen);
int profile_read(const char *path, struct clone_result *r, char *err, size_t errlen);
/* Does path hold a profile (JSON) rather than a capture? */
bool profile_is(const char *path);

/* An HTML page of r, with per class and metric the two CDFs side by side
 * (SVG, log-scaled values), into b.  Names are the two traces'. */
void compare_html(const struct cmp_result *r, const char *ref_name, const char *gen_name,
		  struct buf *b);

#endif
