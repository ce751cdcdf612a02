#!/bin/sh
# check-ssh.sh PCAP - check a recording of the SSH agent (src/agents/ssh.c)
# with tshark alone: it decodes as SSH without malformed packets or
# errors, every connection shows the whole handshake in the clear (both
# banners "SSH-2.0-...", KEXINIT both ways, ECDH init and reply, NEWKEYS
# both ways) and ends with a FIN, and the encrypted rest shows what
# data/behaviours/ssh.model says people do: many small client packets,
# one per key, each echoed by the server, and larger bursts of output
# from the server.  Made for: build/tests/agent-try ssh --seconds 8
# --users 4 --think-scale 0.2 --pcap FILE
if [ $# -ne 1 ] || [ ! -r "$1" ]; then
	echo "usage: check-ssh.sh PCAP" >&2
	exit 2
fi
case $1 in
/*) pcap=$1 ;;
*) pcap=$PWD/$1 ;;
esac
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# count FILTER: frames of the recording that match
count() {
	tshark -r "$pcap" -Y "$1" 2>/dev/null | wc -l | tr -d ' '
}

n_ssh=$(count ssh)
if [ "$n_ssh" -gt 0 ]; then
	ok "decodes as ssh ($n_ssh frames)"
else
	not_ok "decodes as ssh" "$(tshark -r "$pcap" -q -z io,phs 2>&1 | head -20)"
fi

# (a filter tshark refused would exit non-zero, not pass)
if tshark -r "$pcap" -Y '_ws.malformed || _ws.expert.severity == "Error"' >"$T/bad" 2>"$T/err" &&
	[ ! -s "$T/bad" ]; then
	ok "no malformed packets, no expert errors"
else
	not_ok "no malformed packets, no expert errors" "$(head -20 "$T/bad" "$T/err")"
fi

# The handshake, per TCP connection: who sent which banner and message.
tshark -r "$pcap" -Y 'ssh.protocol || ssh.message_code' -T fields -E occurrence=a \
	-E separator='|' -e tcp.stream -e tcp.dstport -e ssh.protocol -e ssh.message_code \
	>"$T/hs" 2>/dev/null
conns=$(count 'tcp.flags.syn == 1 && tcp.flags.ack == 0 && tcp.dstport == 22')
awk -F'|' '
{
	dir = $2 == 22 ? "c" : "s"      # c: client to server
	if ($3 != "") {
		if ($3 ~ /^SSH-2\.0-/)
			seen[$1, dir "banner"] = 1
		else
			badbanner++
	}
	n = split($4, codes, ",")
	for (i = 1; i <= n; i++)
		seen[$1, dir codes[i]] = 1
	streams[$1] = 1
}
END {
	full = 0
	for (s in streams) {
		if (seen[s, "cbanner"] && seen[s, "sbanner"] && seen[s, "c20"] && seen[s, "s20"] &&
		    seen[s, "c30"] && seen[s, "s31"] && seen[s, "c21"] && seen[s, "s21"])
			full++
	}
	printf "%d %d\n", full, badbanner + 0
}' "$T/hs" >"$T/full"
read -r full badbanner <"$T/full"
if [ "$conns" -ge 4 ] && [ "$full" -eq "$conns" ] && [ "$badbanner" -eq 0 ]; then
	ok "$conns connections, each with SSH-2.0 banners, KEXINIT, ECDH and NEWKEYS both ways"
else
	not_ok "every connection has the whole handshake" \
		"connections $conns, complete handshakes $full, banners not SSH-2.0: $badbanner
$(head -20 "$T/hs")"
fi

# Polite ends: each client closes with a FIN (exit, DISCONNECT, FIN),
# none with a reset.
fins=$(count 'tcp.flags.fin == 1 && tcp.dstport == 22')
resets=$(count 'tcp.flags.reset == 1')
if [ "$fins" -eq "$conns" ] && [ "$resets" -eq 0 ]; then
	ok "every connection closed by the client with a FIN, no resets"
else
	not_ok "connections closed politely" "connections $conns, client FINs $fins, resets $resets"
fi

# Typing: a packet per key (< 150 bytes of TCP payload), and each key
# echoed.  Judged on the sessions that copied nothing up: an upload's
# bulk packets (>= 1000 bytes) say nothing of typing, and upload sizes
# are heavy-tailed (one of 2.5 MB is 1,700 full segments on a wire
# without segmentation offload, more than a run's keys).
small_c=$(count 'tcp.dstport == 22 && tcp.len > 0 && tcp.len < 150')
bulk_c=$(count 'tcp.dstport == 22 && tcp.len >= 1000')
small_s=$(count 'tcp.srcport == 22 && tcp.len > 0 && tcp.len < 150')
burst_s=$(count 'tcp.srcport == 22 && tcp.len >= 400')
tshark -r "$pcap" -Y 'tcp.dstport == 22 && tcp.len > 0' -T fields -e tcp.stream -e tcp.len \
	2>/dev/null | awk '{ if ($2 < 150) small[$1]++; else if ($2 >= 1000) bulk[$1]++; s[$1] = 1 }
	END { for (k in s) { n++; if (!bulk[k]) { typed += small[k]; quiet++ } }
	      printf "%d %d %d\n", typed, quiet, n }' >"$T/typed"
read -r typed quiet sessions <"$T/typed"
if [ "$typed" -ge 50 ]; then
	ok "keystrokes: $typed small client packets in the $quiet of $sessions sessions that copied nothing up ($small_c small, $bulk_c bulk in all)"
else
	not_ok "keystrokes: 50 small client packets or more in the sessions that copied nothing up" \
		"$typed in $quiet of $sessions sessions; $small_c small, $bulk_c bulk in all"
fi
if [ $((2 * small_s)) -ge "$small_c" ] && [ "$small_s" -le $((2 * small_c)) ]; then
	ok "echoes: $small_s small server packets for $small_c small client ones"
else
	not_ok "echoes: small server packets within 0.5-2 x small client packets" \
		"server $small_s, client $small_c"
fi
if [ "$burst_s" -ge 5 ]; then
	ok "output: $burst_s server packets of 400 bytes or more"
else
	not_ok "output: at least 5 server packets of 400 bytes or more" "got $burst_s"
fi

done_testing
