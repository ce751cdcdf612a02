/* main.c - dispatch 'dynamo COMMAND ...' to its cmd-*.c. */
#include "cli/cli.h"
#include "lib/util.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	const struct cmd *c;
	const char *cands[32];

	if (argc < 2) {
		fputs("usage: dynamo [--version] [--help] COMMAND [ARGS]\n"
		      "see 'dynamo --help'\n", stderr);
		return EXIT_INVALID;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return cmd_help(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V"))
		return cmd_version(1, argv + 1);
	if (argv[1][0] == '-')
		return cli_usage_error(NULL, "unknown option '%s'", argv[1]);
	c = cli_find(argv[1]);
	if (!c) {
		const char *sug;

		for (unsigned i = 0; i < cli_ncmds && i < ARRAY_SIZE(cands); i++)
			cands[i] = cli_cmds[i].name;
		sug = str_suggest(argv[1], cands, MIN(cli_ncmds, ARRAY_SIZE(cands)));
		if (sug)
			return cli_usage_error(NULL, "'%s' is not a dynamo command; did you mean '%s'?",
					       argv[1], sug);
		return cli_usage_error(NULL, "'%s' is not a dynamo command", argv[1]);
	}
	if (strcmp(c->name, "help") && cli_wants_help(argc - 1, argv + 1))
		return cli_help(c);
	return c->run(argc - 1, argv + 1);
}
