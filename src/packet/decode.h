/* decode.h - one captured frame to what clone and compare need of it:
 * addresses, transport and ports, TCP flags, and the IP and payload
 * lengths as they were on the wire (a capture's snap length cuts what
 * is stored, not what was sent).  Pure: no I/O, no allocation; the
 * result points into the frame.
 *
 * Link types: Ethernet (802.1Q/802.1ad tags, PPPoE sessions), Linux
 * cooked v1 and v2, raw IP, BSD loopback (both byte orders).  IPv4 with
 * options and fragments; IPv6 with extension headers and fragments.  A
 * frame decode cannot read is counted by its caller under the reason
 * decode gives, never guessed at. */
#ifndef DYNAMO_DECODE_H
#define DYNAMO_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Link types, as libpcap's DLT_* values (pcap/dlt.h) */
enum {
	LINK_NULL = 0,          /* BSD loopback, host byte order family */
	LINK_ETHERNET = 1,
	LINK_RAW = 12,          /* DLT_RAW on Linux: raw IPv4 or IPv6 */
	LINK_RAW_OPENBSD = 14,
	LINK_LOOP = 108,        /* OpenBSD loopback, network byte order */
	LINK_SLL = 113,         /* Linux cooked v1 */
	LINK_RAW101 = 101,      /* LINKTYPE_RAW, as some files keep it */
	LINK_IPV4 = 228,
	LINK_IPV6 = 229,
	LINK_SLL2 = 276,        /* Linux cooked v2 */
};

enum decode_res {
	DECODE_OK,
	DECODE_NOT_IP,          /* ARP, LLDP, STP, ...: not an error */
	DECODE_TRUNCATED,       /* the capture holds less than the headers */
	DECODE_BAD,             /* headers that cannot be right */
	DECODE_LINK,            /* a link type this reader does not know */
};

/* Fragments: a first fragment has the transport header, the others
 * only the fragment id to tie them to it. */
enum { FRAG_NONE, FRAG_FIRST, FRAG_LATER };

struct pkt {
	/* Addresses as 16 bytes; IPv4 as ::ffff:a.b.c.d */
	uint8_t src[16], dst[16];
	uint8_t smac[6], dmac[6];
	bool has_mac;
	uint8_t family;         /* 4 or 6 */
	uint8_t proto;          /* IPPROTO_TCP, _UDP, _ICMP, _ICMPV6, other */
	uint8_t tcp_flags;      /* TCP only */
	uint8_t frag;           /* FRAG_* */
	uint16_t sport, dport;  /* TCP and UDP; ICMP echo: id in both */
	uint16_t vlan;          /* the outer 802.1Q id, 0 if none */
	uint32_t frag_id;       /* fragments: the IP id */
	uint32_t ip_len;        /* IP packet length on the wire */
	uint32_t payload_len;   /* transport payload on the wire */
	const uint8_t *payload; /* what the capture holds of it */
	uint32_t payload_cap;
	uint32_t tcp_seq;
	const uint8_t *l3;      /* the IP header, and what the capture holds */
	uint32_t l3_cap;        /* of the packet (at most ip_len) */
};

/* Decode frame p (caplen bytes stored, wirelen sent) of link type link.
 * On anything but DECODE_OK, *why says what (a static string). */
enum decode_res decode_frame(int link, const uint8_t *p, uint32_t caplen, uint32_t wirelen,
			     struct pkt *k, const char **why);

/* The link type's name ("Ethernet", "Linux cooked v2"), or NULL when
 * decode_frame() does not know it. */
const char *decode_link_name(int link);

/* Is addr (16 bytes, as in struct pkt) IPv4? */
static inline bool decode_is_v4(const uint8_t *a)
{
	static const uint8_t pre[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	for (int i = 0; i < 12; i++)
		if (a[i] != pre[i])
			return false;
	return true;
}

/* Is addr a group's: multicast, or a broadcast (IPv4's last address of
 * a /24 is taken as one, as clone takes subnets to be /24s)? */
static inline bool decode_is_group(const uint8_t *a)
{
	if (decode_is_v4(a))
		return (a[12] & 0xf0) == 0xe0 || a[15] == 255;
	return a[0] == 0xff;
}

/* addr as text ("192.0.2.1", "2001:db8::1") into buf of at least 46. */
const char *decode_addr_str(const uint8_t *a, char *buf, size_t len);

#endif
