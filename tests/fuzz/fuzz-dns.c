/* fuzz-dns.c - libFuzzer target for the DNS agent's parsers and server
 * (src/agents/dns.c): any bytes, as a query, must get a well-formed reply
 * of the size the transport allows, or none; as a reply, must parse or be
 * refused, never crash or read out of bounds. */
#include "../../src/agents/dns.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dns__zone *zone;
static uint8_t out[DNS_MAX_MSG];

/* The reply to a query: parses, and says the query's id. */
static void check_reply(const uint8_t *q, size_t qlen, size_t udp_max)
{
	struct dns__reply r;
	int rcode;
	size_t n = dns__answer(zone, q, qlen, udp_max, out, &rcode);

	if (!n)
		return;
	if (n > DNS_MAX_MSG || (udp_max && n > udp_max))
		__builtin_trap();
	if (dns__parse_reply(out, n, &r) || r.h.id != (uint16_t)(q[0] << 8 | q[1]))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dns__reply r;
	struct dns__query q;
	char text[DNS_NAME_TEXT];
	uint8_t wire[DNS_NAME_WIRE];
	size_t next, wl;

	if (!zone)
		zone = dns__zone_new(200, 0.15, 0x646e737a6f6e65ull);
	check_reply(data, size, 0);
	check_reply(data, size, DNS_UDP_MAX);
	if (!dns__parse_reply(data, size, &r) && strlen(r.qname) >= sizeof(r.qname))
		__builtin_trap();
	if (!dns__parse_query(data, size, &q) && (q.qwirelen < 1 || q.qwirelen > DNS_NAME_WIRE))
		__builtin_trap();
	/* A name anywhere in the message, pointers and all. */
	for (size_t off = 0; off < size && off < 64; off++)
		if (!dns__read_name(data, size, off, &next, wire, &wl, text) &&
		    (next > size || wl > DNS_NAME_WIRE || strlen(text) >= sizeof(text)))
			__builtin_trap();
	return 0;
}
