/* fuzz-postgresql.c - libFuzzer target for the parsers of the postgresql
 * agent (src/agents/postgresql.h): the input is read as a frontend
 * stream (a startup packet, then typed messages, each handed to its
 * parser and Query texts to the statement recogniser), as a backend
 * stream (the client's parsers), and whole as SQL.  Any bytes must
 * parse or be refused; never crash, hang or point outside the buffer. */
#include "../../src/agents/postgresql.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void sql(const char *q, size_t len)
{
	struct pg__stmt st;
	struct pg__error e;
	size_t at = 0;

	while (at < len) {
		size_t used, n = pg__next_stmt(q + at, len - at, &used);

		if (used == 0 || used > len - at)
			__builtin_trap();
		if (pg__sql(q + at, n, &st, &e) < 0) {
			if (!e.code || !e.msg[0] || e.position > n + 1)
				__builtin_trap();   /* a refusal says why, and where */
		} else if (st.table >= pg__ntables || st.nsel > PG__MAX_COLS ||
			   st.nparams > PG__MAX_PARAMS) {
			__builtin_trap();
		}
		at += used;
	}
}

static void frontend(const uint8_t *p, size_t len)
{
	bool startup = true;

	while (len) {
		uint8_t type;
		uint32_t n;
		const uint8_t *body;
		size_t blen;

		if (pg__frame(p, len, startup, &type, &n) <= 0)
			return;
		if (n > len)
			__builtin_trap();
		if (startup) {
			struct pg__startup su;

			if (pg__startup(p, n, &su) == 0 && su.code == PG__PROTO_3_0)
				startup = false;
			p += n;
			len -= n;
			continue;
		}
		body = p + 5;
		blen = n - 5;
		switch (type) {
		case 'Q':
			if (blen && memchr(body, 0, blen) == body + blen - 1)
				sql((const char *)body, blen - 1);
			break;
		case 'P': {
			struct pg__parse pm;

			if (pg__parse_msg(body, blen, &pm) == 0)
				sql(pm.query, pm.query_len);
			break;
		}
		case 'B': {
			struct pg__bind b;

			pg__bind_msg(body, blen, &b);
			break;
		}
		case 'D':
		case 'C':
		case 'E': {
			const char *name;
			char kind;
			uint32_t max;

			pg__named_msg(body, blen, type != 'E', &kind, &name, &max);
			break;
		}
		default:
			break;
		}
		p += n;
		len -= n;
	}
}

static void backend(const uint8_t *p, size_t len)
{
	while (len) {
		uint8_t type, salt[4];
		uint32_t n, code;
		const uint8_t *data;
		size_t dlen;
		uint16_t ncols;
		char out[128];

		if (pg__frame(p, len, false, &type, &n) <= 0)
			return;
		switch (type) {
		case 'R':
			if (pg__auth_msg(p + 5, n - 5, &code, salt, &data, &dlen) == 0 &&
			    (data < p + 5 || data + dlen > p + n))
				__builtin_trap();
			break;
		case 'E':
		case 'N':
			pg__error_field(p + 5, n - 5, 'C', out, sizeof(out));
			break;
		case 'C':
			pg__tag_msg(p + 5, n - 5, out, sizeof(out));
			break;
		case 'D':
			pg__datarow_msg(p + 5, n - 5, &ncols);
			break;
		default:
			break;
		}
		p += n;
		len -= n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	frontend(data, size);
	backend(data, size);
	sql((const char *)data, size);
	return 0;
}
