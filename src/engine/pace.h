/* pace.h - a token bucket shared by a group of sessions: the bytes they
 * may move per second, sent and received together, at the socket layer.
 * The run's controller sets the rate.  A connection that finds the
 * bucket empty stops reading and writing until it refills; TCP's flow
 * control then slows its peer too, so a client group's bucket holds both
 * directions of its conversations, whoever the server is.
 *
 * The bucket may go below zero (a read takes what the socket had), and
 * gathers at most a short burst while idle, so the bytes that cross the
 * wire follow the rate within a few milliseconds' worth.
 *
 * Reads may run ahead of the bucket by its read allowance (a quarter of
 * a second of the rate, within PACE_AHEAD_MIN..PACE_AHEAD_MAX bytes: so
 * only tasks below 2 Mbit/s get more than a tenth of a second);
 * writes wait for tokens.  So a response that fits is read as it comes,
 * as a real client reads it, and the pause falls before the next
 * request: the wire shows transfers at the link's speed with gaps
 * between them, not every transfer slowed to the rate (which makes
 * zero windows, delayed ACKs and the peer's spurious retransmissions). */
#ifndef DYNAMO_PACE_H
#define DYNAMO_PACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "loop.h"

struct pace_wait {
	struct pace_wait *next, *prev;     /* NULL: not waiting */
	void (*cb)(struct pace_wait *w);
};

struct pace {
	struct loop *loop;
	double rate;             /* tokens/s; 0: no limit */
	double unit;             /* bytes per token: 1, or PACE_SEGMENT */
	double tokens;
	uint64_t last;           /* loop clock of the last refill */
	struct pace_wait waiters;  /* a ring; the head is not a waiter */
	struct timer refill;
	uint64_t used;           /* tokens taken, ever */
	uint64_t starved_ns;     /* time someone waited, ever */
	uint64_t starved_since;  /* 0: nobody waits */
};

/* A token is a byte; or, for packet rates, a segment: each read or
 * write of n bytes costs ceil(n / PACE_SEGMENT) tokens, at least one,
 * since what the wire carries for it is about that many packets (and
 * their ACKs), whatever the bytes. */
#define PACE_SEGMENT 1448.0

#define PACE_AHEAD_S 0.25
#define PACE_AHEAD_MIN (4 * PACE_SEGMENT)
#define PACE_AHEAD_MIN_S 1.0     /* ... unless that is more than this long */
#define PACE_AHEAD_MAX 65536.0

void pace_init(struct pace *p, struct loop *l);
/* Count segments, not bytes (after pace_init()). */
void pace_per_segment(struct pace *p);
/* A new rate (bytes/s, 0: no limit); waiters wake if it allows. */
void pace_set(struct pace *p, double rate);
/* May a session move bytes now? */
bool pace_ok(struct pace *p);
/* The most it should move in one go now (at least a small chunk). */
size_t pace_room(struct pace *p, size_t want);
/* The same for reads, which may run ahead by the read allowance. */
bool pace_ok_read(struct pace *p);
size_t pace_room_read(struct pace *p, size_t want);
/* The read allowance in bytes (0 with no limit). */
double pace_ahead(const struct pace *p);
/* How far the bucket is below zero, in seconds of its rate (0 when it
 * is not, or has no limit): what sessions that cannot wait (a call's
 * media) took beyond the rate. */
double pace_debt(struct pace *p);
/* n bytes moved: pace_charge() and pace_moved() at once. */
void pace_take(struct pace *p, size_t n);
/* A session that pays ahead for what it will move (a flow whose packets
 * must keep their times) charges the bucket once with pace_charge(),
 * then counts its bytes with pace_moved() as they move: the controller
 * measures the wire's overhead against what moved, and a whole flow's
 * bytes counted at its start read as an overhead far below one (the
 * bucket then refilled at three times its rate). */
void pace_charge(struct pace *p, size_t n);
void pace_moved(struct pace *p, size_t n);
/* Call w->cb once the bucket has tokens again (FIFO). */
void pace_wait(struct pace *p, struct pace_wait *w);
void pace_cancel(struct pace_wait *w);
/* Time someone has waited, up to now (for the controller: was the
 * bucket what held the group back). */
uint64_t pace_starved(struct pace *p);
/* Stop the timer; waiters are dropped without a call. */
void pace_fini(struct pace *p);

#endif
