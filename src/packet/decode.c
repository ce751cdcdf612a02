/* decode.c - frames to struct pkt (see decode.h).  Every read is checked
 * against caplen before it is made; lengths from headers are checked
 * against each other, and against the wire length where the capture
 * holds less. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#include "../lib/bytes.h"
#include "../lib/util.h"
#include "decode.h"

#define ETH_IP4 0x0800
#define ETH_IP6 0x86dd
#define ETH_VLAN 0x8100
#define ETH_QINQ 0x88a8
#define ETH_QINQ_OLD 0x9100
#define ETH_PPPOE 0x8864
#define VLAN_MAX 4            /* tags in a row we follow */
#define V6_EXT_MAX 8          /* extension headers in a row we follow */



#define FAIL(res, text) do { *why = (text); return (res); } while (0)

/* The transport header at p (cap bytes held, len on the wire). */
static enum decode_res transport(const uint8_t *p, uint32_t cap, uint32_t len, struct pkt *k,
				 const char **why)
{
	k->payload = p;
	k->payload_cap = cap;
	k->payload_len = len;
	if (k->frag == FRAG_LATER)
		return DECODE_OK;
	switch (k->proto) {
	case IPPROTO_TCP: {
		uint32_t off;

		if (len < 20)
			FAIL(DECODE_BAD, "TCP header beyond its packet");
		if (cap < 20)
			FAIL(DECODE_TRUNCATED, "TCP header cut by the capture");
		off = (uint32_t)(p[12] >> 4) * 4;
		if (off < 20 || off > len)
			FAIL(DECODE_BAD, "TCP data offset out of its packet");
		k->sport = be16(p);
		k->dport = be16(p + 2);
		k->tcp_seq = be32(p + 4);
		k->tcp_flags = p[13];
		k->payload_len = len - off;
		k->payload = p + MIN(off, cap);
		k->payload_cap = cap > off ? cap - off : 0;
		return DECODE_OK;
	}
	case IPPROTO_UDP: {
		uint32_t ulen;

		if (cap < 8)
			FAIL(DECODE_TRUNCATED, "UDP header cut by the capture");
		if (len < 8)
			FAIL(DECODE_BAD, "UDP header beyond its packet");
		ulen = be16(p + 4);
		/* 0 is a jumbogram's (RFC 2675); a first fragment holds
		 * only part of the datagram; otherwise it must fit */
		if (k->frag == FRAG_FIRST || !ulen)
			ulen = len;
		else if (ulen < 8 || ulen > len)
			FAIL(DECODE_BAD, "UDP length out of its packet");
		k->sport = be16(p);
		k->dport = be16(p + 2);
		k->payload_len = ulen - 8;
		k->payload = p + 8;
		k->payload_cap = MIN(cap - 8, ulen - 8);
		return DECODE_OK;
	}
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		if (len < 8)
			FAIL(DECODE_BAD, "ICMP header beyond its packet");
		if (cap < 8)
			FAIL(DECODE_TRUNCATED, "ICMP header cut by the capture");
		/* Echo requests and replies pair up by their identifier */
		if ((k->proto == IPPROTO_ICMP && (p[0] == 8 || p[0] == 0)) ||
		    (k->proto == IPPROTO_ICMPV6 && (p[0] == 128 || p[0] == 129)))
			k->sport = k->dport = be16(p + 4);
		k->payload_len = len - 8;
		k->payload = p + 8;
		k->payload_cap = cap - 8;
		return DECODE_OK;
	default:
		return DECODE_OK;
	}
}

static enum decode_res ip4(const uint8_t *p, uint32_t cap, uint32_t wire, struct pkt *k,
			   const char **why)
{
	uint32_t hl, tot;
	uint16_t fo;

	if (cap < 20)
		FAIL(DECODE_TRUNCATED, "IPv4 header cut by the capture");
	if (p[0] >> 4 != 4)
		FAIL(DECODE_BAD, "IPv4 packet whose version is not 4");
	hl = (uint32_t)(p[0] & 15) * 4;
	tot = be16(p + 2);
	if (hl < 20)
		FAIL(DECODE_BAD, "IPv4 header length below 20");
	if (cap < hl)
		FAIL(DECODE_TRUNCATED, "IPv4 options cut by the capture");
	/* Segmentation offload captures (TSO/GRO) leave 0 here */
	if (tot == 0)
		tot = wire;
	if (tot < hl)
		FAIL(DECODE_BAD, "IPv4 total length below its header length");
	if (tot > wire)
		FAIL(DECODE_BAD, "IPv4 total length beyond the frame");
	k->family = 4;
	memset(k->src, 0, 10);
	k->src[10] = k->src[11] = 0xff;
	memcpy(k->dst, k->src, 12);
	memcpy(k->src + 12, p + 12, 4);
	memcpy(k->dst + 12, p + 16, 4);
	k->proto = p[9];
	k->ip_len = tot;
	fo = be16(p + 6);
	if (fo & 0x1fff) {
		k->frag = FRAG_LATER;
	} else if (fo & 0x2000) {
		k->frag = FRAG_FIRST;
	}
	k->frag_id = be16(p + 4);
	k->l3 = p;
	k->l3_cap = MIN(cap, tot);
	return transport(p + hl, MIN(cap, tot) - hl, tot - hl, k, why);
}

static enum decode_res ip6(const uint8_t *p, uint32_t cap, uint32_t wire, struct pkt *k,
			   const char **why)
{
	uint32_t plen, off = 40;
	uint8_t nh;

	if (cap < 40)
		FAIL(DECODE_TRUNCATED, "IPv6 header cut by the capture");
	if (p[0] >> 4 != 6)
		FAIL(DECODE_BAD, "IPv6 packet whose version is not 6");
	plen = be16(p + 4);
	if (plen == 0)          /* a jumbogram, or offload */
		plen = wire >= 40 ? wire - 40 : 0;
	if (40 + plen > wire)
		FAIL(DECODE_BAD, "IPv6 payload length beyond the frame");
	k->family = 6;
	memcpy(k->src, p + 8, 16);
	memcpy(k->dst, p + 24, 16);
	k->ip_len = 40 + plen;
	k->l3 = p;
	k->l3_cap = MIN(cap, 40 + plen);
	nh = p[6];
	for (int i = 0;; i++) {
		uint32_t hl;

		if (nh != 0 && nh != 43 && nh != 44 && nh != 60 && nh != 51)
			break;
		if (i == V6_EXT_MAX)
			FAIL(DECODE_BAD, "IPv6 extension headers go on too long");
		if (k->frag == FRAG_LATER)
			break;   /* what follows is data */
		if (off + 8 > MIN(cap, 40 + plen))
			FAIL(off + 8 > 40 + plen ? DECODE_BAD : DECODE_TRUNCATED,
			     "IPv6 extension header cut short");
		if (nh == 44) {
			uint16_t fo = be16(p + off + 2);

			k->frag = fo & 0xfff8 ? FRAG_LATER : fo & 1 ? FRAG_FIRST : k->frag;
			k->frag_id = be32(p + off + 4);
			hl = 8;
		} else if (nh == 51) {
			hl = ((uint32_t)p[off + 1] + 2) * 4;
		} else {
			hl = ((uint32_t)p[off + 1] + 1) * 8;
		}
		nh = p[off];
		if (off + hl > 40 + plen)
			FAIL(DECODE_BAD, "IPv6 extension header beyond the packet");
		off += hl;
	}
	k->proto = nh;
	if (off > cap)
		FAIL(DECODE_TRUNCATED, "IPv6 extension headers cut by the capture");
	return transport(p + off, MIN(cap, 40 + plen) - off, 40 + plen - off, k, why);
}

/* An IP packet at p, by its version nibble. */
static enum decode_res ip_any(const uint8_t *p, uint32_t cap, uint32_t wire, struct pkt *k,
			      const char **why)
{
	if (!cap)
		FAIL(DECODE_TRUNCATED, "IP header cut by the capture");
	if (p[0] >> 4 == 4)
		return ip4(p, cap, wire, k, why);
	if (p[0] >> 4 == 6)
		return ip6(p, cap, wire, k, why);
	FAIL(DECODE_BAD, "raw IP packet of neither version 4 nor 6");
}

/* After the link header: the ethertype at p's end, the rest at p. */
static enum decode_res by_type(uint16_t type, const uint8_t *p, uint32_t cap, uint32_t wire,
			       struct pkt *k, const char **why)
{
	for (int tags = 0;; tags++) {
		if (type == ETH_IP4)
			return ip4(p, cap, wire, k, why);
		if (type == ETH_IP6)
			return ip6(p, cap, wire, k, why);
		if (type == ETH_VLAN || type == ETH_QINQ || type == ETH_QINQ_OLD) {
			if (tags == VLAN_MAX)
				FAIL(DECODE_BAD, "more VLAN tags than anyone stacks");
			if (cap < 4)
				FAIL(DECODE_TRUNCATED, "VLAN tag cut by the capture");
			if (!k->vlan)
				k->vlan = be16(p) & 0xfff;
			type = be16(p + 2);
			p += 4, cap -= 4, wire -= 4;
			continue;
		}
		if (type == ETH_PPPOE) {
			uint16_t ppp;

			if (cap < 8)
				FAIL(DECODE_TRUNCATED, "PPPoE header cut by the capture");
			ppp = be16(p + 6);
			p += 8, cap -= 8, wire -= 8;
			if (ppp == 0x0021)
				return ip4(p, cap, wire, k, why);
			if (ppp == 0x0057)
				return ip6(p, cap, wire, k, why);
			FAIL(DECODE_NOT_IP, "PPPoE session frame that is not IP");
		}
		FAIL(DECODE_NOT_IP, "frame that is not IP (ARP, LLDP, ...)");
	}
}

enum decode_res decode_frame(int link, const uint8_t *p, uint32_t caplen, uint32_t wirelen,
			     struct pkt *k, const char **why)
{
	uint32_t hl;

	memset(k, 0, sizeof(*k));
	*why = NULL;
	/* A frame is never stored longer than it was */
	if (wirelen < caplen)
		wirelen = caplen;
	switch (link) {
	case LINK_ETHERNET:
		if (caplen < 14)
			FAIL(DECODE_TRUNCATED, "Ethernet header cut by the capture");
		memcpy(k->dmac, p, 6);
		memcpy(k->smac, p + 6, 6);
		k->has_mac = true;
		/* A length (802.3 with LLC) is not an ethertype: not IP */
		return by_type(be16(p + 12), p + 14, caplen - 14, wirelen - 14, k, why);
	case LINK_SLL:
		hl = 16;
		if (caplen < hl)
			FAIL(DECODE_TRUNCATED, "Linux cooked header cut by the capture");
		if (be16(p + 2) == 1 && be16(p + 4) == 6) {   /* ARPHRD_ETHER */
			memcpy(k->smac, p + 6, 6);
			k->has_mac = true;
		}
		return by_type(be16(p + 14), p + hl, caplen - hl, wirelen - hl, k, why);
	case LINK_SLL2:
		hl = 20;
		if (caplen < hl)
			FAIL(DECODE_TRUNCATED, "Linux cooked v2 header cut by the capture");
		if (be16(p + 8) == 1 && p[11] == 6) {
			memcpy(k->smac, p + 12, 6);
			k->has_mac = true;
		}
		return by_type(be16(p), p + hl, caplen - hl, wirelen - hl, k, why);
	case LINK_RAW:
	case LINK_RAW_OPENBSD:
	case LINK_RAW101:
		return ip_any(p, caplen, wirelen, k, why);
	case LINK_IPV4:
		return ip4(p, caplen, wirelen, k, why);
	case LINK_IPV6:
		return ip6(p, caplen, wirelen, k, why);
	case LINK_NULL:
	case LINK_LOOP: {
		uint32_t fam;

		if (caplen < 4)
			FAIL(DECODE_TRUNCATED, "loopback header cut by the capture");
		fam = link == LINK_LOOP ? be32(p) : (uint32_t)p[0] | (uint32_t)p[1] << 8 |
						    (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
		/* The writer's byte order may not be ours: take either */
		if (fam > 0xffff)
			fam = __builtin_bswap32(fam);
		if (fam == 2)
			return ip4(p + 4, caplen - 4, wirelen - 4, k, why);
		/* AF_INET6 is 24, 28 or 30 depending on the BSD */
		if (fam == 24 || fam == 28 || fam == 30 || fam == 10)
			return ip6(p + 4, caplen - 4, wirelen - 4, k, why);
		FAIL(DECODE_NOT_IP, "loopback frame that is not IP");
	}
	default:
		FAIL(DECODE_LINK, "link type this reader does not know");
	}
}

const char *decode_link_name(int link)
{
	switch (link) {
	case LINK_NULL: return "BSD loopback";
	case LINK_ETHERNET: return "Ethernet";
	case LINK_RAW: case LINK_RAW_OPENBSD: case LINK_RAW101: return "raw IP";
	case LINK_LOOP: return "OpenBSD loopback";
	case LINK_SLL: return "Linux cooked";
	case LINK_SLL2: return "Linux cooked v2";
	case LINK_IPV4: return "raw IPv4";
	case LINK_IPV6: return "raw IPv6";
	default: return NULL;
	}
}

const char *decode_addr_str(const uint8_t *a, char *buf, size_t len)
{
	if (decode_is_v4(a))
		return inet_ntop(AF_INET, a + 12, buf, (socklen_t)len) ? buf : "?";
	return inet_ntop(AF_INET6, a, buf, (socklen_t)len) ? buf : "?";
}
