/* loop.c - the event loop: timers in a binary heap ordered by deadline,
 * deferred work, and dispatch of the backend's events (see loop.h). */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "../lib/util.h"
#include "loop-int.h"

struct loop {
	struct loop__backend *be;
	struct timer **heap;      /* heap[0] fires first */
	size_t nheap, heap_cap;
	size_t nprecise;          /* precise timers armed */
	struct defer *deferred;   /* LIFO; order does not matter */
	void (*before)(struct loop *l, void *arg);
	void *before_arg;
	uint64_t now;
	size_t nio;
	bool stop;
	bool stale;               /* now predates the wait that just ended */
};

uint64_t loop_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int loop_new(struct loop **out)
{
	struct loop *l = xcalloc(1, sizeof(*l));
	int err = loop__be_new(&l->be);

	if (err) {
		free(l);
		return err;
	}
	l->now = loop_clock();
	*out = l;
	return 0;
}

static void run_deferred(struct loop *l)
{
	while (l->deferred) {
		struct defer *d = l->deferred;

		l->deferred = d->next;
		d->fn(d);
	}
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	run_deferred(l);
	loop__be_free(l->be);
	free(l->heap);
	free(l);
}

int loop_io_set(struct loop *l, struct io *io, unsigned mask)
{
	int err;

	mask &= IO_IN | IO_OUT;
	if (mask == io->mask)
		return 0;
	err = loop__be_set(l->be, io, io->mask, mask);
	if (err)
		return err;
	if (!io->mask)
		l->nio++;
	else if (!mask)
		l->nio--;
	io->mask = mask;
	return 0;
}

void loop_io_stop(struct loop *l, struct io *io)
{
	if (!io->mask)
		return;
	/* Deleting can only fail for a descriptor already closed, which
	 * epoll has then dropped by itself. */
	(void)loop__be_set(l->be, io, io->mask, 0);
	io->mask = 0;
	l->nio--;
}

/* ---- timers: a binary min-heap; slot is the index + 1 ---------------- */

static void heap_place(struct loop *l, size_t i, struct timer *t)
{
	l->heap[i] = t;
	t->slot = i + 1;
}

static void heap_up(struct loop *l, size_t i)
{
	struct timer *t = l->heap[i];

	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (l->heap[p]->when <= t->when)
			break;
		heap_place(l, i, l->heap[p]);
		i = p;
	}
	heap_place(l, i, t);
}

static void heap_down(struct loop *l, size_t i)
{
	struct timer *t = l->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= l->nheap)
			break;
		if (c + 1 < l->nheap && l->heap[c + 1]->when < l->heap[c]->when)
			c++;
		if (t->when <= l->heap[c]->when)
			break;
		heap_place(l, i, l->heap[c]);
		i = c;
	}
	heap_place(l, i, t);
}

void loop_timer_stop(struct loop *l, struct timer *t)
{
	size_t i;
	struct timer *last;

	if (!t->slot)
		return;
	i = t->slot - 1;
	t->slot = 0;
	l->nprecise -= t->precise;
	last = l->heap[--l->nheap];
	if (last == t)
		return;
	heap_place(l, i, last);
	if (i > 0 && l->heap[(i - 1) / 2]->when > last->when)
		heap_up(l, i);
	else
		heap_down(l, i);
}

void loop_timer_start(struct loop *l, struct timer *t, uint64_t delay_ns)
{
	loop_timer_stop(l, t);
	t->when = l->now + delay_ns;
	if (l->nheap == l->heap_cap) {
		l->heap_cap = l->heap_cap ? 2 * l->heap_cap : 64;
		l->heap = xreallocarray(l->heap, l->heap_cap, sizeof(*l->heap));
	}
	l->heap[l->nheap] = t;
	l->nprecise += t->precise;
	heap_up(l, l->nheap++);
}

void loop_defer(struct loop *l, struct defer *d, void (*fn)(struct defer *d))
{
	d->fn = fn;
	d->next = l->deferred;
	l->deferred = d;
}

void loop_before_sleep(struct loop *l, void (*fn)(struct loop *l, void *arg), void *arg)
{
	l->before = fn;
	l->before_arg = arg;
}

uint64_t loop_now(const struct loop *l)
{
	return l->now;
}

size_t loop_nio(const struct loop *l)
{
	return l->nio;
}

size_t loop_ntimers(const struct loop *l)
{
	return l->nheap;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}

/* An event for io: skipped when an earlier callback of the same batch
 * stopped watching it (its owner may be waiting in the deferred list). */
static void fire(struct loop *l, struct io *io, unsigned revents)
{
	/* A loop idle for long (a host whose server is a program) would
	 * start timers from an event as if it came when the wait began. */
	if (l->stale) {
		l->now = loop_clock();
		l->stale = false;
	}
	revents &= io->mask;
	if (revents)
		io->cb(l, io, revents);
}

static void run_timers(struct loop *l)
{
	/* At most as many callbacks as timers were armed on entry, so a
	 * timer that re-arms itself with 0 cannot starve I/O. */
	uint64_t now = l->now;
	size_t budget = l->nheap;

	while (budget-- && l->nheap && l->heap[0]->when <= now && !l->stop) {
		struct timer *t = l->heap[0];

		loop_timer_stop(l, t);
		t->cb(l, t);
	}
}

/* To the nanosecond while a precise timer is armed (a generic flow's
 * packets keep gaps of fractions of a millisecond), whichever timer
 * comes first: rounding an earlier one up would hold the precise one
 * back to the next millisecond too (gaps of 1.03 ms were a copy's
 * commonest).  Else to the next whole millisecond, as the agents and
 * the run's controller were tuned to. */
int64_t loop__wait_ns(const struct loop *l, uint64_t now, int64_t timeout_ns)
{
	uint64_t when;
	int64_t ns;

	if (!l->nheap)
		return timeout_ns;
	when = l->heap[0]->when;
	ns = when <= now ? 0 : (int64_t)MIN(when - now, 60000000000ull);
	if (!l->nprecise)
		ns = (ns + 999999) / 1000000 * 1000000;
	return timeout_ns < 0 || ns < timeout_ns ? ns : timeout_ns;
}

int loop_once(struct loop *l, int timeout_ms)
{
	int64_t timeout_ns = timeout_ms < 0 ? -1 : (int64_t)timeout_ms * 1000000;
	int n;

	if (l->before)
		l->before(l, l->before_arg);
	timeout_ns = loop__wait_ns(l, loop_clock(), timeout_ns);
	l->stale = true;
	n = loop__be_poll(l->be, l, timeout_ns, fire);
	l->now = loop_clock();
	if (n >= 0)
		run_timers(l);
	run_deferred(l);
	return n < 0 ? n : 0;
}

int loop_run(struct loop *l)
{
	int err = 0;

	l->stop = false;
	while (!l->stop && !err)
		err = loop_once(l, -1);
	return err;
}
