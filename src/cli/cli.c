/* cli.c - the table of subcommands and what they share. */
#include "cli.h"
#include "../lib/util.h"
#include "../control/lab.h"
#include "../control/project.h"
#include "../plan/plan.h"
#include "../agents/program.h"
#include "../catalog/catalog.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>
#include <limits.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DYNAMO_VERSION
#define DYNAMO_VERSION "0.0.0"
#endif

const char cli_version[] = DYNAMO_VERSION;

extern const char cmd_check_usage[], cmd_plan_usage[], cmd_help_usage[], cmd_version_usage[],
	cmd_up_usage[], cmd_run_usage[], cmd_agent_usage[], cmd_exec_usage[], cmd_status_usage[], cmd_down_usage[],
	cmd_catalog_usage[], cmd_clone_usage[], cmd_compare_usage[];

const struct cmd cli_cmds[] = {
	{ "check", "validate a spec; errors as FILE:LINE:COL with a caret",
	  cmd_check_usage, cmd_check },
	{ "plan", "show the network and the statements a spec resolves to",
	  cmd_plan_usage, cmd_plan },
	{ "run", "run a spec's traffic for a while, record it, report what was seen",
	  cmd_run_usage, cmd_run },
	{ "up", "build a spec's network and keep it up as a lab", cmd_up_usage, cmd_up },
	{ "exec", "run a program on a host of a lab", cmd_exec_usage, cmd_exec },
	{ "agent", "run one built-in agent here: its server, or its users", cmd_agent_usage,
	  cmd_agent },
	{ "catalog", "list the traffic sources and their measured profiles", cmd_catalog_usage,
	  cmd_catalog },
	{ "clone", "infer a network and its traffic from a capture, as a spec", cmd_clone_usage,
	  cmd_clone },
	{ "compare", "how close a generated capture is to its reference", cmd_compare_usage,
	  cmd_compare },
	{ "status", "list the labs, or the hosts of one", cmd_status_usage, cmd_status },
	{ "down", "remove a lab and everything in it", cmd_down_usage, cmd_down },
	{ "help", "show the help of a command", cmd_help_usage, cmd_help },
	{ "version", "print the version", cmd_version_usage, cmd_version },
};
const unsigned cli_ncmds = ARRAY_SIZE(cli_cmds);

/* Commands for programs rather than people, left out of the help. */
extern const char cmd_shell_usage[];
static const struct cmd hidden_cmds[] = {
	{ "fake-shell", "the SSH agent's pretend shell, for a real sshd's ForceCommand",
	  cmd_shell_usage, cmd_shell },
};

const struct cmd *cli_find(const char *name)
{
	for (unsigned i = 0; i < cli_ncmds; i++)
		if (!strcmp(cli_cmds[i].name, name))
			return &cli_cmds[i];
	for (unsigned i = 0; i < ARRAY_SIZE(hidden_cmds); i++)
		if (!strcmp(hidden_cmds[i].name, name))
			return &hidden_cmds[i];
	return NULL;
}

int cli_usage_error(const struct cmd *c, const char *fmt, ...)
{
	va_list ap;

	fputs("dynamo: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (c)
		fprintf(stderr, "\nsee 'dynamo %s --help'\n", c->name);
	else
		fputs("\nsee 'dynamo --help'\n", stderr);
	return EXIT_INVALID;
}

int cli_help(const struct cmd *c)
{
	fputs(c->usage, stdout);
	return EXIT_OK;
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	}
	return false;
}

void cli_print_diags(const struct spec *s)
{
	for (size_t i = 0; i < s->ndiags; i++) {
		char *r = spec_diag_render(s, &s->diags[i]);

		fputs(r, stderr);
		free(r);
	}
	if (s->truncated)
		fprintf(stderr, "dynamo: %s: stopped after %u errors\n", s->file, s->errors);
	else if (s->errors)
		fprintf(stderr, "dynamo: %s: %u error%s\n", s->file, s->errors,
			s->errors == 1 ? "" : "s");
}

int cli_load(const char *path, struct spec **sp, struct plan **pp)
{
	return cli_load_with(path, NULL, sp, pp);
}

int cli_load_with(const char *path, const char *extra, struct spec **sp, struct plan **pp)
{
	char *err = NULL;
	struct spec *s = spec_parse_file_with(path, extra, &err);

	*sp = s;
	*pp = NULL;
	if (!s) {
		fprintf(stderr, "dynamo: %s\n", err);
		free(err);
		return EXIT_FAIL;
	}
	if (!s->errors)
		*pp = plan_build(s, topo_build(s));
	cli_print_diags(s);
	return s->errors ? EXIT_INVALID : EXIT_OK;
}

int cli_lab_open(const char *given, char *dir, size_t dirlen, struct lab *l)
{
	char err[256], **names = NULL;
	size_t n = 0;
	int r;

	if ((r = lab_rundir(dir, dirlen, false))) {
		fprintf(stderr, "dynamo: run directory %s: %s\n", dir, strerror(-r));
		return EXIT_FAIL;
	}
	if (given) {
		if (!lab_name_ok(given))
			return cli_usage_error(NULL, "bad lab name '%s'", given);
	} else {
		if ((r = lab_list(dir, &names, &n))) {
			fprintf(stderr, "dynamo: %s: %s\n", dir, strerror(-r));
			return EXIT_FAIL;
		}
		if (n != 1) {
			if (!n)
				fprintf(stderr, "dynamo: no lab is up; start one with 'dynamo up FILE'\n");
			else {
				fprintf(stderr, "dynamo: %zu labs are up; say which with --lab:", n);
				for (size_t i = 0; i < n; i++)
					fprintf(stderr, " %s", names[i]);
				fputc('\n', stderr);
			}
			for (size_t i = 0; i < n; i++)
				free(names[i]);
			free(names);
			return n ? EXIT_INVALID : EXIT_FAIL;
		}
		given = names[0];
	}
	r = lab_load(dir, given, l, err, sizeof(err));
	if (r == -ENOENT)
		fprintf(stderr, "dynamo: no lab named %s is up ('dynamo status' lists them)\n", given);
	else if (r)
		fprintf(stderr, "dynamo: lab %s: %s\n", given, err);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r ? EXIT_FAIL : EXIT_OK;
}

int cli_catalog_load(const char *given, char *dir, size_t dirlen, struct catalog *c)
{
	char data[PATH_MAX - 16], err[1024];
	int r;

	if (given) {
		snprintf(dir, dirlen, "%s", given);
	} else {
		cli_find_datadir(data, sizeof(data));
		snprintf(dir, dirlen, "%s/catalog", data);
	}
	r = catalog_load_dir(c, dir, err, sizeof(err));
	if (r) {
		fprintf(stderr, "dynamo: %s\n", err);
		return r == -EINVAL ? EXIT_INVALID : EXIT_FAIL;
	}
	return EXIT_OK;
}

/* A program must be installed, a project needs its engine; agents
 * always run. */
static bool usable(const struct catalog_entry *e, char *why, size_t whylen, void *arg)
{
	const struct program_def *d;

	(void)arg;
	if (e->kind == CATALOG_PROJECT)
		return !project_engine(why, whylen);
	if (e->kind != CATALOG_PROGRAM)
		return true;
	d = program_find(e->start);
	if (!d) {
		snprintf(why, whylen, "dynamo does not know the program '%s'", e->start);
		return false;
	}
	if (program_path(d))
		return true;
	program_missing(d, why, whylen);
	return false;
}

int cli_lab_enter(const char *given, const char *node, char *dir, size_t dirlen, struct lab *l)
{
	const struct lab_node *nd = NULL;
	char path[64];
	int st, netfd, userfd = -1;

	if ((st = cli_lab_open(given, dir, dirlen, l)))
		return st;
	for (size_t i = 0; i < l->nnodes && !nd; i++)
		if (!strcmp(l->nodes[i].name, node))
			nd = &l->nodes[i];
	if (!nd) {
		fprintf(stderr, "dynamo: lab %s has no node '%s'; 'dynamo status %s' lists them\n",
			l->name, node, l->name);
		lab_free(l);
		return EXIT_INVALID;
	}
	if (!lab_alive(l)) {
		fprintf(stderr, "dynamo: lab %s is gone (its holder, pid %d, has exited); "
			"'dynamo down %s' cleans up\n", l->name, (int)l->pid, l->name);
		lab_free(l);
		return EXIT_FAIL;
	}
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)l->pid, nd->fd);
	netfd = open(path, O_RDONLY | O_CLOEXEC);
	if (l->rootless) {
		snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)l->pid);
		userfd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (netfd < 0 || (l->rootless && userfd < 0)) {
		fprintf(stderr, "dynamo: cannot reach lab %s: %s%s\n", l->name, strerror(errno),
			errno == EACCES || errno == EPERM ? " (it belongs to another user)" : "");
		if (netfd >= 0)
			close(netfd);
		lab_free(l);
		return EXIT_FAIL;
	}
	/* a rootless lab: become root of its user namespace first */
	if ((userfd >= 0 && setns(userfd, CLONE_NEWUSER)) || setns(netfd, CLONE_NEWNET)) {
		fprintf(stderr, "dynamo: cannot enter %s of lab %s: %s\n", node, l->name,
			strerror(errno));
		close(netfd);
		if (userfd >= 0)
			close(userfd);
		lab_free(l);
		return EXIT_FAIL;
	}
	close(netfd);
	if (userfd >= 0)
		close(userfd);
	return EXIT_OK;
}

void cli_playable(const struct catalog *c, bool *playable)
{
	char why[256];

	for (int i = 0; i < CLASS__COUNT; i++)
		playable[i] = false;
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].measured && usable(&c->v[i], why, sizeof(why), NULL))
			playable[c->v[i].cls] = true;
}

int cli_choose_from(struct plan *p, const struct catalog *c, bool measuring)
{
	char err[1024];

	if (plan_choose(p, c, usable, NULL, measuring, err, sizeof(err))) {
		fprintf(stderr, "dynamo: %s\n", err);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int cli_choose(struct plan *p, const char *given, bool measuring, struct catalog *c)
{
	char dir[PATH_MAX];
	int st = cli_catalog_load(given, dir, sizeof(dir), c);

	return st != EXIT_OK ? st : cli_choose_from(p, c, measuring);
}
