/* cmd-help.c - 'dynamo help [COMMAND]' and 'dynamo version'. */
#include "cli.h"
#include "../lib/util.h"

#include <stdio.h>
#include <string.h>

const char cmd_help_usage[] =
	"usage: dynamo help [COMMAND]\n"
	"\n"
	"Show the help of COMMAND, or the list of commands.  'dynamo COMMAND\n"
	"--help' shows the same.\n";

const char cmd_version_usage[] =
	"usage: dynamo version\n"
	"       dynamo --version\n"
	"\n"
	"Print the version of dynamo.\n";

/* The main help: built from the command table. */
static void main_help(void)
{
	printf("usage: dynamo [--version] [--help] COMMAND [ARGS]\n"
	       "\n"
	       "dynamo builds an emulated network out of network namespaces and fills it\n"
	       "with live, representative traffic described by a short spec:\n"
	       "\n"
	       "    generate web traffic from h1 to h2 with 100 Mbps ;\n"
	       "    generate database traffic from h3 to external with 50 Mbps\n"
	       "      using >= 5 flows ;\n"
	       "\n"
	       "commands:\n");
	for (unsigned i = 0; i < cli_ncmds; i++)
		printf("  %-9s %s\n", cli_cmds[i].name, cli_cmds[i].summary);
	printf("\n"
	       "'dynamo help COMMAND' shows a command's options.  The language is in\n"
	       "docs/language.md and dynamo(1).\n"
	       "\n"
	       "exit status: 0 success, 1 failure, 2 invalid input or usage\n");
}

int cmd_help(int argc, char **argv)
{
	const struct cmd *c;

	if (argc < 2) {
		main_help();
		return EXIT_OK;
	}
	if (argc > 2)
		return cli_usage_error(cli_find("help"), "help takes one command");
	c = cli_find(argv[1]);
	if (!c)
		return cli_usage_error(NULL, "'%s' is not a dynamo command", argv[1]);
	return cli_help(c);
}

int cmd_version(int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return cli_usage_error(cli_find("version"), "version takes no arguments");
	printf("dynamo %s\n", cli_version);
	return EXIT_OK;
}
