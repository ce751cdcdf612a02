/* steer.c - see steer.h.
 *
 * The rate: the bytes a part should have moved since a reference point
 * (its start, then the end of the warm-up) against what the capture
 * counted; the wire rate to ask for next is the target plus that error
 * spread over TAU.  The buckets count socket bytes, not IP bytes, so the
 * ask is divided by the ratio of the two as measured (headers, ACKs,
 * TLS records, retransmissions), and shared among the tasks by weight.
 *
 * Demand: a bucket only caps.  A task whose users leave its bucket
 * mostly full (they waited little, and moved less than it allowed) needs
 * more: its users think less long (felt at their next action), and it
 * gets more groups of users, more when it is further short.  When users
 * wait for the bucket nearly all the time and think less than a tenth
 * of the model's times, the controller trades speed for numbers: a
 * quarter more users who think longer, up to that tenth.  Not further:
 * each step multiplies the users, and a run of a minute would end with
 * a hundred times as many connections as it needs (the kernel's work
 * and a real server's connection limit grow with them).
 *
 * Flows: below 'using >= N flows' it adds a group to the task with the
 * fewest; above 'using <= N flows' it stops one of the task with the
 * most. */
#include <math.h>

#include "../lib/util.h"
#include "steer.h"

#define K_START 1.08        /* IP bytes per socket byte, full segments */
#define K_HI 64.0           /* at most: an MQTT ping is 2 bytes of payload
			     * in 54 on the wire, and its ACK 52 more */
#define K_MIN_BYTES 262144  /* before this much, K_START, */
#define K_MIN_SEGMENTS 256  /* the same for packet rates, */
#define K_MIN_S 2.0         /* or this long at the target, if less: a
			     * quiet statement's few bytes are its small
			     * packets, whose headers and ACKs are most of
			     * the wire (k of 2 and more for SSH keys) */
#define TAU_S 1.0           /* warming up */
#define TAU_WARM_S 8.0
#define CATCH_UP 0.04       /* the ask's band around the target, warm */
#define DEMAND_NS 500000000ull    /* a look at demand spans this, */
#define DEMAND_BYTES 16384.0      /* or as long as the bucket takes to */
#define DEMAND_SEGMENTS 16.0
#define DEMAND_MAX_NS 4000000000ull /* allow this many (a quiet task's users
				     * are seldom all busy at once) */
#define GROW_NS 1000000000ull     /* new users need this to show */
#define RELAX_NS 3000000000ull
#define THINK_MIN 0.02
#define THINK_TRADE 0.1           /* below it, speed is traded for users */
#define FLOWS_NS 500000000ull
#define SETTLE_NS 1000000000ull   /* a task's users need this to start */

/* The buckets' rates for ask on the wire: ask over k, shared by weight;
 * at least 1 while something is asked. */
static void share_out(struct steer *s, double ask)
{
	double w = 0;

	for (size_t i = 0; i < s->ntasks; i++)
		w += s->tasks[i].weight;
	for (size_t i = 0; i < s->ntasks; i++) {
		double r = w > 0 ? ask / s->k * s->tasks[i].weight / w : 0;

		s->tasks[i].rate = ask <= 0 ? 0 : r < 1 ? 1 : (uint64_t)r;
	}
}

void steer_init(struct steer *s, uint64_t rate_bps, enum spec_flow_op op, uint32_t flows,
		uint64_t warmup_ns, struct steer_task *tasks, size_t ntasks)
{
	*s = (struct steer){
		.target = (double)rate_bps / 8, .op = op, .flows = flows, .warmup_ns = warmup_ns,
		.tasks = tasks, .ntasks = ntasks, .k = K_START, .k_lo = 0.3, .k_hi = K_HI,
		.k_min_used = (uint64_t)MIN((double)K_MIN_BYTES, MAX(256.0, (double)rate_bps / 8 * K_MIN_S)),
		.demand_tokens = DEMAND_BYTES,
	};
	share_out(s, s->target);
	for (size_t i = 0; i < ntasks; i++) {
		struct steer_task *t = &tasks[i];

		t->want = MAX(1u, MIN(t->want, t->groups_max));
		if (!(t->think > 0))
			t->think = 1;
		t->seen_ns = 0;
		t->seen_used = t->used;
		t->seen_starved = t->starved_ns;
	}
}

void steer_packets(struct steer *s, double pps, double k0)
{
	s->target = pps;
	s->k = k0;
	s->k_lo = k0 / 20;
	s->k_hi = k0 * 20;
	s->k_min_used = (uint64_t)MIN((double)K_MIN_SEGMENTS, MAX(16.0, pps * K_MIN_S));
	s->demand_tokens = DEMAND_SEGMENTS;
	share_out(s, pps);
}

static void hold_rate(struct steer *s, uint64_t now, uint64_t wire)
{
	double expect, err, ask, lo, hi, tau;

	if (!s->warm && now >= s->warmup_ns) {
		/* what the warm-up missed or overshot is not made up */
		s->warm = true;
		s->ref_ns = now;
		s->ref_wire = wire;
	}
	/* While warming up, users are still arriving: ask for the target
	 * alone, and make up nothing of what the start missed. */
	expect = s->target * (double)(now - s->ref_ns) / 1e9;
	err = s->warm ? expect - (double)(wire - s->ref_wire) : 0;
	tau = s->warm ? TAU_WARM_S : TAU_S;
	ask = s->target + err / tau;
	/* After the warm-up a deficit is made up at most 4% a second
	 * faster than the target: a stalled host's catching up must not
	 * push a second out of the 5% band. */
	lo = s->target * (s->warm ? 1 - CATCH_UP : 0.2);
	hi = s->target * (s->warm ? 1 + CATCH_UP : 2.0);
	ask = ask < lo ? lo : ask > hi ? hi : ask;
	share_out(s, ask);
}

/* How long a look at a task's demand spans. */
static uint64_t demand_ns(const struct steer *s, const struct steer_task *t)
{
	double ns = t->rate > 0 ? s->demand_tokens / (double)t->rate * 1e9 : 0;

	return ns < DEMAND_NS ? DEMAND_NS : ns > DEMAND_MAX_NS ? DEMAND_MAX_NS : (uint64_t)ns;
}

/* Is the part behind its target: since the end of the warm-up, or,
 * while warming up, since the start?  Only then do short users get more
 * of them: a quiet part's users are often all thinking at once, and each
 * user added is handshakes and logins that a few kbit/s cannot carry. */
static bool behind(const struct steer *s, uint64_t now, uint64_t wire)
{
	if (s->warm)
		return s->target * (double)(now - s->ref_ns) / 1e9 > (double)(wire - s->ref_wire);
	return s->target * (double)now / 1e9 > (double)wire;
}

static void add_demand(struct steer *s, uint64_t now, uint64_t wire)
{
	for (size_t i = 0; i < s->ntasks; i++) {
		struct steer_task *t = &s->tasks[i];
		double dt, used, starved, short_by;
		uint32_t add;
		bool moving = t->seen_used > 0;

		if (now < t->seen_ns + demand_ns(s, t))
			continue;
		dt = (double)(now - t->seen_ns) / 1e9;
		used = (double)(t->used - t->seen_used) / dt;
		starved = (double)(t->starved_ns - t->seen_starved) / 1e9 / dt;
		t->seen_ns = now;
		t->seen_used = t->used;
		t->seen_starved = t->starved_ns;
		/* not before its users are there and have moved something
		 * for a whole look (some arrive over the first seconds) */
		if (now < SETTLE_NS || t->running < t->want || !moving)
			continue;
		if (starved > 0.9 && t->think < THINK_TRADE && t->want < t->groups_max &&
		    now >= t->grown_ns + RELAX_NS) {
			/* more than enough: trade speed for users, keeping
			 * what they ask for about the same */
			uint32_t more = (uint32_t)ceil(t->want * 0.25);

			more = MIN(more, t->groups_max - t->want);
			t->think = MIN(THINK_TRADE, t->think * (1 + 0.8 * more / (double)t->want));
			t->want += more;
			t->grown_ns = now;
			continue;
		}
		/* enough: users wait for the bucket most of the time, or
		 * the part is where it should be */
		if (starved > 0.6 || used >= 0.97 * (double)t->rate || !behind(s, now, wire) ||
		    now < t->grown_ns + MAX(GROW_NS, demand_ns(s, t)))
			continue;
		/* short: quicker users now (as much quicker as they are
		 * short, at most ten times), and more of them */
		t->grown_ns = now;
		t->think = MAX(THINK_MIN, t->think * MAX(0.1, MIN(0.5, used / (double)t->rate)));
		if (t->want >= t->groups_max)
			continue;
		short_by = used > 0 ? (double)t->rate / used - 1 : 1;
		if (short_by > 1)
			short_by = 1;
		add = (uint32_t)ceil((double)t->want * short_by * 0.5);
		t->want = MIN(t->groups_max, t->want + MAX(1u, add));
	}
}

static void hold_flows(struct steer *s, uint64_t now, uint64_t open)
{
	struct steer_task *pick = NULL;

	if (!s->ntasks || now < SETTLE_NS || now < s->flows_ns + FLOWS_NS)
		return;
	if ((s->op == FLOWS_GE || s->op == FLOWS_EQ) && open < s->flows) {
		for (size_t i = 0; i < s->ntasks; i++)
			if (s->tasks[i].want < s->tasks[i].groups_max &&
			    (!pick || s->tasks[i].want < pick->want))
				pick = &s->tasks[i];
		if (pick) {
			pick->want++;
			s->flows_ns = now;
		}
	} else if ((s->op == FLOWS_LE || s->op == FLOWS_EQ) && open > s->flows) {
		for (size_t i = 0; i < s->ntasks; i++)
			if (s->tasks[i].want > 1 && (!pick || s->tasks[i].want > pick->want))
				pick = &s->tasks[i];
		if (pick) {
			pick->want--;
			s->flows_ns = now;
		}
	}
}

void steer_tick(struct steer *s, uint64_t now, uint64_t wire, uint64_t open)
{
	uint64_t used = 0;

	if (now <= s->last_ns && s->last_ns)
		return;
	for (size_t i = 0; i < s->ntasks; i++)
		used += s->tasks[i].used;
	/* The ratio of wire to socket bytes over the last K_LOOKS looks:
	 * long enough to be steady though the wire leads the sockets by
	 * what the kernel buffers, short enough to follow the overhead as
	 * users come and go (handshakes, ACKs). */
	{
		size_t at = s->nlooks % K_LOOKS;
		/* the oldest look is the one this one replaces */
		uint64_t dw = s->nlooks >= K_LOOKS ? wire - s->look_wire[at] : wire,
			 du = s->nlooks >= K_LOOKS ? used - s->look_used[at] : used;

		s->look_wire[at] = wire;
		s->look_used[at] = used;
		s->nlooks++;
		if (du >= s->k_min_used && dw) {
			double k = (double)dw / (double)du;

			s->k = k < s->k_lo ? s->k_lo : k > s->k_hi ? s->k_hi : k;
		}
	}
	s->last_ns = now;
	if (s->target > 0) {
		hold_rate(s, now, wire);
		add_demand(s, now, wire);
	}
	hold_flows(s, now, open);
}
