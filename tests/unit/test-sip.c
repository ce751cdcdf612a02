/* test-sip.c - the realtime agent's wire formats (src/agents/sip-wire.c):
 * SIP messages with compact and folded headers, SDP offers, RTP headers,
 * the receiver statistics RTCP reports (loss and jitter, RFC 3550
 * appendix A), RTCP and STUN messages made and read back. */
#include "unit.h"

#include <errno.h>

#include "../../src/agents/sip.h"

#define S(lit) lit, sizeof(lit) - 1

static bool is(struct sip__str s, const char *w)
{
	return s.n == strlen(w) && !memcmp(s.p, w, s.n);
}

static void sip_messages(void **state)
{
	static const char invite[] =
		"INVITE sip:2001@pbx SIP/2.0\r\n"
		"v: SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1, SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKb2\r\n"
		"Via: SIP/2.0/UDP 10.0.0.8;branch=z9hG4bKc3\r\n"
		"f: \"Ann\" <sip:ann@pbx;transport=udp>;tag=77\r\n"
		"t: <sip:2001@pbx>\r\n"
		"i: abc@10.0.0.1\r\n"
		"CSeq: 7 INVITE\r\n"
		"Subject: a folded\r\n  header line\r\n"
		"l: 4\r\n\r\nv=0\r\nextra";
	static const char ok[] = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKx\r\n"
				 "From: <sip:a@b>;tag=1\r\nTo: <sip:c@b>;tag=2\r\nCall-ID: q\r\n"
				 "CSeq: 8 BYE\r\nExpires: 3600\r\n\r\n";
	struct sip__msg m;

	(void)state;
	assert_int_equal(sip__parse(S(invite), &m), 0);
	assert_true(m.request);
	assert_true(is(m.method, "INVITE"));
	assert_true(is(m.uri, "sip:2001@pbx"));
	/* the top Via only, and its first value */
	assert_true(is(m.via, "SIP/2.0/UDP 10.0.0.1:5062;branch=z9hG4bKa1"));
	assert_true(is(m.branch, "z9hG4bKa1"));
	/* a URI's own parameters are not the header's tag */
	assert_true(is(m.from_tag, "77"));
	assert_int_equal(m.to_tag.n, 0);
	assert_true(is(m.call_id, "abc@10.0.0.1"));
	assert_int_equal(m.cseq, 7);
	assert_true(is(m.cseq_method, "INVITE"));
	/* Content-Length says where the body ends */
	assert_true(is(m.body, "v=0\r"));

	assert_int_equal(sip__parse(S(ok), &m), 0);
	assert_false(m.request);
	assert_int_equal(m.code, 200);
	assert_true(is(m.reason, "OK"));
	assert_true(is(m.to_tag, "2"));
	assert_int_equal(m.expires, 3600);
	assert_int_equal(m.body.n, 0);

	/* refused: cut before the empty line, no Call-ID, a body shorter
	 * than Content-Length, a bad status, a bad request line */
	assert_int_equal(sip__parse(ok, sizeof(ok) - 3, &m), -EBADMSG);
	assert_int_equal(sip__parse(S("BYE sip:a SIP/2.0\r\nVia: x\r\nFrom: a\r\nTo: b\r\nCSeq: 1 BYE\r\n\r\n"), &m),
			 -EBADMSG);
	assert_int_equal(sip__parse(S("SIP/2.0 200 OK\r\nVia: x\r\nFrom: a\r\nTo: b\r\nCall-ID: c\r\n"
				      "CSeq: 1 BYE\r\nContent-Length: 9\r\n\r\nshort"), &m),
			 -EBADMSG);
	assert_int_equal(sip__parse(S("SIP/2.0 99 Low\r\n\r\n"), &m), -EBADMSG);
	assert_int_equal(sip__parse(S("INVITE  SIP/2.0\r\n\r\n"), &m), -EBADMSG);
}

static void sdp_offers(void **state)
{
	static const char offer[] = "v=0\r\no=ann 1234 1235 IN IP4 10.0.0.1\r\ns=-\r\n"
				    "c=IN IP4 10.0.0.1\r\nt=0 0\r\na=sendrecv\r\n"
				    "m=audio 40000 RTP/AVP 111 0 101\r\na=rtpmap:111 opus/48000/2\r\n"
				    "m=video 40002 RTP/AVP 96\r\nc=IN IP4 10.0.0.2\r\n"
				    "a=rtpmap:96 VP8/90000\r\na=recvonly\r\n"
				    "m=application 0 UDP/BFCP *\r\n";
	struct sip__sdp s;

	(void)state;
	assert_int_equal(sip__sdp_parse(S(offer), &s), 0);
	assert_int_equal(s.sess_id, 1234);
	assert_int_equal(s.nmedia, 3);
	assert_int_equal(s.m[0].kind, SIP_AUDIO);
	assert_int_equal(s.m[0].port, 40000);
	assert_int_equal(s.m[0].pt, 111);
	assert_int_equal(s.m[0].npts, 3);
	assert_int_equal(s.m[0].pts[2], 101);
	assert_int_equal(s.m[0].clock, 48000);
	assert_int_equal(s.m[0].addr, 0x0a000001);
	assert_int_equal(s.m[0].dir, SDP_SENDRECV);
	assert_int_equal(s.m[1].kind, SIP_VIDEO);
	assert_int_equal(s.m[1].clock, 90000);
	assert_int_equal(s.m[1].addr, 0x0a000002);   /* its own c= */
	assert_int_equal(s.m[1].dir, SDP_RECVONLY);
	assert_int_equal(s.m[2].kind, -1);
	assert_int_equal(s.m[2].port, 0);
	assert_int_equal(s.m[2].pt, -1);
	/* PCMU's clock is RFC 3551's, without an rtpmap */
	assert_int_equal(sip__sdp_parse(S("v=0\nm=audio 5 RTP/AVP 0\n"), &s), 0);
	assert_int_equal(s.m[0].clock, 8000);
	assert_int_equal(sip__sdp_parse(S("o=x\r\nv=0\r\n"), &s), -EBADMSG);
	assert_int_equal(sip__sdp_parse(S("v=0\r\nc=IN IP4 300.1.1.1\r\n"), &s), -EBADMSG);
	assert_int_equal(sip__sdp_parse(S("v=0\r\nm=audio 70000 RTP/AVP 0\r\n"), &s), -EBADMSG);
	assert_int_equal(sip__sdp_parse(S(""), &s), -EBADMSG);
}

static void rtp_headers(void **state)
{
	uint8_t b[RTP_HDR + 8] = { 0 };
	struct sip__rtp r;

	(void)state;
	sip__rtp_header(b, 111, true, 65535, 0xdeadbeef, 0x01020304);
	assert_int_equal(sip__rtp_parse(b, sizeof(b), &r), 0);
	assert_int_equal(r.pt, 111);
	assert_true(r.marker);
	assert_int_equal(r.seq, 65535);
	assert_int_equal(r.ts, 0xdeadbeef);
	assert_int_equal(r.ssrc, 0x01020304);
	assert_int_equal(r.off, RTP_HDR);
	assert_int_equal(r.len, 8);
	/* padding: the last byte counts it */
	b[0] |= 0x20;
	b[sizeof(b) - 1] = 3;
	assert_int_equal(sip__rtp_parse(b, sizeof(b), &r), 0);
	assert_int_equal(r.len, 5);
	b[sizeof(b) - 1] = 9;
	assert_int_equal(sip__rtp_parse(b, sizeof(b), &r), -EBADMSG);
	/* version 1, and CSRCs past the end */
	b[0] = 0x40;
	assert_int_equal(sip__rtp_parse(b, sizeof(b), &r), -EBADMSG);
	b[0] = 0x8f;
	assert_int_equal(sip__rtp_parse(b, sizeof(b), &r), -EBADMSG);
}

/* A 20 ms voice stream, one packet in fifty lost, over a sequence wrap:
 * RTCP's figures as RFC 3550 defines them. */
static void receiver_stats(void **state)
{
	struct sip__rx rx = { .clock = 8000 };
	uint32_t ext;
	int32_t lost;
	uint8_t fraction;
	unsigned sent = 0, got = 0;

	(void)state;
	for (unsigned i = 0; i < 5000; i++) {
		uint16_t seq = (uint16_t)(64000 + i);

		sent++;
		if (i % 50 == 25)
			continue;
		got++;
		/* perfectly timed: no jitter */
		sip__rx_packet(&rx, seq, 1000 + 160 * i, 5000000000ull + 20000000ull * i);
	}
	sip__rx_report(&rx, &lost, &fraction, &ext);
	assert_int_equal(lost, (int32_t)(sent - got));
	assert_int_equal(ext, 65536 + (uint16_t)(64000 + 4999));
	/* 2 % is 5.12 / 256 */
	assert_true(fraction == 5);
	assert_true(rx.jitter < 0.5);
	/* nothing new: nothing lost since */
	sip__rx_report(&rx, &lost, &fraction, &ext);
	assert_int_equal(fraction, 0);

	/* arrivals off by +-1 ms alternately: jitter tends to 8 units of
	 * an 8 kHz clock, 1 ms */
	struct sip__rx j = { .clock = 8000 };

	for (unsigned i = 0; i < 2000; i++)
		sip__rx_packet(&j, (uint16_t)i, 160 * i, 20000000ull * i + (i % 2 ? 1000000 : 0));
	assert_true(j.jitter > 7.0 && j.jitter < 9.0);
}

static void rtcp_reports(void **state)
{
	struct sip__rtcp r = { .sr = true, .ssrc = 0xabcdef01, .ntp = 0x0123456789abcdefull,
			       .rtp_ts = 42, .packets = 1000, .octets = 160000, .nblocks = 1, .bye = true };
	struct sip__rtcp back;
	uint8_t out[256];
	size_t n;

	(void)state;
	r.b[0] = (struct sip__rtcp_block){ .ssrc = 7, .fraction = 5, .lost = -3, .ext_max = 70000,
					   .jitter = 12, .lsr = 0x1234, .dlsr = 65536 };
	n = sip__rtcp_build(out, sizeof(out), &r, "ann@10.0.0.1");
	assert_int_equal(n % 4, 0);
	assert_int_equal(sip__rtcp_parse(out, n, &back), 0);
	assert_true(back.sr && back.sdes && back.bye);
	assert_int_equal(back.ssrc, r.ssrc);
	assert_true(back.ntp == r.ntp);
	assert_int_equal(back.packets, 1000);
	assert_int_equal(back.nblocks, 1);
	assert_int_equal(back.b[0].lost, -3);     /* 24 bits, signed */
	assert_int_equal(back.b[0].fraction, 5);
	assert_int_equal(back.b[0].dlsr, 65536);
	assert_int_equal(sip__rtcp_build(out, 20, &r, "x"), 0);
	/* not a report first; a length past the end */
	out[1] = 202;
	assert_int_equal(sip__rtcp_parse(out, n, &back), -EBADMSG);
	out[1] = 200;
	assert_int_equal(sip__rtcp_parse(out, n - 4, &back), -EBADMSG);
}

static void stun_binding(void **state)
{
	static const uint8_t tid[12] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 };
	struct sip__stun s;
	uint8_t out[128];
	size_t n;

	(void)state;
	n = sip__stun_build(out, sizeof(out), STUN_BINDING, tid, 0, 0);
	assert_int_equal(sip__stun_parse(out, n, &s), 0);
	assert_int_equal(s.type, STUN_BINDING);
	assert_false(s.mapped);
	assert_true(s.fingerprint);
	assert_memory_equal(s.tid, tid, 12);
	n = sip__stun_build(out, sizeof(out), STUN_BINDING_OK, tid, 0xc6120001, 40000);
	assert_int_equal(sip__stun_parse(out, n, &s), 0);
	assert_true(s.mapped);
	assert_int_equal(s.addr, 0xc6120001);
	assert_int_equal(s.port, 40000);
	/* a changed byte breaks the fingerprint; a bad cookie, the message */
	out[n - 9] ^= 1;
	assert_int_equal(sip__stun_parse(out, n, &s), 0);
	assert_false(s.fingerprint);
	out[4] = 0;
	assert_int_equal(sip__stun_parse(out, n, &s), -EBADMSG);
	assert_int_equal(sip__stun_parse(out, 19, &s), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sip_messages),
		cmocka_unit_test(sdp_offers),
		cmocka_unit_test(rtp_headers),
		cmocka_unit_test(receiver_stats),
		cmocka_unit_test(rtcp_reports),
		cmocka_unit_test(stun_binding),
	};

	return cmocka_run_group_tests_name("sip", tests, NULL, NULL);
}
