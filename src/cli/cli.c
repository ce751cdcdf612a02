/* cli.c - the table of subcommands and what they share. */
#include "cli.h"
#include "../lib/util.h"
#include "../plan/plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DYNAMO_VERSION
#define DYNAMO_VERSION "0.0.0"
#endif

const char cli_version[] = DYNAMO_VERSION;

extern const char cmd_check_usage[], cmd_plan_usage[], cmd_help_usage[], cmd_version_usage[];

const struct cmd cli_cmds[] = {
	{ "check", "validate a spec; errors as FILE:LINE:COL with a caret",
	  cmd_check_usage, cmd_check },
	{ "plan", "show the network and the statements a spec resolves to",
	  cmd_plan_usage, cmd_plan },
	{ "help", "show the help of a command", cmd_help_usage, cmd_help },
	{ "version", "print the version", cmd_version_usage, cmd_version },
};
const unsigned cli_ncmds = ARRAY_SIZE(cli_cmds);

const struct cmd *cli_find(const char *name)
{
	for (unsigned i = 0; i < cli_ncmds; i++)
		if (!strcmp(cli_cmds[i].name, name))
			return &cli_cmds[i];
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
	char *err = NULL;
	struct spec *s = spec_parse_file(path, &err);

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
