/* fuzz-smtp.c - libFuzzer target for the SMTP agent's parsers
 * (src/agents/smtp.h): command lines, reply lines, and the DATA stream,
 * which must end at the same place and count the same bytes however
 * the input is cut into reads. */
#include "../../src/agents/smtp.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(const char *line, size_t n)
{
	struct smtp_cmd cmd;
	unsigned code;
	bool last;

	if (smtp__parse_command(line, n, &cmd) == 0) {
		if (cmd.arg < line || cmd.arg + cmd.arglen > line + n)
			__builtin_trap();
		if (cmd.addr && (cmd.addr < line || cmd.addr + cmd.addrlen > line + n))
			__builtin_trap();
		if ((cmd.verb == SMTP_MAIL || cmd.verb == SMTP_RCPT) && !cmd.addr)
			__builtin_trap();
	}
	if (smtp__parse_reply(line, n, &code, &last) == 0 && (code < 200 || code > 559))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *e = p + size;
	struct smtp_data whole, cut;
	size_t used_whole, at = 0, used;
	int end_whole, end_cut = 0;
	unsigned step = size ? 1 + data[0] % 17 : 1;

	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);

		check_line(p, n && p[n - 1] == '\r' ? n - 1 : n);
		p += n + (nl ? 1 : 0);
	}

	smtp__data_init(&whole);
	end_whole = smtp__data_scan(&whole, (const char *)data, size, &used_whole);
	if (used_whole > size || (!end_whole && used_whole != size))
		__builtin_trap();
	smtp__data_init(&cut);
	while (at < size) {
		size_t n = size - at < step ? size - at : step;

		end_cut = smtp__data_scan(&cut, (const char *)data + at, n, &used);
		if (used > n)
			__builtin_trap();
		at += used;
		if (end_cut)
			break;
	}
	if (end_cut != end_whole || (end_whole && at != used_whole) || cut.size != whole.size ||
	    cut.lines != whole.lines)
		__builtin_trap();
	return 0;
}
