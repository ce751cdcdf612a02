/* loop-int.h - what the event loop shares with its polling backend. */
#ifndef DYNAMO_LOOP_INT_H
#define DYNAMO_LOOP_INT_H

#include "loop.h"

struct loop__backend;

int loop__be_new(struct loop__backend **out);
void loop__be_free(struct loop__backend *be);
/* Watch io for mask; old is what was watched before (0: not at all). */
int loop__be_set(struct loop__backend *be, struct io *io, unsigned old, unsigned mask);
/* Wait up to timeout_ns (-1: no limit) and call fire(l, io, revents)
 * for each event. */
/* How long loop_once() waits at now for the timers, at most timeout_ns
 * (-1: no bound): what the backend is asked for. */
int64_t loop__wait_ns(const struct loop *l, uint64_t now, int64_t timeout_ns);
int loop__be_poll(struct loop__backend *be, struct loop *l, int64_t timeout_ns,
		  void (*fire)(struct loop *l, struct io *io, unsigned revents));

#endif
