/* fuzz-ssh.c - libFuzzer target for the SSH agent's own parsers
 * (src/agents/ssh.c; the SSH protocol itself is libssh's): the shell the
 * server plays - its terminal line editor and command interpreter - and
 * the client's prompt detector.  The first byte picks which.  Any input
 * must be handled without a crash, and the typed line stays bounded. */
#include <stdint.h>
#include <string.h>

#include "../../src/agents/ssh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Read every byte written, so a bad pointer or length shows. */
static void sink(void *arg, const char *p, size_t n)
{
	size_t *total = arg;

	for (size_t i = 0; i < n; i++)
		*total += (unsigned char)p[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ssh__shell sh;
	struct ssh__job job;
	size_t total = 0, at = 0, nl;
	struct ssh__out o = { .put = sink, .arg = &total };
	const char *p = (const char *)data + 1;
	char user[48];

	if (!size)
		return 0;
	size--;
	switch (data[0] % 3) {
	case 0:
		/* keys typed at a terminal, in the pieces the input stops at */
		ssh__shell_init(&sh, "alice", "server.example.lan", 1732000000, true);
		o.crlf = true;
		ssh__greet(&sh, &o);
		while (at < size) {
			size_t n = ssh__input(&sh, p + at, size - at, &o, &job);

			if (!n || n > size - at || sh.len >= SSH__LINE_MAX)
				__builtin_trap();
			at += n;
			if (job.ran && !job.bulk && !job.logout && (job.status < 0 || job.status > 255))
				__builtin_trap();
		}
		break;
	case 1:
		/* an exec request: the user's name, a newline, the command */
		nl = 0;
		while (nl < size && nl < sizeof(user) - 1 && p[nl] != '\n')
			nl++;
		memcpy(user, p, nl);
		user[nl] = 0;
		at = nl < size ? nl + 1 : size;
		ssh__shell_init(&sh, user, "db1", 0, false);
		ssh__run(&sh, p + at, size - at, &o, &job);
		if (job.bulk > (1ull << 40) || strlen(sh.user) >= SSH__USER_MAX)
			__builtin_trap();
		ssh__prompt(&sh, &o);
		break;
	default:
		/* the end of a terminal's output, as the client keeps it */
		(void)ssh__prompt_seen(p, size);
		break;
	}
	return 0;
}
