#!/bin/sh
# check-hls.sh PCAP [PORT] - check a recording of the streaming agent
# (plain HTTP) with tshark alone: it decodes as HTTP with nothing
# malformed; every answer is 200 with the type of what was asked
# (playlists, MP4 init segments that tshark's MP4 dissector reads,
# CMAF segments); players go as a player goes: a title's master
# playlist first, a rung's media playlist and init segment before its
# first segment, segments in order; each viewing starts with a burst
# (segments back to back while the buffer fills) and goes on with a
# segment about every segment duration once it is full; and the
# segments of each rung average the bitrate its master playlist gives
# (AVERAGE-BANDWIDTH), by their Content-Length.
# Made for: a run of some seconds with a buffer of a few segments (see
# tests/net/run.sh); tests/net/streaming.sh judges a longer one.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh

pcap=${1:?usage: check-hls.sh PCAP [PORT]}
port=${2:-80}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
DA="tcp.port==$port,http"
TSO="-o tcp.reassemble_out_of_order:TRUE"

tshark -r "$pcap" $TSO -d "$DA" -Y http.request -T fields -e frame.time_relative -e tcp.stream \
	-e http.request.uri >"$T/req" 2>"$T/err"
tshark -r "$pcap" $TSO -d "$DA" -Y http.response -T fields -e tcp.stream -e http.response.code \
	-e http.content_type -e http.content_length -e http.response_for.uri >"$T/resp" 2>>"$T/err"
nreq=$(wc -l <"$T/req")
nresp=$(wc -l <"$T/resp")
if [ "$nreq" -ge 10 ] && [ "$nresp" -ge $((nreq - 8)) ]; then
	ok "decodes as HTTP ($nreq requests, $nresp responses)"
else
	not_ok "decodes as HTTP" "requests $nreq, responses $nresp $(head -c 500 "$T/err")"
fi

# out-of-order segments put back in order first, as check-http.sh does
no_malformed "$pcap" $TSO -d "$DA"

# Every answer a 200 of the right type.
awk -F'\t' '
	{ n++; u = $5; sub(/^[a-z]+:\/\/[^\/]*/, "", u)
	  want = "?"
	  if (u ~ /\.m3u8$/) want = "application/vnd.apple.mpegurl"
	  else if (u ~ /\/init\.mp4$/) want = "video/mp4"
	  else if (u ~ /\.m4s$/) want = "video/iso.segment"
	  if ($2 != 200 || $3 != want) { bad++; if (!ex) ex = $0 } }
	END { printf "%d %d %s\n", n, bad, ex }' "$T/resp" >"$T/types"
read -r n bad ex <"$T/types"
if [ "$n" -gt 0 ] && [ "$bad" -eq 0 ]; then
	ok "every answer is 200 with the type of what was asked ($n)"
else
	not_ok "every answer is 200 with the type of what was asked" "$bad of $n: $ex"
fi

inits=$(grep -c '/init\.mp4$' "$T/resp")
moovs=$(tshark -r "$pcap" $TSO -d "$DA" -Y 'mp4.box.type_str == "moov"' -T fields -e frame.number 2>/dev/null | wc -l)
if [ "$inits" -ge 1 ] && [ "$moovs" -eq "$inits" ]; then
	ok "tshark's MP4 dissector reads the $inits init segments (ftyp, moov)"
else
	not_ok "tshark's MP4 dissector reads the init segments" "$moovs moov boxes for $inits init segments"
fi

# The segment duration and each rung's bitrate, from the playlists.
tshark -r "$pcap" $TSO -d "$DA" -Y 'http.content_type contains "mpegurl"' -T fields \
	-e http.file_data 2>/dev/null >"$T/playlists"
seg=$(grep -o 'TARGETDURATION:[0-9]*' "$T/playlists" | head -1 | cut -d: -f2)
grep -o 'AVERAGE-BANDWIDTH=[0-9]*[^\\]*\\n[0-9]*k/' "$T/playlists" |
	sed -e 's/AVERAGE-BANDWIDTH=\([0-9]*\).*\\n\([0-9]*k\)\//\2\t\1/' | sort -u >"$T/ladder"

# Players' order, per connection: master, then a rung's playlist and
# init, then its segments in order (a seek jumps ahead, never back).
awk -F'\t' '
	{ u = $3; s = $2; n = split(u, p, "/")
	  if (u ~ /master\.m3u8$/) { title[s] = p[3]; last[s] = -1; masters++; next }
	  if (p[3] != title[s]) { bad++; if (!ex) ex = "not the title of the master: " u; next }
	  k = s " " p[3] " " p[4]
	  if (u ~ /index\.m3u8$/) { pl[k] = 1; next }
	  if (u ~ /init\.mp4$/) { if (!pl[k]) { bad++; if (!ex) ex = "init before playlist: " u }; init[k] = 1; next }
	  segs++; i = p[5]; sub(/\.m4s$/, "", i)
	  if (!pl[k] || !init[k]) { bad++; if (!ex) ex = "segment before playlist and init: " u }
	  if (i + 0 <= last[s]) { bad++; if (!ex) ex = "segment out of order: " u }
	  last[s] = i + 0 }
	END { printf "%d %d %d %s\n", masters, segs, bad, ex }' "$T/req" >"$T/order"
read -r masters segs bad ex <"$T/order"
if [ "$masters" -ge 1 ] && [ "$segs" -ge 5 ] && [ "$bad" -eq 0 ]; then
	ok "players go master, media playlist and init, then segments in order ($masters titles, $segs segments)"
else
	not_ok "players go master, media playlist and init, then segments in order" \
		"$masters titles, $segs segments, $bad out of place: $ex"
fi

# Burst, then periodic: the gaps between a viewing's segment requests,
# the first ones (filling the buffer) under half a segment, the later
# ones of long viewings about a segment.
if [ -n "$seg" ]; then
	awk -F'\t' -v seg="$seg" '
		$3 ~ /master\.m3u8$/ { n[$2] = 0; v[$2]++; next }
		$3 ~ /\.m4s$/ { k = $2 " " v[$2]; i = ++n[$2]
			if (i > 1) { g = $1 - t[$2]
				if (i <= 3) { early++; if (g < seg / 2) burst++ }
				else if (i > 3 && g >= seg / 2) { late[++nl] = g } }
			t[$2] = $1 }
		END {
			# the median of the periodic gaps
			for (i = 1; i <= nl; i++) for (j = i + 1; j <= nl; j++)
				if (late[j] < late[i]) { x = late[i]; late[i] = late[j]; late[j] = x }
			printf "%d %d %d %.3f\n", early, burst, nl, nl ? late[int((nl + 1) / 2)] : 0 }' \
		"$T/req" >"$T/gaps"
	read -r early burst nl med <"$T/gaps"
	if [ "$early" -ge 2 ] && [ "$burst" -ge $((early * 9 / 10)) ]; then
		ok "viewings start with a burst: $burst of the $early first gaps under half a segment"
	else
		not_ok "viewings start with a burst" "$burst of $early first gaps under $seg/2 s"
	fi
	if [ "$nl" -ge 3 ] && awk -v m="$med" -v s="$seg" 'BEGIN { exit !(m >= 0.8 * s && m <= 1.2 * s) }'; then
		ok "then a segment every $med s (median of $nl gaps; segments of $seg s)"
	else
		not_ok "then a segment about every segment duration" "median $med s of $nl gaps; segments of $seg s"
	fi
else
	not_ok "the media playlists give a target duration" "$(head -c 300 "$T/playlists")"
fi

# Each rung's segments average its bitrate (those of 10 segments or more).
awk -F'\t' -v seg="${seg:-0}" '
	NR == FNR { rate[$1] = $2; next }
	$5 ~ /\.m4s$/ { n = split($5, p, "/"); r = p[n - 1]; b[r] += $4; c[r]++ }
	END { for (r in c) if (c[r] >= 10 && seg > 0) {
		x = b[r] * 8 / (c[r] * seg) / rate[r]; checked++
		if (x < 0.75 || x > 1.25) { bad++; ex = ex " " r "=" x }
		else got = got " " r ":" sprintf("%.2f", x) }
	      printf "%d %d%s%s\n", checked, bad, got, ex }' "$T/ladder" "$T/resp" >"$T/rates"
read -r checked bad rest <"$T/rates"
if [ "$checked" -ge 1 ] && [ "$bad" -eq 0 ]; then
	ok "segments average their rung's bitrate (rung:ratio$rest)"
elif [ "$checked" -eq 0 ]; then
	not_ok "segments average their rung's bitrate" "no rung with 10 segments: $(cat "$T/ladder" | tr '\n' ' ')"
else
	not_ok "segments average their rung's bitrate" "$rest"
fi
done_testing
