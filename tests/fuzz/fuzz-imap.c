/* fuzz-imap.c - libFuzzer target for the IMAP agent's parsers
 * (src/agents/imap.h): finding where a command ends, its tokens,
 * sequence sets and FETCH items, and response lines.  Whatever parses
 * must point inside the input. */
#include "../../src/agents/imap.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const void *p, size_t n, const char *buf, size_t len)
{
	const char *c = p;

	if (c < buf || c + n > buf + len)
		__builtin_trap();
}

static void command(const char *buf, size_t len)
{
	struct imap_cmd cmd;
	struct imap_item items[IMAP_MAX_ITEMS];
	char out[128];
	int n;

	if (imap__parse(buf, len, &cmd)) {
		if (cmd.tag)
			inside(cmd.tag, cmd.taglen, buf, len);
		return;
	}
	inside(cmd.tag, cmd.taglen, buf, len);
	inside(cmd.name, cmd.namelen, buf, len);
	for (unsigned i = 0; i < cmd.ntok; i++) {
		const struct imap_tok *t = &cmd.tok[i];
		struct imap_seqset set;

		inside(t->p, t->n, buf, len);
		if (imap__tok_str(t, out, sizeof(out)) && strlen(out) >= sizeof(out))
			__builtin_trap();
		if (t->type == IMAP_ATOM && imap__seqset(t->p, t->n, &set) == 0) {
			if (set.n == 0 || set.n > IMAP_MAX_RANGES)
				__builtin_trap();
			(void)imap__seq_has(&set, 7, 10);
		}
	}
	for (unsigned t = 0; t < 2 && t < cmd.ntok; t++) {
		n = imap__fetch_items(&cmd, t, items, IMAP_MAX_ITEMS);
		if (n > IMAP_MAX_ITEMS)
			__builtin_trap();
		for (int i = 0; i < n; i++) {
			if (items[i].spec)
				inside(items[i].spec, items[i].specn, buf, len);
			if (items[i].fields) {
				inside(items[i].fields, items[i].fieldsn, buf, len);
				(void)imap__field_listed(&items[i], "Subject", 7);
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *p = buf, *e = buf + size;
	struct imap_scan sc;

	switch (imap__scan(buf, size, &sc)) {
	case IMAP_SCAN_DONE:
		if (sc.len > size)
			__builtin_trap();
		command(buf, sc.len);
		break;
	case IMAP_SCAN_BIG:
		if (sc.lit_at > size || sc.lit_len <= IMAP_MAX_LITERAL)
			__builtin_trap();
		command(buf, sc.lit_at);
		break;
	case IMAP_SCAN_MORE:
		if (sc.lits && sc.lit_at > size)
			__builtin_trap();
		break;
	default:
		break;
	}
	command(buf, size);

	while (p < e) {
		const char *nl = memchr(p, '\n', (size_t)(e - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(e - p);
		struct imap_resp r;
		uint64_t lit;
		bool sync;

		if (n && p[n - 1] == '\r')
			n--;
		if (imap__parse_response(p, n, &r) == 0 && r.tag)
			inside(r.tag, r.taglen, p, n);
		if (imap__line_literal(p, n, &lit, &sync) && n < 3)
			__builtin_trap();
		p = nl ? nl + 1 : e;
	}
	return 0;
}
