/* lab.h - labs: emulated networks kept up by a holder process so that
 * users can run their own programs in them (dynamo up/exec/status/down).
 *
 * A lab is a state file in the run directory, written by its holder:
 * the holder's pid, and per node its name, kind, address, the number of
 * the holder's descriptor that holds the node's namespace, and that
 * namespace's inode (to find processes left inside after the holder is
 * gone).  Functions return 0 or -errno and never print. */
#ifndef DYNAMO_LAB_H
#define DYNAMO_LAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LAB_WUR __attribute__((warn_unused_result))
#define LAB_MAX_NAME 32

struct lab_node {
	char name[40];
	bool router;
	uint32_t addr;          /* first interface; 0 if none */
	int fd;                 /* in the holder */
	uint64_t ino;           /* of the namespace */
};

struct lab {
	char name[LAB_MAX_NAME + 1];
	pid_t pid;
	bool rootless;
	long started;           /* seconds since the epoch */
	char spec[1024];
	struct lab_node *nodes;
	size_t nnodes;
};

/* The run directory: $DYNAMO_RUNDIR, else /run/dynamo for root, else
 * $XDG_RUNTIME_DIR/dynamo, else /tmp/dynamo-UID.  Created (0700) when
 * create is set. */
int lab_rundir(char *out, size_t n, bool create) LAB_WUR;

/* A lab name is 1 to 32 letters, digits, '-', '_' or '.', not starting
 * with '.'. */
bool lab_name_ok(const char *name);

/* Paths of a lab's files. */
void lab_path(char *out, size_t n, const char *dir, const char *name, const char *ext);

/* Write the state atomically (a temporary file renamed into place). */
int lab_save(const char *dir, const struct lab *l) LAB_WUR;
/* Read a state file; a malformed one is -EINVAL with the line in err. */
int lab_load(const char *dir, const char *name, struct lab *l, char *err, size_t errlen) LAB_WUR;
void lab_free(struct lab *l);
/* Parse state text (for tests and fuzzing). */
int lab_parse(const char *text, size_t len, struct lab *l, char *err, size_t errlen) LAB_WUR;

/* The names of the labs in dir, sorted; the caller frees each and v. */
int lab_list(const char *dir, char ***v, size_t *n) LAB_WUR;

/* Is the lab's holder alive (and still the process that wrote it)? */
bool lab_alive(const struct lab *l);

/* Kill every process whose network namespace is one of the lab's;
 * returns how many were signalled. */
int lab_kill_inside(const struct lab *l, int sig);

struct topo;
/* Write the lab's /etc/hosts: every interface by its node's name (ethN
 * past the first as NAME-ethN). */
int lab_write_hosts(const char *dir, const char *name, const struct topo *t) LAB_WUR;

/* Remove the lab's files. */
void lab_remove(const char *dir, const char *name);

#endif
