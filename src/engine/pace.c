/* pace.c - see pace.h. */
#include <math.h>

#include "pace.h"
#include "../lib/util.h"

/* A woken waiter finds at least this much room, so that wake-ups come a
 * few hundred times a second at most, not once per packet; a slow
 * bucket wakes its waiters within QUANTUM_MAX_S, not once its rate has
 * gathered 16 KiB (13 s at 10 kbit/s). */
#define QUANTUM_S 0.002
#define QUANTUM_MIN 16384.0
#define QUANTUM_MAX_S 0.05
/* What an idle bucket may gather: at most a quarter of a second's worth
 * on a slow bucket. */
#define BURST_S 0.010
#define BURST_MIN 32768.0
#define BURST_MAX_S 0.25

static double quantum(const struct pace *p)
{
	return MAX(p->rate * QUANTUM_S, MIN(QUANTUM_MIN / p->unit, p->rate * QUANTUM_MAX_S));
}

static double burst(const struct pace *p)
{
	return MAX(p->rate * BURST_S, MIN(BURST_MIN / p->unit, p->rate * BURST_MAX_S));
}

/* Tokens that n bytes moved in one call cost. */
static double cost(const struct pace *p, size_t n)
{
	return p->unit > 1 ? ceil((double)n / p->unit) : (double)n;
}

static void refill(struct pace *p)
{
	uint64_t now = loop_now(p->loop);

	if (p->rate > 0 && now > p->last) {
		p->tokens += p->rate * (double)(now - p->last) / 1e9;
		if (p->tokens > burst(p))
			p->tokens = burst(p);
	}
	p->last = now;
}

static bool waiting(const struct pace *p)
{
	return p->waiters.next != &p->waiters;
}

static void unlink_wait(struct pace_wait *w)
{
	w->prev->next = w->next;
	w->next->prev = w->prev;
	w->next = w->prev = NULL;
}

static void wake(struct pace *p)
{
	struct pace_wait ring;

	/* Everyone waiting gets a go, in order; those who find the bucket
	 * empty again queue again behind the others.  Move the ring aside
	 * first, so that they do not queue into this pass. */
	if (!waiting(p))
		return;
	ring.next = p->waiters.next;
	ring.prev = p->waiters.prev;
	ring.next->prev = &ring;
	ring.prev->next = &ring;
	p->waiters.next = p->waiters.prev = &p->waiters;
	if (p->starved_since) {
		p->starved_ns += loop_now(p->loop) - p->starved_since;
		p->starved_since = 0;
	}
	while (ring.next != &ring) {
		struct pace_wait *w = ring.next;

		unlink_wait(w);
		w->cb(w);
	}
}

static void arm(struct pace *p)
{
	double need;

	if (!waiting(p) || loop_timer_armed(&p->refill))
		return;
	need = quantum(p) - p->tokens;
	loop_timer_start(p->loop, &p->refill,
			 need <= 0 ? 0 : (uint64_t)(need / p->rate * 1e9) + 1);
}

static void refill_cb(struct loop *l, struct timer *t)
{
	struct pace *p = container_of(t, struct pace, refill);

	(void)l;
	refill(p);
	if (p->rate <= 0 || p->tokens > 0)
		wake(p);
	arm(p);
}

double pace_debt(struct pace *p)
{
	refill(p);
	return p->rate > 0 && p->tokens < 0 ? -p->tokens / p->rate : 0;
}

void pace_init(struct pace *p, struct loop *l)
{
	*p = (struct pace){ .loop = l, .refill.cb = refill_cb, .unit = 1 };
	p->waiters.next = p->waiters.prev = &p->waiters;
	p->last = loop_now(l);
}

void pace_set(struct pace *p, double rate)
{
	refill(p);
	p->rate = rate > 0 ? rate : 0;
	if (p->tokens > burst(p))
		p->tokens = burst(p);
	loop_timer_stop(p->loop, &p->refill);
	if (p->rate <= 0 || p->tokens > 0)
		wake(p);
	arm(p);
}

/* May bytes move, going down to ahead bytes below an empty bucket? */
static bool ok_below(struct pace *p, double ahead)
{
	if (p->rate <= 0)
		return true;
	refill(p);
	return p->tokens * p->unit > -ahead;
}

/* The most to move in one go, down to ahead bytes below empty. */
static size_t room_below(struct pace *p, size_t want, double ahead)
{
	double room;

	if (p->rate <= 0)
		return want;
	room = MAX(p->tokens * p->unit + ahead, QUANTUM_MIN);
	return room >= (double)want ? want : (size_t)room;
}

bool pace_ok(struct pace *p)
{
	return ok_below(p, 0);
}

size_t pace_room(struct pace *p, size_t want)
{
	return room_below(p, want, 0);
}

double pace_ahead(const struct pace *p)
{
	double r;

	if (p->rate <= 0)
		return 0;
	/* at least a few segments, unless that is more than a second of
	 * the rate: reads that ran 5.8 KiB ahead of a 50 B/s bucket were
	 * two minutes of it, most of a quiet statement's run */
	r = p->rate * p->unit;
	return MIN(MAX(r * PACE_AHEAD_S, MIN(PACE_AHEAD_MIN, r * PACE_AHEAD_MIN_S)), PACE_AHEAD_MAX);
}

bool pace_ok_read(struct pace *p)
{
	return ok_below(p, pace_ahead(p));
}

size_t pace_room_read(struct pace *p, size_t want)
{
	return room_below(p, want, pace_ahead(p));
}

void pace_take(struct pace *p, size_t n)
{
	pace_charge(p, n);
	pace_moved(p, n);
}

void pace_charge(struct pace *p, size_t n)
{
	if (p->rate > 0)
		p->tokens -= cost(p, n);
}

void pace_moved(struct pace *p, size_t n)
{
	p->used += (uint64_t)cost(p, n);
}

void pace_per_segment(struct pace *p)
{
	p->unit = PACE_SEGMENT;
}

void pace_wait(struct pace *p, struct pace_wait *w)
{
	if (w->next)
		return;
	w->prev = p->waiters.prev;
	w->next = &p->waiters;
	w->prev->next = w;
	p->waiters.prev = w;
	if (!p->starved_since)
		p->starved_since = loop_now(p->loop);
	if (p->rate <= 0) {
		/* no limit: answer at once, from the loop */
		if (!loop_timer_armed(&p->refill))
			loop_timer_start(p->loop, &p->refill, 0);
		return;
	}
	arm(p);
}

void pace_cancel(struct pace_wait *w)
{
	if (w->next)
		unlink_wait(w);
}

uint64_t pace_starved(struct pace *p)
{
	return p->starved_ns + (p->starved_since ? loop_now(p->loop) - p->starved_since : 0);
}

void pace_fini(struct pace *p)
{
	loop_timer_stop(p->loop, &p->refill);
	while (waiting(p))
		unlink_wait(p->waiters.next);
}
