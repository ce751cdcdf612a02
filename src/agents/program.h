/* program.h - real servers from the distribution as the server side of
 * a source: nginx, dnsmasq, vsftpd, postgres, sshd, redis-server,
 * mosquitto, started inside a host's namespace with a private
 * configuration in a directory of their own, and driven by the built-in
 * agent's users.  Each runs in a process group of its own, as a child of
 * the host process (it dies with it), and is stopped by its pid. */
#ifndef DYNAMO_PROGRAM_H
#define DYNAMO_PROGRAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../spec/spec.h"

struct program_def {
	const char *name;          /* as in 'using source NAME' */
	spec_protoset protos;      /* what it serves; the agents of them drive it */
	const char *const *paths;  /* where its binary may be */
	int stop_signal;           /* its fast, clean shutdown */
	const char *package;       /* Debian's package of it */
};

struct program {
	const struct program_def *def;
	pid_t pid;                 /* leader of its process group */
	pid_t helper;              /* a child of ours in that group, or 0 */
	char *dir;                 /* its configuration, data and log */
};

const struct program_def *program_find(const char *name);
/* The program's binary on this machine, or NULL when not installed. */
const char *program_path(const struct program_def *d);
/* Why d cannot run here when program_path() says NULL: where it was
 * looked for, and the package that has it. */
void program_missing(const struct program_def *d, char *err, size_t errlen);
/* Every known program. */
extern const struct program_def program_defs[];
extern const size_t program_ndefs;

/* Start d in the current network namespace for the host named host
 * (address addr), serving every protocol of d->protos on its usual port,
 * with its files under dir (made here); waits until it accepts
 * connections on addr:port, or timeout_ms.  Content it serves is made
 * from the models under datadir (or from the model file model, when not
 * NULL) and seed, as the built-in servers make theirs.  0 or -errno,
 * with the reason (and the end of its log) in err.  Blocks while it
 * writes files and starts: call it before the run. */
int program_start(const struct program_def *d, const char *dir, const char *host, uint32_t addr,
		  uint16_t port, const char *datadir, const char *model, uint64_t seed, int timeout_ms,
		  struct program *out, char *err, size_t errlen) __attribute__((warn_unused_result));
/* Its stop signal to the leader by pid, then SIGKILL to what is left of
 * its group after a grace; removes nothing (the caller removes the
 * run's directory). */
void program_stop(struct program *p);

#endif
