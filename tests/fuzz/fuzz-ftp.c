/* fuzz-ftp.c - libFuzzer target for the FTP agent's parsers
 * (src/agents/ftp.c): each line of the input as a command, a reply, a
 * passive address, a listing line and a path; any bytes must parse or be
 * refused, and what parses must hold together (pointers inside the
 * line, paths absolute and normalised). */
#include "../../src/agents/ftp.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *p)
{
	size_t n = strlen(p);

	if (p[0] != '/' || n >= FTP_MAX_PATH || (n > 1 && p[n - 1] == '/') || strstr(p, "//") ||
	    strstr(p, "/./") || strstr(p, "/../") || (n >= 2 && !strcmp(p + n - 2, "/.")) ||
	    (n >= 3 && !strcmp(p + n - 3, "/..")))
		__builtin_trap();
}

static void one_line(const char *line, size_t len)
{
	struct ftp__cmd cmd;
	struct ftp__entry e;
	char path[FTP_MAX_PATH];
	unsigned code;
	bool more;
	uint32_t addr;
	uint16_t port;

	if (!ftp__parse_command(line, len, &cmd) &&
	    (cmd.arg < line || cmd.arg + cmd.arglen > line + len))
		__builtin_trap();
	if (!ftp__parse_reply(line, len, &code, &more) && (code < 100 || code > 599))
		__builtin_trap();
	if (!ftp__parse_pasv(line, len, &addr, &port) && !port)
		__builtin_trap();
	if (!ftp__parse_epsv(line, len, &port) && !port)
		__builtin_trap();
	if (!ftp__parse_list_line(line, len, &e) &&
	    (!e.namelen || e.name < line || e.name + e.namelen > line + len))
		__builtin_trap();
	if (!ftp__path_resolve("/pub/coffee", line, len, path, sizeof(path)))
		check_path(path);
	if (!ftp__path_resolve("/", line, len, path, 12))
		check_path(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;

	one_line(p, size);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (n && p[n - 1] == '\r')
			one_line(p, n - 1);
		else
			one_line(p, n);
		p += n + 1;
	}
	return 0;
}
