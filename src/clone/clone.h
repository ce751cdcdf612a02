/* clone.h - what a capture says about the network it was taken on: its
 * hosts (internal or external, the services each answered, the MACs
 * behind them), its subnets and gateways, and its traffic in groups of
 * (client zone, server, class, protocol), each with its rate over time,
 * concurrent flows, flow arrivals, and distributions of flow sizes and
 * durations, packet sizes and inter-arrival times.  clone_spec() writes
 * a spec that reproduces it.
 *
 * Time is the capture's active time: a silence longer than gap_s (a
 * capture stitched from sessions years apart, or a long lull) counts as
 * one second, so rates are over the time traffic flowed. */
#ifndef DYNAMO_CLONE_H
#define DYNAMO_CLONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../lib/hist.h"
#include "../lib/util.h"
#include "../packet/classify.h"
#include "../packet/flow.h"
#include "../packet/reader.h"
#include "../spec/spec.h"

#define CLONE_EXTERNAL UINT32_MAX     /* the zone of what is not internal */

struct clone_cidr {
	uint8_t addr[16];             /* as in struct pkt */
	int bits;                     /* of the 128 */
};

struct clone_opts {
	const char *mapfile;          /* data/clone/ndpi.map */
	struct classifier *classifier;   /* one made already, or NULL: made
					  * from mapfile for this read */
	const struct clone_cidr *internal;   /* NULL: the private ranges */
	size_t ninternal;
	size_t max_flows;             /* 0: flow.h's default */
	double gap_s;                 /* 0: 60 */
};

struct clone_service {
	uint8_t l4;                   /* IPPROTO_TCP, IPPROTO_UDP */
	uint16_t port;
	uint8_t cls, proto;           /* of most of its bytes */
	uint64_t flows, answered, bytes;
	uint64_t cls_bytes[CLASS__COUNT];
	uint64_t proto_bytes[PROTO__COUNT];
};

struct clone_host {
	uint8_t addr[16];
	bool internal;
	bool special;                 /* multicast, broadcast, loopback, unspecified */
	uint32_t zone;                /* index in subnets, or CLONE_EXTERNAL */
	uint8_t mac[6];
	bool has_mac;
	uint64_t bytes_sent, bytes_recv, packets_sent, packets_recv;
	uint64_t flows_out, flows_in; /* as client, as server */
	struct clone_service *svc;
	size_t nsvc, svc_cap;
	uint32_t num;                 /* given by clone_spec(): h<num>; 0 for none */
	char name[24];                /* its name, "h<num>" */
};

struct clone_subnet {
	uint8_t prefix[16];
	int bits;                     /* 120 (an IPv4 /24) or 64 */
	size_t nhosts;
	uint32_t max_tcp;             /* the largest TCP packet to or from it (IP bytes) */
	uint8_t gw_mac[6];            /* the MAC external traffic came with */
	bool has_gw;
	char name[24];
};

/* Counts per second of active time; bins widen (merging pairs) when
 * the capture is long, so memory stays bounded. */
struct clone_series {
	double *v;
	size_t n, cap;
	uint32_t width;               /* seconds a bin */
};

struct clone_group {
	uint32_t czone;               /* the clients' zone */
	int64_t server;               /* host index; -1: external servers */
	uint8_t cls, proto;
	uint16_t port;                /* the server port most bytes went to */
	uint64_t flows, bytes[2], packets[2];
	uint64_t first_ns, last_ns;   /* active time */
	struct hist pkt_size, iat_us, flow_bytes, flow_us;
	/* TCP exchanges: a request is what the client sends until the
	 * server answers, a response what the server sends until the client
	 * speaks again (payload bytes); think is the time from a response's
	 * last packet to the next request's first.  What sizes the objects
	 * and pauses of a source that reproduces the group. */
	struct hist req_bytes, resp_bytes, think_us;
	struct hist flow_reqs;        /* requests on each TCP flow that closed with some */
	/* Data packets (TCP with payload; every other), what a generic
	 * source reproduces: their payloads by direction, the gaps between
	 * a flow's data packets either way, and how many a flow holds. */
	struct hist up_payload, down_payload, data_gap_us, flow_data;
	uint64_t data[2];
	char *model;                  /* 'using model' of its statement, or NULL */
	struct clone_series rate, opens, starts;
	uint32_t *clients;            /* host indices */
	size_t nclients, clients_cap;
	struct { char name[48]; uint64_t bytes; } names[4];   /* nDPI's, most bytes */
	uint64_t port_bytes[4];
	uint16_t ports[4];
};

struct clone_result {
	struct reader_counts rc;
	struct flow_counts fc;
	char warning[256];
	uint64_t active_ns;           /* the capture's active time */
	uint64_t gaps;                /* silences taken out */
	uint64_t bytes, packets, flows;
	uint64_t cls_bytes[CLASS__COUNT], cls_flows[CLASS__COUNT];
	uint64_t how_flows[3];        /* by enum cls_how */
	struct clone_host *hosts;
	size_t nhosts;
	struct clone_subnet *subnets;
	size_t nsubnets;
	struct clone_group *groups;
	size_t ngroups;
	int link;
	struct hist ext_rtt_us;       /* TCP handshakes between inside and out */
};

/* Read everything r has into res.  0, or -1 with err set (res holds
 * what was read up to there, and is freed by clone_result_free). */
int clone_read(struct reader *r, const struct clone_opts *o, struct clone_result *res, char *err,
	       size_t errlen);
void clone_result_free(struct clone_result *res);

/* Parse "10.0.0.0/8" or "2001:db8::/32" into c: 0, or -1. */
int clone_cidr_parse(const char *s, struct clone_cidr *c);

/* Map addresses with key (prefix-preserving; private IPv4 ranges stay
 * private), before clone_spec(); NULL key: leave them. */
void clone_anonymize(struct clone_result *res, const char *key);

/* Name res's subnets (lan1, ...) and internal hosts (h1, ...), as
 * clone_spec() does: by address, so the same capture gives the same
 * names. */
void clone_name(struct clone_result *res);

/* The spec that reproduces res, into b; capture is named in its header.
 * Names the hosts and subnets in res.  Groups of a class whose
 * playable[] is false (no source in the catalog) are written as
 * comments, and their bytes counted in *unplayable. */
void clone_spec(struct clone_result *res, const char *capture, const bool *playable,
		struct buf *b, uint64_t *unplayable);

/* A behaviour model fitted to groups (their indices in res; the same
 * server and protocol, as one server answers them all), as model text
 * into b: the protocol's actions, with the sizes and pauses the capture
 * shows, as quantiles.  base is the text of the protocol's own model,
 * which the fitted one is but for the lines fitted.  false when base is
 * NULL, when no model of their protocol can be fitted (web's and ftp's
 * are, for now), or when they hold too little. */
bool clone_fit(const struct clone_result *res, const size_t *groups, size_t n, const char *capture,
	       const char *base, struct buf *b);

/* The group's rate over active time, bits/s; the fewest flows open in
 * 90 % of its seconds. */
uint64_t clone_group_rate(const struct clone_result *res, const struct clone_group *g);
uint64_t clone_group_flows(const struct clone_group *g);

#endif
