/* cli.h - the subcommands: one table names them, runs them and builds
 * the help text.  Only cmd-*.c print to the terminal or pick the exit
 * status (0 success, 1 failure, 2 invalid input or usage). */
#ifndef DYNAMO_CLI_H
#define DYNAMO_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../spec/spec.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_INVALID = 2 };

struct cmd {
	const char *name;
	const char *summary;  /* one line, for 'dynamo --help' */
	const char *usage;    /* the full help of the command */
	int (*run)(int argc, char **argv);
};

extern const struct cmd cli_cmds[];
extern const unsigned cli_ncmds;
extern const char cli_version[];

const struct cmd *cli_find(const char *name);
/* Misuse: print the message and a pointer to --help on stderr; returns 2. */
int cli_usage_error(const struct cmd *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Print a command's help to stdout; returns 0. */
int cli_help(const struct cmd *c);
/* True when argv holds -h or --help (before any "--"). */
bool cli_wants_help(int argc, char **argv);

/* Print a spec's diagnostics to stderr and, when it has errors, a closing
 * "dynamo: FILE: N errors" line. */
void cli_print_diags(const struct spec *s);

struct plan;
/* Read, parse, check and resolve a spec, printing its diagnostics.
 * Returns the exit status: 0 with *pp set, 2 when invalid, 1 when the
 * file cannot be read.  The caller frees *sp and *pp. */
int cli_load(const char *path, struct spec **sp, struct plan **pp);
/* The same with extra statements after the file (see spec_parse_file_with). */
int cli_load_with(const char *path, const char *extra, struct spec **sp, struct plan **pp);

struct lab;
/* Load the lab named given, or the only lab up when given is NULL,
 * printing why not; returns the exit status (0 with *l loaded). */
int cli_lab_open(const char *given, char *dir, size_t dirlen, struct lab *l);
/* Open the lab as cli_lab_open does and move this process into the
 * network namespace of its node (and its user namespace first, when the
 * lab is rootless), printing why not; the exit status.  On success the
 * caller frees *l. */
int cli_lab_enter(const char *given, const char *node, char *dir, size_t dirlen, struct lab *l);

int cmd_check(int argc, char **argv);
int cmd_plan(int argc, char **argv);
/* TIME as a number with us, ms, s, m, min or h (plain: seconds), from
 * 100 ms to a year; 0 or -1. */
int cli_parse_time(const char *s, uint64_t *us);
/* Where behaviour models are: data/ next to the program (a build tree),
 * else the installed share directory. */
void cli_find_datadir(char *out, size_t n);
/* 'dynamo catalog scan' (cmd-scan.c). */
int catalog_scan(int argc, char **argv);

struct catalog;
/* Read the catalog (given, or DATADIR/catalog) into c, printing why
 * not; the exit status.  dir gets the directory read, for messages. */
int cli_catalog_load(const char *given, char *dir, size_t dirlen, struct catalog *c);
/* Read the catalog into c and choose every statement's sources from
 * it (plan_choose), printing why not; the exit status.  c must outlive
 * p's use. */
int cli_choose(struct plan *p, const char *given, bool measuring, struct catalog *c);
/* playable[class]: some source of it is measured and usable here. */
void cli_playable(const struct catalog *c, bool *playable);
/* The same from a catalog already read. */
int cli_choose_from(struct plan *p, const struct catalog *c, bool measuring);

/* clone and compare: --internal ARG ("10.0.0.0/8,2001:db8::/32") into
 * v, which holds *n of at most CLI_MAX_INTERNAL; 0, or the status of
 * the usage error it printed. */
struct clone_cidr;
#define CLI_MAX_INTERNAL 64
int cli_internal(const struct cmd *c, char *arg, struct clone_cidr *v, size_t *n);
/* The nDPI table, data/clone/ndpi.map, where the data directory is. */
void cli_ndpi_map(char *out, size_t n);

int cmd_up(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_catalog(int argc, char **argv);
int cmd_clone(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_exec(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_help(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_shell(int argc, char **argv);   /* hidden: 'dynamo fake-shell', for sshd */

#endif
