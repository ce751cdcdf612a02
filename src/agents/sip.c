/* sip.c - the realtime agent: phone calls and video meetings.
 *
 * The server plays a PBX and the people behind it: a registrar on UDP
 * port 5060 that challenges REGISTER with HTTP digest, phones that ring
 * when called and answer (or are busy), a STUN server on port 3478, and
 * for each answered call the callee's media.  The client's users are
 * people at their phones: they register, call now and then, join a
 * video meeting now and then, as data/behaviours/sip.model says.
 *
 * A call on the wire: STUN Binding from the caller's media port (it
 * learns its address as the server sees it); INVITE with an SDP offer;
 * 100 Trying, 180 Ringing, then 200 OK with the answer (or 486 Busy
 * Here) and ACK; RTP both ways for as long as the call lasts - voice as
 * PCMU (160 bytes every 20 ms) or Opus (60-110 bytes every 20 ms), video
 * as VP8 frames at the model's frame rate split into packets of at most
 * 1,100 bytes, a key frame now and then - RTCP sender and receiver
 * reports every few seconds with the loss and jitter each side measures
 * of the other's streams, STUN keepalives from the media port; then BYE
 * and 200 OK, and an RTCP BYE on each stream.  SIP retransmits over UDP
 * as RFC 3261 says (T1 = 500 ms, doubling; a response to a retransmitted
 * request is sent again), so calls get through a lossy link.
 *
 * Who hangs up: each side stays for a time drawn from the model
 * (call_length, meeting_length); the first to leave sends BYE.
 *
 * The rate a call makes is the codec's, so the run's bucket gates calls,
 * not packets: a user waits for the bucket before each action, and every
 * byte sent or received is taken from it. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../engine/pace.h"
#include "../lib/util.h"
#include "agent.h"
#include "sip.h"

#define T1_S 0.5
#define T2_S 4.0
#define TIMER_B_S 32.0          /* a transaction with no answer by then fails */
#define STOP_WAIT_S 2.0         /* stopping: a BYE's answer is waited this long */
#define TICK_S 0.5              /* how soon a thinking user sees stopping */
#define RING_GUARD_S 60.0       /* no final answer by then: the call fails */
#define DEBT_S 3.0              /* see think_cb() */
#define LOAD_TAU_S 3.0          /* see load_of() */
#define PLACE_S 0.1             /* at most a call placed a bucket so often */
#define FRAME_S 0.02            /* voice: 20 ms a packet */
#define VIDEO_MTU 1100          /* video payload per packet (libwebrtc's ~1,200) */
#define CLIENT_PORT_LO 32768    /* a caller's media: ephemeral ports */
#define CLIENT_PORT_HI 60998
#define PT_PCMU 0
#define PT_PCMA 8
#define PT_VP8 96
#define PT_EVENT 101
#define PT_OPUS 111

static uint8_t sip_in[SIP_MAX_MSG + 1];
static char sip_out[SIP_MAX_MSG];

static const char *const user_agents[] = {
	"Linphone/5.2.0 (belle-sip/5.2.0)", "Zoiper rv2.10.19.4", "MicroSIP/3.21.3",
	"Yealink SIP-T46S 66.86.0.15", "Grandstream GXP2170 1.0.11.23", "PolycomVVX-VVX_411-UA/6.4.3",
};
#define SERVER_AGENT "FPBX-16.0.40(20.5.0)"

static bool str_eq(struct sip__str s, const char *w)
{
	return s.n == strlen(w) && !memcmp(s.p, w, s.n);
}

static double unit_between(struct rng *r, double a, double b)
{
	return a + (b - a) * rng_unit(r);
}

static void hex(char *out, size_t n, uint64_t v)
{
	snprintf(out, n, "%016llx", (unsigned long long)v);
}

static void addr_text(char *out, size_t n, uint32_t a)
{
	fmt_ipv4(out, n, a ? a : INADDR_LOOPBACK);
}

/* A user's password, which client and server both know from the name. */
static void password_of(const char *user, char *out, size_t n)
{
	hex(out, n, rng_hash(user, strlen(user), 0x7369702d70617373ull));
}

/* RFC 2617 digest response for REGISTER of uri. */
static void digest(const char *user, const char *realm, const char *nonce, const char *uri,
		   char out[33])
{
	char pw[24], a[512], ha1[33], ha2[33];

	password_of(user, pw, sizeof(pw));
	snprintf(a, sizeof(a), "%s:%s:%s", user, realm, pw);
	agent_md5_hex(a, strlen(a), ha1);
	snprintf(a, sizeof(a), "REGISTER:%s", uri);
	agent_md5_hex(a, strlen(a), ha2);
	snprintf(a, sizeof(a), "%s:%s:%s", ha1, nonce, ha2);
	agent_md5_hex(a, strlen(a), out);
}

/* name="value" in a digest header, copied into out. */
static bool digest_param(struct sip__str h, const char *name, char *out, size_t n)
{
	size_t k = strlen(name);

	for (size_t i = 0; i + k + 2 <= h.n; i++) {
		size_t j;

		if ((i && h.p[i - 1] != ' ' && h.p[i - 1] != ',') || strncmp(h.p + i, name, k) ||
		    h.p[i + k] != '=' || h.p[i + k + 1] != '"')
			continue;
		for (j = i + k + 2; j < h.n && h.p[j] != '"'; j++)
			;
		if (j == h.n || j - i - k - 2 >= n)
			return false;
		memcpy(out, h.p + i + k + 2, j - i - k - 2);
		out[j - i - k - 2] = '\0';
		return true;
	}
	return false;
}

/* ---- media --------------------------------------------------------------- */

struct leg;

/* One m-line at one end: RTP on an even port, RTCP on the next. */
struct stream {
	struct leg *leg;
	int kind;
	struct io rtp, rtcp;
	struct timer tx, report;
	struct sockaddr_in peer, peer_rtcp;
	bool latched, latched_rtcp;
	bool send;               /* we send media (a camera on) */
	bool started;
	uint16_t port;
	uint8_t pt;
	uint32_t clock;
	uint32_t ssrc, ts, packets, octets;
	uint16_t seq;
	bool sent;               /* RTP since the last report */
	bool talk_start;         /* the next voice packet starts a talk spurt */
	uint64_t next;           /* loop time the next frame is due */
	uint64_t key_at;         /* video: the next key frame */
	double fps;
	struct sip__rx rx;
	struct defer d;          /* freed after the loop's batch of events */
};

/* One side of a call: its streams, its SIP dialog, the message it
 * retransmits until it is answered. */
struct leg {
	struct host *h;
	struct stats *st;
	const struct model *m;
	struct stream *s[2];
	unsigned ns;
	struct timer hang;        /* this side's time to leave */
	struct timer rtx;         /* retransmission of msg */
	uint64_t rtx_ns, rtx_end;
	bool rtx_t2;              /* intervals stop growing at T2 */
	char msg[SIP_MAX_MSG];
	size_t msglen;
	int fd;                   /* the SIP socket */
	struct sockaddr_in to;    /* where SIP goes (unconnected fd) */
	bool connected;
	char call_id[96], ltag[24], rtag[96];
	char cname[96];
	uint32_t local_addr;
	void (*hangup)(struct leg *l);       /* the hang timer fired */
	void (*gave_up)(struct leg *l);      /* msg was never answered */
	void (*stun)(struct leg *l, const struct sip__stun *m);   /* an answer came */
};

static struct pace *leg_pace(const struct leg *l)
{
	return l->st->pace;
}

static void count_tx(struct leg *l, size_t n)
{
	l->st->tx += n;
	if (leg_pace(l))
		pace_take(leg_pace(l), n);
}

static void count_rx(struct leg *l, size_t n)
{
	l->st->rx += n;
	if (leg_pace(l))
		pace_take(leg_pace(l), n);
}

static void sig_send(struct leg *l, const char *b, size_t n)
{
	ssize_t w = l->connected ? send(l->fd, b, n, 0)
				 : sendto(l->fd, b, n, 0, (const struct sockaddr *)&l->to, sizeof(l->to));

	if (w > 0)
		count_tx(l, (size_t)w);
}

static void rtx_cb(struct loop *lp, struct timer *t)
{
	struct leg *l = container_of(t, struct leg, rtx);
	uint64_t now = loop_now(lp);

	if (l->h->stopping)
		l->rtx_end = MIN(l->rtx_end, now + host_ns(STOP_WAIT_S));
	if (now >= l->rtx_end) {
		l->msglen = 0;
		l->gave_up(l);
		return;
	}
	sig_send(l, l->msg, l->msglen);
	l->rtx_ns = l->rtx_t2 ? MIN(2 * l->rtx_ns, host_ns(T2_S)) : 2 * l->rtx_ns;
	loop_timer_start(lp, t, MIN(l->rtx_ns, l->rtx_end - now));
}

/* Send the message in out and again at T1, 2 T1, ... until rtx_stop()
 * or TIMER_B_S (STOP_WAIT_S once stopping). */
static void rtx_send(struct leg *l, size_t n, bool t2)
{
	double limit = l->h->stopping ? STOP_WAIT_S : TIMER_B_S;

	memcpy(l->msg, sip_out, n);
	l->msglen = n;
	l->rtx_t2 = t2;
	l->rtx_ns = host_ns(T1_S);
	l->rtx_end = loop_now(l->h->loop) + host_ns(limit);
	sig_send(l, l->msg, n);
	loop_timer_start(l->h->loop, &l->rtx, l->rtx_ns);
}

static void rtx_stop(struct leg *l)
{
	l->msglen = 0;
	loop_timer_stop(l->h->loop, &l->rtx);
}

/* Bind an RTP and RTCP pair on an even port of lo..hi, trying from
 * start on; 0 or -errno. */
static int bind_pair(uint16_t lo, uint16_t hi, uint16_t start, int fds[2], uint16_t *port)
{
	unsigned span = (unsigned)(hi - lo) / 2;
	int err = -EADDRINUSE;

	for (unsigned k = 0; k < 64 && k < span; k++) {
		uint16_t p = (uint16_t)(lo + ((unsigned)(start - lo) / 2 + k) % span * 2);
		int r0 = agent_bind_udp(p, &fds[0]), r1;

		if (r0) {
			err = r0;
			continue;
		}
		r1 = agent_bind_udp((uint16_t)(p + 1), &fds[1]);
		if (r1) {
			close(fds[0]);
			err = r1;
			continue;
		}
		*port = p;
		return 0;
	}
	return err;
}

static void stream_rtp_cb(struct loop *lp, struct io *io, unsigned revents);
static void stream_rtcp_cb(struct loop *lp, struct io *io, unsigned revents);
static void tx_cb(struct loop *lp, struct timer *t);
static void report_cb(struct loop *lp, struct timer *t);

static struct stream *stream_new(struct leg *l, int kind, uint16_t lo, uint16_t hi, uint16_t start)
{
	struct stream *s = xcalloc(1, sizeof(*s));
	int fds[2];

	if (bind_pair(lo, hi, start, fds, &s->port)) {
		free(s);
		return NULL;
	}
	s->leg = l;
	s->kind = kind;
	s->rtp.fd = fds[0];
	s->rtp.cb = stream_rtp_cb;
	s->rtcp.fd = fds[1];
	s->rtcp.cb = stream_rtcp_cb;
	s->tx.cb = tx_cb;
	s->report.cb = report_cb;
	if (loop_io_set(l->h->loop, &s->rtp, IO_IN) || loop_io_set(l->h->loop, &s->rtcp, IO_IN)) {
		loop_io_stop(l->h->loop, &s->rtp);
		close(fds[0]);
		close(fds[1]);
		free(s);
		return NULL;
	}
	s->ssrc = (uint32_t)rng_next(&l->h->rng);
	s->seq = (uint16_t)rng_next(&l->h->rng);
	s->ts = (uint32_t)rng_next(&l->h->rng);
	return s;
}

/* 32-bit NTP time now, whole (for SR) */
static uint64_t ntp_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec + 2208988800u) << 32 |
	       (uint64_t)(((double)ts.tv_nsec / 1e9) * 4294967296.0);
}

static void stream_report(struct stream *s, bool bye)
{
	struct leg *l = s->leg;
	struct sip__rtcp r = { .sr = s->sent, .ssrc = s->ssrc, .bye = bye };
	uint8_t out[256];
	size_t n;

	if (r.sr) {
		r.ntp = ntp_now();
		r.rtp_ts = s->ts;
		r.packets = s->packets;
		r.octets = s->octets;
	}
	if (s->rx.seen) {
		struct sip__rtcp_block *k = &r.b[r.nblocks++];
		uint64_t now = loop_now(l->h->loop);

		k->ssrc = s->rx.ssrc;
		sip__rx_report(&s->rx, &k->lost, &k->fraction, &k->ext_max);
		k->jitter = (uint32_t)s->rx.jitter;
		if (s->rx.lsr_at) {
			k->lsr = s->rx.lsr;
			k->dlsr = (uint32_t)((double)(now - s->rx.lsr_at) / 1e9 * 65536.0);
		}
	}
	s->sent = false;
	n = sip__rtcp_build(out, sizeof(out), &r, l->cname);
	if (n && sendto(s->rtcp.fd, out, n, 0, (struct sockaddr *)&s->peer_rtcp, sizeof(s->peer_rtcp)) > 0)
		count_tx(l, n);
}

static void report_cb(struct loop *lp, struct timer *t)
{
	struct stream *s = container_of(t, struct stream, report);
	double every = model_draw(s->leg->m, "rtcp_interval", &s->leg->h->rng, 5);

	stream_report(s, false);
	/* RFC 3550 6.3.1: spread over 0.5 to 1.5 of the interval */
	loop_timer_start(lp, t, host_ns(MAX(0.5, every) * unit_between(&s->leg->h->rng, 0.5, 1.5)));
}

static void fill(struct rng *r, uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t v = rng_next(r);

		memcpy(b + i, &v, MIN(8, n - i));
	}
}

static void rtp_out(struct stream *s, const uint8_t *b, size_t n)
{
	if (sendto(s->rtp.fd, b, n, 0, (struct sockaddr *)&s->peer, sizeof(s->peer)) > 0) {
		count_tx(s->leg, n);
		s->packets++;
		s->octets += (uint32_t)(n - RTP_HDR);
		s->sent = true;
	}
}

/* A voice frame: PCMU or PCMA 160 bytes, Opus what its encoder makes. */
static void voice_frame(struct stream *s)
{
	struct rng *r = &s->leg->h->rng;
	uint8_t b[RTP_HDR + 256];
	size_t n = s->pt == PT_OPUS ? 60 + rng_below(r, 51) : 160;

	sip__rtp_header(b, s->pt, s->talk_start, s->seq++, s->ts, s->ssrc);
	s->talk_start = false;
	fill(r, b + RTP_HDR, n);
	/* Opus (RFC 6716): a TOC byte for one 20 ms hybrid full-band frame,
	 * as WebRTC's encoder makes at speech rates */
	if (s->pt == PT_OPUS)
		b[RTP_HDR] = 15 << 3;
	rtp_out(s, b, RTP_HDR + n);
	s->ts += s->pt == PT_OPUS ? 960 : 160;
}

/* A VP8 frame (RFC 7741): a payload descriptor on each packet, the
 * frame's own header (and a key frame's start code and size) on the
 * first; the marker on the last. */
static void video_frame(struct stream *s, uint64_t now)
{
	struct leg *l = s->leg;
	struct rng *r = &l->h->rng;
	bool key = now >= s->key_at;
	double mean = model_draw(l->m, "video_frame", r, 2500);
	size_t size = (size_t)MAX(64.0, MIN(256.0 * 1024, key ? 6 * mean : mean));
	size_t npkt = (size + VIDEO_MTU - 1) / VIDEO_MTU;

	if (key)
		s->key_at = now + host_ns(MAX(1.0, model_draw(l->m, "keyframe", r, 10)));
	for (size_t i = 0; i < npkt; i++) {
		uint8_t b[RTP_HDR + 1 + VIDEO_MTU];
		size_t chunk = size / npkt + (i < size % npkt), off = RTP_HDR + 1;

		sip__rtp_header(b, s->pt, i + 1 == npkt, s->seq++, s->ts, s->ssrc);
		b[RTP_HDR] = i ? 0x00 : 0x10;    /* S: a partition starts */
		fill(r, b + off, chunk);
		if (!i && chunk >= 10) {
			/* frame tag: key bit 0, version 0, shown, first part size */
			uint32_t tag = (uint32_t)MIN(size / 3, 0x7ffffu) << 5 | 1u << 4 | (key ? 0 : 1);

			b[off] = (uint8_t)tag;
			b[off + 1] = (uint8_t)(tag >> 8);
			b[off + 2] = (uint8_t)(tag >> 16);
			if (key) {
				static const uint8_t sc[7] = { 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01 };

				memcpy(b + off + 3, sc, sizeof(sc));   /* 640 x 480 */
			}
		}
		rtp_out(s, b, off + chunk);
	}
	s->ts += (uint32_t)(90000 / s->fps);
}

static void tx_cb(struct loop *lp, struct timer *t)
{
	struct stream *s = container_of(t, struct stream, tx);
	uint64_t now = loop_now(lp), step = host_ns(s->kind == SIP_VIDEO ? 1 / s->fps : FRAME_S);

	if (s->leg->h->stopping && s->leg->hangup) {
		s->leg->hangup(s->leg);
		return;
	}
	/* frames due now; after a stall of the loop, start again from now
	 * (a real sender's clock does not send the backlog) */
	if (now > s->next + 10 * step)
		s->next = now;
	while (s->next <= now) {
		if (s->kind == SIP_VIDEO)
			video_frame(s, now);
		else
			voice_frame(s);
		s->next += step;
	}
	loop_timer_start(lp, t, s->next - now);
}

/* The first packet from the peer fixes where ours go (symmetric RTP:
 * what a NAT in between made of its address). */
static void latch(struct sockaddr_in *peer, bool *latched, const struct sockaddr_in *from)
{
	if (*latched)
		return;
	*peer = *from;
	*latched = true;
}

/* A datagram into sip_in, and who sent it: its length, or -1 when none
 * is waiting (or ICMP said the peer is gone: its retransmissions or
 * the call's end see to that). */
static ssize_t recv_dgram(int fd, struct sockaddr_in *from)
{
	socklen_t fl = sizeof(*from);

	return recvfrom(fd, sip_in, sizeof(sip_in), 0, (struct sockaddr *)from, &fl);
}

static void stream_rtp_cb(struct loop *lp, struct io *io, unsigned revents)
{
	struct stream *s = container_of(io, struct stream, rtp);

	(void)revents;
	for (int k = 0; k < 32; k++) {
		struct sockaddr_in from;
		ssize_t n = recv_dgram(io->fd, &from);
		struct sip__rtp h;

		if (n < 0)
			return;
		count_rx(s->leg, (size_t)n);
		if (sip__rtp_parse(sip_in, (size_t)n, &h)) {
			struct sip__stun st;

			/* a STUN answer to our Binding comes on this port */
			if (sip__stun_parse(sip_in, (size_t)n, &st) || st.type != STUN_BINDING_OK)
				s->leg->st->errors++;
			else if (s->leg->stun)
				s->leg->stun(s->leg, &st);
			continue;
		}
		latch(&s->peer, &s->latched, &from);
		if (!s->rx.seen) {
			s->rx.ssrc = h.ssrc;
			s->rx.clock = s->clock;
		}
		if (h.ssrc == s->rx.ssrc)
			sip__rx_packet(&s->rx, h.seq, h.ts, loop_now(lp));
	}
}

static void stream_rtcp_cb(struct loop *lp, struct io *io, unsigned revents)
{
	struct stream *s = container_of(io, struct stream, rtcp);

	(void)revents;
	for (int k = 0; k < 8; k++) {
		struct sockaddr_in from;
		ssize_t n = recv_dgram(io->fd, &from);
		struct sip__rtcp r;

		if (n < 0)
			return;
		count_rx(s->leg, (size_t)n);
		if (sip__rtcp_parse(sip_in, (size_t)n, &r)) {
			s->leg->st->errors++;
			continue;
		}
		latch(&s->peer_rtcp, &s->latched_rtcp, &from);
		if (r.sr && (!s->rx.seen || r.ssrc == s->rx.ssrc)) {
			s->rx.lsr = (uint32_t)(r.ntp >> 16);
			s->rx.lsr_at = loop_now(lp);
		}
	}
}

/* Media starts toward addr:port (port + 1 for RTCP). */
static void stream_start(struct stream *s, uint32_t addr, uint16_t port)
{
	struct leg *l = s->leg;
	uint64_t now = loop_now(l->h->loop);

	s->peer = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons(port),
					.sin_addr.s_addr = htonl(addr) };
	s->peer_rtcp = s->peer;
	s->peer_rtcp.sin_port = htons((uint16_t)(port + 1));
	s->started = true;
	s->talk_start = true;
	s->fps = MAX(1.0, MIN(60.0, model_draw(l->m, "fps", &l->h->rng, 30)));
	s->key_at = now;
	s->next = now + host_ns(unit_between(&l->h->rng, 0, 0.02));
	if (s->send)
		loop_timer_start(l->h->loop, &s->tx, s->next - now);
	loop_timer_start(l->h->loop, &s->report,
			 host_ns(unit_between(&l->h->rng, 0.5, 1.5) *
				 MAX(0.5, model_draw(l->m, "rtcp_interval", &l->h->rng, 5))));
}

/* Media stops: an RTCP BYE on a stream that ran, no more sending.  The
 * sockets stay open, so what the peer still sends (its own RTCP BYE)
 * finds a port, until leg_media_close(). */
static void stream_stop(struct leg *l, struct stream *s, bool bye)
{
	if (bye && s->started)
		stream_report(s, true);
	s->started = false;
	loop_timer_stop(l->h->loop, &s->tx);
	loop_timer_stop(l->h->loop, &s->report);
}

static void leg_media_stop(struct leg *l, bool bye)
{
	for (unsigned i = 0; i < l->ns; i++)
		stream_stop(l, l->s[i], bye);
	loop_timer_stop(l->h->loop, &l->hang);
}

static void stream_free(struct defer *d)
{
	free(container_of(d, struct stream, d));
}

static void leg_media_close(struct leg *l)
{
	for (unsigned i = 0; i < l->ns; i++) {
		struct stream *s = l->s[i];

		stream_stop(l, s, false);
		loop_io_stop(l->h->loop, &s->rtp);
		loop_io_stop(l->h->loop, &s->rtcp);
		close(s->rtp.fd);
		close(s->rtcp.fd);
		/* an event of this batch may still name its sockets */
		loop_defer(l->h->loop, &s->d, stream_free);
	}
	l->ns = 0;
	loop_timer_stop(l->h->loop, &l->hang);
}

static void hang_cb(struct loop *lp, struct timer *t)
{
	struct leg *l = container_of(t, struct leg, hang);

	(void)lp;
	l->hangup(l);
}

/* ---- SDP ----------------------------------------------------------------- */

static int sdp_codec_line(char *o, size_t n, int pt)
{
	switch (pt) {
	case PT_OPUS:
		return snprintf(o, n, "a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n");
	case PT_PCMU:
		return snprintf(o, n, "a=rtpmap:0 PCMU/8000\r\n");
	case PT_PCMA:
		return snprintf(o, n, "a=rtpmap:8 PCMA/8000\r\n");
	case PT_EVENT:
		return snprintf(o, n, "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n");
	default:
		return snprintf(o, n, "a=rtpmap:96 VP8/90000\r\n");
	}
}

static const char *dir_name(int d)
{
	return d == SDP_SENDONLY ? "sendonly" : d == SDP_RECVONLY ? "recvonly"
	       : d == SDP_INACTIVE ? "inactive" : "sendrecv";
}

/* An SDP body for l's streams: pts[i] the payload types of stream i
 * (the first is what is sent), dirs[i] its direction. */
static size_t sdp_build(char *o, size_t cap, const struct leg *l, const char *user, uint32_t sess,
			const int pts[][4], const unsigned *npts, const int *dirs, bool refuse_video)
{
	char ip[INET_ADDRSTRLEN];
	size_t n;

	addr_text(ip, sizeof(ip), l->local_addr);
	n = (size_t)snprintf(o, cap, "v=0\r\no=%s %u %u IN IP4 %s\r\ns=%s\r\nc=IN IP4 %s\r\nt=0 0\r\n",
			     user, sess, sess + 1, ip, "Talk", ip);
	for (unsigned i = 0; i < l->ns && n < cap; i++) {
		const struct stream *s = l->s[i];

		n += (size_t)snprintf(o + n, cap - n, "m=%s %u RTP/AVP", s->kind == SIP_VIDEO ? "video" : "audio",
				      s->port);
		for (unsigned k = 0; k < npts[i] && n < cap; k++)
			n += (size_t)snprintf(o + n, cap - n, " %d", pts[i][k]);
		if (n < cap)
			n += (size_t)snprintf(o + n, cap - n, "\r\n");
		for (unsigned k = 0; k < npts[i] && n < cap; k++)
			n += (size_t)sdp_codec_line(o + n, cap - n, pts[i][k]);
		if (s->kind == SIP_AUDIO && n < cap)
			n += (size_t)snprintf(o + n, cap - n, "a=ptime:20\r\n");
		if (n < cap)
			n += (size_t)snprintf(o + n, cap - n, "a=%s\r\n", dir_name(dirs[i]));
	}
	if (refuse_video && n < cap)
		n += (size_t)snprintf(o + n, cap - n, "m=video 0 RTP/AVP 96\r\n");
	return MIN(n, cap - 1);
}

/* ---- the server: a PBX and the phones behind it ------------------------------ */

struct sip_server {
	struct sip_server *next;
	struct host *h;
	struct stats *st;
	const struct model *m;
	struct io sip, stun;
	struct dialog *dialogs;
	uint16_t next_port;
	uint64_t nonce_key;
};

enum { D_RINGING, D_ANSWERED, D_TALKING, D_BYE, D_DONE };

/* A call the server's phones take. */
struct dialog {
	struct leg leg;
	struct sip_server *srv;
	struct dialog *next, **pprev;
	struct defer d;
	struct timer ring, linger;
	int state;
	bool rejected, cancelled, counted;
	char callee[64];               /* the number called */
	char via[512], from[512], to[512], contact[256];
	uint32_t inv_cseq;
	char resp[SIP_MAX_MSG];        /* the last response to the INVITE */
	size_t resplen;
	struct sip__sdp offer;
	uint32_t peer_addr;            /* the INVITE's source */
};

static struct sip_server *servers;   /* a server per port; freed with the process */

static size_t sv_copy(char *dst, size_t cap, struct sip__str s)
{
	size_t n = MIN(s.n, cap - 1);

	memcpy(dst, s.p, n);
	dst[n] = '\0';
	return n;
}

/* A response to q from agent (its Server:) into sip_out: its Via, From, To (with our tag
 * unless it has one, or this is a 100), Call-ID and CSeq, then extra
 * headers and the body. */
static size_t response(const char *agent, const struct sip__msg *q, int code, const char *reason,
		       const char *tag, const char *extra, const char *body, const char *ctype)
{
	size_t bl = body ? strlen(body) : 0;
	int n;

	n = snprintf(sip_out, sizeof(sip_out),
		     "SIP/2.0 %d %s\r\nVia: %.*s\r\nFrom: %.*s\r\nTo: %.*s%s%s\r\nCall-ID: %.*s\r\n"
		     "CSeq: %u %.*s\r\nServer: %s\r\n%s%s%s%sContent-Length: %zu\r\n\r\n%s",
		     code, reason, (int)q->via.n, q->via.p, (int)q->from.n, q->from.p, (int)q->to.n, q->to.p,
		     tag && !q->to_tag.n && code != 100 ? ";tag=" : "",
		     tag && !q->to_tag.n && code != 100 ? tag : "", (int)q->call_id.n, q->call_id.p,
		     q->cseq, (int)q->cseq_method.n, q->cseq_method.p, agent, extra ? extra : "",
		     ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "", bl,
		     body ? body : "");
	return n < 0 ? 0 : MIN((size_t)n, sizeof(sip_out) - 1);
}

static void srv_reply(struct sip_server *srv, const struct sockaddr_in *to, size_t n)
{
	if (n && sendto(srv->sip.fd, sip_out, n, 0, (const struct sockaddr *)to, sizeof(*to)) > 0)
		srv->st->tx += n;
}

static void dialog_free(struct defer *d)
{
	free(container_of(d, struct dialog, d));
}

static void dialog_end(struct dialog *dl)
{
	struct loop *lp = dl->srv->h->loop;

	if (dl->state == D_DONE)
		return;
	leg_media_stop(&dl->leg, true);
	leg_media_close(&dl->leg);
	rtx_stop(&dl->leg);
	loop_timer_stop(lp, &dl->ring);
	dl->state = D_DONE;
	if (dl->counted)
		dl->leg.st->active--;
	dl->counted = false;
	/* answer retransmitted requests a while (RFC 3261 timer J) */
	loop_timer_start(lp, &dl->linger, host_ns(dl->srv->h->stopping ? 1 : TIMER_B_S));
}

static void linger_cb(struct loop *lp, struct timer *t)
{
	struct dialog *dl = container_of(t, struct dialog, linger);

	if (dl->next)
		dl->next->pprev = dl->pprev;
	*dl->pprev = dl->next;
	loop_defer(lp, &dl->d, dialog_free);
}

static struct dialog *dialog_find(struct sip_server *srv, struct sip__str call_id)
{
	for (struct dialog *dl = srv->dialogs; dl; dl = dl->next)
		if (strlen(dl->leg.call_id) == call_id.n && !memcmp(dl->leg.call_id, call_id.p, call_id.n))
			return dl;
	return NULL;
}

/* The callee hangs up: BYE to the caller, sent until answered. */
static void dialog_hangup(struct leg *l)
{
	struct dialog *dl = container_of(l, struct dialog, leg);
	char ip[INET_ADDRSTRLEN], branch[24];
	int n;

	if (dl->state != D_TALKING && dl->state != D_ANSWERED)
		return;
	leg_media_stop(l, true);
	addr_text(ip, sizeof(ip), l->local_addr);
	hex(branch, sizeof(branch), rng_next(&l->h->rng));
	n = snprintf(sip_out, sizeof(sip_out),
		     "BYE %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%u;branch=z9hG4bK%s;rport\r\n"
		     "Max-Forwards: 70\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: 1 BYE\r\n"
		     "User-Agent: %s\r\nContent-Length: 0\r\n\r\n",
		     dl->contact, ip, SIP_PORT, branch, dl->to, dl->from, l->call_id, SERVER_AGENT);
	dl->state = D_BYE;
	if (n > 0)
		rtx_send(l, MIN((size_t)n, sizeof(sip_out) - 1), true);
}

static void dialog_gave_up(struct leg *l)
{
	dialog_end(container_of(l, struct dialog, leg));
}

/* The phone is picked up (or is busy): the final answer to the INVITE. */
static void ring_cb(struct loop *lp, struct timer *t)
{
	struct dialog *dl = container_of(t, struct dialog, ring);
	struct leg *l = &dl->leg;
	struct sip__msg q;
	char body[2048], contact[320], ip[INET_ADDRSTRLEN];
	int pts[2][4];
	unsigned npts[2];
	int dirs[2];
	bool refuse_video = false;
	size_t n;

	(void)lp;
	/* the INVITE's headers, as kept */
	memset(&q, 0, sizeof(q));
	q.via = (struct sip__str){ dl->via, strlen(dl->via) };
	q.from = (struct sip__str){ dl->from, strlen(dl->from) };
	q.to = (struct sip__str){ dl->to, strlen(dl->to) };
	q.call_id = (struct sip__str){ l->call_id, strlen(l->call_id) };
	q.cseq = dl->inv_cseq;
	q.cseq_method = (struct sip__str){ "INVITE", 6 };
	if (dl->rejected) {
		n = dl->cancelled ? response(SERVER_AGENT, &q, 487, "Request Terminated", l->ltag, NULL, NULL, NULL)
				  : response(SERVER_AGENT, &q, 486, "Busy Here", l->ltag, NULL, NULL, NULL);
		memcpy(dl->resp, sip_out, n);
		dl->resplen = n;
		/* sent until the ACK; the dialog ends then, or at timer B */
		rtx_send(l, n, true);
		return;
	}
	for (unsigned i = 0; i < l->ns; i++) {
		const struct stream *s = l->s[i];
		int odir = SDP_SENDRECV;

		for (unsigned k = 0; k < dl->offer.nmedia; k++)
			if (dl->offer.m[k].kind == s->kind)
				odir = dl->offer.m[k].dir;
		pts[i][0] = s->pt;
		npts[i] = 1;
		if (s->kind == SIP_AUDIO)
			pts[i][npts[i]++] = PT_EVENT;
		/* we send unless the offer will not receive; we receive unless
		 * it will not send */
		dirs[i] = !s->send ? (odir == SDP_RECVONLY || odir == SDP_INACTIVE ? SDP_INACTIVE : SDP_RECVONLY)
			  : odir == SDP_RECVONLY ? SDP_SENDONLY : odir == SDP_INACTIVE ? SDP_INACTIVE
			  : odir == SDP_SENDONLY ? SDP_RECVONLY : SDP_SENDRECV;
		if (odir == SDP_SENDONLY)
			l->s[i]->send = false;
	}
	for (unsigned k = 0; k < dl->offer.nmedia; k++)
		if (dl->offer.m[k].kind == SIP_VIDEO && dl->offer.m[k].port && l->ns < 2)
			refuse_video = true;
	sdp_build(body, sizeof(body), l, "pbx", (uint32_t)(rng_next(&l->h->rng) % 1000000000u), pts,
		  npts, dirs, refuse_video);
	addr_text(ip, sizeof(ip), l->local_addr);
	snprintf(contact, sizeof(contact),
		 "Contact: <sip:%s@%s:%u>\r\nAllow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n",
		 dl->callee, ip, SIP_PORT);
	n = response(SERVER_AGENT, &q, 200, "OK", l->ltag, contact, body, "application/sdp");
	memcpy(dl->resp, sip_out, n);
	dl->resplen = n;
	dl->state = D_ANSWERED;
	/* a 2xx is sent until the ACK (timer G, up to T2) */
	rtx_send(l, n, true);
	for (unsigned i = 0; i < l->ns; i++) {
		const struct sip__sdp_media *om = NULL;

		for (unsigned k = 0; k < dl->offer.nmedia; k++)
			if (dl->offer.m[k].kind == l->s[i]->kind && dl->offer.m[k].port)
				om = &dl->offer.m[k];
		if (om)
			stream_start(l->s[i], om->addr ? om->addr : dl->peer_addr, om->port);
	}
	l->st->conns++;
	l->st->active++;
	dl->counted = true;
	loop_timer_start(l->h->loop, &l->hang,
			 host_ns(model_draw(l->m, l->ns > 1 ? "meeting_length" : "call_length", &l->h->rng,
					    l->ns > 1 ? 900 : 90)));
}

/* A payload type the phones speak, first in the offer's order. */
static int pick_pt(const struct sip__sdp_media *om)
{
	for (unsigned i = 0; i < om->npts; i++) {
		int pt = om->pts[i];

		if ((om->kind == SIP_AUDIO && (pt == PT_OPUS || pt == PT_PCMU || pt == PT_PCMA)) ||
		    (om->kind == SIP_VIDEO && pt == PT_VP8))
			return pt;
	}
	return -1;
}

static void srv_invite(struct sip_server *srv, const struct sip__msg *q, const struct sockaddr_in *from)
{
	struct dialog *dl = dialog_find(srv, q->call_id);
	struct leg *l;
	size_t n;
	bool have_audio = false;

	if (dl) {
		/* a retransmission: the last answer again */
		if (dl->resplen && sendto(srv->sip.fd, dl->resp, dl->resplen, 0,
					  (const struct sockaddr *)from, sizeof(*from)) > 0)
			srv->st->tx += dl->resplen;
		return;
	}
	dl = xcalloc(1, sizeof(*dl));
	if (sip__sdp_parse(q->body.p, q->body.n, &dl->offer)) {
		free(dl);
		srv->st->errors++;
		srv_reply(srv, from, response(SERVER_AGENT, q, 400, "Bad Request", NULL, NULL, NULL, NULL));
		return;
	}
	dl->srv = srv;
	l = &dl->leg;
	l->h = srv->h;
	l->st = srv->st;
	l->m = srv->m;
	l->fd = srv->sip.fd;
	l->to = *from;
	l->local_addr = srv->h->addr;
	l->hangup = dialog_hangup;
	l->gave_up = dialog_gave_up;
	l->hang.cb = hang_cb;
	l->rtx.cb = rtx_cb;
	dl->ring.cb = ring_cb;
	dl->linger.cb = linger_cb;
	dl->peer_addr = ntohl(from->sin_addr.s_addr);
	sv_copy(l->call_id, sizeof(l->call_id), q->call_id);
	hex(l->ltag, sizeof(l->ltag), rng_next(&srv->h->rng));
	snprintf(l->cname, sizeof(l->cname), "pbx@%s", srv->h->name ? srv->h->name : "server");
	sv_copy(dl->via, sizeof(dl->via), q->via);
	sv_copy(dl->from, sizeof(dl->from), q->from);
	n = sv_copy(dl->to, sizeof(dl->to), q->to);
	snprintf(dl->to + n, sizeof(dl->to) - n, ";tag=%s", l->ltag);
	if (q->contact.n > 2 && q->contact.p[0] == '<') {
		struct sip__str c = q->contact;
		const char *gt = memchr(c.p, '>', c.n);

		sv_copy(dl->contact, sizeof(dl->contact),
			(struct sip__str){ c.p + 1, gt ? (size_t)(gt - c.p - 1) : c.n - 1 });
	} else {
		char ip[INET_ADDRSTRLEN];

		fmt_ipv4(ip, sizeof(ip), ntohl(from->sin_addr.s_addr));
		snprintf(dl->contact, sizeof(dl->contact), "sip:caller@%s:%u", ip, ntohs(from->sin_port));
	}
	dl->inv_cseq = q->cseq;
	{
		/* sip:USER@... */
		const char *c = memchr(q->uri.p, ':', q->uri.n), *at;

		at = c ? memchr(c, '@', q->uri.n - (size_t)(c - q->uri.p)) : NULL;
		if (at && at > c + 1)
			sv_copy(dl->callee, sizeof(dl->callee), (struct sip__str){ c + 1, (size_t)(at - c - 1) });
		else
			snprintf(dl->callee, sizeof(dl->callee), "callee");
	}
	for (unsigned k = 0; k < dl->offer.nmedia && l->ns < 2; k++) {
		const struct sip__sdp_media *om = &dl->offer.m[k];
		int pt = om->kind >= 0 && om->port ? pick_pt(om) : -1;
		struct stream *s;

		if (pt < 0 || (om->kind == SIP_AUDIO && have_audio))
			continue;
		s = stream_new(l, om->kind, SIP_MEDIA_LO, SIP_MEDIA_HI, srv->next_port);
		if (!s)
			continue;
		srv->next_port = (uint16_t)(s->port + 2 > SIP_MEDIA_HI - 1 ? SIP_MEDIA_LO : s->port + 2);
		s->pt = (uint8_t)pt;
		s->clock = pt == PT_OPUS ? 48000 : pt == PT_VP8 ? 90000 : 8000;
		s->send = om->kind == SIP_AUDIO || rng_unit(&srv->h->rng) < model_draw(srv->m, "camera", &srv->h->rng, 0.7);
		s->rx.clock = s->clock;
		l->s[l->ns++] = s;
		have_audio |= om->kind == SIP_AUDIO;
	}
	if (!have_audio) {
		leg_media_close(l);
		free(dl);
		srv_reply(srv, from, response(SERVER_AGENT, q, 488, "Not Acceptable Here", NULL, NULL, NULL, NULL));
		return;
	}
	dl->next = srv->dialogs;
	if (dl->next)
		dl->next->pprev = &dl->next;
	dl->pprev = &srv->dialogs;
	srv->dialogs = dl;
	srv->st->actions++;
	srv_reply(srv, from, response(SERVER_AGENT, q, 100, "Trying", NULL, NULL, NULL, NULL));
	n = response(SERVER_AGENT, q, 180, "Ringing", l->ltag, NULL, NULL, NULL);
	memcpy(dl->resp, sip_out, n);
	dl->resplen = n;
	srv_reply(srv, from, n);
	dl->rejected = rng_unit(&srv->h->rng) >= model_draw(srv->m, "answer", &srv->h->rng, 0.85);
	loop_timer_start(srv->h->loop, &dl->ring,
			 host_ns(MAX(0.05, model_draw(srv->m, "ring", &srv->h->rng, 4) *
					   (dl->rejected ? 0.5 : 1))));
}

static void srv_register(struct sip_server *srv, const struct sip__msg *q, const struct sockaddr_in *from)
{
	char user[64], nonce[40], realm[64], uri[256], resp[40], want[33], extra[512];
	const char *at, *colon;
	size_t n;

	snprintf(realm, sizeof(realm), "%s", srv->h->name ? srv->h->name : "pbx");
	hex(nonce, sizeof(nonce), srv->nonce_key ^ rng_hash(q->call_id.p, q->call_id.n, 0));
	if (!q->auth.n) {
		snprintf(extra, sizeof(extra),
			 "WWW-Authenticate: Digest realm=\"%s\", nonce=\"%s\", algorithm=MD5\r\n", realm,
			 nonce);
		srv_reply(srv, from, response(SERVER_AGENT, q, 401, "Unauthorized", "reg", extra, NULL, NULL));
		return;
	}
	/* the user from the To URI, the digest from the header */
	colon = memchr(q->to.p, ':', q->to.n);
	at = colon ? memchr(colon, '@', q->to.n - (size_t)(colon - q->to.p)) : NULL;
	if (!at || at - colon - 1 <= 0 || (size_t)(at - colon - 1) >= sizeof(user) ||
	    !digest_param(q->auth, "response", resp, sizeof(resp)) ||
	    !digest_param(q->auth, "uri", uri, sizeof(uri))) {
		srv->st->errors++;
		srv_reply(srv, from, response(SERVER_AGENT, q, 400, "Bad Request", "reg", NULL, NULL, NULL));
		return;
	}
	memcpy(user, colon + 1, (size_t)(at - colon - 1));
	user[at - colon - 1] = '\0';
	digest(user, realm, nonce, uri, want);
	if (strcmp(resp, want)) {
		srv->st->errors++;
		srv_reply(srv, from, response(SERVER_AGENT, q, 403, "Forbidden", "reg", NULL, NULL, NULL));
		return;
	}
	n = 0;
	if (q->contact.n)
		n = (size_t)snprintf(extra, sizeof(extra), "Contact: %.*s;expires=%ld\r\n", (int)q->contact.n,
				     q->contact.p, q->expires >= 0 ? q->expires : 3600);
	snprintf(extra + n, sizeof(extra) - n, "Expires: %ld\r\n", q->expires >= 0 ? q->expires : 3600);
	srv->st->actions++;
	srv_reply(srv, from, response(SERVER_AGENT, q, 200, "OK", "reg", extra, NULL, NULL));
}

static void srv_request(struct sip_server *srv, const struct sip__msg *q, const struct sockaddr_in *from)
{
	struct dialog *dl;

	if (str_eq(q->method, "INVITE")) {
		srv_invite(srv, q, from);
	} else if (str_eq(q->method, "ACK")) {
		dl = dialog_find(srv, q->call_id);
		if (!dl)
			return;
		if (dl->state == D_ANSWERED) {
			rtx_stop(&dl->leg);
			dl->state = D_TALKING;
		} else if (dl->rejected && dl->state == D_RINGING) {
			dialog_end(dl);
		}
	} else if (str_eq(q->method, "BYE")) {
		dl = dialog_find(srv, q->call_id);
		if (dl && dl->state != D_DONE)
			leg_media_stop(&dl->leg, true);   /* RTCP BYE before the 200 */
		srv_reply(srv, from, dl ? response(SERVER_AGENT, q, 200, "OK", NULL, NULL, NULL, NULL)
				   : response(SERVER_AGENT, q, 481, "Call/Transaction Does Not Exist", NULL, NULL, NULL, NULL));
		if (dl)
			dialog_end(dl);
	} else if (str_eq(q->method, "CANCEL")) {
		dl = dialog_find(srv, q->call_id);
		if (!dl || dl->state != D_RINGING || dl->rejected) {
			srv_reply(srv, from, response(SERVER_AGENT, q, 481, "Call/Transaction Does Not Exist", NULL, NULL, NULL, NULL));
			return;
		}
		srv_reply(srv, from, response(SERVER_AGENT, q, 200, "OK", dl->leg.ltag, NULL, NULL, NULL));
		dl->rejected = dl->cancelled = true;
		loop_timer_stop(srv->h->loop, &dl->ring);
		ring_cb(srv->h->loop, &dl->ring);   /* a final answer: 486, ACKed */
	} else if (str_eq(q->method, "REGISTER")) {
		srv_register(srv, q, from);
	} else if (str_eq(q->method, "OPTIONS")) {
		srv_reply(srv, from, response(SERVER_AGENT, q, 200, "OK", NULL, "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n",
					      NULL, NULL));
	} else {
		srv_reply(srv, from, response(SERVER_AGENT, q, 405, "Method Not Allowed", NULL,
					      "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER\r\n", NULL, NULL));
	}
}

static void srv_sip_cb(struct loop *lp, struct io *io, unsigned revents)
{
	struct sip_server *srv = container_of(io, struct sip_server, sip);

	(void)lp;
	(void)revents;
	for (int k = 0; k < 64; k++) {
		struct sockaddr_in from;
		ssize_t n = recv_dgram(io->fd, &from);
		struct sip__msg q;

		if (n < 0)
			return;
		srv->st->rx += (uint64_t)n;
		if (sip__parse((const char *)sip_in, (size_t)n, &q)) {
			srv->st->errors++;
			continue;
		}
		if (q.request) {
			srv_request(srv, &q, &from);
		} else if (str_eq(q.cseq_method, "BYE")) {
			struct dialog *dl = dialog_find(srv, q.call_id);

			if (dl && dl->state == D_BYE && q.code >= 200)
				dialog_end(dl);
		}
	}
}

static void srv_stun_cb(struct loop *lp, struct io *io, unsigned revents)
{
	struct sip_server *srv = container_of(io, struct sip_server, stun);

	(void)lp;
	(void)revents;
	for (int k = 0; k < 64; k++) {
		struct sockaddr_in from;
		ssize_t n = recv_dgram(io->fd, &from);
		struct sip__stun s;
		uint8_t out[128];
		size_t w;

		if (n < 0)
			return;
		srv->st->rx += (uint64_t)n;
		if (sip__stun_parse(sip_in, (size_t)n, &s) || s.type != STUN_BINDING) {
			srv->st->errors++;
			continue;
		}
		w = sip__stun_build(out, sizeof(out), STUN_BINDING_OK, s.tid, ntohl(from.sin_addr.s_addr),
				    ntohs(from.sin_port));
		if (sendto(io->fd, out, w, 0, (struct sockaddr *)&from, sizeof(from)) > 0)
			srv->st->tx += w;
	}
}

static int sip_serve(struct host *h, struct stats *st, const struct model *m, uint16_t port, char *err,
		     size_t errlen)
{
	struct sip_server *srv;
	int sfd = -1, tfd = -1, r;

	r = agent_bind_udp(port, &sfd);
	if (r) {
		snprintf(err, errlen, "cannot bind UDP port %u: %s", port, strerror(-r));
		return r;
	}
	r = agent_bind_udp(SIP_STUN_PORT, &tfd);
	if (r) {
		snprintf(err, errlen, "cannot bind UDP port %u (STUN): %s", SIP_STUN_PORT, strerror(-r));
		close(sfd);
		return r;
	}
	srv = xcalloc(1, sizeof(*srv));
	srv->h = h;
	srv->st = st;
	srv->m = m;
	srv->next_port = SIP_MEDIA_LO;
	srv->nonce_key = rng_next(&h->rng);
	srv->sip.fd = sfd;
	srv->sip.cb = srv_sip_cb;
	srv->stun.fd = tfd;
	srv->stun.cb = srv_stun_cb;
	r = loop_io_set(h->loop, &srv->sip, IO_IN);
	if (!r)
		r = loop_io_set(h->loop, &srv->stun, IO_IN);
	if (r) {
		snprintf(err, errlen, "cannot watch the server sockets: %s", strerror(-r));
		loop_io_stop(h->loop, &srv->sip);
		close(sfd);
		close(tfd);
		free(srv);
		return r;
	}
	srv->next = servers;
	servers = srv;
	return 0;
}

/* ---- the client: people at their phones ---------------------------------- */

struct sip_client {
	struct agent_env env;
	unsigned alive;
};

enum { U_IDLE, U_REG, U_STUN, U_INVITE, U_RINGING, U_TALKING, U_BYE, U_CANCEL };

/* What the calls of one bucket will move per second, both ways, in
 * its units (bytes or packets), counted from when they are placed: a
 * call rings for seconds before its media shows, so the bucket alone
 * would let a burst of calls through, each to run for minutes. */
struct sip_load {
	const struct pace *pace;
	double committed;
	double rate;              /* the bucket's rate, smoothed (LOAD_TAU_S) */
	uint64_t at, placed;      /* loop times: of rate, of the last call placed */
	struct sip_load *next;
};

static struct sip_load *loads;   /* a few per process; freed with it */

/* pc's load, its smoothed rate brought up to now: the controller moves
 * a bucket's rate quickly, and calls last minutes. */
static struct sip_load *load_of(const struct pace *pc)
{
	uint64_t now = loop_now(pc->loop);
	struct sip_load *ld;

	for (ld = loads; ld && ld->pace != pc; ld = ld->next)
		;
	if (!ld) {
		ld = xcalloc(1, sizeof(*ld));
		ld->pace = pc;
		ld->rate = pc->rate;
		ld->at = now;
		ld->next = loads;
		loads = ld;
	}
	if (now > ld->at) {
		/* slow to rise, quick to fall: a call placed stays for minutes */
		double tau = pc->rate > ld->rate ? LOAD_TAU_S : LOAD_TAU_S / 6;
		double a = 1 - exp(-(double)(now - ld->at) / 1e9 / tau);

		ld->rate += a * (pc->rate - ld->rate);
		ld->at = now;
	}
	return ld;
}

struct sip_user {
	struct leg leg;
	struct sip_client *cl;
	struct io sig;
	struct timer think, stun_t, keep, guard;
	struct defer d;
	struct pace_wait pw;
	char name[40], ip[INET_ADDRSTRLEN];
	uint16_t sig_port;
	const char *ua;
	char reg_call_id[64], reg_tag[24];
	uint32_t reg_cseq, inv_cseq;
	char inv_branch[24];
	char ruri[128];          /* whom the call is to */
	char to[512];            /* the To of the dialog, with the callee's tag */
	char target[256];        /* the callee's Contact */
	int state;
	int action, next;
	uint64_t wake;
	bool busy, session_end, done, video, counted;
	bool reg_authed;         /* this REGISTER answered a challenge */
	double load;             /* what this call adds to its bucket's load */
	int stun_tries;
	uint8_t tid[12];
};

static void user_think(struct sip_user *u);
static void user_action(struct sip_user *u);
static void user_go(struct sip_user *u);

static struct host *uhost(const struct sip_user *u)
{
	return u->cl->env.host;
}

static struct loop *uloop(const struct sip_user *u)
{
	return u->cl->env.host->loop;
}

static double udraw(struct sip_user *u, const char *name, double dflt)
{
	return model_draw(u->cl->env.model, name, &uhost(u)->rng, dflt);
}

/* A request from u into sip_out. */
static size_t request(struct sip_user *u, const char *method, const char *ruri, const char *call_id,
		      const char *from_tag, const char *to, uint32_t cseq, const char *branch,
		      const char *extra, const char *body)
{
	const char *dom = u->cl->env.server_name ? u->cl->env.server_name : "pbx";
	size_t bl = body ? strlen(body) : 0;
	int n;

	n = snprintf(sip_out, sizeof(sip_out),
		     "%s %s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%u;branch=z9hG4bK%s;rport\r\n"
		     "Max-Forwards: 70\r\nFrom: <sip:%s@%s>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\n"
		     "CSeq: %u %s\r\nContact: <sip:%s@%s:%u>\r\nUser-Agent: %s\r\n%s%s"
		     "Content-Length: %zu\r\n\r\n%s",
		     method, ruri, u->ip, u->sig_port, branch, u->name, dom, from_tag, to, call_id, cseq,
		     method, u->name, u->ip, u->sig_port, u->ua, extra ? extra : "",
		     body ? "Content-Type: application/sdp\r\n" : "", bl, body ? body : "");
	return n < 0 ? 0 : MIN((size_t)n, sizeof(sip_out) - 1);
}

static void send_register(struct sip_user *u, const struct sip__msg *challenge)
{
	const char *dom = u->cl->env.server_name ? u->cl->env.server_name : "pbx";
	char to[160], uri[160], branch[24], extra[512] = "Expires: 3600\r\n";
	size_t n;

	snprintf(to, sizeof(to), "<sip:%s@%s>", u->name, dom);
	snprintf(uri, sizeof(uri), "sip:%s", dom);
	hex(branch, sizeof(branch), rng_next(&uhost(u)->rng));
	if (challenge) {
		char realm[64], nonce[64], resp[33];

		if (!digest_param(challenge->www_auth, "realm", realm, sizeof(realm)) ||
		    !digest_param(challenge->www_auth, "nonce", nonce, sizeof(nonce))) {
			u->leg.st->errors++;
			user_think(u);
			return;
		}
		digest(u->name, realm, nonce, uri, resp);
		snprintf(extra, sizeof(extra),
			 "Authorization: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", "
			 "response=\"%s\", algorithm=MD5\r\nExpires: 3600\r\n",
			 u->name, realm, nonce, uri, resp);
	}
	if (!challenge)
		u->reg_authed = false;
	n = request(u, "REGISTER", uri, u->reg_call_id, u->reg_tag, to, ++u->reg_cseq, branch, extra, NULL);
	u->state = U_REG;
	rtx_send(&u->leg, n, true);
}

static void call_end(struct sip_user *u)
{
	struct leg *l = &u->leg;

	leg_media_stop(l, true);
	leg_media_close(l);
	rtx_stop(l);
	loop_timer_stop(uloop(u), &u->stun_t);
	loop_timer_stop(uloop(u), &u->keep);
	loop_timer_stop(uloop(u), &u->guard);
	if (u->counted)
		l->st->active--;
	u->counted = false;
	if (u->load > 0 && l->st->pace)
		load_of(l->st->pace)->committed -= u->load;
	u->load = 0;
	user_think(u);
}

static void stun_send(struct sip_user *u)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(SIP_STUN_PORT),
				  .sin_addr.s_addr = htonl(u->cl->env.server) };
	uint8_t out[128];
	size_t n;

	if (!u->leg.ns)
		return;
	for (int i = 0; i < 12; i += 4) {
		uint32_t v = (uint32_t)rng_next(&uhost(u)->rng);

		memcpy(u->tid + i, &v, 4);
	}
	n = sip__stun_build(out, sizeof(out), STUN_BINDING, u->tid, 0, 0);
	if (sendto(u->leg.s[0]->rtp.fd, out, n, 0, (struct sockaddr *)&sa, sizeof(sa)) > 0)
		count_tx(&u->leg, n);
}

static void send_invite(struct sip_user *u)
{
	struct leg *l = &u->leg;
	char body[2048], to[160], branch[24];
	int pts[2][4];
	unsigned npts[2];
	int dirs[2];
	size_t n;

	loop_timer_stop(uloop(u), &u->stun_t);
	for (unsigned i = 0; i < l->ns; i++) {
		struct stream *s = l->s[i];

		npts[i] = 0;
		if (s->kind == SIP_AUDIO) {
			pts[i][npts[i]++] = s->pt;
			pts[i][npts[i]++] = s->pt == PT_OPUS ? PT_PCMU : PT_PCMA;
			if (s->pt == PT_OPUS)
				pts[i][npts[i]++] = PT_PCMA;
			pts[i][npts[i]++] = PT_EVENT;
		} else {
			pts[i][npts[i]++] = PT_VP8;
		}
		dirs[i] = s->send ? SDP_SENDRECV : SDP_RECVONLY;
	}
	sdp_build(body, sizeof(body), l, u->name, (uint32_t)(rng_next(&uhost(u)->rng) % 1000000000u), pts,
		  npts, dirs, false);
	snprintf(to, sizeof(to), "<%s>", u->ruri);
	hex(branch, sizeof(branch), rng_next(&uhost(u)->rng));
	snprintf(u->inv_branch, sizeof(u->inv_branch), "%s", branch);
	u->inv_cseq = 1 + (uint32_t)rng_below(&uhost(u)->rng, 100);
	snprintf(u->to, sizeof(u->to), "%s", to);
	n = request(u, "INVITE", u->ruri, l->call_id, l->ltag, to, u->inv_cseq, branch,
		    "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS\r\n", body);
	u->state = U_INVITE;
	/* INVITE: timer A doubles without the T2 cap */
	rtx_send(l, n, false);
	loop_timer_start(uloop(u), &u->guard, host_ns(RING_GUARD_S));
}

static void user_stun(struct leg *l, const struct sip__stun *m)
{
	struct sip_user *u = container_of(l, struct sip_user, leg);

	if (u->state == U_STUN && !memcmp(m->tid, u->tid, 12))
		send_invite(u);
}

static void stun_cb(struct loop *lp, struct timer *t)
{
	struct sip_user *u = container_of(t, struct sip_user, stun_t);

	/* RFC 8489: 500 ms, then 1 s; then the call goes ahead without it */
	if (u->state != U_STUN)
		return;
	if (uhost(u)->stopping) {
		call_end(u);
		return;
	}
	if (++u->stun_tries >= 3) {
		send_invite(u);
		return;
	}
	stun_send(u);
	loop_timer_start(lp, t, host_ns(T1_S * u->stun_tries * 2));
}

static void keep_cb(struct loop *lp, struct timer *t)
{
	struct sip_user *u = container_of(t, struct sip_user, keep);

	stun_send(u);
	loop_timer_start(lp, t, host_ns(MAX(1.0, udraw(u, "keepalive", 25))));
}

static void call_start(struct sip_user *u, bool video)
{
	struct leg *l = &u->leg;
	struct rng *r = &uhost(u)->rng;
	const char *dom = u->cl->env.server_name ? u->cl->env.server_name : "pbx";
	uint16_t start = (uint16_t)(CLIENT_PORT_LO + 2 * rng_below(r, (CLIENT_PORT_HI - CLIENT_PORT_LO) / 2));
	struct stream *s;

	u->video = video;
	s = stream_new(l, SIP_AUDIO, CLIENT_PORT_LO, CLIENT_PORT_HI, start);
	if (!s) {
		l->st->conn_fail++;
		user_think(u);
		return;
	}
	s->pt = rng_unit(r) < udraw(u, "opus", 0.6) ? PT_OPUS : PT_PCMU;
	s->clock = s->pt == PT_OPUS ? 48000 : 8000;
	s->rx.clock = s->clock;
	s->send = true;
	l->s[l->ns++] = s;
	if (video && (s = stream_new(l, SIP_VIDEO, CLIENT_PORT_LO, CLIENT_PORT_HI, (uint16_t)(start + 2)))) {
		s->pt = PT_VP8;
		s->clock = s->rx.clock = 90000;
		s->send = rng_unit(r) < udraw(u, "camera", 0.7);
		l->s[l->ns++] = s;
	}
	if (video)
		snprintf(u->ruri, sizeof(u->ruri), "sip:room-%s@%s", content_word(rng_below(r, 50)), dom);
	else
		snprintf(u->ruri, sizeof(u->ruri), "sip:%u@%s", 2000 + (unsigned)rng_below(r, 1000), dom);
	hex(l->call_id, sizeof(l->call_id), rng_next(r));
	snprintf(l->call_id + strlen(l->call_id), sizeof(l->call_id) - strlen(l->call_id), "@%s", u->ip);
	hex(l->ltag, sizeof(l->ltag), rng_next(r));
	l->rtag[0] = '\0';
	u->state = U_STUN;
	u->stun_tries = 0;
	stun_send(u);
	loop_timer_start(uloop(u), &u->stun_t, host_ns(T1_S));
}

/* The dialog's To (with the callee's tag) and Contact, from its 2xx. */
static void dialog_from_answer(struct sip_user *u, const struct sip__msg *m)
{
	struct sip__str c = m->contact;

	sv_copy(u->to, sizeof(u->to), m->to);
	sv_copy(u->leg.rtag, sizeof(u->leg.rtag), m->to_tag);
	if (c.n > 2 && c.p[0] == '<') {
		const char *gt = memchr(c.p, '>', c.n);

		sv_copy(u->target, sizeof(u->target),
			(struct sip__str){ c.p + 1, gt ? (size_t)(gt - c.p - 1) : c.n - 1 });
	} else {
		snprintf(u->target, sizeof(u->target), "%s", u->ruri);
	}
}

/* ACK: for a 2xx a new transaction to the Contact; for another final
 * answer, part of the INVITE's (its branch, its Request-URI). */
static void send_ack(struct sip_user *u, bool ok, const struct sip__msg *m)
{
	char branch[24], to[512];
	size_t n;

	if (ok)
		hex(branch, sizeof(branch), rng_next(&uhost(u)->rng));
	else
		snprintf(branch, sizeof(branch), "%s", u->inv_branch);
	sv_copy(to, sizeof(to), m->to);
	n = request(u, "ACK", ok ? u->target : u->ruri, u->leg.call_id, u->leg.ltag, to, u->inv_cseq,
		    branch, NULL, NULL);
	sig_send(&u->leg, sip_out, n);
}

static void call_answered(struct sip_user *u, const struct sip__msg *m)
{
	struct leg *l = &u->leg;
	struct sip__sdp ans;
	bool any = false;

	dialog_from_answer(u, m);
	send_ack(u, true, m);
	if (sip__sdp_parse(m->body.p, m->body.n, &ans)) {
		l->st->errors++;
		ans.nmedia = 0;
	}
	for (unsigned i = 0; i < l->ns; i++) {
		struct stream *s = l->s[i];

		for (unsigned k = 0; k < ans.nmedia; k++) {
			const struct sip__sdp_media *am = &ans.m[k];

			if (am->kind != s->kind || !am->port)
				continue;
			if (s->kind == SIP_AUDIO && (am->pt == PT_OPUS || am->pt == PT_PCMU || am->pt == PT_PCMA)) {
				s->pt = (uint8_t)am->pt;
				s->clock = s->rx.clock = am->pt == PT_OPUS ? 48000 : 8000;
			}
			if (am->dir == SDP_SENDONLY || am->dir == SDP_INACTIVE)
				s->send = false;
			stream_start(s, am->addr ? am->addr : u->cl->env.server, am->port);
			any = true;
			break;
		}
	}
	if (!any) {
		/* nothing to talk over: hang up at once */
		l->st->errors++;
		l->hangup(l);
		return;
	}
	u->state = U_TALKING;
	l->st->conns++;
	l->st->active++;
	u->counted = true;
	loop_timer_stop(uloop(u), &u->guard);
	loop_timer_start(uloop(u), &l->hang,
			 host_ns(udraw(u, u->video ? "meeting_length" : "call_length", u->video ? 900 : 90)));
	loop_timer_start(uloop(u), &u->keep, host_ns(MAX(1.0, udraw(u, "keepalive", 25))));
}

/* This side leaves: BYE in a call, CANCEL while it rings. */
static void user_hangup(struct leg *l)
{
	struct sip_user *u = container_of(l, struct sip_user, leg);
	char branch[24];
	size_t n;

	if (u->state == U_TALKING) {
		leg_media_stop(l, true);
		loop_timer_stop(uloop(u), &u->keep);
		hex(branch, sizeof(branch), rng_next(&uhost(u)->rng));
		n = request(u, "BYE", u->target, l->call_id, l->ltag, u->to, u->inv_cseq + 1, branch, NULL,
			    NULL);
		u->state = U_BYE;
		rtx_send(l, n, true);
	} else if (u->state == U_RINGING) {
		n = request(u, "CANCEL", u->ruri, l->call_id, l->ltag, u->to, u->inv_cseq, u->inv_branch,
			    NULL, NULL);
		u->state = U_CANCEL;
		rtx_send(l, n, true);
	} else if (u->state == U_STUN || u->state == U_INVITE) {
		call_end(u);
	}
}

static void user_gave_up(struct leg *l)
{
	struct sip_user *u = container_of(l, struct sip_user, leg);

	if (u->state != U_BYE && u->state != U_CANCEL)
		l->st->conn_fail++;
	if (u->state == U_REG)
		user_think(u);
	else
		call_end(u);
}

static void guard_cb(struct loop *lp, struct timer *t)
{
	struct sip_user *u = container_of(t, struct sip_user, guard);

	(void)lp;
	if (u->state == U_RINGING || u->state == U_INVITE) {
		u->leg.st->conn_fail++;
		user_hangup(&u->leg);
	}
}

static void user_response(struct sip_user *u, const struct sip__msg *m)
{
	struct leg *l = &u->leg;

	if (str_eq(m->cseq_method, "REGISTER")) {
		if (u->state != U_REG || m->cseq != u->reg_cseq || m->code < 200)
			return;
		rtx_stop(l);
		/* challenged once: again with the answer */
		if (m->code == 401 && !u->reg_authed && m->www_auth.n) {
			u->reg_authed = true;
			send_register(u, m);
			return;
		}
		if (m->code >= 300)
			l->st->errors++;
		user_think(u);
		return;
	}
	if (m->call_id.n != strlen(l->call_id) || memcmp(m->call_id.p, l->call_id, m->call_id.n))
		return;   /* an earlier call's late answer */
	if (str_eq(m->cseq_method, "INVITE")) {
		if (m->code < 200) {
			if (u->state == U_INVITE) {
				rtx_stop(l);
				u->state = U_RINGING;
			}
		} else if (m->code < 300) {
			if (u->state == U_INVITE || u->state == U_RINGING || u->state == U_CANCEL) {
				rtx_stop(l);
				call_answered(u, m);
				if (u->state == U_TALKING && uhost(u)->stopping)
					user_hangup(l);
			} else if (u->state == U_TALKING || u->state == U_BYE) {
				send_ack(u, true, m);   /* the 200 again: our ACK was lost */
			}
		} else {
			send_ack(u, false, m);
			if (u->state == U_INVITE || u->state == U_RINGING || u->state == U_CANCEL)
				call_end(u);
		}
	} else if (str_eq(m->cseq_method, "BYE")) {
		if (u->state == U_BYE && m->code >= 200)
			call_end(u);
	} else if (str_eq(m->cseq_method, "CANCEL")) {
		/* the 487 to the INVITE ends it */
		if (u->state == U_CANCEL && m->code >= 200)
			rtx_stop(l);
	}
}

static void user_request(struct sip_user *u, const struct sip__msg *q)
{
	struct leg *l = &u->leg;
	bool ours = q->call_id.n == strlen(l->call_id) && !memcmp(q->call_id.p, l->call_id, q->call_id.n);

	if (str_eq(q->method, "BYE")) {
		if (ours && u->state == U_TALKING)
			leg_media_stop(l, true);   /* RTCP BYE before the 200 */
		sig_send(l, sip_out, response(u->ua, q, ours || u->state == U_IDLE ? 200 : 481,
					      ours || u->state == U_IDLE ? "OK" : "Call/Transaction Does Not Exist",
					      NULL, NULL, NULL, NULL));
		if (ours && u->state == U_TALKING)
			call_end(u);
	} else if (!str_eq(q->method, "ACK")) {
		sig_send(l, sip_out, response(u->ua, q, 405, "Method Not Allowed", NULL, NULL, NULL, NULL));
	}
}

static void user_sig_cb(struct loop *lp, struct io *io, unsigned revents)
{
	struct sip_user *u = container_of(io, struct sip_user, sig);

	(void)lp;
	(void)revents;
	for (int k = 0; k < 16 && !u->done; k++) {
		ssize_t n = recv(io->fd, sip_in, sizeof(sip_in), 0);
		struct sip__msg m;

		if (n < 0)
			return;   /* EAGAIN, or ICMP: the retransmissions see to it */
		count_rx(&u->leg, (size_t)n);
		if (sip__parse((const char *)sip_in, (size_t)n, &m)) {
			u->leg.st->errors++;
			continue;
		}
		if (m.request)
			user_request(u, &m);
		else
			user_response(u, &m);
	}
}

static void user_free(struct defer *d)
{
	struct sip_user *u = container_of(d, struct sip_user, d);
	struct sip_client *cl = u->cl;

	pace_cancel(&u->pw);
	free(u);
	if (!--cl->alive)
		free(cl);
}

static void user_stop(struct sip_user *u)
{
	if (u->done || u->busy)
		return;
	u->done = true;
	loop_timer_stop(uloop(u), &u->think);
	loop_io_stop(uloop(u), &u->sig);
	close(u->sig.fd);
	loop_defer(uloop(u), &u->d, user_free);
}

static void arm_think(struct sip_user *u)
{
	uint64_t now = loop_now(uloop(u)), left = u->wake > now ? u->wake - now : 0;

	loop_timer_start(uloop(u), &u->think, MIN(left, host_ns(TICK_S)));
}

static void user_paced(struct pace_wait *w)
{
	struct sip_user *u = container_of(w, struct sip_user, pw);

	if (uhost(u)->stopping) {
		u->busy = false;
		user_stop(u);
		return;
	}
	user_action(u);
}

/* What a call of the action (a meeting when video) moves per second,
 * both ways, in the bucket's units: voice at 50 packets a second each
 * way; video at fps frames of video_frame bytes from each camera on. */
static double call_load(struct sip_user *u, bool video, const struct pace *pc)
{
	double opus = udraw(u, "opus", 0.6), voice = 2 * 50 * (RTP_HDR + opus * 85 + (1 - opus) * 160);
	double pkts = 2 * 50, bytes = voice;

	if (video) {
		double cams = 2 * udraw(u, "camera", 0.7), fps = MAX(1.0, MIN(60.0, udraw(u, "fps", 30)));
		double frame = udraw(u, "video_frame", 2500);

		bytes += cams * fps * (frame + RTP_HDR + 1);
		pkts += cams * fps * ceil(frame / VIDEO_MTU);
	}
	return pc->unit > 1 ? pkts : bytes;
}

/* May a call of load x start on bucket pc?  When the calls placed leave
 * room for most of it; or when none is placed (a rate below one call's
 * is met by one call at a time). */
static bool call_fits(const struct pace *pc, double x)
{
	struct sip_load *ld = load_of(pc);
	uint64_t now = loop_now(pc->loop);

	if (pc->rate <= 0)
		return true;
	if (now < ld->placed + host_ns(PLACE_S))
		return false;
	if (ld->committed > 0 && ld->committed + x / 2 > ld->rate)
		return false;
	ld->placed = now;
	return true;
}

static void think_cb(struct loop *lp, struct timer *t)
{
	struct sip_user *u = container_of(t, struct sip_user, think);
	struct pace *pc = u->cl->env.st->pace;

	if (u->busy) {
		/* waiting for the bucket, or in a call: stopping ends it (tx_cb
		 * does so too, but a call that rings has no media yet) */
		if (uhost(u)->stopping && u->pw.next) {
			pace_cancel(&u->pw);
			u->busy = false;
			user_stop(u);
			return;
		}
		if (uhost(u)->stopping && u->state != U_BYE && u->state != U_CANCEL && u->state != U_REG)
			user_hangup(&u->leg);
		/* Media cannot wait for the bucket; so when the calls placed
		 * would be too many without this one, or took seconds of the
		 * rate beyond it, some end early (a call in four each half
		 * second): the controller shortens sessions. */
		else if (u->state == U_TALKING && pc && pc->rate > 0 &&
			 (load_of(pc)->committed - u->load > 1.1 * load_of(pc)->rate ||
			  pace_debt(pc) > DEBT_S) &&
			 rng_unit(&uhost(u)->rng) < 0.25)
			user_hangup(&u->leg);
		if (u->busy)
			loop_timer_start(lp, t, host_ns(TICK_S));
		return;
	}
	if (uhost(u)->stopping) {
		user_stop(u);
		return;
	}
	if (loop_now(lp) < u->wake) {
		arm_think(u);
		return;
	}
	if (u->session_end) {
		u->session_end = false;
		u->cl->env.st->sessions++;
		u->action = model_start(u->cl->env.model);
	} else {
		u->action = u->next;
	}
	u->busy = true;
	if (pc && !pace_ok(pc)) {
		u->pw.cb = user_paced;
		pace_wait(pc, &u->pw);
		loop_timer_start(lp, t, host_ns(TICK_S));
		return;
	}
	user_go(u);
}

/* Take the action now, if it is a call that the bucket's load leaves
 * room for; else the same action at the next look. */
static void user_go(struct sip_user *u)
{
	struct pace *pc = u->cl->env.st->pace;
	const char *name = model_action_name(u->cl->env.model, u->action);

	if (pc && strcmp(name, "register")) {
		double x = call_load(u, !strcmp(name, "meeting"), pc);

		if (!call_fits(pc, x)) {
			u->busy = false;
			u->next = u->action;
			u->wake = loop_now(uloop(u)) + host_ns(TICK_S);
			arm_think(u);
			return;
		}
		u->load = x;
		load_of(pc)->committed += x;
	}
	user_action(u);
}

static void user_action(struct sip_user *u)
{
	const struct agent_env *env = &u->cl->env;
	const char *name = model_action_name(env->model, u->action);

	env->st->actions++;
	u->busy = true;
	loop_timer_start(uloop(u), &u->think, host_ns(TICK_S));
	if (!strcmp(name, "register"))
		send_register(u, NULL);
	else
		call_start(u, !strcmp(name, "meeting"));
}

static void user_think(struct sip_user *u)
{
	const struct agent_env *env = &u->cl->env;
	double think = model_think(env->model, u->action, &uhost(u)->rng) * agent_think_scale(env);

	u->busy = false;
	u->state = U_IDLE;
	u->next = model_next(env->model, u->action, &uhost(u)->rng);
	u->session_end = u->next == MODEL_END;
	u->wake = loop_now(uloop(u)) + host_ns(think);
	if (uhost(u)->stopping)
		user_stop(u);
	else
		arm_think(u);
}

static int user_new(struct sip_client *cl, uint32_t i)
{
	const struct agent_env *env = &cl->env;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(env->port),
				  .sin_addr.s_addr = htonl(env->server) }, me;
	socklen_t ml = sizeof(me);
	struct sip_user *u;
	struct rng *r = &env->host->rng;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), err;

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&me, &ml) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	u = xcalloc(1, sizeof(*u));
	u->cl = cl;
	u->sig.fd = fd;
	u->sig.cb = user_sig_cb;
	if (loop_io_set(env->host->loop, &u->sig, IO_IN)) {
		close(fd);
		free(u);
		return -ENOMEM;
	}
	cl->alive++;
	fmt_ipv4(u->ip, sizeof(u->ip), ntohl(me.sin_addr.s_addr));
	u->sig_port = ntohs(me.sin_port);
	snprintf(u->name, sizeof(u->name), "%s%u", content_word(rng_next(r)), 100 + i % 900);
	u->ua = user_agents[rng_below(r, ARRAY_SIZE(user_agents))];
	hex(u->reg_call_id, sizeof(u->reg_call_id), rng_next(r));
	hex(u->reg_tag, sizeof(u->reg_tag), rng_next(r));
	u->reg_cseq = (uint32_t)rng_below(r, 1000);
	u->leg = (struct leg){
		.h = env->host, .st = env->st, .m = env->model, .fd = fd, .connected = true,
		.local_addr = ntohl(me.sin_addr.s_addr), .hangup = user_hangup,
		.gave_up = user_gave_up, .stun = user_stun,
	};
	snprintf(u->leg.cname, sizeof(u->leg.cname), "%s@%s", u->name, u->ip);
	u->leg.hang.cb = hang_cb;
	u->leg.rtx.cb = rtx_cb;
	u->think.cb = think_cb;
	u->stun_t.cb = stun_cb;
	u->keep.cb = keep_cb;
	u->guard.cb = guard_cb;
	u->session_end = true;
	/* People sit down at slightly different times. */
	u->wake = loop_now(env->host->loop) + host_ns(rng_unit(r) * 0.5);
	arm_think(u);
	return 0;
}

static int sip_client(const struct agent_env *env, char *err, size_t errlen)
{
	struct sip_client *cl;
	int r = 0;

	if (!env->users)
		return 0;
	cl = xcalloc(1, sizeof(*cl));
	cl->env = *env;
	cl->alive = 1;   /* held while the users are made */
	for (uint32_t i = 0; i < env->users && !r; i++)
		r = user_new(cl, i);
	if (r)
		snprintf(err, errlen, "cannot open a SIP socket: %s", strerror(-r));
	if (!--cl->alive)
		free(cl);
	return r;
}

static const char *const sip_actions[] = { "register", "call", "meeting", NULL };

static const char *const sip_params[] = {
	"answer", "ring", "call_length", "meeting_length", "camera", "opus", "video_frame", "fps",
	"keyframe", "rtcp_interval", "keepalive", NULL,
};

const struct agent agent_sip = {
	.name = "sip",
	.proto = PROTO_SIP,
	.model = "sip",
	.actions = sip_actions,
	.params = sip_params,
	.serve = sip_serve,
	.client = sip_client,
};
