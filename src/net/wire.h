/* wire.h - delay, jitter and loss on links, for kernels without netem.
 *
 * A link with such conditions is cut in the emulation's root namespace:
 * its node-side end (A) leaves the bridge, a second veth pair joins the
 * bridge, and its free end (B) faces A.  A wire moves frames between A
 * and B through AF_PACKET sockets, holding each for its delay (plus a
 * uniform jitter, never reordering, as on a real link) and dropping it
 * with the loss probability.  Frames keep their virtio-net header, so
 * checksum offload and GSO survive the trip.  Rate limits stay in the
 * kernel (tbf on each direction's way out).  All wires of a lab run in
 * one event loop in the lab's holder. */
#ifndef DYNAMO_WIRE_H
#define DYNAMO_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "../topo/topo.h"

#define WIRE_WUR __attribute__((warn_unused_result))

struct wires;

/* A set of wires; seed makes loss and jitter reproducible. */
int wires_new(struct wires **out, uint64_t seed) WIRE_WUR;
void wires_free(struct wires *w);

/* A wire between interfaces a and b (indexes in the current namespace):
 * frames from a to b get a2b, from b to a get b2a (only delay, jitter
 * and loss are used).  Sockets are made in the current namespace. */
int wire_add(struct wires *w, int a, int b, const struct topo_cond *a2b,
	     const struct topo_cond *b2a, char *err, size_t errlen) WIRE_WUR;

/* Move frames until stop_fd becomes readable (a signalfd, say). */
int wires_run(struct wires *w, int stop_fd, char *err, size_t errlen) WIRE_WUR;

/* Counters of one direction of wire i: frames passed, lost, dropped
 * because the queue was full. */
struct wire_stats {
	uint64_t passed, lost, overflow;
};
void wire_stats(const struct wires *w, size_t i, int dir, struct wire_stats *st);
size_t wires_count(const struct wires *w);

#endif
