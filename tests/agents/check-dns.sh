#!/bin/sh
# check-dns.sh PCAP - check a recording of the dns agent with tshark
# alone: it decodes as DNS over UDP and TCP, nothing is malformed, every
# query has its response and every response its query, the server
# answers with authority and only NOERROR or NXDOMAIN, lookups come from
# many source ports, the query types follow the dns model (A always, AAAA
# with about 70 % of them, MX and TXT now and then), and each answer
# truncated over UDP (TC) is followed by the same question (id, name,
# type) over TCP.
# Made for: agent-try dns --seconds 8 --users 4 --think-scale 0.2
# (about 300 queries, 10-30 of them truncated); the mix and the
# truncation are judged on 80 A queries or more.
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh

pcap=${1:?usage: check-dns.sh PCAP}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

tshark -r "$pcap" -q -z io,phs >"$T/phs" 2>"$T/err"
expect_grep "$T/phs" "dns" "the capture decodes as DNS"

# count FILTER: frames matching a display filter (two passes, so that
# request/response links are known).
count() {
	tshark -2 -r "$pcap" -Y "$1" -T fields -e frame.number 2>/dev/null | wc -l
}

udp=$(count 'udp.port == 53 && dns')
tcp=$(count 'tcp.port == 53 && dns')
if [ "$udp" -gt 0 ] && [ "$tcp" -gt 0 ]; then
	ok "DNS over UDP ($udp frames) and over TCP ($tcp frames)"
else
	not_ok "DNS over UDP and over TCP" "udp $udp, tcp $tcp"
fi

no_malformed "$pcap"

# Queries and responses, one line per DNS message (a TCP segment may
# hold several): frame, transport, response flag, TC, rcode, AA, id,
# name, type.  tshark lists a frame's messages' fields in order.
tshark -2 -r "$pcap" -Y dns -T fields -E occurrence=a -E aggregator=, -E separator='|' \
	-e frame.number -e udp.srcport -e tcp.srcport -e dns.flags.response \
	-e dns.flags.truncated -e dns.flags.rcode -e dns.flags.authoritative -e dns.id \
	-e dns.qry.name -e dns.qry.type -e dns.response_in -e dns.response_to \
	2>/dev/null >"$T/frames"
awk -F'|' -v OFS='|' '{
	tr = $2 != "" ? "udp" : "tcp"
	port = $2 != "" ? $2 : $3
	n = split($4, resp, ","); split($5, tc, ","); split($6, rc, ",")
	split($7, aa, ","); split($8, id, ","); split($9, nm, ","); split($10, ty, ",")
	for (i = 1; i <= n; i++)
		print $1, tr, port, resp[i], tc[i], rc[i], aa[i], id[i], nm[i], ty[i]
}' "$T/frames" >"$T/msgs"

# Every query answered, no answer without a query.
tshark -2 -r "$pcap" -Y 'dns.flags.response == 0 && !dns.response_in' -T fields \
	-e frame.number -e dns.id -e dns.qry.name 2>/dev/null >"$T/unanswered"
tshark -2 -r "$pcap" -Y 'dns.flags.response == 1 && !dns.response_to' -T fields \
	-e frame.number -e dns.id -e dns.qry.name 2>/dev/null >"$T/unasked"
# A question a server dropped (dnsmasq answers one question per TCP
# connection) and the resolver asked again, with the same id, and got
# answered, is answered.
tshark -2 -r "$pcap" -Y 'dns.flags.response == 1' -T fields -e dns.id -e dns.qry.name \
	2>/dev/null | sort -u >"$T/answered"
awk -F'\t' 'NR == FNR { got[$1 "\t" $2] = 1; next } !(($2 "\t" $3) in got)' \
	"$T/answered" "$T/unanswered" >"$T/unanswered.left"
mv "$T/unanswered.left" "$T/unanswered"
queries=$(awk -F'|' '$4 == "0"' "$T/msgs" | wc -l)
if [ "$queries" -gt 0 ] && [ ! -s "$T/unanswered" ] && [ ! -s "$T/unasked" ]; then
	ok "every query is answered, every answer asked for ($queries queries)"
else
	not_ok "every query is answered, every answer asked for" \
		"$queries queries; unanswered: $(head -5 "$T/unanswered") unasked: $(head -5 "$T/unasked")"
fi

# The server is authoritative for its zone and has every name the
# client asks for, but for typos: NOERROR or NXDOMAIN, AA set.
awk -F'|' '$4 == "1" && (($6 != "0" && $6 != "3") || $7 != "1")' "$T/msgs" >"$T/oddrc"
if [ ! -s "$T/oddrc" ]; then
	ok "answers are authoritative, NOERROR or NXDOMAIN"
else
	not_ok "answers are authoritative, NOERROR or NXDOMAIN" "$(head -5 "$T/oddrc")"
fi

# A socket per lookup: many source ports (a lookup asks one or two
# questions, and may send them again).
ports=$(awk -F'|' '$2 == "udp" && $4 == "0" { print $3 }' "$T/msgs" | sort -u | wc -l)
udpq=$(awk -F'|' '$2 == "udp" && $4 == "0"' "$T/msgs" | wc -l)
if [ "$udpq" -gt 0 ] && [ $((ports * 5)) -ge $((udpq * 2)) ]; then
	ok "queries come from many source ports ($ports ports, $udpq UDP queries)"
else
	not_ok "queries come from many source ports" "$ports ports for $udpq UDP queries"
fi

# The mix of query types over UDP (first tries: TCP retries repeat them).
awk -F'|' '$2 == "udp" && $4 == "0" { t[$10]++ }
END { printf "%d %d %d %d\n", t[1], t[28], t[15], t[16] }' "$T/msgs" >"$T/types"
read -r a aaaa mx txt <"$T/types"
echo "# UDP queries: A $a, AAAA $aaaa, MX $mx, TXT $txt"
# The mix is judged on enough lookups (agent-try's run makes 100-170 A
# queries); smaller recordings only have to show addresses looked up.
if [ "$a" -ge 10 ]; then
	ok "users look up addresses (A: $a)"
else
	not_ok "users look up addresses (>= 10 A)" "A $a"
fi
# The model asks AAAA with 70 % of address lookups; MX follow-ups and
# retransmissions move it a little.
if [ "$a" -lt 40 ]; then
	ok "AAAA with about 70 % of A lookups # SKIP only $a A queries"
elif awk -v a="$a" -v b="$aaaa" 'BEGIN { exit !(b / a >= 0.5 && b / a <= 0.9) }'; then
	ok "AAAA with about 70 % of A lookups ($aaaa / $a)"
else
	not_ok "AAAA with about 70 % of A lookups (0.5 to 0.9)" "$aaaa / $a"
fi
other=$((mx + txt))
if [ $((other * 5)) -gt "$a" ]; then
	not_ok "MX and TXT now and then (at most a fifth of A)" "$mx MX, $txt TXT, $a A"
elif [ "$a" -lt 80 ]; then
	ok "MX and TXT now and then ($mx MX, $txt TXT) # SKIP only $a A queries"
elif [ "$other" -ge 1 ]; then
	ok "MX and TXT now and then ($mx MX, $txt TXT)"
else
	not_ok "MX and TXT now and then (at least one)" "$mx MX, $txt TXT, $a A"
fi

# Truncated UDP answers, each followed by its question over TCP.
awk -F'|' '$2 == "udp" && $4 == "1" && $5 == "1"' "$T/msgs" >"$T/tc"
awk -F'|' '
NR == FNR { if ($2 == "tcp" && $4 == "0") asked[$8 " " $9 " " $10] = $1; next }
{ k = $8 " " $9 " " $10; if (!(k in asked) || asked[k] + 0 < $1 + 0) print }
' "$T/msgs" "$T/tc" >"$T/notretried"
ntc=$(wc -l <"$T/tc")
if [ -s "$T/notretried" ]; then
	not_ok "each truncated UDP answer is asked again over TCP" \
		"$ntc truncated; not retried: $(head -5 "$T/notretried")"
elif [ "$ntc" -ge 1 ]; then
	ok "each truncated UDP answer is asked again over TCP ($ntc)"
elif [ "$a" -lt 80 ]; then
	ok "each truncated UDP answer is asked again over TCP # SKIP none among $a A queries"
else
	not_ok "truncated UDP answers, asked again over TCP (at least one)" "none among $a A queries"
fi

done_testing
