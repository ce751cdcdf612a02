/* run.h - dynamo run: make the network live, start each statement's
 * sources between its endpoints (servers on the "to" hosts, users on
 * the "from" hosts, in processes inside each host's namespace: a busy
 * host's clients spread over as many as there are cores), run for the
 * duration, stop cleanly, and count what crossed the wire.  Never
 * prints; errors go into err. */
#ifndef DYNAMO_RUN_H
#define DYNAMO_RUN_H

#include <stdint.h>

#include "../capture/record.h"
#include "../engine/stats.h"
#include "../lib/util.h"
#include "../plan/plan.h"

struct run_live;

struct run_opts {
	uint64_t duration_us;     /* the run; 0: the statements' longest end, or 10 s */
	uint64_t warmup_us;       /* before the rates are held to their band (5 s) */
	const char *record;       /* pcapng file, or NULL */
	const char *labels;       /* CSV of flows, or NULL */
	const char *datadir;      /* behaviours, corpora */
	uint64_t seed;
	int stop_fd;              /* readable: stop now (Ctrl-C), or -1 */
	/* Called about ten times a second while the run goes (for a live
	 * view), from the supervisor's thread; may be NULL. */
	void (*tick)(const struct run_live *l, void *arg);
	void *tick_arg;
	/* Called with what a host says while the run goes ("h2: nginx
	 * was killed by signal 9; started it again"), with tick_arg; NULL:
	 * only kept in the result. */
	void (*notice)(const char *msg, void *arg);
	/* Measuring a source (catalog measure): no control, each client
	 * task one group of users users, thinking think_scale times as
	 * long as modelled. */
	bool open_loop;
	uint32_t users;
	double think_scale;
};

/* Flow sizes (bytes both ways, as recorded): at most 1 KiB, 4 KiB, ...
 * 64 MiB, more. */
#define RUN_FLOW_SIZES 10
extern const uint64_t run_flow_size_upper[RUN_FLOW_SIZES];

/* What the controller sees now, per statement. */
struct run_live_stmt {
	bool active;                /* between its start and its end */
	bool is_packets;            /* target and rate in packets/s */
	uint64_t target;            /* bits/s (0: none) */
	uint64_t rate;              /* bits/s over the last second */
	uint64_t bytes, packets;    /* IP bytes and packets so far */
	uint64_t open;              /* TCP flows open now */
	uint32_t groups, users;     /* user groups running, users in them */
};

struct run_live {
	uint64_t elapsed_us, duration_us, warmup_us;
	struct run_live_stmt *stmts;
	size_t nstmts;
};

/* One second of a statement, from the go. */
struct run_window {
	uint64_t bytes, packets;    /* IP bytes, both directions */
	uint64_t flows;             /* flows open at the window's end */
};

struct run_part {
	uint64_t target;            /* bits/s, or packets/s when its statement's are */
	struct record_count wire;
	uint64_t held_bytes;        /* IP bytes from the warm-up's end to the part's end */
	uint64_t held_packets;
	uint64_t held_us;           /* that span */
	struct run_window *series;
	size_t nseries;
	uint32_t groups_max;        /* most user groups it ran at once */
	uint64_t flow_sizes[RUN_FLOW_SIZES];   /* its flows by size */
};

struct run_stmt {
	struct record_count wire;   /* from the capture */
	struct stats clients;       /* summed over its client processes */
	uint32_t users;             /* per group */
	uint32_t instances;         /* client tasks: (client host, server, protocol) */
	uint32_t groups_max;        /* most user groups at once, all its tasks */
	char protos[128];           /* "http, https" */
	uint32_t containers;        /* a project's client containers started, */
	uint32_t containers_failed; /* and those that did not start */
	uint64_t target;            /* bits/s, or */
	bool packets;               /* packets/s */
	uint64_t held_bytes, held_packets, held_us;   /* after the warm-up (see run_part) */
	uint64_t start_us, end_us;  /* from the go */
	struct run_window *series;  /* its seconds, from the go */
	size_t nseries;
	struct run_part *parts;     /* per class of a mix; one otherwise */
	size_t nparts;
};

struct run_result {
	struct run_stmt *stmts;     /* one per statement */
	size_t nstmts;
	struct stats servers;       /* every server, summed */
	uint64_t duration_us;       /* as run */
	uint64_t warmup_us;
	uint64_t packets, drops;    /* recorded; lost by the recorder */
	unsigned died;              /* host processes that did not end cleanly */
	bool stopped;               /* cut short by stop_fd */
	char warning[512];          /* the first thing a host complained of */
	struct buf notices;         /* what hosts said while it ran, a line each */
	unsigned nnotices;          /* all of them (the buffer keeps the first
				     * RUN_NOTICES_MAX bytes) */
};

#define RUN_NOTICES_MAX 8192

/* Check that the sources plan_choose() gave every statement can be
 * set up (each task's agent, its behaviour model under datadir); the
 * planner has already refused programs that are not installed.  0, or
 * -errno with a message. */
int run_check(const struct plan *p, const char *datadir, char *err, size_t errlen);
/* Run p; 0 or -errno. */
int run_exec(const struct plan *p, const struct run_opts *o, struct run_result *res, char *err,
	     size_t errlen) __attribute__((warn_unused_result));
void run_result_free(struct run_result *res);

#endif
