#!/bin/sh
# check-imap.sh PCAP - check a recording of the imap agent with tshark
# alone: it decodes as IMAP, messages in FETCH literals decode as IMF,
# nothing is malformed, the client logs in, selects, fetches and logs
# out, every tagged command gets a tagged OK, and sessions go the way
# the mail model says: LOGIN, then SELECT INBOX, then FETCH, LOGOUT
# last; a message opened (BODY.PEEK[]) after a header fetch is then
# marked \Seen; sends are filed in Sent (APPEND).
#
# tshark's IMAP dissector reads lines: an APPEND's message shows as
# request lines, and the ")" after a FETCH literal as a line with tag
# ")"; so commands and replies are taken from the lines whose tag is
# the client's ("a" and a number).
# Made for: agent-try imap --seconds 8 --users 4 --think-scale 0.2
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh

pcap=${1:?usage: check-imap.sh PCAP}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

tshark -r "$pcap" -q -z io,phs >"$T/phs" 2>"$T/err"
expect_grep "$T/phs" "imap" "the capture decodes as IMAP"
expect_grep "$T/phs" "imf" "fetched messages decode as IMF"

no_malformed "$pcap"

# Streams the capture lost segments of (a large message going by faster
# than tshark writes) are left out, and said so.
tshark -r "$pcap" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment' \
	-T fields -e tcp.stream 2>/dev/null | sort -u >"$T/lost"
[ -s "$T/lost" ] && echo "# streams with segments lost by the capture, left out: $(tr '\n' ' ' <"$T/lost")"

# Lines of each side, one per line: stream, then the line.
lines() { # FILTER
	tshark -r "$pcap" -Y "imap && $1" -T fields -E occurrence=a -E aggregator='~' \
		-e tcp.stream -e imap.line 2>/dev/null |
		awk -F'\t' -v lostfile="$T/lost" '
		BEGIN { while ((getline s < lostfile) > 0) lost[s] = 1 }
		!lost[$1] { n = split($2, l, "~"); for (i = 1; i <= n; i++) {
			sub(/\\r\\n$/, "", l[i]); print $1 "\t" l[i] } }'
}
lines "tcp.dstport == 143" | awk -F'\t' '$2 ~ /^a[0-9]+ /' >"$T/cmds"
lines "tcp.srcport == 143" | awk -F'\t' '$2 ~ /^a[0-9]+ (OK|NO|BAD)/' >"$T/tagged"

for c in LOGIN SELECT FETCH LOGOUT APPEND STORE SEARCH; do
	if awk -F'\t' -v c="$c" '{ split($2, w, " "); if (w[2] == c || (w[2] == "UID" && w[3] == c)) f = 1 }
		END { exit !f }' "$T/cmds"; then
		ok "the client sends $c"
	else
		not_ok "the client sends $c" "$(cut -f2 "$T/cmds" | awk '{print $2}' | sort | uniq -c)"
	fi
done

ncmd=$(wc -l <"$T/cmds")
nok=$(awk -F'\t' '{ split($2, w, " "); if (w[2] == "OK") n++ } END { print n + 0 }' "$T/tagged")
ntag=$(wc -l <"$T/tagged")
echo "# commands $ncmd, tagged replies $ntag, OK $nok"
if [ "$ntag" -gt 0 ] && [ "$nok" -eq "$ntag" ]; then
	ok "every tagged reply is OK ($nok)"
else
	not_ok "every tagged reply is OK" "$(awk -F'\t' '$2 !~ / OK /' "$T/tagged" | head -10)"
fi
if [ "$ncmd" -eq "$ntag" ]; then
	ok "every command has its tagged reply"
else
	not_ok "every command has its tagged reply" "commands $ncmd, tagged replies $ntag"
fi

# Per stream: LOGIN < SELECT < first FETCH, LOGOUT last; each opened
# message marked \Seen by the next command on it.
awk -F'\t' '
{
	s = $1; split($2, w, " "); c = (w[2] == "UID") ? w[3] : w[2]
	n[s]++
	if (c == "LOGIN" && !login[s]) login[s] = n[s]
	if (c == "SELECT" && !sel[s]) sel[s] = n[s]
	if (c == "FETCH" && !fetch[s]) fetch[s] = n[s]
	if (c == "LOGOUT") logout[s] = n[s]
	if (c == "FETCH" && $2 ~ /\(BODY\.PEEK\[\]\)$/) { open[s] = w[4]; mid[s] = 0; next }
	if (c == "APPEND" && open[s] != "") { mid[s] = 1; next }
	if (c == "STORE" && open[s] != "" && w[4] == open[s]) {
		if (mid[s]) { replies++; if ($2 ~ /\\Answered/) answered++ }
		else { reads++; if ($2 ~ /\\Seen/) seen++ }
	}
	open[s] = ""
}
END {
	for (s in n) {
		streams++
		if (!(login[s] && sel[s] > login[s] && (!fetch[s] || fetch[s] > sel[s])))
			bad = bad " order:" s
		if (logout[s] != n[s]) bad = bad " logout:" s
	}
	printf "%d %d %d %d %d%s\n", streams, reads, seen, replies, answered, bad
}' "$T/cmds" >"$T/flow"
read -r streams reads seen replies answered bad <"$T/flow"
echo "# sessions $streams; opened and stored: read $reads (\\Seen $seen), answered $replies (\\Answered $answered)"
if [ "$streams" -gt 0 ] && [ -z "$bad" ]; then
	ok "each session logs in, selects, fetches, and logs out last ($streams)"
else
	not_ok "each session logs in, selects, fetches, and logs out last" "$bad"
fi
if [ "$reads" -gt 0 ] && [ "$seen" -eq "$reads" ]; then
	ok "a message opened to read is then marked \\Seen ($seen)"
else
	not_ok "a message opened to read is then marked \\Seen" "read $reads, seen $seen"
fi
if [ "$replies" -gt 0 ] && [ "$answered" -eq "$replies" ]; then
	ok "a message answered is opened, the reply filed (APPEND), then marked \\Answered ($answered)"
else
	not_ok "a message answered is opened, the reply filed, then marked \\Answered" "replies $replies, answered $answered"
fi

done_testing
