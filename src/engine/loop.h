/* loop.h - the per-host event loop (after Redis' ae): file events with a
 * mask and a callback, timers in a heap, deferred work that runs after
 * the current iteration, and a before-sleep hook.  Watchers are embedded
 * in their owner and found with container_of; the loop allocates nothing
 * per watcher, so an idle session costs only its own struct.
 *
 * Freeing rule: a callback that ends a session must stop its watchers and
 * hand the memory to loop_defer(), never free it on the spot; events for
 * it later in the same batch are then skipped, not delivered to freed
 * memory.  System-layer rules: 0 or -errno, never prints. */
#ifndef DYNAMO_LOOP_H
#define DYNAMO_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOOP_WUR __attribute__((warn_unused_result))

#ifndef container_of
#define container_of(ptr, type, member) \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))
#endif

struct loop;

enum { IO_IN = 1, IO_OUT = 2 };

/* A file event.  revents is IO_IN and/or IO_OUT; an error or hangup on
 * the descriptor is reported as both, so the owner's read or write sees
 * it.  Set fd and cb, then loop_io_set(). */
struct io {
	int fd;
	unsigned mask;          /* what is watched now; 0 when stopped */
	void (*cb)(struct loop *l, struct io *io, unsigned revents);
};

/* A one-shot timer; re-arm it from its callback for periodic work. */
struct timer {
	uint64_t when;          /* loop clock, ns */
	size_t slot;            /* heap index + 1; 0 when not armed */
	void (*cb)(struct loop *l, struct timer *t);
	bool precise;           /* wake to the nanosecond (and so every timer
				 * of the loop while it is armed); else the
				 * wait is rounded up to the millisecond, as the
				 * agents and the run's controller were tuned
				 * to.  Set it before arming. */
};

/* Work to run after the current batch of events (frees, mostly). */
struct defer {
	struct defer *next;
	void (*fn)(struct defer *d);
};

int loop_new(struct loop **out) LOOP_WUR;
void loop_free(struct loop *l);  /* accepts NULL */

/* Watch io->fd for mask (0 stops watching, as loop_io_stop). */
int loop_io_set(struct loop *l, struct io *io, unsigned mask) LOOP_WUR;
void loop_io_stop(struct loop *l, struct io *io);

void loop_timer_start(struct loop *l, struct timer *t, uint64_t delay_ns);
void loop_timer_stop(struct loop *l, struct timer *t);
static inline bool loop_timer_armed(const struct timer *t)
{
	return t->slot != 0;
}

void loop_defer(struct loop *l, struct defer *d, void (*fn)(struct defer *d));

/* Called before each wait for events. */
void loop_before_sleep(struct loop *l, void (*fn)(struct loop *l, void *arg), void *arg);

/* The loop's clock (CLOCK_MONOTONIC, ns), read once per iteration. */
uint64_t loop_now(const struct loop *l);
uint64_t loop_clock(void);   /* a fresh reading */

/* Run until loop_stop(); returns 0 or -errno from the wait. */
int loop_run(struct loop *l) LOOP_WUR;
void loop_stop(struct loop *l);
/* One iteration, waiting at most timeout_ms (-1: until an event or a
 * timer); for tests. */
int loop_once(struct loop *l, int timeout_ms) LOOP_WUR;

/* Watched descriptors and armed timers, for the counters. */
size_t loop_nio(const struct loop *l);
size_t loop_ntimers(const struct loop *l);

#endif
