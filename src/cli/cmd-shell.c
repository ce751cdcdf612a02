/* cmd-shell.c - 'dynamo fake-shell --host NAME [--seed N]': the SSH
 * agent's pretend shell (agents/ssh.h) on standard input and output, for
 * a real sshd's ForceCommand (agents/program.c), so that what an SSH
 * client types on an emulated host runs nowhere: no command is ever
 * executed and no file is read or written; "cat > FILE" reads its input
 * and drops it, a download streams made-up content.  On a terminal it is
 * an interactive login shell (raw mode: it echoes and edits the line
 * itself, as readline does); with SSH_ORIGINAL_COMMAND set it runs that
 * one command line, as 'bash -c' would.  Not listed in 'dynamo --help':
 * it is for sshd, not for people. */
#include "cli.h"
#include "../agents/ssh.h"
#include "../engine/content.h"
#include "../lib/util.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

const char cmd_shell_usage[] =
	"usage: dynamo fake-shell --host NAME [--seed N]\n"
	"\n"
	"Play the SSH agent's pretend shell on standard input and output, as\n"
	"NAME: the ForceCommand of the sshd that 'using source sshd' starts.\n"
	"It runs no command and touches no file.  With SSH_ORIGINAL_COMMAND set,\n"
	"run that command line only.\n"
	"\n"
	"options:\n"
	"  --host NAME  the host's name, shown in the prompt\n"
	"  --seed N     seeds the content of files it shows\n"
	"  -h, --help   show this help\n"
	"\n"
	"exit status: the last command's, 2 bad usage\n";

#define CHUNK (64u << 10)

static void put(void *arg, const char *p, size_t n)
{
	(void)arg;
	while (n) {
		ssize_t w = write(1, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			exit(EXIT_FAIL);    /* the session is gone */
		p += w;
		n -= (size_t)w;
	}
}

/* A command's bulk output: as the built-in server streams it. */
static void bulk(const struct content *ct, const struct ssh__job *job)
{
	uint64_t off = 0, left = job->bulk;

	while (left) {
		size_t n = (size_t)MIN(left, (uint64_t)CHUNK);

		put(NULL, content_get(ct, job->binary ? CONTENT_BINARY : CONTENT_TEXT,
				      job->key ^ (off * 0x9e3779b97f4a7c15ull), n), n);
		off += n;
		left -= n;
	}
}

/* Standard input to its end, dropped (cat > FILE). */
static void sink(void)
{
	char b[CHUNK];

	while (read(0, b, sizeof(b)) > 0 || errno == EINTR)
		;
}

static int one_command(const struct content *ct, const char *user, const char *host,
		       const char *cmd)
{
	const struct ssh__out o = { .put = put, .crlf = false };
	struct ssh__shell sh;
	struct ssh__job job;

	ssh__shell_init(&sh, user, host, (int64_t)time(NULL), false);
	ssh__run(&sh, cmd, strlen(cmd), &o, &job);
	if (job.sink)
		sink();
	if (job.bulk)
		bulk(ct, &job);
	return job.status;
}

static int login_shell(const struct content *ct, const char *user, const char *host)
{
	bool tty = isatty(0);
	const struct ssh__out o = { .put = put, .crlf = tty };
	struct ssh__shell sh;
	struct termios raw;
	char b[4096];

	/* Keys come one at a time and we echo them, as the built-in
	 * server does: the terminal must neither echo nor edit lines. */
	if (tty && !tcgetattr(0, &raw)) {
		cfmakeraw(&raw);
		tcsetattr(0, TCSANOW, &raw);
	}
	ssh__shell_init(&sh, user, host, (int64_t)time(NULL), true);
	ssh__greet(&sh, &o);
	for (;;) {
		ssize_t n = read(0, b, sizeof(b));
		size_t used = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (tty)
				put(NULL, "logout\r\n", 8);
			return 0;
		}
		sh.now = (int64_t)time(NULL);
		while (used < (size_t)n) {
			struct ssh__job job;

			used += ssh__input(&sh, b + used, (size_t)n - used, &o, &job);
			if (job.bulk) {
				bulk(ct, &job);
				ssh__prompt(&sh, &o);
			}
			if (job.logout)
				return 0;
		}
	}
}

int cmd_shell(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "seed", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct cmd *self = cli_find("fake-shell");
	const char *host = NULL, *user = getenv("USER"), *cmd = getenv("SSH_ORIGINAL_COMMAND");
	unsigned long long seed = 1;
	struct content ct;
	char *end;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'H':
			host = optarg;
			break;
		case 's':
			errno = 0;
			seed = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg)
				return cli_usage_error(self, "--seed takes a number, not '%s'", optarg);
			break;
		case 'h':
			return cli_help(self);
		default:
			return cli_usage_error(self, "unknown option");
		}
	}
	if (!host || optind != argc)
		return cli_usage_error(self, "fake-shell takes --host NAME and no arguments");
	signal(SIGPIPE, SIG_DFL);
	content_init(&ct, seed);
	if (!user || !*user)
		user = "user";
	r = cmd ? one_command(&ct, user, host, cmd) : login_shell(&ct, user, host);
	content_free(&ct);
	return r;
}
