/* sip.h - the realtime agent's wire formats, for its tests and fuzz
 * target: SIP messages (RFC 3261) and their SDP bodies (RFC 4566), RTP
 * and RTCP (RFC 3550), STUN Binding (RFC 8489).  Parsers take any bytes
 * and return 0 or -EBADMSG; they never read past len.  The agent itself
 * is agent_sip (agent.h). */
#ifndef DYNAMO_SIP_H
#define DYNAMO_SIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIP_PORT 5060
#define SIP_STUN_PORT 3478
#define SIP_MAX_MSG 4096
/* The answering side's media ports: RTP on an even port, RTCP on the
 * next; below the ephemeral range, so the recorder calls it the server. */
#define SIP_MEDIA_LO 16384
#define SIP_MEDIA_HI 32767

/* ---- SIP ----------------------------------------------------------------- */

struct sip__str {
	const char *p;
	size_t n;
};

struct sip__msg {
	bool request;
	struct sip__str method, uri;   /* a request's */
	int code;                      /* a response's status */
	struct sip__str reason;
	struct sip__str via, branch;   /* the top Via, whole, and its branch */
	struct sip__str from, from_tag, to, to_tag;   /* whole headers and tags */
	struct sip__str call_id, cseq_method, contact, ctype;
	struct sip__str auth, www_auth;   /* Authorization, WWW-Authenticate */
	uint32_t cseq;
	long expires;                  /* -1: no Expires header */
	struct sip__str body;
};

/* A message as one UDP datagram holds it: start line, headers (compact
 * forms too), the body that Content-Length gives (or the rest).  The
 * strings point into buf.  Via, From, To, Call-ID and CSeq must be there. */
int sip__parse(const char *buf, size_t len, struct sip__msg *m);

/* ---- SDP ----------------------------------------------------------------- */

enum { SIP_AUDIO, SIP_VIDEO };
enum { SDP_SENDRECV, SDP_SENDONLY, SDP_RECVONLY, SDP_INACTIVE };
#define SIP_SDP_MEDIA 4

struct sip__sdp_media {
	int kind;          /* SIP_AUDIO, SIP_VIDEO, or -1 for another */
	uint16_t port;     /* 0: refused */
	int pt;            /* the first payload type offered */
	int pts[8];        /* the first ones, in order */
	unsigned npts;
	uint32_t clock;    /* its clock rate, from rtpmap or the static table */
	uint32_t addr;     /* c= for it (host order), or 0 */
	int dir;
};

struct sip__sdp {
	uint64_t sess_id;
	unsigned nmedia;
	struct sip__sdp_media m[SIP_SDP_MEDIA];
};

int sip__sdp_parse(const char *p, size_t n, struct sip__sdp *s);

/* ---- RTP and RTCP -------------------------------------------------------- */

#define RTP_HDR 12

struct sip__rtp {
	uint8_t pt;
	bool marker;
	uint16_t seq;
	uint32_t ts, ssrc;
	size_t off, len;   /* the payload */
};

int sip__rtp_parse(const uint8_t *b, size_t n, struct sip__rtp *r);
void sip__rtp_header(uint8_t *b, uint8_t pt, bool marker, uint16_t seq, uint32_t ts,
		     uint32_t ssrc);

/* A receiver's view of one source (RFC 3550 A.1, A.3, A.8). */
struct sip__rx {
	uint32_t ssrc;
	uint32_t clock;           /* the payload's clock rate */
	bool seen;
	uint16_t max_seq;
	uint32_t cycles, base_seq, bad_seq;
	uint32_t received, expected_prior, received_prior;
	int64_t transit;
	double jitter;            /* in timestamp units */
	uint32_t lsr;             /* middle of the last SR's NTP time */
	uint64_t lsr_at;          /* when it came (ns), 0: none yet */
};

/* A packet of seq and timestamp ts arrived at arrival_ns. */
void sip__rx_packet(struct sip__rx *r, uint16_t seq, uint32_t ts, uint64_t arrival_ns);
/* Lost since the start, the fraction lost since the last call (in
 * 1/256), and the extended highest sequence number. */
void sip__rx_report(struct sip__rx *r, int32_t *lost, uint8_t *fraction, uint32_t *ext_max);

struct sip__rtcp_block {
	uint32_t ssrc;
	uint8_t fraction;
	int32_t lost;
	uint32_t ext_max, jitter, lsr, dlsr;
};

#define SIP_RTCP_BLOCKS 4

struct sip__rtcp {
	bool sr;
	uint32_t ssrc;
	uint64_t ntp;                  /* an SR's */
	uint32_t rtp_ts, packets, octets;
	unsigned nblocks;
	struct sip__rtcp_block b[SIP_RTCP_BLOCKS];
	bool sdes, bye;
};

/* A compound packet: SR or RR first, then SDES, BYE, or others. */
int sip__rtcp_parse(const uint8_t *b, size_t n, struct sip__rtcp *r);
/* SR (r->sr) or RR with r's blocks, SDES with cname, and BYE if
 * r->bye: the bytes written, 0 if cap is too small. */
size_t sip__rtcp_build(uint8_t *out, size_t cap, const struct sip__rtcp *r, const char *cname);

/* ---- STUN ---------------------------------------------------------------- */

#define STUN_HDR 20
#define STUN_COOKIE 0x2112A442u
#define STUN_BINDING 0x0001
#define STUN_BINDING_OK 0x0101

struct sip__stun {
	uint16_t type;
	uint8_t tid[12];
	bool mapped;           /* XOR-MAPPED-ADDRESS (IPv4) was there */
	uint32_t addr;
	uint16_t port;
	bool fingerprint;      /* FINGERPRINT was there, and right */
};

int sip__stun_parse(const uint8_t *b, size_t n, struct sip__stun *s);
/* A Binding request or success response (with the mapped address
 * addr:port, host order), SOFTWARE and FINGERPRINT: the bytes written. */
size_t sip__stun_build(uint8_t *out, size_t cap, uint16_t type, const uint8_t tid[12], uint32_t addr,
		       uint16_t port);

#endif
