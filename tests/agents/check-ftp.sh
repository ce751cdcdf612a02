#!/bin/sh
# check-ftp.sh PCAP - check a recording of the ftp agent with tshark
# alone: it decodes as FTP and FTP-DATA (tshark follows the passive data
# connections from the PASV and EPSV replies), nothing is malformed,
# every login succeeds (230) and the server refuses nothing, every LIST,
# NLST, RETR and STOR comes after its own PASV/EPSV, every 150 is followed
# by a 226, each download carries on its data connection the size the
# 150 announced, and each session ends with QUIT and 221.  The model's
# steps: a SIZE of the file before each RETR, listings in TYPE A, and
# EPSV in about 40 % of the passive commands (judged on 20 or more).
#
# A capture on loopback can lose packets when a large file goes by
# faster than tshark writes; data connections with segments missing from
# the capture are left out of the size check, and said so.
# Made for: agent-try ftp --seconds 8 --users 4 --think-scale 0.2
# (about 40 actions, 30 data connections).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh

pcap=${1:?usage: check-ftp.sh PCAP}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

tshark -r "$pcap" -q -z io,phs >"$T/phs" 2>"$T/err"
expect_grep "$T/phs" "ftp " "the capture decodes as FTP"
expect_grep "$T/phs" "ftp-data" "data connections decode as FTP-DATA"

no_malformed "$pcap"

# The control connections, one line per command or reply, in order:
# stream|frame|Q|COMMAND|ARG or stream|frame|R|CODE|TEXT.  A segment may
# hold several replies; their fields come in order, joined by '^'.
tshark -r "$pcap" -Y ftp -T fields -E separator='|' -E occurrence=a -E aggregator='^' \
	-e tcp.stream -e frame.number -e ftp.request.command -e ftp.request.arg \
	-e ftp.response.code -e ftp.response.arg 2>/dev/null |
awk -F'|' -v OFS='|' '{
	n = split($3, c, "^"); split($4, a, "^")
	for (i = 1; i <= n; i++) print $1, $2, "Q", c[i], a[i]
	n = split($5, r, "^"); split($6, t, "^")
	for (i = 1; i <= n; i++) print $1, $2, "R", r[i], t[i]
}' >"$T/ctl"

pass=$(awk -F'|' '$3 == "Q" && $4 == "PASS"' "$T/ctl" | wc -l)
in=$(awk -F'|' '$3 == "R" && $4 == "230"' "$T/ctl" | wc -l)
if [ "$pass" -gt 0 ] && [ "$pass" -eq "$in" ]; then
	ok "every login succeeds ($in logins, 230)"
else
	not_ok "every login succeeds" "PASS $pass, 230 $in"
fi

awk -F'|' '$3 == "R" && $4 >= 400' "$T/ctl" >"$T/refused"
if [ -s "$T/refused" ]; then
	not_ok "the server refuses nothing" "$(head -10 "$T/refused")"
else
	ok "the server refuses nothing"
fi

# Per control connection, in order: each transfer command needs a
# passive reply (227/229) since the last transfer; each 150 is answered
# by a 226 as the next reply; each session ends with QUIT and 221.
awk -F'|' '
function xfer(c) { return c == "LIST" || c == "NLST" || c == "RETR" || c == "STOR" || c == "APPE" }
{
	s = $1
	streams[s] = 1
	if ($3 == "R" && ($4 == "227" || $4 == "229")) { pasv[s] = 1; passive++ }
	if ($3 == "R" && $4 == "229") epsv++
	if ($3 == "Q" && xfer($4)) {
		xfers++
		if (!pasv[s]) { nopasv++; print "# no PASV/EPSV before " $4 " in frame " $2 > "/dev/stderr" }
		pasv[s] = 0
	}
	if ($3 == "R") {
		if (open150[s] && $4 != "226") { no226++; print "# 150 then " $4 " in frame " $2 > "/dev/stderr" }
		if ($4 == "150") { n150++; open150[s] = 1 } else open150[s] = 0
		if ($4 == "226") n226++
		if ($4 == "221" && quit[s]) closed[s] = 1
	}
	if ($3 == "Q") quit[s] = $4 == "QUIT"
}
END {
	for (s in streams) { nstreams++; if (!closed[s]) unclosed++ }
	printf "%d %d %d %d %d %d %d %d %d\n", xfers, nopasv, n150, n226, no226, passive, epsv,
	       nstreams, unclosed
}' "$T/ctl" >"$T/order" 2>"$T/order.err"
read -r xfers nopasv n150 n226 no226 passive epsv nstreams unclosed <"$T/order"
echo "# transfers $xfers, 150 $n150, 226 $n226, passive replies $passive (EPSV $epsv), sessions $nstreams"

if [ "$xfers" -gt 0 ] && [ "$nopasv" -eq 0 ]; then
	ok "a PASV or EPSV before each LIST/NLST/RETR/STOR ($xfers)"
else
	not_ok "a PASV or EPSV before each LIST/NLST/RETR/STOR" "$xfers transfers, $nopasv without
$(head -5 "$T/order.err")"
fi
if [ "$n150" -gt 0 ] && [ "$no226" -eq 0 ] && [ "$n150" -eq "$n226" ] && [ "$n150" -eq "$xfers" ]; then
	ok "every transfer opens with 150 and ends with 226 ($n150)"
else
	not_ok "every transfer opens with 150 and ends with 226" "$xfers transfers, 150 $n150, 226 $n226
$(head -5 "$T/order.err")"
fi
if [ "$nstreams" -gt 0 ] && [ "$unclosed" -eq 0 ]; then
	ok "every session ends with QUIT and 221 ($nstreams)"
else
	not_ok "every session ends with QUIT and 221" "$unclosed of $nstreams did not"
fi
# EPSV in 40 % of the passive commands, judged on 20 or more: 10-75 %
# leaves more than three standard deviations on each side.
if [ "$passive" -lt 20 ]; then
	ok "EPSV in about 40 % of the passive commands # SKIP only $passive of them"
elif awk -v p="$passive" -v e="$epsv" 'BEGIN { exit !(e / p >= 0.1 && e / p <= 0.75) }'; then
	ok "EPSV in about 40 % of the passive commands ($epsv of $passive)"
else
	not_ok "EPSV in about 40 % of the passive commands (10-75 %)" "$epsv of $passive"
fi

# The model's download: SIZE (and MDTM) of the file, then PASV/EPSV and
# RETR of that same file; listings in TYPE A.
awk -F'|' '
$3 == "Q" && $4 == "SIZE" { size[$1] = $5 }
$3 == "Q" && $4 == "TYPE" { type[$1] = $5 }
$3 == "Q" && $4 == "RETR" { retr++; if (size[$1] != $5) { bad++; print "# RETR " $5 " in frame " $2 " after SIZE " size[$1] > "/dev/stderr" } }
$3 == "Q" && ($4 == "LIST" || $4 == "NLST") { if (type[$1] != "A") { bad++; print "# " $4 " in TYPE " type[$1] " in frame " $2 > "/dev/stderr" } }
END { printf "%d %d\n", retr, bad }' "$T/ctl" >"$T/dl" 2>"$T/dl.err"
read -r retrs badseq <"$T/dl"
if [ "$retrs" -gt 0 ] && [ "$badseq" -eq 0 ]; then
	ok "each RETR follows a SIZE of its file, each listing is in TYPE A ($retrs RETR)"
else
	not_ok "each RETR follows a SIZE of its file, each listing is in TYPE A" "$retrs RETR, $badseq out of order
$(head -5 "$T/dl.err")"
fi

# Data connections: the command tshark tied each to, and the bytes it
# carried (downloads and listings from the server's port, uploads to it).
tshark -r "$pcap" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment' \
	-T fields -e tcp.stream 2>/dev/null | sort -u >"$T/lost"
[ -s "$T/lost" ] && echo "# streams with segments lost by the capture, left out: $(tr '\n' ' ' <"$T/lost")"
tshark -r "$pcap" -Y 'ftp-data' -T fields -E separator='|' -e tcp.stream \
	-e ftp-data.command-frame -e ftp-data.command -e tcp.len 2>/dev/null |
awk -F'|' -v OFS='|' '{ cf[$1] = $2; cmd[$1] = $3; bytes[$1] += $4 }
END { for (s in cf) print s, cf[s], cmd[s], bytes[s] }' | sort -t'|' -k2,2n >"$T/data"

# Each RETR: the size its 150 announced ("(N bytes)") against the bytes
# its data connection carried.
awk -F'|' -v lostfile="$T/lost" '
BEGIN { while ((getline l < lostfile) > 0) lost[l] = 1 }
NR == FNR {
	if ($3 == "Q") { last[$1] = $2; lastcmd[$1] = $4 }
	else if ($4 == "150" && lastcmd[$1] == "RETR" && match($5, /\([0-9]+ bytes\)/))
		want[last[$1]] = substr($5, RSTART + 1, RLENGTH - 8)
	next
}
{
	split($3, w, " ")
	if (w[1] == "RETR") {
		retr++
		if (lost[$1]) { skipped++; next }
		if (!($2 in want)) { bad++; print "# RETR in frame " $2 ": no size announced" > "/dev/stderr"; next }
		if (want[$2] + 0 != $4 + 0) { bad++; print "# " $3 ": " $4 " bytes, 150 said " want[$2] > "/dev/stderr"; next }
		good++; total += $4
	} else if (w[1] == "LIST" || w[1] == "NLST") lists++
	else if (w[1] == "STOR") { stors++; if ($4 + 0 > 0) stored++ }
}
END { printf "%d %d %d %d %d %d %d %d\n", retr, good, bad, skipped, total, lists, stors, stored }
' "$T/ctl" "$T/data" >"$T/sizes" 2>"$T/sizes.err"
read -r retr good bad skipped total lists stors stored <"$T/sizes"
echo "# data connections: $retr RETR ($total bytes checked, $skipped left out), $lists listings, $stors STOR"
if [ "$retr" -gt 0 ] && [ "$bad" -eq 0 ] && [ "$good" -gt 0 ]; then
	ok "each download carries the size its 150 announced ($good files)"
else
	not_ok "each download carries the size its 150 announced" "$retr RETR, $good right, $bad wrong
$(head -5 "$T/sizes.err")"
fi
if [ "$lists" -gt 0 ]; then
	ok "listings go over data connections ($lists)"
else
	not_ok "listings go over data connections" "none"
fi
if [ "$stors" -eq "$stored" ]; then
	ok "every upload carries data ($stors)"
else
	not_ok "every upload carries data" "$stored of $stors"
fi

done_testing
