#!/bin/sh
# check-smtp.sh PCAP - check a recording of the smtp agent with tshark
# alone: it decodes as SMTP and IMF, nothing is malformed, the server
# never refused, every message is MIME, and the recipients per new
# message follow the mail model's mix: 60 % to a list (5-20 RCPT TO),
# 30 % to one person (1), 10 % to a few (2-4); replies (In-Reply-To)
# are left out of the mix.
#
# A capture on loopback can lose packets when a large attachment goes
# by faster than tshark writes; connections with segments missing from
# the capture are left out of the per-message checks, and said so.
# Made for: agent-try smtp --seconds 8 --users 4 --think-scale 0.2
# (about 100 messages; the mix test is a chi-square at p = 0.0001).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh

pcap=${1:?usage: check-smtp.sh PCAP}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

tshark -r "$pcap" -q -z io,phs >"$T/phs" 2>"$T/err"
expect_grep "$T/phs" "smtp" "the capture decodes as SMTP"
expect_grep "$T/phs" "imf" "messages decode as IMF"

no_malformed "$pcap"

tshark -r "$pcap" -Y smtp -T fields -E occurrence=a -E aggregator=, \
	-e smtp.req.command 2>/dev/null | tr ',' '\n' | sort | uniq -c >"$T/cmds"
for c in EHLO MAIL RCPT DATA QUIT; do
	if grep -q " $c\$" "$T/cmds"; then
		ok "the client sends $c"
	else
		not_ok "the client sends $c" "$(cat "$T/cmds")"
	fi
done

tshark -r "$pcap" -Y 'smtp.response.code >= 400' -T fields -e frame.number \
	-e smtp.response 2>/dev/null >"$T/refused"
if [ -s "$T/refused" ]; then
	not_ok "the server refuses nothing" "$(head -10 "$T/refused")"
else
	ok "the server refuses nothing"
fi

# Streams the capture lost segments of.
tshark -r "$pcap" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment' \
	-T fields -e tcp.stream 2>/dev/null | sort -u >"$T/lost"
[ -s "$T/lost" ] && echo "# streams with segments lost by the capture, left out: $(tr '\n' ' ' <"$T/lost")"

# Per frame, in order: stream, commands, whether it holds a message, its
# In-Reply-To, and whether the message is MIME multipart.
tshark -r "$pcap" -Y smtp -T fields -E occurrence=a -E aggregator=, -E separator='|' \
	-e tcp.stream -e smtp.req.command -e imf.message_id -e imf.in_reply_to \
	-e mime_multipart.type 2>/dev/null >"$T/frames"

awk -F'|' -v lostfile="$T/lost" '
BEGIN { while ((getline s < lostfile) > 0) lost[s] = 1 }
lost[$1] { next }
{
	s = $1
	n = split($2, cmd, ",")
	for (i = 1; i <= n; i++) {
		# A command after a DATA whose message never came
		if (open[s] && cmd[i] != "") { broken++; open[s] = 0 }
		if (cmd[i] == "MAIL") rc[s] = 0
		else if (cmd[i] == "RCPT") rc[s]++
		else if (cmd[i] == "DATA") { data++; pend[s] = rc[s]; open[s] = 1 }
	}
	if ($3 != "") {
		msgs++
		open[s] = 0
		if ($5 != "") mime++
		if ($4 != "") replies++
		else if (pend[s] == 1) one++
		else if (pend[s] >= 2 && pend[s] <= 4) many++
		else if (pend[s] >= 5 && pend[s] <= 24) group++
		else odd++
	}
}
END {
	for (s in open) cut += open[s]
	printf "data %d msgs %d mime %d replies %d group %d one %d many %d odd %d cut %d broken %d\n",
	       data, msgs, mime, replies, group, one, many, odd, cut, broken
}' "$T/frames" >"$T/mix"
read -r _ data _ msgs _ mime _ replies _ group _ one _ many _ odd _ cut _ broken <"$T/mix"
echo "# $(cat "$T/mix")"

# A message still going out when the recording ends is its stream's
# last word (cut); one that any command follows was sent, so IMF must
# decode it (broken otherwise).
if [ "$msgs" -gt 0 ] && [ "$broken" -eq 0 ] && [ "$msgs" -eq $((data - cut)) ]; then
	ok "every DATA carries a message IMF decodes ($msgs; $cut cut by the end)"
else
	not_ok "every DATA carries a message IMF decodes" "DATA $data, IMF messages $msgs, $broken followed by a command, $cut cut by the end"
fi
if [ "$mime" -eq "$msgs" ]; then
	ok "every message is MIME multipart"
else
	not_ok "every message is MIME multipart" "$mime of $msgs"
fi
if [ "$odd" -eq 0 ]; then
	ok "every new message has 1, 2-4 or 5-20 recipients"
else
	not_ok "every new message has 1, 2-4 or 5-20 recipients" "$odd others"
fi
if [ "$replies" -gt 0 ]; then
	ok "users reply (In-Reply-To) ($replies)"
else
	not_ok "users reply (In-Reply-To)" "none"
fi

# Chi-square of group/one/many against 60/30/10; 18.42 is p = 0.0001
# with two degrees of freedom, so a correct mix fails once in 10000.
new=$((group + one + many))
stat=$(awk -v g="$group" -v o="$one" -v m="$many" -v n="$new" 'BEGIN {
	if (n == 0) { print "nan"; exit }
	eg = 0.6 * n; eo = 0.3 * n; em = 0.1 * n
	printf "%.2f", (g - eg) ^ 2 / eg + (o - eo) ^ 2 / eo + (m - em) ^ 2 / em }')
share=$(awk -v g="$group" -v o="$one" -v m="$many" -v n="$new" 'BEGIN {
	if (n) printf "group %.0f%% one %.0f%% many %.0f%% of %d", 100 * g / n, 100 * o / n, 100 * m / n, n }')
if [ "$new" -lt 40 ]; then
	not_ok "enough new messages for the mix (>= 40)" "$share"
elif awk -v x="$stat" 'BEGIN { exit !(x < 18.42) }'; then
	ok "recipient mix matches 60/30/10 ($share, chi2 $stat)"
else
	not_ok "recipient mix matches 60/30/10" "$share, chi2 $stat >= 18.42"
fi

done_testing
