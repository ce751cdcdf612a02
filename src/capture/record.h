/* record.h - record the traffic of a run: packet sockets on the hosts'
 * interfaces, each packet kept once (at the client end of its flow, so
 * both directions of a conversation are seen together, before any NAT),
 * written to a pcapng file when asked, and counted per statement.
 *
 * Which end is the client: hosts use ports from RECORD_EPHEMERAL up for
 * outgoing connections (the run sets ip_local_port_range so) and servers
 * listen below it; a packet is kept where it leaves from or arrives at
 * an ephemeral port.  Other packets (ICMP, ...) are kept where they are
 * sent.  System layer: 0 or -errno, never prints. */
#ifndef DYNAMO_RECORD_H
#define DYNAMO_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RECORD_EPHEMERAL 32768
#define RECORD_SNAPLEN 65535

/* A flow of statement stmt: client addr to server addr, transport
 * proto (6, 17), server ports lo..hi; what makes it, for the labels
 * (static strings). */
struct record_rule {
	uint32_t client, server;
	uint8_t proto;
	uint16_t port_lo, port_hi;
	uint32_t stmt;
	uint32_t counter;          /* what it counts toward (a statement's part) */
	const char *cls;           /* its class: "web", ... */
	const char *protocol;      /* "http", "dns" (a web user's lookup), ... */
	const char *source;        /* the agent or program that serves it */
};

/* One flow (TCP or UDP 5-tuple, or an IP protocol between two hosts),
 * a the end that sent first, or the client of its statement; [0] is a
 * to b.  Bytes are frame bytes, as a capture counts them. */
struct record_flow {
	uint64_t first_ns, last_ns;
	uint32_t a, b;
	uint16_t pa, pb;
	uint8_t proto;
	int32_t rule;              /* index of its rule, or -1 */
	uint8_t fins;              /* TCP: bit d when direction d sent FIN */
	bool closed;               /* TCP: both FINs, or a RST */
	uint64_t packets[2], bytes[2];
};

/* IP lengths of packets: at most 64, 128, ... 9000, 65535 bytes. */
#define RECORD_SIZES 8
extern const uint32_t record_size_upper[RECORD_SIZES];

struct record_count {
	uint64_t sizes[RECORD_SIZES];   /* packets by IP length */
	uint64_t bytes;        /* IP bytes, both directions */
	uint64_t packets;
	uint64_t flows;        /* distinct 5-tuples */
	uint64_t open;         /* TCP flows not closed yet */
	uint64_t first_ns, last_ns;
};

/* One second of a counter, from the origin (record_origin). */
struct record_window {
	uint64_t bytes, packets;
};

struct recorder;

/* path NULL: count only.  ncounters counters; rules are copied. */
int record_new(struct recorder **out, const char *path, size_t ncounters,
	       const struct record_rule *rules, size_t nrules) __attribute__((warn_unused_result));
/* Open a packet socket on ifname in the calling thread's network
 * namespace (call it from inside the host's namespace); the recorder
 * takes it.  name labels the interface in the file ("h1-eth0"). */
int record_add(struct recorder *r, const char *ifname, const char *name)
	__attribute__((warn_unused_result));
/* Record until stop_fd becomes readable, then read what is left.
 * Run it on a thread of its own. */
int record_run(struct recorder *r, int stop_fd) __attribute__((warn_unused_result));
/* A counter's totals; safe to call while record_run runs (the figures
 * are each read atomically, not as one snapshot). */
void record_count(const struct recorder *r, size_t counter, struct record_count *c);
/* Where the 1 s windows start (packet time, CLOCK_REALTIME ns); packets
 * before it count in no window.  Safe while record_run runs. */
void record_origin(struct recorder *r, uint64_t ns);
uint64_t record_origin_ns(const struct recorder *r);
/* A counter's windows, once record_run has returned: *n of them. */
const struct record_window *record_series(const struct recorder *r, size_t counter, size_t *n);
/* Every flow recorded, in the order of its first packet. */
void record_flows(const struct recorder *r, void (*fn)(const struct record_flow *f, void *arg),
		  void *arg);
/* The rule a flow matched, or NULL. */
const struct record_rule *record_rule_of(const struct recorder *r, const struct record_flow *f);
/* Packets the kernel dropped before we read them. */
uint64_t record_drops(const struct recorder *r);
uint64_t record_packets(const struct recorder *r);
/* Finish the file and free; 0 or the first write error. */
int record_close(struct recorder *r);

#endif
