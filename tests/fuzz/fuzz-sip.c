/* fuzz-sip.c - libFuzzer target for the realtime agent's parsers
 * (src/agents/sip-wire.c): any bytes, as a SIP message, an SDP body, an
 * RTP or RTCP packet or a STUN message, parse or are refused, never
 * read out of bounds; what parses points inside the input, and what
 * the builders make of it parses again to the same values. */
#include "../../src/agents/sip.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void inside(const char *buf, size_t len, struct sip__str s)
{
	if (s.n && (s.p < buf || s.p + s.n > buf + len))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *b = (const char *)data;
	struct sip__msg m;
	struct sip__sdp sdp;
	struct sip__rtp rtp;
	struct sip__rtcp rc, again;
	struct sip__stun st, st2;
	uint8_t out[512];
	size_t n;

	if (!sip__parse(b, size, &m)) {
		struct sip__str all[] = { m.method, m.uri, m.reason, m.via, m.branch, m.from, m.from_tag,
					  m.to, m.to_tag, m.call_id, m.cseq_method, m.contact, m.ctype,
					  m.auth, m.www_auth, m.body };

		for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
			inside(b, size, all[i]);
		if (!m.request && (m.code < 100 || m.code > 699))
			__builtin_trap();
		if (!sip__sdp_parse(m.body.p, m.body.n, &sdp) && sdp.nmedia > SIP_SDP_MEDIA)
			__builtin_trap();
	}
	if (!sip__sdp_parse(b, size, &sdp)) {
		for (unsigned i = 0; i < sdp.nmedia; i++)
			if (sdp.m[i].npts > 8 || sdp.m[i].pt > 127)
				__builtin_trap();
	}
	if (!sip__rtp_parse(data, size, &rtp) && rtp.off + rtp.len > size)
		__builtin_trap();
	if (!sip__rtcp_parse(data, size, &rc)) {
		if (rc.nblocks > SIP_RTCP_BLOCKS)
			__builtin_trap();
		n = sip__rtcp_build(out, sizeof(out), &rc, "fuzz@example");
		if (!n || sip__rtcp_parse(out, n, &again) || again.ssrc != rc.ssrc ||
		    again.nblocks != rc.nblocks || again.sr != rc.sr || again.bye != rc.bye ||
		    (rc.nblocks && (again.b[0].lost != rc.b[0].lost || again.b[0].jitter != rc.b[0].jitter)))
			__builtin_trap();
	}
	if (!sip__stun_parse(data, size, &st)) {
		n = sip__stun_build(out, sizeof(out), STUN_BINDING_OK, st.tid, st.addr, st.port);
		if (!n || sip__stun_parse(out, n, &st2) || !st2.mapped || !st2.fingerprint ||
		    st2.addr != st.addr || st2.port != st.port || memcmp(st2.tid, st.tid, 12))
			__builtin_trap();
	}
	return 0;
}
