/* resolve.h - a stub resolver for agents whose users look a name up
 * before they connect, as a browser does: A and AAAA questions over UDP
 * to the host's resolver, one retransmission, then done() however it
 * went (the user connects to the address it was given either way: the
 * lookup is part of the behaviour, not of the routing). */
#ifndef DYNAMO_RESOLVE_H
#define DYNAMO_RESOLVE_H

#include <stdint.h>

#include "../engine/host.h"

struct resolve;

/* Ask server for name; done(arg, answered) follows once, from the loop.
 * Returns NULL when no socket could be made (then nothing follows).
 * The query is counted in st (tx, rx). */
struct resolve *resolve_start(struct host *h, struct stats *st, uint32_t server,
			      const char *name, void (*done)(void *arg, bool answered), void *arg);
/* Give up a lookup in flight: done() will not be called. */
void resolve_cancel(struct resolve *r);

/* The name the emulation's resolvers give a node: NAME.example. */
#define RESOLVE_DOMAIN "example"

#endif
