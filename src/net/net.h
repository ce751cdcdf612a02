/* net.h - make a resolved topology real with network namespaces.
 *
 * The process first moves into a private network namespace of its own
 * (behind a user namespace when not root): the emulation's root, where
 * the switches (bridges) live.  Every host and router gets a namespace
 * held only by a file descriptor of this process, so when the process
 * dies, however it dies, the kernel removes every namespace, interface
 * and route of the emulation.  The machine's own namespace is never
 * touched.  System-layer rules: functions return 0 or -errno, write a
 * message into err, and never print or exit. */
#ifndef DYNAMO_NET_H
#define DYNAMO_NET_H

#include <stdbool.h>
#include <stddef.h>

#include "../topo/topo.h"

#define NET_WUR __attribute__((warn_unused_result))

struct net {
	const struct topo *topo;
	int root_fd;       /* the emulation's root namespace */
	int *ns_fd;        /* per node */
	size_t *probe;     /* per host: the node it pings, or TOPO_NONE */
	bool rootless;     /* behind a user namespace */
	bool netem;        /* the kernel does delay, jitter and loss itself */
	/* links with delay, jitter or loss, for wire_add(): interface
	 * indexes in the root namespace, a facing the node */
	struct net_wire {
		int a, b;
		size_t node, iface;
	} *wires;
	size_t nwires;
};

/* Does a link need delay, jitter or loss in a direction?  With netem
 * the kernel does it; without, a wire (see wire.h). */
bool net_needs_wire(const struct topo_iface *f);

/* Move the calling process into a private network namespace (and a user
 * namespace first when not root).  Call it single-threaded, before any
 * other namespace work. */
int net_private(bool *rootless, char *err, size_t errlen) NET_WUR;

/* Build t inside the current (private) namespace. */
int net_build(struct net *n, const struct topo *t, char *err, size_t errlen) NET_WUR;

/* Each host pings its gateway (or a neighbour on its subnet) until all
 * answer or timeout_ms passes; returns 0, or -ETIMEDOUT naming a host
 * that did not answer. */
int net_probe(struct net *n, int timeout_ms, char *err, size_t errlen) NET_WUR;

/* Close every namespace: the kernel removes them and all in them. */
void net_destroy(struct net *n);

/* Enter namespace fd (CLONE_NEWNET). */
int net_enter(int fd) NET_WUR;

#endif
