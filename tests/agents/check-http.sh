#!/bin/sh
# check-http.sh PCAP - check a recording of the http agent with tshark
# alone: it decodes as HTTP/1.1 without malformed packets or errors,
# every request names its Host and User-Agent and is answered, and the
# users browse as web.model says: each page is followed by the requests
# for its embedded objects (Referer: that page), several requests share
# a keep-alive connection, and there are as many objects per page as the
# model's objects_per_page gives (plus the site's shared ones, less what
# the browser cache holds).
#
# tshark may drop packets when large objects cross the loopback faster
# than it records them; connections with segments lost to the capture
# are left out of the per-connection counts, and the ratios allow for a
# few requests it could not see.
. "$(dirname "$0")/../lib.sh"

PCAP=$1
# Segments that arrive out of order (a retransmission racing the segment
# it repeats, on a busy machine) are put back in order before TLS and
# HTTP see them, as TCP itself does; without it tshark reports their
# overlap as a reassembly error of the protocol above.
TSO="-o tcp.reassemble_out_of_order:TRUE"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
PORT=${HTTP_PORT:-80}

if [ ! -r "${PCAP:-}" ]; then
	not_ok "usage: check-http.sh PCAP (readable)"
	done_testing
	exit 1
fi

DA="tcp.port==$PORT,http"

tshark -r "$PCAP" $TSO -d "$DA" -Y 'http.request' -T fields -E separator='|' \
	-e frame.number -e tcp.stream -e http.request.method -e http.request.uri \
	-e http.referer -e http.host -e http.user_agent >"$T/req" 2>"$T/err"
tshark -r "$PCAP" $TSO -d "$DA" -Y 'http.response' -T fields -E separator='|' \
	-e frame.number -e tcp.stream -e http.response.code -e http.content_type \
	>"$T/resp" 2>>"$T/err"
tshark -r "$PCAP" $TSO -d "$DA" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment' \
	-T fields -e tcp.stream 2>>"$T/err" | sort -u >"$T/lost"

nreq=$(wc -l <"$T/req")
nresp=$(wc -l <"$T/resp")
if [ "$nreq" -gt 0 ] && [ "$nresp" -gt 0 ]; then
	ok "decodes as HTTP ($nreq requests, $nresp responses)"
else
	not_ok "decodes as HTTP" "requests $nreq, responses $nresp
$(head -c 2000 "$T/err")"
fi

tshark -r "$PCAP" $TSO -d "$DA" -Y '_ws.malformed || _ws.expert.severity == "Error"' \
	>"$T/bad" 2>>"$T/err"
if [ ! -s "$T/bad" ]; then
	ok "no malformed packets, no expert errors"
else
	not_ok "no malformed packets, no expert errors" "$(head -20 "$T/bad")"
fi

# Requests: GET only, each with Host and User-Agent.
bad=$(awk -F'|' '$3 != "GET" || $6 == "" || $7 == ""' "$T/req" | head -5)
if [ "$nreq" -gt 0 ] && [ -z "$bad" ]; then
	ok "every request is a GET with Host and User-Agent"
else
	not_ok "every request is a GET with Host and User-Agent" "$bad"
fi

# Answers: per connection the capture holds whole, one response per
# request, all 200 (the pages only link what the site has).
awk -F'|' -v lostf="$T/lost" '
	BEGIN { while ((getline s < lostf) > 0) lost[s] = 1 }
	FILENAME ~ /req$/ { if (!($2 in lost)) q[$2]++; next }
	{ if (!($2 in lost)) r[$2]++; if ($3 != 200) non200++ }
	END {
		for (s in q) { n++; if (q[s] != r[s]) { bad++; if (bad < 4) printf "stream %s: %d requests, %d responses\n", s, q[s], r[s] } }
		for (s in r) if (!(s in q)) bad++
		printf "%d %d %d\n", n, bad + 0, non200 + 0
	}' "$T/req" "$T/resp" >"$T/answers"
tail -1 "$T/answers" >"$T/sum"
read -r whole unanswered non200 <"$T/sum"
if [ "${whole:-0}" -gt 0 ] && [ "$unanswered" -eq 0 ] && [ "$non200" -eq 0 ]; then
	ok "every request answered, all 200 OK ($whole whole connections)"
else
	not_ok "every request answered, all 200 OK" "$(cat "$T/answers") ($(wc -l <"$T/lost") connections lost segments)"
fi

# Behaviour.  A page: /, /index.html or /p/N.html; a download: /dl/;
# anything else is an embedded object.
awk -F'|' '
	function kind(u) {
		if (u == "/" || u == "/index.html" || u ~ /^\/p\/[0-9]+\.html$/) return "page"
		if (u ~ /^\/dl\//) return "dl"
		return "obj"
	}
	{
		k = kind($4); ref = $5; sub(/^https?:\/\/[^\/]*/, "", ref)
		if (k == "page") {
			np++; page[np] = $4; at[np] = $1
			if (ref != "") { nfollow++; if (ref in seen) goodfollow++ }
			seen[$4] = 1
		} else if (k == "obj") {
			no++
			if (ref in seen) goodref++
			if ($1 > last[ref]) last[ref] = $1
		}
		conns[$2] = 1
	}
	END {
		for (i = 1; i <= np; i++) if (last[page[i]] > at[i]) followed++
		for (s in conns) nc++
		printf "%d %d %d %d %d %d %d\n", np, no, goodref, followed, nfollow, goodfollow, nc
	}' "$T/req" >"$T/walk"
read -r np no goodref followed nfollow goodfollow nc <"$T/walk"

# objects_per_page lognormal(16, 0.6) and three shared objects, less the
# cache: 2 to 60 per page over a run, even a short one.
if [ "$np" -gt 0 ] && [ "$no" -ge $((np * 2)) ] && [ "$no" -le $((np * 60)) ]; then
	ok "embedded objects per page as the model says ($no objects for $np pages)"
else
	not_ok "embedded objects per page as the model says (2 to 60)" "$no objects for $np pages"
fi
if [ "$no" -gt 0 ] && [ $((goodref * 100)) -ge $((no * 95)) ]; then
	ok "objects are asked for with Referer: a page fetched before ($goodref of $no)"
else
	not_ok "objects are asked for with Referer: a page fetched before" "$goodref of $no"
fi
if [ "$np" -gt 0 ] && [ $((followed * 100)) -ge $((np * 75)) ]; then
	ok "pages are followed by their objects ($followed of $np)"
else
	not_ok "pages are followed by their objects" "$followed of $np pages"
fi
if [ $((goodfollow * 100)) -ge $((nfollow * 95)) ]; then
	ok "links followed lead from a page fetched before ($goodfollow of $nfollow)"
else
	not_ok "links followed lead from a page fetched before" "$goodfollow of $nfollow"
fi
if [ "$nc" -gt 0 ] && [ "$nreq" -ge $((nc * 2)) ]; then
	ok "keep-alive: $nreq requests over $nc connections"
else
	not_ok "keep-alive: two requests or more per connection" "$nreq requests over $nc connections"
fi

done_testing
