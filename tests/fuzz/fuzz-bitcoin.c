/* fuzz-bitcoin.c - libFuzzer target for the Bitcoin P2P parsers
 * (src/agents/bitcoin.h): the input is read as a stream of messages,
 * each payload handed to the parser of its command as the node does (the
 * checksum is computed but not required, so that the fuzzer reaches the
 * payload parsers), and the whole input also as a transaction and as a
 * block. */
#include "../../src/agents/bitcoin.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_payload(const struct bitcoin__hdr *h, const uint8_t *p)
{
	struct bitcoin__version v;
	size_t off, used;
	uint64_t n;

	if (!strcmp(h->cmd, "version")) {
		if (bitcoin__parse_version(p, h->len, &v) == 0 &&
		    (v.agent < (const char *)p || v.agent + v.agent_len > (const char *)p + h->len))
			__builtin_trap();
	} else if (!strcmp(h->cmd, "inv") || !strcmp(h->cmd, "getdata") ||
		   !strcmp(h->cmd, "notfound")) {
		if (bitcoin__parse_inv(p, h->len, &n, &off) == 0 && off + n * 36 != h->len)
			__builtin_trap();
	} else if (!strcmp(h->cmd, "tx")) {
		if (bitcoin__parse_tx(p, h->len, &used) == 0 && used > h->len)
			__builtin_trap();
	} else if (!strcmp(h->cmd, "block")) {
		(void)bitcoin__parse_block(p, h->len, &n);
	} else if (!strcmp(h->cmd, "addr")) {
		if (bitcoin__parse_addr(p, h->len, &n) == 0 && n * 30 >= h->len + 30)
			__builtin_trap();
	} else if (!strcmp(h->cmd, "ping") || !strcmp(h->cmd, "pong")) {
		(void)bitcoin__parse_nonce(p, h->len, &n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 0, used, off = 0;
	uint64_t n;

	while (at < size) {
		struct bitcoin__hdr h;
		int r = bitcoin__header(data + at, size - at, &h);

		if (r <= 0 || size - at - BTC_HDR < h.len)
			break;
		if (strlen(h.cmd) > 12)
			__builtin_trap();
		(void)bitcoin__checksum_ok(&h, data + at + BTC_HDR);
		check_payload(&h, data + at + BTC_HDR);
		at += BTC_HDR + h.len;
	}
	if (bitcoin__parse_tx(data, size, &used) == 0 && used > size)
		__builtin_trap();
	(void)bitcoin__parse_block(data, size, &n);
	while (bitcoin__varint(data, size, &off, &n) == 0)
		if (off > size)
			__builtin_trap();
	return 0;
}
