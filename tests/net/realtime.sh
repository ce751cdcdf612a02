#!/bin/bash
# realtime.sh - calls across a link that loses 2 % of packets each way,
# judged from the recording with tshark alone: the RTP streams that
# crossed the lossy link before the capture point lose about 2 % (those
# captured before it lose none), the RTCP receiver reports of both sides
# say about 2 % too, and SIP's retransmissions still set up and end
# every call.  The recorder keeps a packet at the calling host, so
# media from h2 is seen after the link and media from h1 before it.
# Then the same calls on a clean link, judged as a clean recording.
# Every run is bounded by its --duration and by timeout.
# usage: tests/net/realtime.sh DYNAMO
set -u
DYNAMO=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. tests/lib.sh

need_netns
# Calls of 3-5 s, ringing briefly, reports every second: many calls and
# many reports in a short run.
model_with data/behaviours/sip.model "$T/short.model" "action register think 200 ms" \
	"param call_length lognormal(4 s, 0.2)" "param meeting_length lognormal(4 s, 0.2)" \
	"param ring lognormal(300 ms, 0.3)" "param rtcp_interval 1 s"

cat >"$T/lossy.dyn" <<-EOF
host h1 ; host h2 ;
link h1 -- lan loss 2% ;
generate realtime traffic from h1 to h2 with 2 Mbps over sip using model "short.model" ;
EOF
if ! timeout 90 "$DYNAMO" run --duration 20s --record "$T/lossy.pcapng" --json "$T/lossy.dyn" \
	>"$T/lossy.json" 2>"$T/lossy.err"; then
	not_ok "a realtime run over a lossy link" "$(cat "$T/lossy.err")"
	done_testing
	exit
fi
ok "a realtime run of 20 s over a link with 2 % loss"
h1=$(tshark -r "$T/lossy.pcapng" -Y 'sip.Method == "INVITE"' -T fields -e ip.src 2>/dev/null | head -1)

# Lost and expected packets of the streams to h1 and from it.
tshark -r "$T/lossy.pcapng" -q -z rtp,streams 2>/dev/null |
	awk -v h1="$h1" '/^ *[0-9.]+ +[0-9.]+ +[0-9]/ {
		n = NF; if ($n == "X") n--
		pk = $(n - 8); lo = $(n - 7)
		if ($5 == h1) { tp += pk; tl += lo } else if ($3 == h1) { fp += pk; fl += lo }
	} END { printf "%d %d %d %d\n", tp, tl, fp, fl }' >"$T/loss"
read -r to_pk to_lost from_pk from_lost <"$T/loss"
if [ "$to_pk" -ge 3000 ] && awk -v p="$to_pk" -v l="$to_lost" 'BEGIN { r = l / (p + l); exit !(r >= 0.013 && r <= 0.028) }'; then
	ok "RTP to h1, after the lossy link: $to_lost lost of $((to_pk + to_lost)) (about 2 %)"
else
	not_ok "RTP to h1 loses about 2 %" "$to_lost lost, $to_pk received"
fi
if [ "$from_pk" -ge 3000 ] && [ "$from_lost" -eq 0 ]; then
	ok "RTP from h1, recorded before the link: none of $from_pk lost"
else
	not_ok "RTP from h1 loses nothing before the link" "$from_lost lost, $from_pk sent"
fi

# RTCP: the fraction lost in each side's reports, averaged.
tshark -r "$T/lossy.pcapng" -Y 'rtcp.ssrc.fraction' -T fields -E occurrence=f -e ip.src \
	-e rtcp.ssrc.fraction 2>/dev/null |
	awk -v h1="$h1" '{ k = ($1 == h1) ? "h1" : "h2"; s[k] += $2; n[k]++ }
		END { printf "%d %.4f %d %.4f\n", n["h1"], n["h1"] ? s["h1"] / n["h1"] / 256 : 0,
			n["h2"], n["h2"] ? s["h2"] / n["h2"] / 256 : 0 }' >"$T/rtcp"
read -r n1 f1 n2 f2 <"$T/rtcp"
for side in "h1 $n1 $f1" "h2 $n2 $f2"; do
	set -- $side
	if [ "$2" -ge 20 ] && awk -v f="$3" 'BEGIN { exit !(f >= 0.01 && f <= 0.035) }'; then
		ok "RTCP: $1's $2 receiver reports say $(awk -v f="$3" 'BEGIN { printf "%.1f", f * 100 }') % lost"
	else
		not_ok "RTCP: $1's receiver reports say about 2 % lost" "$2 reports, mean fraction $3"
	fi
done

# SIP over UDP gets through: every call set up is answered finally,
# every BYE has its 200 (the last seconds' may still be in flight).
inv=$(tshark -r "$T/lossy.pcapng" -Y 'sip.Method == "INVITE"' -T fields -e sip.Call-ID 2>/dev/null | sort -u | wc -l)
fin=$(tshark -r "$T/lossy.pcapng" -Y 'sip.CSeq.method == "INVITE" && sip.Status-Code >= 200' -T fields \
	-e sip.Call-ID 2>/dev/null | sort -u | wc -l)
if [ "$inv" -ge 10 ] && [ "$fin" -ge $((inv - 3)) ]; then
	ok "SIP: $fin of $inv calls answered finally across the lossy link"
else
	not_ok "SIP: calls answered across the lossy link" "$fin of $inv"
fi
sh tests/agents/check-sip.sh "$T/lossy.pcapng" 2 | grep -e 'malformed' -e 'RTCP sender' |
	sed -e 's/^\(not \)\{0,1\}ok [0-9]* - /&lossy: /'

# A clean link: the checks of a clean recording.
cat >"$T/clean.dyn" <<-EOF
generate realtime traffic from h1 to h2 with 2 Mbps over sip using model "short.model" ;
EOF
if timeout 90 "$DYNAMO" run --duration 12s --record "$T/clean.pcapng" --json "$T/clean.dyn" \
	>"$T/clean.json" 2>"$T/clean.err"; then
	ok "a realtime run of 12 s on a clean link"
	sh tests/agents/check-sip.sh "$T/clean.pcapng" | sed -e 's/^\(not \)\{0,1\}ok [0-9]* - /&clean: /' |
		grep -v '^1\.\.'
else
	not_ok "a realtime run on a clean link" "$(cat "$T/clean.err")"
fi
done_testing
