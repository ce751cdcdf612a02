#!/bin/sh
# cli.sh - dynamo clone's command line: usage errors, unreadable and
# broken captures, standard input, a capture cut short, anonymization.
# usage: tests/clone/cli.sh DYNAMO
set -u
DYNAMO=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
need_tools jq
C=tests/data/captures

expect_exit 0 "clone --help" "$DYNAMO" clone --help
expect_grep "$T/out" "usage: dynamo clone CAPTURE" "its help teaches the usage"
expect_exit 2 "clone without a capture" "$DYNAMO" clone
expect_grep "$T/err" "clone needs a capture file" "says a capture is needed"
expect_exit 2 "clone with two captures" "$DYNAMO" clone $C/ndpi-imap.pcap $C/ndpi-mqtt.pcap
expect_exit 2 "--json without -o" "$DYNAMO" clone --json $C/ndpi-imap.pcap
expect_grep "$T/err" "give the spec a file with -o" "says why"
expect_exit 2 "a bad --internal" "$DYNAMO" clone --internal 10.0.0.0/33 $C/ndpi-imap.pcap
expect_grep "$T/err" "'10.0.0.0/33' is not a CIDR" "names the bad range"
expect_exit 1 "a capture that is not there" "$DYNAMO" clone "$T/none.pcap"
expect_grep "$T/err" "none.pcap" "names the file"
printf 'this is not a capture\n' >"$T/text.pcap"
expect_exit 1 "a file that is not a capture" "$DYNAMO" clone "$T/text.pcap"
expect_grep "$T/err" "text.pcap" "names the file"

# Standard input, the spec on standard output and the summary on stderr
expect_exit 0 "clone - reads standard input" sh -c "'$DYNAMO' clone - <$C/ndpi-smtp.pcap"
expect_grep "$T/out" "over smtp" "the spec goes to standard output"
expect_grep "$T/err" "read 95 frames" "the summary to standard error"

# Cut short in the middle of a packet: what came before is kept
head -c 20000 $C/ndpi-smtp.pcap >"$T/cut.pcap"
expect_exit 0 "a capture cut short" "$DYNAMO" clone "$T/cut.pcap" -o "$T/cut.dyn"
expect_grep "$T/out" "the file ends early" "says the file ends early"
frames=$(capinfos -c -M "$T/cut.pcap" 2>/dev/null | awk -F': *' '/Number of packets/ { print $2 }')
expect_grep "$T/out" "read $frames frames" "reads the $frames frames capinfos sees in it"

# --internal: the ranges given, and nothing else, are internal
expect_exit 0 "clone --internal" "$DYNAMO" clone --internal 216.239.0.0/16,192.168.2.0/24 \
	-o "$T/i.dyn" --json $C/ndpi-android.pcap
ni=$(jq '[.hosts[] | select(.zone != "external" and .zone != "special")] | length' "$T/out")
mi=$(jq '[.hosts[] | select(.address | test("^(216\\.239|192\\.168\\.2)\\.")) | select(.zone != "special")] | length' "$T/out")
if [ "$ni" -eq "$mi" ] && [ "$ni" -gt 0 ]; then
	ok "--internal: the $ni hosts in the ranges are internal, no other"
else
	not_ok "--internal: the hosts in the ranges are internal, no other" "$ni internal, $mi in the ranges"
fi

# --anonymize: no address survives; prefixes and privacy are kept; the
# same key maps the same way, another key not
"$DYNAMO" clone --json -o "$T/p.dyn" $C/ndpi-android.pcap >"$T/plain.json"
"$DYNAMO" clone --json -o "$T/a.dyn" --anonymize k1 $C/ndpi-android.pcap >"$T/a1.json"
"$DYNAMO" clone --json -o "$T/b.dyn" --anonymize k1 $C/ndpi-android.pcap >"$T/a2.json"
"$DYNAMO" clone --json -o "$T/c.dyn" --anonymize k2 $C/ndpi-android.pcap >"$T/a3.json"
jq -r '.hosts[].address' "$T/plain.json" >"$T/pa"
jq -r '.hosts[].address' "$T/a1.json" >"$T/aa"
kept=$(grep -cxF -f "$T/pa" "$T/aa")
# the only fixed points allowed: multicast/broadcast prefixes' own bits
if [ "$kept" -le 2 ]; then
	ok "--anonymize: addresses are mapped ($kept of $(wc -l <"$T/pa") unchanged)"
else
	not_ok "--anonymize: addresses are mapped" "$kept unchanged: $(grep -xF -f "$T/pa" "$T/aa" | tr '\n' ' ')"
fi
if cmp -s "$T/a1.json" "$T/a2.json" && ! cmp -s "$T/a1.json" "$T/a3.json"; then
	ok "--anonymize: the same key maps the same way, another key another"
else
	not_ok "--anonymize: the same key maps the same way, another key another"
fi
paste -d' ' "$T/pa" "$T/aa" | awk '
	function p24(a) { n = split(a, o, "."); return n == 4 ? o[1] "." o[2] "." o[3] : "" }
	$1 ~ /^192\.168\./ && $2 !~ /^192\.168\./ { bad = bad " " $1 "->" $2 }
	p24($1) != "" { m[p24($1)] = m[p24($1)] " " p24($2) }
	END {
		for (k in m) { split(m[k], v, " "); for (i in v) if (v[i] != v[1]) bad = bad " /24 " k " split" }
		print bad
	}' >"$T/bad"
if [ ! -s "$T/bad" ] || [ -z "$(tr -d ' \n' <"$T/bad")" ]; then
	ok "--anonymize: private stays private, a /24 stays one /24"
else
	not_ok "--anonymize: private stays private, a /24 stays one /24" "$(cat "$T/bad")"
fi
if "$DYNAMO" check -q "$T/a.dyn" 2>"$T/err"; then
	ok "--anonymize: the spec is valid"
else
	not_ok "--anonymize: the spec is valid" "$(cat "$T/err")"
fi
# compare: usage, a capture against itself, against another, the page
expect_exit 2 "compare with one capture" "$DYNAMO" compare $C/ndpi-imap.pcap
expect_grep "$T/err" "compare takes two captures" "says it takes two"
expect_exit 1 "compare with a capture that is not there" "$DYNAMO" compare $C/ndpi-imap.pcap "$T/none.pcap"
expect_exit 0 "compare a capture with itself" "$DYNAMO" compare --json $C/ndpi-android.pcap $C/ndpi-android.pcap
if jq -e '.mix_error == 0 and .rate_ratio == 1 and ([.classes[][] | objects | .js] | all(. == 0)) and
	.hosts_covered == .hosts_ref' "$T/out" >/dev/null; then
	ok "compare: a capture is at distance 0 from itself"
else
	not_ok "compare: a capture is at distance 0 from itself" "$(head -c 1500 "$T/out")"
fi
# Its rate is IP bytes over the time between first and last packet (no
# silence over a minute in this one), as tshark counts them
expect_exit 0 "compare two captures" "$DYNAMO" compare --json $C/ndpi-chrome.pcap $C/cs-http_espn.pcapng
want=$(tshark -r $C/ndpi-chrome.pcap -T fields -e ip.len -e frame.time_relative 2>/dev/null |
	awk '{ b += $1; t = $2 } END { printf "%.0f", b * 8 / t }')
got=$(jq .rate_ref "$T/out")
if awk -v a="$got" -v b="$want" 'BEGIN { exit !(a > 0 && (a - b) / b < 0.001 && (b - a) / b < 0.001) }'; then
	ok "compare: the reference's rate is tshark's ($got bps)"
else
	not_ok "compare: the reference's rate is tshark's" "dynamo $got, tshark $want"
fi
if jq -e '.mix_error > 0 and .classes.web.packet_size.js > 0' "$T/out" >/dev/null; then
	ok "compare: two different captures are apart"
else
	not_ok "compare: two different captures are apart" "$(head -c 1500 "$T/out")"
fi
# Fitted models: with -o, one per server and protocol beside the spec,
# named by the statements; the spec checks and plans with them
expect_exit 0 "clone -o writes fitted models" "$DYNAMO" clone $C/cs-http_espn.pcapng -o "$T/espn.dyn"
expect_grep "$T/out" "wrote 1 behaviour model fitted to the capture into $T/espn.models/" "says where"
m=$T/espn.models/web-http-external.model
if [ -f "$m" ] && grep -q 'using model "espn.models/web-http-external.model"' "$T/espn.dyn"; then
	ok "the web statement names its model, beside the spec"
else
	not_ok "the web statement names its model, beside the spec" "$(grep generate "$T/espn.dyn")"
fi
# tshark's own view of the requests: their sizes are the model's
tshark -r $C/cs-http_espn.pcapng -Y http.request -T fields -e tcp.len 2>/dev/null | sort -n >"$T/req"
n=$(wc -l <"$T/req")
med=$(sed -n "$(( (n + 1) / 2 ))p" "$T/req")
fit=$(sed -n 's/^param request_size *quantiles(//p' "$m" | tr -d ')B ' | awk -F', *' '{ print $11 }')
if [ -n "$fit" ] && awk -v a="$fit" -v b="$med" 'BEGIN { exit !(a >= b * 0.9 && a <= b * 1.1) }'; then
	ok "the model's median request is tshark's (model $fit, tshark $med bytes of $n requests)"
else
	not_ok "the model's median request is tshark's" "model '$fit', tshark $med of $n"
fi
# The Internet's round trip: the gateway's link to external gets half the
# median of tshark's initial RTTs (SYN to ACK of the handshake)
tshark -r $C/cs-http_espn.pcapng -Y tcp.analysis.initial_rtt -T fields -e tcp.stream \
	-e tcp.analysis.initial_rtt 2>/dev/null | awk '!seen[$1]++ { print $2 }' | sort -n >"$T/rtt"
n=$(wc -l <"$T/rtt")
med=$(sed -n "$(( (n + 1) / 2 ))p" "$T/rtt")
d=$(sed -n 's/^link gw -- external delay \([0-9.]*\) ms ;$/\1/p' "$T/espn.dyn")
if [ -n "$d" ] && [ "$n" -ge 3 ] &&
	awk -v d="$d" -v m="$med" 'BEGIN { exit !(d * 2 >= m * 1000 * 0.9 && d * 2 <= m * 1000 * 1.1) }'; then
	ok "the link to external has half tshark's median initial RTT ($d ms, tshark $med s of $n)"
else
	not_ok "the link to external has half tshark's median initial RTT" "delay '$d' ms, tshark $med s of $n"
fi
expect_exit 0 "the spec with its models checks" "$DYNAMO" check "$T/espn.dyn"
expect_exit 0 "and plans" "$DYNAMO" plan "$T/espn.dyn"
expect_grep "$T/out" 'model     "espn.models/web-http-external.model"' "plan shows the model"
expect_exit 0 "clone to standard output" sh -c "'$DYNAMO' clone $C/cs-http_espn.pcapng 2>/dev/null"
if grep -q "using model" "$T/out"; then
	not_ok "without -o no model is written or named"
else
	ok "without -o no model is written or named"
fi

# The profile: every IP packet tshark sees is in some group's packet
# sizes, and the profile stands for its capture in compare, both ways
expect_exit 0 "clone --profile" "$DYNAMO" clone $C/cs-http_espn.pcapng -o "$T/p.dyn" --profile "$T/p.json"
n=$(jq '[.groups[].packet_size.n] | add' "$T/p.json")
want=$(tshark -r $C/cs-http_espn.pcapng -Y ip 2>/dev/null | wc -l)
if [ "$n" = "$want" ] && jq -e '.groups[0].per_second.bytes.values | length > 0' "$T/p.json" >/dev/null; then
	ok "the profile's packet sizes hold tshark's $want IP packets, with per-second series"
else
	not_ok "the profile's packet sizes hold tshark's IP packets" "profile $n, tshark $want"
fi
expect_exit 0 "compare a capture's profile with a capture" "$DYNAMO" compare --json "$T/p.json" $C/ndpi-chrome.pcap
jq -S 'del(.reference)' "$T/out" >"$T/by-profile"
expect_exit 0 "compare the capture itself with it" "$DYNAMO" compare --json $C/cs-http_espn.pcapng $C/ndpi-chrome.pcap
jq -S 'del(.reference)' "$T/out" >"$T/by-capture"
if cmp -s "$T/by-profile" "$T/by-capture" && jq -e '.mix_error > 0' "$T/out" >/dev/null; then
	ok "compare: the profile gives every figure its capture gives"
else
	not_ok "compare: the profile gives every figure its capture gives" "$(diff "$T/by-profile" "$T/by-capture" | head -20)"
fi
expect_exit 0 "compare a capture with its profile" "$DYNAMO" compare --json $C/cs-http_espn.pcapng "$T/p.json"
if jq -e '.mix_error == 0 and .all.packet_size.js == 0 and .all.response_size.ks == 0 and
	.rate_ref == .rate_gen' "$T/out" >/dev/null; then
	ok "compare: a capture is at distance 0 from its profile"
else
	not_ok "compare: a capture is at distance 0 from its profile" "$(head -c 1500 "$T/out")"
fi
head -c 3000 "$T/p.json" >"$T/cut.json"
expect_exit 1 "compare with a profile cut short" "$DYNAMO" compare "$T/cut.json" $C/ndpi-chrome.pcap
if grep -Eq 'cut\.json:[0-9]+:[0-9]+: premature end of input' "$T/err"; then
	ok "names the line and column"
else
	not_ok "names the line and column" "$(cat "$T/err")"
fi
"$DYNAMO" clone $C/cs-http_espn.pcapng -o "$T/s.dyn" --json >"$T/summary.json" 2>/dev/null
expect_exit 1 "compare with clone's --json summary" "$DYNAMO" compare "$T/summary.json" $C/ndpi-chrome.pcap
expect_grep "$T/err" "summary.json: groups[0]: no distributions" "says the summary has no distributions"
# A profile changed by jq EDIT is refused, with the place named in WANT
bad_profile() {
	jq "$2" "$T/p.json" >"$T/$1.json"
	expect_exit 1 "compare with a profile whose $3" "$DYNAMO" compare "$T/$1.json" $C/ndpi-chrome.pcap
	expect_grep "$T/err" "$1.json: $4" "names it: $4"
}
bad_profile edge '.groups[1].packet_size.bins[0][0] = 100.5' "bin is off" \
	"groups[1].packet_size.bins[0]: 100.5 is not a bin edge"
bad_profile n '.groups[0].packet_size.n += 1' "counts disagree" "groups[0].packet_size: its bins hold"
bad_profile addr '.hosts[0].address = "10.0.0.300"' "address is bad" \
	"hosts[0].address: not an IPv4 or IPv6 address"
bad_profile cls '.classes.telepathy = .classes.web' "class is unknown" \
	"classes.telepathy: unknown class 'telepathy'"

expect_exit 0 "compare --html" "$DYNAMO" compare --html "$T/c.html" $C/ndpi-chrome.pcap $C/cs-http_espn.pcapng
svgs=$(grep -c '<svg' "$T/c.html")
if [ "$svgs" -ge 8 ] && grep -q '</html>' "$T/c.html"; then
	ok "compare --html: a page with $svgs CDF plots"
else
	not_ok "compare --html: a page with CDF plots" "$svgs plots"
fi
done_testing
