/* run.h - dynamo run: make the network live, start each statement's
 * sources between its endpoints (servers on the "to" hosts, users on
 * the "from" hosts, one process per host that owns its namespace), run
 * for the duration, stop cleanly, and count what crossed the wire.
 * Never prints; errors go into err. */
#ifndef DYNAMO_RUN_H
#define DYNAMO_RUN_H

#include <stdint.h>

#include "../capture/record.h"
#include "../engine/stats.h"
#include "../plan/plan.h"

struct run_opts {
	uint64_t duration_us;     /* the run; 0: the statements' longest end, or 10 s */
	const char *record;       /* pcapng file, or NULL */
	const char *labels;       /* CSV of flows, or NULL */
	const char *datadir;      /* behaviours, corpora */
	uint64_t seed;
	int stop_fd;              /* readable: stop now (Ctrl-C), or -1 */
};

struct run_stmt {
	struct record_count wire;   /* from the capture */
	struct stats clients;       /* summed over its client processes */
	uint32_t users;             /* per (pair, protocol) */
	uint32_t instances;         /* client groups started */
	char protos[128];           /* "http, https" */
};

struct run_result {
	struct run_stmt *stmts;     /* one per statement */
	size_t nstmts;
	struct stats servers;       /* every server, summed */
	uint64_t duration_us;       /* as run */
	uint64_t packets, drops;    /* recorded; lost by the recorder */
	unsigned died;              /* host processes that did not end cleanly */
	bool stopped;               /* cut short by stop_fd */
	char warning[512];          /* the first thing a host complained of */
};

/* Check that every statement has sources; 0 or -ENOENT with a message. */
int run_check(const struct plan *p, const char *datadir, char *err, size_t errlen);
/* Run p; 0 or -errno. */
int run_exec(const struct plan *p, const struct run_opts *o, struct run_result *res, char *err,
	     size_t errlen) __attribute__((warn_unused_result));
void run_result_free(struct run_result *res);

#endif
