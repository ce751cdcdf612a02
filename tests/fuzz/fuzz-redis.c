/* fuzz-redis.c - libFuzzer target for the RESP2 parsers of the redis
 * agent (src/agents/redis.h): requests as the server reads them, whole
 * and arriving byte by byte (the parse state must give the same
 * answer), and replies as the client reads them.  Any bytes must parse,
 * ask for more or be refused with a message; never crash or point
 * outside the buffer. */
#include "../../src/agents/redis.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct redis__cmd whole, piece;

static void check_cmd(const struct redis__cmd *c, const char *buf, size_t len)
{
	if (!c->used || c->used > len)
		__builtin_trap();
	for (uint32_t i = 0; i < c->argc && i < REDIS__ARGV; i++)
		if (c->argv[i].p < buf || c->argv[i].p + c->argv[i].n > buf + c->used)
			__builtin_trap();
}

static void requests(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1);
	struct redis__pstate ps = { 0 };
	size_t off = 0;

	memcpy(buf, data, size);
	while (off < size) {
		const char *err = NULL;
		int r = redis__request(buf + off, size - off, &ps, &whole, &err);

		if (r < 0 && (!err || !err[0]))
			__builtin_trap();   /* a refusal says why */
		if (r <= 0)
			break;
		check_cmd(&whole, buf + off, size - off);
		off += whole.used;
	}
	free(buf);
}

/* The first request again, its bytes arriving one at a time. */
static void trickle(const uint8_t *data, size_t size)
{
	char *a = malloc(size + 1), *b = malloc(size + 1);
	struct redis__pstate pa = { 0 }, pb = { 0 };
	const char *err;
	int ra, rb = 0;
	size_t n;

	memcpy(a, data, size);
	memcpy(b, data, size);
	ra = redis__request(a, size, &pa, &whole, &err);
	for (n = 1; n <= size; n++) {
		rb = redis__request(b, n, &pb, &piece, &err);
		if (rb != 0)
			break;
	}
	if (ra != 0 && rb == 0)
		__builtin_trap();
	if (ra > 0 && (rb <= 0 || piece.used != whole.used || piece.argc != whole.argc))
		__builtin_trap();
	if (ra > 0)
		for (uint32_t i = 0; i < whole.argc && i < REDIS__ARGV; i++)
			if (piece.argv[i].n != whole.argv[i].n ||
			    memcmp(piece.argv[i].p, whole.argv[i].p, whole.argv[i].n))
				__builtin_trap();
	free(a);
	free(b);
}

static void replies(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		struct redis__reply r;
		int k = redis__reply((const char *)data + off, size - off, &r);

		if (k <= 0)
			break;
		if (!r.used || r.used > size - off || r.hdr > r.used)
			__builtin_trap();
		if ((r.type == '+' || r.type == '-' || r.type == '$') && r.n >= 0 &&
		    (r.p < (const char *)data + off || r.p + r.len > (const char *)data + off + r.used))
			__builtin_trap();
		off += r.used;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	long long v;

	requests(data, size);
	if (size <= 8192)
		trickle(data, size);
	replies(data, size);
	redis__ll((const char *)data, size, &v);
	return 0;
}
