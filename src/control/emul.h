/* emul.h - an emulated network made live in the calling process: a
 * private namespace, the network built in it, the links that need a wire
 * carried by a thread, and every host answering.  Used by the holder of
 * a lab (dynamo up) and, next, by dynamo run.  Returns 0 or -errno with a
 * message; never prints. */
#ifndef DYNAMO_EMUL_H
#define DYNAMO_EMUL_H

#include <pthread.h>
#include <stdbool.h>

#include "../net/net.h"
#include "../net/wire.h"

struct emul {
	struct net net;
	struct wires *wires;    /* links with delay, jitter or loss */
	pthread_t tid;
	int stop;               /* eventfd that ends the wire thread */
	bool running;
};

/* Call single-threaded: it moves the process into new namespaces. */
int emul_start(struct emul *e, const struct topo *t, int timeout_ms, char *err,
	       size_t errlen) __attribute__((warn_unused_result));
/* Stop the links and let go of every namespace. */
void emul_stop(struct emul *e);

#endif
