/* dns.h - what the DNS server, the client and the fuzz target share: the
 * message parsers (pure functions on (buf, len) that never read past len
 * and allocate nothing), the generated zone, and the server's answer to
 * one query, so the whole path from query bytes to reply bytes can be
 * fuzzed without sockets. */
#ifndef DYNAMO_AGENTS_DNS_H
#define DYNAMO_AGENTS_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_SOA = 6, DNS_T_PTR = 12,
	DNS_T_MX = 15, DNS_T_TXT = 16, DNS_T_AAAA = 28, DNS_T_OPT = 41, DNS_T_IXFR = 251,
	DNS_T_AXFR = 252, DNS_T_MAILB = 253, DNS_T_MAILA = 254, DNS_T_ANY = 255,
};

enum { DNS_C_IN = 1, DNS_C_ANY = 255 };

enum {
	DNS_R_NOERROR = 0, DNS_R_FORMERR = 1, DNS_R_SERVFAIL = 2, DNS_R_NXDOMAIN = 3,
	DNS_R_NOTIMP = 4, DNS_R_REFUSED = 5, DNS_R_BADVERS = 16,
};

#define DNS_F_QR 0x8000
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
#define DNS_F_AD 0x0020
#define DNS_F_CD 0x0010
#define DNS_OPCODE(f) (((f) >> 11) & 15)
#define DNS_RCODE(f) ((f) & 15)

#define DNS_HDR 12
#define DNS_MAX_MSG 65535      /* a TCP message; UDP answers are smaller */
#define DNS_UDP_MIN 512        /* what a client without EDNS takes */
#define DNS_UDP_MAX 4096       /* the most we send over UDP, whatever asked */
#define DNS_EDNS_SIZE 1232     /* the size we advertise (DNS flag day 2020) */
#define DNS_NAME_WIRE 255      /* a name's wire length, root label included */
#define DNS_NAME_TEXT 1024     /* its escaped text (\DDD), NUL included */

struct dns__hdr {
	uint16_t id, flags, qd, an, ns, ar;
};

/* The header at msg: 0, or -EBADMSG when shorter than one. */
int dns__parse_header(const uint8_t *msg, size_t len, struct dns__hdr *h);

/* The name at off, following compression pointers: each pointer must
 * go strictly backward of the run it ends (so loops cannot be made),
 * inside the message, and labels must be plain (no 0x40/0x80 types).
 * Fills wire (DNS_NAME_WIRE bytes: uncompressed, case kept) and text
 * (DNS_NAME_TEXT: dotted, no final dot, "." for the root, odd bytes as
 * \DDD and dots in labels as \.), each optional, and *next: the offset
 * after the name where it stands.  0 or -EBADMSG. */
int dns__read_name(const uint8_t *msg, size_t len, size_t off, size_t *next, uint8_t *wire,
		   size_t *wirelen, char *text);

/* One resource record at *off (advanced past it), its owner checked and
 * its data checked against its type: fixed sizes for A and AAAA, names
 * that fill the data for NS, CNAME, PTR, MX and SOA, strings that fill
 * it for TXT, options that fill it for OPT.  0 or -EBADMSG. */
struct dns__rr {
	uint16_t type, klass;
	uint32_t ttl;
	uint16_t rdlen;
	size_t owner, rdata;    /* offsets in the message */
};
int dns__parse_rr(const uint8_t *msg, size_t len, size_t *off, struct dns__rr *rr);

/* A query, as the server takes it: one question, then the records of
 * the other sections walked and checked, with EDNS read from an OPT.
 * 0; -EINVAL for a message that is no query (QR set: never answered);
 * -EBADMSG for a malformed one (FORMERR; *q holds the header, and
 * has_question says whether the question could be read). */
struct dns__query {
	struct dns__hdr h;
	uint8_t qwire[DNS_NAME_WIRE];
	size_t qwirelen;
	uint16_t qtype, qclass;
	bool has_question;
	bool edns;
	uint8_t edns_version;
	bool edns_do;
	uint16_t udp_size;      /* the EDNS size asked, or 512 */
};
int dns__parse_query(const uint8_t *msg, size_t len, struct dns__query *q);

/* A reply, as the client takes it: the header and question, every
 * record walked and checked, and what a stub resolver looks at.
 * 0 or -EBADMSG (QR clear, a question count other than 0 or 1, a
 * malformed record, trailing bytes). */
struct dns__reply {
	struct dns__hdr h;
	bool has_question;
	char qname[DNS_NAME_TEXT];
	uint16_t qtype, qclass;
	unsigned answers;       /* answer records of the question's type */
	unsigned cnames;        /* CNAME records in the answer */
	bool soa;               /* an SOA in the authority section */
	bool edns;
	uint16_t rcode;         /* with the EDNS extended bits */
	char mx[DNS_NAME_TEXT]; /* the most preferred exchange, or "" */
};
int dns__parse_reply(const uint8_t *msg, size_t len, struct dns__reply *r);

/* A query for name (plain dotted text, no escapes) into out; with EDNS
 * when edns_size is not 0.  Its length, or 0 when the name is invalid or
 * out is too small. */
size_t dns__build_query(uint8_t *out, size_t cap, uint16_t id, const char *name, uint16_t qtype,
			bool rd, uint16_t edns_size);

/* ---- the generated zone ---------------------------------------------------
 * The server is authoritative for "example." and for a zone per domain
 * NAME.example, where NAME is made from common words.  Domains, the
 * hosts each has and its record counts follow from (domains, big_share,
 * seed) alone, so a client made with the same values knows which names
 * exist without asking. */

enum dns_host {
	DNS_H_APEX, DNS_H_WWW, DNS_H_MAIL, DNS_H_CDN, DNS_H_API, DNS_H_STATIC, DNS_H_BLOG,
	DNS_H_SHOP, DNS_H_BACKUP, DNS_H_DMARC, DNS_H_DKIM, DNS_H__COUNT,
};

#define DNS_D_BIG (1u << 0)       /* big record sets: the cdn host, the apex TXT */
#define DNS_D_V6 (1u << 1)        /* hosts have AAAA records too */
#define DNS_D_WWW_CNAME (1u << 2) /* www is a CNAME to cdn */
#define DNS_D_HOST(h) (1u << (8 + (h)))

#define DNS_MAX_DOMAINS 20000

struct dns__domain {
	char name[40];
	uint32_t flags;
	uint64_t seed;
};

struct dns__zone {
	struct dns__domain *d;
	unsigned n;
	uint32_t *index;        /* open addressing: domain + 1, 0 empty */
	unsigned mask;
	uint32_t serial;
	/* The emulation's own nodes, answered as NAME.example (A records;
	 * no AAAA: the emulation is IPv4).  Not owned; may be empty. */
	const char *const *nodes;
	const uint32_t *node_addrs;
	size_t nnodes;
};

/* Build the zone (n bounded to DNS_MAX_DOMAINS); free with
 * dns__zone_free, which accepts NULL. */
struct dns__zone *dns__zone_new(unsigned n, double big_share, uint64_t seed);
void dns__zone_free(struct dns__zone *z);
/* The host's label ("" for the apex, "selector1._domainkey", ...). */
const char *dns__host_label(enum dns_host h);
/* The name of host h of domain d as text: "www.coffee.example". */
void dns__host_name(const struct dns__zone *z, unsigned d, enum dns_host h, char *out, size_t n);

/* The server's reply to the message msg, into out (DNS_MAX_MSG bytes).
 * udp_max: 0 over TCP, else the transport's limit for UDP (the reply is
 * truncated, TC set, past the smaller of it and the client's EDNS size).
 * Returns the reply's length, or 0 when the message gets none (shorter
 * than a header, or a response).  *rcode tells how it went. */
size_t dns__answer(const struct dns__zone *z, const uint8_t *msg, size_t len, size_t udp_max,
		   uint8_t *out, int *rcode);

#endif
