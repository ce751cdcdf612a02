/* catalog.h - the source catalog: one text file per source
 * (data/catalog/NAME.source) that says what the source is, how it starts,
 * which knobs it has and, once 'dynamo catalog measure' ran it, the profile
 * of one instance (rate, packets, flows, sessions, size histograms) that the
 * planner combines.  The format is in docs/catalog.md.  Nothing here prints;
 * only catalog_load_dir() reads files. */
#ifndef DYNAMO_CATALOG_H
#define DYNAMO_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../spec/spec.h"

/* Limits that keep every input bounded (docs/catalog.md). */
#define CATALOG_MAX_FILE    (64u << 10) /* bytes of one entry */
#define CATALOG_MAX_LINE    4096        /* bytes of one line, without its newline */
#define CATALOG_MAX_NAME    64          /* bytes of a source name */
#define CATALOG_MAX_TEXT    1024        /* bytes of a description, command or path */
#define CATALOG_MAX_BUCKETS 32
#define CATALOG_MAX_KNOBS   8

enum catalog_kind { CATALOG_AGENT, CATALOG_PROGRAM, CATALOG_PROJECT };

/* Buckets of a size distribution: frac[i] of the whole falls in
 * (upper[i-1], upper[i]]; uppers ascend strictly, UINT64_MAX is "inf". */
struct catalog_hist {
	size_t n;
	uint64_t upper[CATALOG_MAX_BUCKETS];
	double frac[CATALOG_MAX_BUCKETS];
};

/* A setting of one instance the planner may turn, with its range. */
struct catalog_knob {
	char name[24];
	double def, min, max;
};

struct catalog_entry {
	char *name, *description, *file;    /* description may be NULL; file: where it
					     * was read from, or NULL */
	enum spec_class cls;
	spec_protoset protos;
	enum catalog_kind kind;
	char *start;                         /* the PROTO, program NAME or project PATH */
	/* A project's: who drives its servers (its own clients, or dynamo's
	 * users of its protocols), and where it comes from (each NULL when
	 * not known). */
	bool driver_project;
	char *repository, *commit, *subdir;
	struct catalog_knob knobs[CATALOG_MAX_KNOBS];
	size_t nknobs;
	/* The profile: set together, by 'dynamo catalog measure', or not at all. */
	bool measured;
	char *measured_by, *measured_on;     /* command, date (YYYY-MM-DD) */
	double prof_users, prof_think_scale, prof_duration; /* knobs, seconds */
	uint64_t rate, rate_max;             /* bits/s, IP bytes both directions */
	double packets, flows, flows_max, sessions; /* per second; concurrent; per second */
	struct catalog_hist packet_size, flow_size;
};

struct catalog {
	struct catalog_entry *v;
	size_t n;
};

const char *catalog_kind_name(enum catalog_kind k);
int catalog_kind_find(const char *s); /* -1 if unknown */
/* True when s is a valid source name: [a-z0-9][a-z0-9._-]{0,63}. */
bool catalog_name_ok(const char *s);

/* Parse one entry (len bytes, need not be NUL-terminated); file names it
 * in messages and, when it ends in ".source", the entry's name must be
 * its base name.  0, or -EINVAL with "FILE:LINE: what is wrong (what is
 * expected)" in err.  *e is overwritten; on error it is left empty (and
 * catalog_entry_free() on it is harmless either way). */
int catalog_parse(struct catalog_entry *e, const char *file, const char *text, size_t len,
		  char *err, size_t errlen) __attribute__((warn_unused_result));
/* The entry as text in the format above, profile included when measured
 * (parses back to an equal entry); caller frees. */
char *catalog_format(const struct catalog_entry *e);
/* Only the profile lines (and the comment that opens them), or "" when
 * the entry is not measured; caller frees. */
char *catalog_format_profile(const struct catalog_entry *e);
/* The text of an entry file with its profile lines (and the comment
 * catalog_format_profile() writes) replaced by e's profile: every other
 * line, comments included, is kept as it was.  For 'catalog measure',
 * which must not lose what people wrote in the file; caller frees. */
char *catalog_replace_profile(const char *text, size_t len, const struct catalog_entry *e);
/* Same content (every field but file). */
bool catalog_entry_equal(const struct catalog_entry *a, const struct catalog_entry *b);

/* Every file DIR/NAME.source, sorted by name; 0 or -errno with a message: the
 * first bad file's "FILE:LINE: ..." (-EINVAL), or why DIR or a file could
 * not be read.  c is overwritten; on error it is left empty. */
int catalog_load_dir(struct catalog *c, const char *dir, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* The text of an entry file (at most CATALOG_MAX_FILE + 1 bytes, so that
 * the parser can say when it is too large; not NUL-terminated), refusing
 * what is not a regular file; 0 or -errno with a message.  Caller frees. */
int catalog_read_file(const char *path, char **text, size_t *len, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* Replace path with text, whole or not at all (a new file renamed over
 * it); 0 or -errno with a message. */
int catalog_write_file(const char *path, const char *text, char *err, size_t errlen)
	__attribute__((warn_unused_result));
const struct catalog_entry *catalog_find(const struct catalog *c, const char *name);
const struct catalog_knob *catalog_knob(const struct catalog_entry *e, const char *name);
void catalog_entry_free(struct catalog_entry *e);
void catalog_free(struct catalog *c);

#endif
