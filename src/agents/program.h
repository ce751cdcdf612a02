/* program.h - real servers from the distribution as the server side of
 * a source: nginx, redis-server, mosquitto, ... started inside a host's
 * namespace with a private configuration in a directory of their own,
 * and driven by the built-in agent's users.  Each runs as a child of the
 * host process (it dies with it) and is stopped by its pid. */
#ifndef DYNAMO_PROGRAM_H
#define DYNAMO_PROGRAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../spec/spec.h"

struct program_def {
	const char *name;          /* as in 'using source NAME' */
	enum spec_proto proto;     /* what it serves; the agent of it drives it */
	const char *const *paths;  /* where its binary may be */
};

struct program {
	const struct program_def *def;
	pid_t pid;
	char *dir;                 /* its configuration, data and log */
};

const struct program_def *program_find(const char *name);
/* The program's binary on this machine, or NULL when not installed. */
const char *program_path(const struct program_def *d);
/* Names of every known program, NULL-terminated. */
extern const struct program_def program_defs[];
extern const size_t program_ndefs;

/* Start d in the current network namespace, listening on port, with its
 * files under dir (made here); waits until it accepts connections on
 * addr, or timeout_ms.  datadir holds content it serves.  0 or -errno,
 * with the reason (and the end of its log) in err. */
int program_start(const struct program_def *d, const char *dir, uint32_t addr, uint16_t port,
		  const char *datadir, uint64_t seed, int timeout_ms, struct program *out,
		  char *err, size_t errlen) __attribute__((warn_unused_result));
/* SIGTERM by pid, then SIGKILL after a grace; removes nothing (the
 * caller removes the run's directory). */
void program_stop(struct program *p);

#endif
