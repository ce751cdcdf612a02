#!/bin/bash
# streaming.sh - a spec that pins streaming, judged from the recording
# with tshark alone.  One player (using = 1 flows) of a title on a ladder
# of 500 kbps, 1 and 2 Mbps, with 2 s segments and a 10 s buffer, on a
# statement of 5 Mbps: tshark's io graph shows the buffering phase (the
# first seconds at the statement's rate, far above the ladder's top) and
# then one segment fetch every 2 s with a silence between them, at
# the top rung's bitrate.  Then the same player on a link of 4 Mbps
# that web users start to share at 12 s: it takes the top rung while
# the link is its own, and steps down the ladder once it is not.
# Every run is bounded by its --duration and by timeout.
# usage: tests/net/streaming.sh DYNAMO
set -u
DYNAMO=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. tests/lib.sh

need_netns
# Constant-bitrate segments (vbr 0), so that the wire shows the rung.
model_with data/behaviours/streaming.model "$T/player.model" "param rungs 3" \
	"param rung_low 500 kbps" "param rung_high 2 Mbps" "param vbr 0" "param segment 2 s" \
	"param buffer 10 s" "param startup 2 s" "param watch_length 10 min" "param video_length 20 min"

# run NAME SPEC-LINES [DURATION]: dynamo run of 25 s, recorded
run() {
	printf '%s\n' "$2" >"$T/$1.dyn"
	if ! timeout 90 "$DYNAMO" run --duration "${3:-25s}" --record "$T/$1.pcapng" --json "$T/$1.dyn" \
		>"$T/$1.json" 2>"$T/$1.err"; then
		not_ok "$1: dynamo run" "$(cat "$T/$1.err")"
		return 1
	fi
	ok "$1: a streaming run of ${3:-25s}"
	tshark -r "$T/$1.pcapng" -Y 'http.request.uri contains ".m4s"' -T fields -e frame.time_relative \
		-e http.request.uri >"$T/$1.segs" 2>/dev/null
}

if run fast 'generate streaming traffic from h1 to h2 with 5 Mbps over http using = 1 flows using model "player.model" ;'; then
	# The io graph, a row per second: bytes.
	tshark -r "$T/fast.pcapng" -q -z io,stat,1 2>/dev/null |
		awk -F'|' '/<>/ && $2 !~ /Dur/ { gsub(/ /, "", $4); print $4 }' >"$T/io"
	# Buffering: the first 3 s carry more than twice the top rung
	# (250 KB a second) each.
	if awk 'NR <= 3 && $1 > 500000 { n++ } END { exit !(n == 3) }' "$T/io"; then
		ok "fast: buffering first: seconds 0-3 carry $(head -3 "$T/io" | tr '\n' ' ')bytes"
	else
		not_ok "fast: buffering first (over 500 KB in each of seconds 0-3)" "$(head -5 "$T/io" | tr '\n' ' ')"
	fi
	# Then periodic: from second 10, each 2 s between two segment
	# requests holds a silence of 0.8 s or more (a segment takes about
	# 0.9 s at 5 Mbps), wherever the seconds' edges fall.
	tshark -r "$T/fast.pcapng" -T fields -e frame.time_relative 2>/dev/null >"$T/times"
	awk -F'\t' 'NR == FNR { if ($1 > 10) r[++nr] = $1; next }
		{ t[++nt] = $1 }
		END { for (i = 1; i < nr; i++) { last = r[i]; best = 0
			for (j = 1; j <= nt; j++) if (t[j] > r[i] && t[j] <= r[i + 1]) {
				if (t[j] - last > best) best = t[j] - last; last = t[j] }
			if (r[i + 1] - last > best) best = r[i + 1] - last
			n++; if (best >= 0.8) quiet++; if (!min || best < min) min = best }
		      printf "%d %d %.2f\n", n, quiet, min }' "$T/fast.segs" "$T/times" >"$T/quiet"
	read -r n quiet min <"$T/quiet"
	if [ "$n" -ge 5 ] && [ "$quiet" -eq "$n" ]; then
		ok "fast: then periodic: each of $n intervals between segment requests has a silence of ${min} s or more"
	else
		not_ok "fast: then periodic (a silence of 0.8 s between segment requests)" "$quiet of $n, shortest $min s"
	fi
	# Segment requests 2 s apart after the burst, all at the top rung.
	awk -F'\t' 'NR > 1 { g = $1 - t; if ($1 > 10) { n++; if (g >= 1.7 && g <= 2.3) good++
				if ($2 !~ /\/2000k\//) low++ } } { t = $1 }
		END { printf "%d %d %d\n", n, good, low }' "$T/fast.segs" >"$T/per"
	read -r n good low <"$T/per"
	if [ "$n" -ge 6 ] && [ "$good" -eq "$n" ] && [ "$low" -eq 0 ]; then
		ok "fast: after 10 s, each of $n segments of the 2 Mbps rung asked for 2 s after the last"
	else
		not_ok "fast: a 2 Mbps segment every 2 s after 10 s" "$good of $n gaps 1.7-2.3 s, $low not at 2000k"
	fi
	# The ladder's bitrate: IP bytes from the first periodic request to
	# the last one, over that time.
	t0=$(awk -F'\t' '$1 > 10 { print $1; exit }' "$T/fast.segs")
	t1=$(tail -1 "$T/fast.segs" | cut -f1)
	rate=$(tshark -r "$T/fast.pcapng" -Y "frame.time_relative >= $t0 && frame.time_relative < $t1" \
		-T fields -e ip.len 2>/dev/null | awk -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
		'{ b += $1 } END { printf "%.0f", b * 8 / s }')
	if awk -v r="$rate" 'BEGIN { exit !(r >= 2.0e6 && r <= 2.2e6) }'; then
		ok "fast: the periodic phase runs at $rate bit/s on the wire (the 2 Mbps rung and its headers)"
	else
		not_ok "fast: the periodic phase runs at the 2 Mbps rung" "$rate bit/s from $t0 s to $t1 s"
	fi
	sh tests/agents/check-hls.sh "$T/fast.pcapng" | sed -e 's/^\(not \)\{0,1\}ok [0-9]* - /&fast: /' |
		grep -v '^1\.\.'
fi

# A link that gets busy: the player has 4 Mbps to itself and takes the
# top rung; from 12 s web users share the link, and it steps down.
if run busy 'link lan -> h1 rate 4 Mbps ;
generate streaming traffic from h1 to h2 with 3500 kbps over http using = 1 flows using model "player.model" ;
generate web traffic from h1 to h2 with 3 Mbps over https using >= 4 flows after 12 s ;' 30s; then
	awk -F'\t' '{ n = split($2, p, "/"); r = p[n - 1] }
		$1 >= 4 && $1 < 12 { early++; if (r == "2000k") top++ }
		$1 >= 14 { late++; if (r != "2000k") down++; last = r }
		END { printf "%d %d %d %d %s\n", early, top, late, down, last }' "$T/busy.segs" >"$T/rungs"
	read -r early top late down last <"$T/rungs"
	if [ "$early" -ge 3 ] && [ "$top" -eq "$early" ]; then
		ok "busy: alone on the link, all $early segments of seconds 4-12 are of the 2 Mbps rung"
	else
		not_ok "busy: alone on the link, the 2 Mbps rung" "$top of $early segments of seconds 4-12"
	fi
	if [ "$late" -ge 2 ] && [ "$down" -ge 1 ] && [ "$last" != "2000k" ]; then
		ok "busy: sharing it, $down of $late segments after 14 s are of lower rungs (the last: $last)"
	else
		not_ok "busy: sharing the link, the player steps down" "$down of $late segments after 14 s below 2000k, the last $last"
	fi
	# The busy link drops segments and the kept copy is the receiver's, so
	# retransmissions arrive out of order: tshark must put them back in
	# order, or it reads a body after a hole as headers (HTTP "illegal
	# characters", TLS "unknown record"), and now and then as malformed.
	no_malformed "$T/busy.pcapng" -o tcp.reassemble_out_of_order:TRUE
fi
done_testing
