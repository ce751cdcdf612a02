/* sip-wire.c - the realtime agent's wire formats (sip.h): SIP and SDP
 * text, RTP and RTCP headers and the receiver statistics RTCP reports,
 * STUN Binding.  Pure code: no sockets, no clock. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../lib/bytes.h"
#include "../lib/util.h"
#include "sip.h"





/* ---- SIP ----------------------------------------------------------------- */

static bool str_is(struct sip__str s, const char *w)
{
	return s.n == strlen(w) && !strncasecmp(s.p, w, s.n);
}

static struct sip__str trim(const char *p, size_t n)
{
	while (n && (*p == ' ' || *p == '\t'))
		p++, n--;
	while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		n--;
	return (struct sip__str){ p, n };
}

/* The value of parameter name (";tag=", ";branch=") in s, from 'from'
 * on; empty if there is none. */
static struct sip__str param(struct sip__str s, size_t from, const char *name)
{
	size_t k = strlen(name);   /* "tag=": the value follows ";tag=" */

	for (size_t i = from; i + 1 + k <= s.n; i++) {
		size_t j;

		if (s.p[i] != ';' || strncasecmp(s.p + i + 1, name, k))
			continue;
		j = i + 1 + k;
		while (j < s.n && !strchr(";,> \t\r", s.p[j]))
			j++;
		return (struct sip__str){ s.p + i + 1 + k, j - i - 1 - k };
	}
	return (struct sip__str){ s.p + s.n, 0 };
}

/* Where a From or To header's parameters begin: after its <URI> if it
 * has one (a URI's own parameters are not the header's). */
static size_t after_uri(struct sip__str s)
{
	for (size_t i = 0; i < s.n; i++)
		if (s.p[i] == '>')
			return i + 1;
	return 0;
}

/* A decimal number of at most 9 digits, the whole of s. */
static int number(struct sip__str s, long *out)
{
	long v = 0;

	if (!s.n || s.n > 9)
		return -EBADMSG;
	for (size_t i = 0; i < s.n; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -EBADMSG;
		v = v * 10 + (s.p[i] - '0');
	}
	*out = v;
	return 0;
}

static bool token_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c && strchr("-.!%*_+`'~", c));
}

static int start_line(struct sip__str l, struct sip__msg *m)
{
	const char *sp1, *sp2;

	if (l.n > 8 && !memcmp(l.p, "SIP/2.0 ", 8)) {
		long code;

		if (l.n < 11 || number((struct sip__str){ l.p + 8, 3 }, &code) || code < 100 ||
		    code > 699 || (l.n > 11 && l.p[11] != ' '))
			return -EBADMSG;
		m->code = (int)code;
		m->reason = l.n > 12 ? trim(l.p + 12, l.n - 12) : (struct sip__str){ l.p + l.n, 0 };
		return 0;
	}
	sp1 = memchr(l.p, ' ', l.n);
	if (!sp1 || sp1 == l.p)
		return -EBADMSG;
	for (const char *c = l.p; c < sp1; c++)
		if (!token_char(*c))
			return -EBADMSG;
	sp2 = memchr(sp1 + 1, ' ', l.n - (size_t)(sp1 + 1 - l.p));
	if (!sp2 || sp2 == sp1 + 1 || (size_t)(l.p + l.n - sp2) != 8 || memcmp(sp2, " SIP/2.0", 8))
		return -EBADMSG;
	m->request = true;
	m->method = (struct sip__str){ l.p, (size_t)(sp1 - l.p) };
	m->uri = (struct sip__str){ sp1 + 1, (size_t)(sp2 - sp1 - 1) };
	return 0;
}

/* The end of the line that starts at i (the index of its LF, or n). */
static size_t line_end(const char *b, size_t n, size_t i)
{
	const char *lf = memchr(b + i, '\n', n - i);

	return lf ? (size_t)(lf - b) : n;
}

static int header(struct sip__msg *m, struct sip__str name, struct sip__str v, long *clen)
{
	static const struct {
		char compact;
		const char *name;
	} forms[] = {
		{ 'v', "Via" }, { 'f', "From" }, { 't', "To" }, { 'i', "Call-ID" },
		{ 'm', "Contact" }, { 'l', "Content-Length" }, { 'c', "Content-Type" },
	};
	const char *full = NULL;
	long num;

	if (name.n == 1) {
		for (size_t i = 0; i < ARRAY_SIZE(forms); i++)
			if ((name.p[0] | 0x20) == forms[i].compact)
				full = forms[i].name;
	}
	if (full)
		name = (struct sip__str){ full, strlen(full) };
	if (str_is(name, "Via")) {
		if (m->via.p)
			return 0;   /* only the top one is ours */
		for (size_t i = 0; i < v.n; i++)
			if (v.p[i] == ',') {
				v.n = i;
				break;
			}
		m->via = trim(v.p, v.n);
		m->branch = param(m->via, 0, "branch=");
	} else if (str_is(name, "From")) {
		m->from = v;
		m->from_tag = param(v, after_uri(v), "tag=");
	} else if (str_is(name, "To")) {
		m->to = v;
		m->to_tag = param(v, after_uri(v), "tag=");
	} else if (str_is(name, "Call-ID")) {
		m->call_id = v;
	} else if (str_is(name, "CSeq")) {
		const char *sp = memchr(v.p, ' ', v.n);

		if (!sp || number((struct sip__str){ v.p, (size_t)(sp - v.p) }, &num))
			return -EBADMSG;
		m->cseq = (uint32_t)num;
		m->cseq_method = trim(sp + 1, v.n - (size_t)(sp + 1 - v.p));
		if (!m->cseq_method.n)
			return -EBADMSG;
	} else if (str_is(name, "Contact")) {
		if (!m->contact.p)
			m->contact = v;
	} else if (str_is(name, "Content-Length")) {
		if (number(v, clen))
			return -EBADMSG;
	} else if (str_is(name, "Content-Type")) {
		m->ctype = v;
	} else if (str_is(name, "Expires")) {
		if (number(v, &num))
			return -EBADMSG;
		m->expires = num;
	} else if (str_is(name, "Authorization")) {
		m->auth = v;
	} else if (str_is(name, "WWW-Authenticate")) {
		m->www_auth = v;
	}
	return 0;
}

int sip__parse(const char *buf, size_t len, struct sip__msg *m)
{
	size_t i, e;
	long clen = -1;

	memset(m, 0, sizeof(*m));
	m->expires = -1;
	if (!len)
		return -EBADMSG;
	e = line_end(buf, len, 0);
	if (e == len || start_line(trim(buf, e), m))
		return -EBADMSG;
	for (i = e + 1;;) {
		struct sip__str name, v;
		const char *colon;
		size_t le;

		if (i >= len)
			return -EBADMSG;     /* no empty line: cut short */
		le = line_end(buf, len, i);
		if (le == len)
			return -EBADMSG;
		if (le == i || (le == i + 1 && buf[i] == '\r')) {
			i = le + 1;
			break;
		}
		if (buf[i] == ' ' || buf[i] == '\t')
			return -EBADMSG;     /* a fold with no header before it */
		colon = memchr(buf + i, ':', le - i);
		if (!colon)
			return -EBADMSG;
		name = trim(buf + i, (size_t)(colon - buf - i));
		if (!name.n)
			return -EBADMSG;
		for (size_t k = 0; k < name.n; k++)
			if (!token_char(name.p[k]))
				return -EBADMSG;
		/* a value folded over the lines that start with white space */
		while (le + 1 < len && (buf[le + 1] == ' ' || buf[le + 1] == '\t')) {
			size_t next = line_end(buf, len, le + 1);

			if (next == len)
				return -EBADMSG;
			le = next;
		}
		v = trim(colon + 1, (size_t)(buf + le - colon - 1));
		if (header(m, name, v, &clen))
			return -EBADMSG;
		i = le + 1;
	}
	if (clen > (long)(len - i))
		return -EBADMSG;
	m->body = (struct sip__str){ buf + i, clen >= 0 ? (size_t)clen : len - i };
	if (!m->via.p || !m->from.p || !m->to.p || !m->call_id.n || !m->cseq_method.n)
		return -EBADMSG;
	return 0;
}

/* ---- SDP ----------------------------------------------------------------- */

static uint32_t static_clock(int pt)
{
	/* RFC 3551's audio types at 8 kHz: PCMU, GSM, G723, PCMA, G722,
	 * G728, G729 (G722's RTP clock is 8 kHz too) */
	return pt == 0 || pt == 3 || pt == 4 || pt == 8 || pt == 9 || pt == 15 || pt == 18 ? 8000
	       : pt == 34 || pt == 26 || pt == 31 || pt == 32 ? 90000 : 0;
}

static int sdp_addr(struct sip__str v, uint32_t *out)
{
	char a[16];
	struct in_addr in;

	if (v.n < 8 || v.n - 7 >= sizeof(a) || memcmp(v.p, "IN IP4 ", 7))
		return -EBADMSG;
	memcpy(a, v.p + 7, v.n - 7);
	a[v.n - 7] = '\0';
	/* a multicast address may carry /ttl; none of ours does */
	if (inet_pton(AF_INET, a, &in) != 1)
		return -EBADMSG;
	*out = ntohl(in.s_addr);
	return 0;
}

static int sdp_dir(struct sip__str v)
{
	return str_is(v, "sendrecv") ? SDP_SENDRECV : str_is(v, "sendonly") ? SDP_SENDONLY
	       : str_is(v, "recvonly") ? SDP_RECVONLY : str_is(v, "inactive") ? SDP_INACTIVE : -1;
}

static int sdp_media(struct sip__str v, struct sip__sdp_media *md)
{
	const char *p = v.p, *end = v.p + v.n, *sp;
	long port, pt;

	sp = memchr(p, ' ', v.n);
	if (!sp)
		return -EBADMSG;
	md->kind = (size_t)(sp - p) == 5 && !memcmp(p, "audio", 5)   ? SIP_AUDIO
		   : (size_t)(sp - p) == 5 && !memcmp(p, "video", 5) ? SIP_VIDEO : -1;
	p = sp + 1;
	sp = memchr(p, ' ', (size_t)(end - p));
	if (!sp || number((struct sip__str){ p, (size_t)(sp - p) }, &port) || port > 65535)
		return -EBADMSG;
	md->port = (uint16_t)port;
	p = sp + 1;
	sp = memchr(p, ' ', (size_t)(end - p));
	if (!sp || sp == p)
		return -EBADMSG;    /* a transport and at least one format */
	/* the formats: numbers for RTP profiles, up to eight kept */
	md->pt = -1;
	for (p = sp + 1; p < end; p = sp + 1) {
		sp = memchr(p, ' ', (size_t)(end - p));
		if (!sp)
			sp = end;
		if (number((struct sip__str){ p, (size_t)(sp - p) }, &pt) || pt > 127)
			continue;
		if (md->pt < 0)
			md->pt = (int)pt;
		if (md->npts < ARRAY_SIZE(md->pts))
			md->pts[md->npts++] = (int)pt;
	}
	md->clock = md->pt >= 0 ? static_clock(md->pt) : 0;
	return 0;
}

int sip__sdp_parse(const char *b, size_t n, struct sip__sdp *s)
{
	uint32_t sess_addr = 0;
	int sess_dir = SDP_SENDRECV;
	bool first = true;

	memset(s, 0, sizeof(*s));
	for (size_t i = 0; i < n;) {
		size_t e = line_end(b, n, i);
		struct sip__str l = trim(b + i, e - i), v;
		struct sip__sdp_media *md = s->nmedia ? &s->m[s->nmedia - 1] : NULL;

		i = e + 1;
		if (!l.n)
			continue;
		if (l.n < 2 || l.p[1] != '=' || l.p[0] < 'a' || l.p[0] > 'z')
			return -EBADMSG;
		v = (struct sip__str){ l.p + 2, l.n - 2 };
		if (first && !(l.p[0] == 'v' && str_is(v, "0")))
			return -EBADMSG;
		first = false;
		switch (l.p[0]) {
		case 'o': {
			/* o=user sess-id version IN IP4 addr */
			const char *sp = memchr(v.p, ' ', v.n), *sp2;
			long id;

			if (!sp)
				return -EBADMSG;
			sp2 = memchr(sp + 1, ' ', (size_t)(v.p + v.n - sp - 1));
			if (!sp2 || number((struct sip__str){ sp + 1, MIN((size_t)(sp2 - sp - 1), 9) }, &id))
				return -EBADMSG;
			s->sess_id = (uint64_t)id;
			break;
		}
		case 'c':
			if (md) {
				if (sdp_addr(v, &md->addr))
					return -EBADMSG;
			} else if (sdp_addr(v, &sess_addr)) {
				return -EBADMSG;
			}
			break;
		case 'm':
			if (s->nmedia == SIP_SDP_MEDIA)
				return -EBADMSG;
			md = &s->m[s->nmedia++];
			if (sdp_media(v, md))
				return -EBADMSG;
			md->dir = sess_dir;
			md->addr = sess_addr;
			break;
		case 'a': {
			int d = sdp_dir(v);

			if (d >= 0) {
				if (md)
					md->dir = d;
				else
					sess_dir = d;
			} else if (md && v.n > 7 && !memcmp(v.p, "rtpmap:", 7)) {
				/* rtpmap:PT NAME/CLOCK[/CHANNELS] */
				const char *sp = memchr(v.p, ' ', v.n), *sl, *sl2;
				long pt, clock;

				if (!sp || number((struct sip__str){ v.p + 7, (size_t)(sp - v.p - 7) }, &pt))
					return -EBADMSG;
				sl = memchr(sp, '/', (size_t)(v.p + v.n - sp));
				if (!sl)
					return -EBADMSG;
				sl2 = memchr(sl + 1, '/', (size_t)(v.p + v.n - sl - 1));
				if (number((struct sip__str){ sl + 1, (size_t)((sl2 ? sl2 : v.p + v.n) - sl - 1) },
					   &clock))
					return -EBADMSG;
				if (pt == md->pt)
					md->clock = (uint32_t)clock;
			}
			break;
		}
		default:
			break;
		}
	}
	return first ? -EBADMSG : 0;
}

/* ---- RTP ----------------------------------------------------------------- */

int sip__rtp_parse(const uint8_t *b, size_t n, struct sip__rtp *r)
{
	size_t off;

	if (n < RTP_HDR || b[0] >> 6 != 2)
		return -EBADMSG;
	off = RTP_HDR + 4u * (b[0] & 15);
	if (b[0] & 0x10) {
		if (off + 4 > n)
			return -EBADMSG;
		off += 4 + 4u * be16(b + off + 2);
	}
	if (off > n)
		return -EBADMSG;
	r->len = n - off;
	if (b[0] & 0x20) {
		if (!r->len || b[n - 1] == 0 || b[n - 1] > r->len)
			return -EBADMSG;
		r->len -= b[n - 1];
	}
	r->marker = b[1] >> 7;
	r->pt = b[1] & 0x7f;
	r->seq = be16(b + 2);
	r->ts = be32(b + 4);
	r->ssrc = be32(b + 8);
	r->off = off;
	return 0;
}

void sip__rtp_header(uint8_t *b, uint8_t pt, bool marker, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
	b[0] = 0x80;
	b[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7f));
	put_be16(b + 2, seq);
	put_be32(b + 4, ts);
	put_be32(b + 8, ssrc);
}

#define MAX_DROPOUT 3000
#define MAX_MISORDER 100
#define SEQ_MOD (1u << 16)

void sip__rx_packet(struct sip__rx *r, uint16_t seq, uint32_t ts, uint64_t arrival_ns)
{
	uint16_t udelta = (uint16_t)(seq - r->max_seq);
	/* the arrival in timestamp units; only differences count */
	int64_t arrival = (int64_t)(arrival_ns / 1000 * r->clock / 1000000), transit, d;

	if (!r->seen) {
		r->seen = true;
		r->base_seq = seq;
		r->max_seq = seq;
		r->bad_seq = SEQ_MOD + 1;
		r->received = 1;
		r->transit = arrival - (int64_t)ts;
		return;
	}
	if (udelta < MAX_DROPOUT) {
		if (seq < r->max_seq)
			r->cycles += SEQ_MOD;
		r->max_seq = seq;
	} else if (udelta <= SEQ_MOD - MAX_MISORDER) {
		/* a jump: a restarted sender if the next packet follows it */
		if (seq == r->bad_seq) {
			r->cycles = 0;
			r->base_seq = seq;
			r->max_seq = seq;
			r->received = r->expected_prior = r->received_prior = 0;
		} else {
			r->bad_seq = (seq + 1u) & (SEQ_MOD - 1);
			return;
		}
	}   /* else: late or duplicate, counted */
	r->received++;
	/* interarrival jitter, A.8: differences wrap as 32-bit numbers do */
	transit = arrival - (int64_t)ts;
	d = (int64_t)(int32_t)(uint32_t)(transit - r->transit);
	r->transit = transit;
	if (d < 0)
		d = -d;
	r->jitter += ((double)d - r->jitter) / 16.0;
}

void sip__rx_report(struct sip__rx *r, int32_t *lost, uint8_t *fraction, uint32_t *ext_max)
{
	uint32_t ext = r->cycles + r->max_seq;
	int64_t expected = (int64_t)ext - r->base_seq + 1, l = expected - r->received;
	int64_t exp_int = expected - r->expected_prior, rec_int = (int64_t)r->received - r->received_prior;
	int64_t lost_int = exp_int - rec_int;

	/* 24 bits, signed: duplicates may make it negative */
	*lost = (int32_t)(l > 0x7fffff ? 0x7fffff : l < -0x800000 ? -0x800000 : l);
	*fraction = exp_int <= 0 || lost_int <= 0 ? 0 : (uint8_t)MIN(255, (lost_int << 8) / exp_int);
	*ext_max = ext;
	r->expected_prior = (uint32_t)expected;
	r->received_prior = r->received;
}

/* ---- RTCP ---------------------------------------------------------------- */

enum { RTCP_SR = 200, RTCP_RR = 201, RTCP_SDES = 202, RTCP_BYE = 203 };

static void block_read(const uint8_t *p, struct sip__rtcp_block *k)
{
	uint32_t l = (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];

	k->ssrc = be32(p);
	k->fraction = p[4];
	k->lost = (int32_t)(l & 0x800000 ? l | 0xff000000u : l);
	k->ext_max = be32(p + 8);
	k->jitter = be32(p + 12);
	k->lsr = be32(p + 16);
	k->dlsr = be32(p + 20);
}

int sip__rtcp_parse(const uint8_t *b, size_t n, struct sip__rtcp *r)
{
	size_t off = 0;

	memset(r, 0, sizeof(*r));
	while (off < n) {
		const uint8_t *p = b + off;
		size_t len, head;
		unsigned count;

		if (n - off < 4 || p[0] >> 6 != 2)
			return -EBADMSG;
		len = 4 * ((size_t)be16(p + 2) + 1);
		if (len > n - off || ((p[0] & 0x20) && off + len != n))
			return -EBADMSG;   /* padding only on the last */
		count = p[0] & 31;
		if (!off && p[1] != RTCP_SR && p[1] != RTCP_RR)
			return -EBADMSG;
		switch (p[1]) {
		case RTCP_SR:
		case RTCP_RR:
			head = p[1] == RTCP_SR ? 28 : 8;
			if (len < head + 24 * count)
				return -EBADMSG;
			if (off)
				break;     /* a second report: ours is the first */
			r->sr = p[1] == RTCP_SR;
			r->ssrc = be32(p + 4);
			if (r->sr) {
				r->ntp = (uint64_t)be32(p + 8) << 32 | be32(p + 12);
				r->rtp_ts = be32(p + 16);
				r->packets = be32(p + 20);
				r->octets = be32(p + 24);
			}
			for (unsigned i = 0; i < count && r->nblocks < SIP_RTCP_BLOCKS; i++)
				block_read(p + head + 24 * i, &r->b[r->nblocks++]);
			break;
		case RTCP_SDES:
			r->sdes = true;
			break;
		case RTCP_BYE:
			if (len < 4 + 4 * (size_t)count)
				return -EBADMSG;
			r->bye = true;
			break;
		default:
			break;
		}
		off += len;
	}
	return 0;
}

size_t sip__rtcp_build(uint8_t *out, size_t cap, const struct sip__rtcp *r, const char *cname)
{
	size_t nb = MIN(r->nblocks, (unsigned)SIP_RTCP_BLOCKS), cn = MIN(strlen(cname), 255u);
	size_t head = r->sr ? 28 : 8, rep = head + 24 * nb;
	/* SDES: header, SSRC, CNAME item, a null item, to a 4-byte boundary */
	size_t sdes = (8 + 2 + cn + 1 + 3) & ~(size_t)3, n = rep + sdes + (r->bye ? 8 : 0);
	uint8_t *p;

	if (n > cap)
		return 0;
	memset(out, 0, n);
	out[0] = (uint8_t)(0x80 | nb);
	out[1] = r->sr ? RTCP_SR : RTCP_RR;
	put_be16(out + 2, (uint16_t)(rep / 4 - 1));
	put_be32(out + 4, r->ssrc);
	if (r->sr) {
		put_be32(out + 8, (uint32_t)(r->ntp >> 32));
		put_be32(out + 12, (uint32_t)r->ntp);
		put_be32(out + 16, r->rtp_ts);
		put_be32(out + 20, r->packets);
		put_be32(out + 24, r->octets);
	}
	for (size_t i = 0; i < nb; i++) {
		const struct sip__rtcp_block *k = &r->b[i];

		p = out + head + 24 * i;
		put_be32(p, k->ssrc);
		p[4] = k->fraction;
		p[5] = (uint8_t)((uint32_t)k->lost >> 16);
		p[6] = (uint8_t)((uint32_t)k->lost >> 8);
		p[7] = (uint8_t)k->lost;
		put_be32(p + 8, k->ext_max);
		put_be32(p + 12, k->jitter);
		put_be32(p + 16, k->lsr);
		put_be32(p + 20, k->dlsr);
	}
	p = out + rep;
	p[0] = 0x81;
	p[1] = RTCP_SDES;
	put_be16(p + 2, (uint16_t)(sdes / 4 - 1));
	put_be32(p + 4, r->ssrc);
	p[8] = 1;    /* CNAME */
	p[9] = (uint8_t)cn;
	memcpy(p + 10, cname, cn);
	if (r->bye) {
		p = out + rep + sdes;
		p[0] = 0x81;
		p[1] = RTCP_BYE;
		put_be16(p + 2, 1);
		put_be32(p + 4, r->ssrc);
	}
	return n;
}

/* ---- STUN ---------------------------------------------------------------- */

enum {
	STUN_XOR_MAPPED = 0x0020,
	STUN_SOFTWARE = 0x8022,
	STUN_FINGERPRINT = 0x8028,
};
#define STUN_FP_XOR 0x5354554eu
#define STUN_SOFTWARE_NAME "dynamo"

static uint32_t crc32(const uint8_t *b, size_t n)
{
	uint32_t c = 0xffffffffu;

	for (size_t i = 0; i < n; i++) {
		c ^= b[i];
		for (int k = 0; k < 8; k++)
			c = c >> 1 ^ (0xedb88320u & -(c & 1));
	}
	return ~c;
}

int sip__stun_parse(const uint8_t *b, size_t n, struct sip__stun *s)
{
	size_t off = STUN_HDR;

	memset(s, 0, sizeof(*s));
	if (n < STUN_HDR || b[0] >> 6 || be16(b + 2) & 3 || be16(b + 2) + (size_t)STUN_HDR != n ||
	    be32(b + 4) != STUN_COOKIE)
		return -EBADMSG;
	s->type = be16(b);
	memcpy(s->tid, b + 8, 12);
	while (off < n) {
		uint16_t t, l;

		if (n - off < 4)
			return -EBADMSG;
		t = be16(b + off);
		l = be16(b + off + 2);
		if (((size_t)l + 3) / 4 * 4 > n - off - 4)
			return -EBADMSG;
		if (t == STUN_XOR_MAPPED && l >= 8 && b[off + 5] == 1) {
			s->mapped = true;
			s->port = be16(b + off + 6) ^ (uint16_t)(STUN_COOKIE >> 16);
			s->addr = be32(b + off + 8) ^ STUN_COOKIE;
		} else if (t == STUN_FINGERPRINT) {
			if (l != 4 || off + 8 != n)
				return -EBADMSG;    /* the last attribute, always */
			s->fingerprint = (crc32(b, off) ^ STUN_FP_XOR) == be32(b + off + 4);
		}
		off += 4 + ((size_t)l + 3) / 4 * 4;
	}
	return 0;
}

size_t sip__stun_build(uint8_t *out, size_t cap, uint16_t type, const uint8_t tid[12], uint32_t addr,
		       uint16_t port)
{
	size_t sw = strlen(STUN_SOFTWARE_NAME), n = STUN_HDR, need;
	bool resp = type == STUN_BINDING_OK;

	need = STUN_HDR + (resp ? 12 : 0) + 4 + (sw + 3) / 4 * 4 + 8;
	if (need > cap)
		return 0;
	memset(out, 0, need);
	put_be16(out, type);
	put_be32(out + 4, STUN_COOKIE);
	memcpy(out + 8, tid, 12);
	if (resp) {
		put_be16(out + n, STUN_XOR_MAPPED);
		put_be16(out + n + 2, 8);
		out[n + 5] = 1;
		put_be16(out + n + 6, port ^ (uint16_t)(STUN_COOKIE >> 16));
		put_be32(out + n + 8, addr ^ STUN_COOKIE);
		n += 12;
	}
	put_be16(out + n, STUN_SOFTWARE);
	put_be16(out + n + 2, (uint16_t)sw);
	memcpy(out + n + 4, STUN_SOFTWARE_NAME, sw);
	n += 4 + (sw + 3) / 4 * 4;
	/* the length counts the fingerprint, which covers all before it */
	put_be16(out + 2, (uint16_t)(n + 8 - STUN_HDR));
	put_be16(out + n, STUN_FINGERPRINT);
	put_be16(out + n + 2, 4);
	put_be32(out + n + 4, crc32(out, n) ^ STUN_FP_XOR);
	return n + 8;
}
