/* bitcoin.h - Bitcoin P2P wire parsers the node, its peers and the fuzz
 * target share: pure functions on (buf, len) that never read past len
 * and allocate nothing.  Integers on the wire are little-endian. */
#ifndef DYNAMO_AGENTS_BITCOIN_H
#define DYNAMO_AGENTS_BITCOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BTC_MAGIC "\xf9\xbe\xb4\xd9"      /* mainnet, as sent */
#define BTC_HDR 24
/* Bitcoin Core's MAX_PROTOCOL_MESSAGE_LENGTH */
#define BTC_MAX_PAYLOAD 4000000u
#define BTC_MAX_INV 50000u                /* Core's MAX_INV_SZ */
#define BTC_MAX_ADDR 1000u
#define BTC_MIN_VERSION 31800             /* Core's MIN_PEER_PROTO_VERSION */

enum { BTC_MSG_TX = 1, BTC_MSG_BLOCK = 2 };

struct bitcoin__hdr {
	char cmd[13];           /* NUL-terminated */
	uint32_t len;
	uint8_t sum[4];
};

struct bitcoin__version {
	int32_t version;
	uint64_t services, nonce;
	int64_t timestamp;
	const char *agent;      /* into the buffer, agent_len bytes */
	size_t agent_len;
	int32_t height;
	bool relay;
};

/* The message header at buf: 1 with *h, 0 when fewer than BTC_HDR bytes
 * are in, -EPROTO for a wrong magic, a command that is not printable
 * ASCII padded with NULs, or a payload over BTC_MAX_PAYLOAD. */
int bitcoin__header(const uint8_t *buf, size_t len, struct bitcoin__hdr *h);
/* Double SHA-256 (OpenSSL EVP), and whether a payload has h's checksum
 * (the first four bytes of it). */
void bitcoin__sha256d(const void *p, size_t n, uint8_t out[32]);
bool bitcoin__checksum_ok(const struct bitcoin__hdr *h, const uint8_t *payload);
/* A CompactSize integer at p[*off]: 0 and *off moved past it, or
 * -EPROTO when cut short or not in its shortest form. */
int bitcoin__varint(const uint8_t *p, size_t len, size_t *off, uint64_t *v);

/* Payloads: 0 or -EPROTO.  version accepts trailing bytes (newer
 * fields), the others must use the whole payload. */
int bitcoin__parse_version(const uint8_t *p, size_t len, struct bitcoin__version *v);
/* inv, getdata, notfound: the count; entries of 36 bytes (type, hash)
 * start at p + *off. */
int bitcoin__parse_inv(const uint8_t *p, size_t len, uint64_t *n, size_t *off);
/* One transaction at p (legacy or segwit): its size in *used. */
int bitcoin__parse_tx(const uint8_t *p, size_t len, size_t *used);
/* A block: 80-byte header, then its transactions; their number. */
int bitcoin__parse_block(const uint8_t *p, size_t len, uint64_t *ntx);
int bitcoin__parse_addr(const uint8_t *p, size_t len, uint64_t *n);
/* ping, pong: an 8-byte nonce. */
int bitcoin__parse_nonce(const uint8_t *p, size_t len, uint64_t *nonce);

#endif
