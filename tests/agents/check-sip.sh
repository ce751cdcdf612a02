#!/bin/sh
# check-sip.sh PCAP [LOSS] - check a recording of the realtime agent with
# tshark alone: SIP calls with SDP offers and answers, every INVITE and
# BYE answered, REGISTER challenged and then accepted; RTP streams that
# tshark finds from the SDP, with sane timing (20 ms voice, jitter of a
# few ms at most) and, on a clean link (LOSS 0, the default), no loss
# and no sequence errors; RTCP sender or receiver reports on the calls;
# STUN Binding requests answered; nothing malformed.
# Made for: a run of a few seconds with calls of a few seconds (see
# tests/net/run.sh); tests/net/realtime.sh judges a lossy link.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh

pcap=${1:?usage: check-sip.sh PCAP [LOSS]}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

tshark -r "$pcap" -q -z io,phs >"$T/phs" 2>"$T/err"
for p in sip rtp rtcp stun; do
	expect_grep "$T/phs" " $p " "the capture decodes $p"
done

no_malformed "$pcap"

# count FILTER: frames that match
count() {
	tshark -r "$pcap" -Y "$1" -T fields -e frame.number 2>/dev/null | wc -l
}

# Calls: each INVITE (first sending, not retransmissions) gets a final
# answer, each answered call an ACK; offers and answers carry SDP.
invites=$(tshark -r "$pcap" -Y 'sip.Method == "INVITE"' -T fields -e sip.Call-ID 2>/dev/null | sort -u | wc -l)
finals=$(tshark -r "$pcap" -Y 'sip.CSeq.method == "INVITE" && sip.Status-Code >= 200' -T fields \
	-e sip.Call-ID 2>/dev/null | sort -u | wc -l)
offers=$(count 'sip.Method == "INVITE" && sdp.media')
answers=$(count 'sip.Status-Code == 200 && sip.CSeq.method == "INVITE" && sdp.media')
if [ "$invites" -ge 2 ] && [ "$finals" -ge $((invites - 1)) ] && [ "$offers" -ge "$invites" ] && [ "$answers" -ge 1 ]; then
	ok "calls: $invites INVITEs with SDP offers, $finals answered finally, $answers with SDP answers"
else
	not_ok "calls are set up with SDP offer and answer" \
		"INVITEs $invites, final answers $finals, offers $offers, SDP answers $answers"
fi
# A call in flight when the run ended may lack its final answer; none
# other may.
byes=$(tshark -r "$pcap" -Y 'sip.Method == "BYE"' -T fields -e sip.Call-ID 2>/dev/null | sort -u | wc -l)
bye_ok=$(tshark -r "$pcap" -Y 'sip.CSeq.method == "BYE" && sip.Status-Code == 200' -T fields \
	-e sip.Call-ID 2>/dev/null | sort -u | wc -l)
if [ "$byes" -ge 1 ] && [ "$bye_ok" -eq "$byes" ]; then
	ok "every call hung up with BYE has its 200 OK ($byes)"
else
	not_ok "every BYE is answered 200 OK" "BYE $byes, answered $bye_ok"
fi
reg401=$(count 'sip.CSeq.method == "REGISTER" && sip.Status-Code == 401')
reg200=$(count 'sip.CSeq.method == "REGISTER" && sip.Status-Code == 200')
regauth=$(count 'sip.Method == "REGISTER" && sip.auth.digest.response')
if [ "$reg401" -ge 1 ] && [ "$reg200" -ge 1 ] && [ "$regauth" -ge "$reg200" ]; then
	ok "REGISTER: challenged ($reg401), then accepted with digest credentials ($reg200)"
else
	not_ok "REGISTER is challenged, then accepted with credentials" \
		"401 $reg401, 200 $reg200, with Authorization $regauth"
fi

# RTP streams as tshark's analysis sees them (set up from the SDP).
tshark -r "$pcap" -q -z rtp,streams 2>/dev/null |
	awk '/^ *[0-9.]+ +[0-9.]+ +[0-9]/ {
		# ... SSRC Payload Pkts Lost (pct) MinD MeanD MaxD MinJ MeanJ MaxJ [X]
		n = NF; prob = ($n == "X"); if (prob) n--
		print $8, $(n - 8), $(n - 7), $(n - 4), $(n - 1), $n, prob
	}' >"$T/streams"
streams=$(wc -l <"$T/streams")
voice=$(awk '$1 != "VP8"' "$T/streams" | wc -l)
video=$(awk '$1 == "VP8"' "$T/streams" | wc -l)
echo "# RTP streams: $streams ($voice voice, $video video)"
if [ "$streams" -ge 2 ]; then
	ok "tshark finds $streams RTP streams from the SDP ($voice voice, $video video)"
else
	not_ok "tshark finds RTP streams from the SDP" "$(cat "$T/streams")"
fi
# Voice: a packet every 20 ms on average; jitter a few ms at most.
bad=$(awk '$1 != "VP8" && $2 >= 50 && ($4 < 18 || $4 > 22.5 || $6 > 10)' "$T/streams" | wc -l)
if [ "$voice" -ge 1 ] && [ "$bad" -eq 0 ]; then
	ok "voice streams: 20 ms between packets, jitter under 10 ms"
else
	not_ok "voice streams: 20 ms between packets, jitter under 10 ms" "$(cat "$T/streams")"
fi
loss=${2:-0}
if [ "$loss" = 0 ]; then
	lost=$(awk '{ s += $3 } END { print s + 0 }' "$T/streams")
	probs=$(awk '{ s += $7 } END { print s + 0 }' "$T/streams")
	if [ "$lost" -eq 0 ] && [ "$probs" -eq 0 ]; then
		ok "a clean link: no RTP packet lost, no sequence errors"
	else
		not_ok "a clean link: no RTP packet lost, no sequence errors" "lost $lost, streams with problems $probs"
	fi
fi

reports=$(count 'rtcp.pt == 200 || rtcp.pt == 201')
if [ "$reports" -ge 2 ]; then
	ok "RTCP sender and receiver reports ($reports)"
else
	not_ok "RTCP sender and receiver reports" "$reports"
fi
req=$(count 'stun.type == 0x0001')
resp=$(count 'stun.type == 0x0101 && stun.att.port-xord')
if [ "$req" -ge 1 ] && [ "$resp" -ge $((req * 9 / 10)) ]; then
	ok "STUN Binding requests answered with the mapped address ($resp of $req)"
else
	not_ok "STUN Binding requests answered" "$resp of $req"
fi
done_testing
