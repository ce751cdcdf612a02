#!/bin/sh
# check-bitcoin.sh PCAP - check a recording of the bitcoin agent with
# tshark alone: it decodes as Bitcoin without malformed packets or
# errors, each connection starts with version/verack both ways, the
# messages the model calls for are there (inv, getdata, tx, block, ping,
# pong, getaddr, addr), every getdata is answered by as many tx/block (or
# notfound) messages, and every ping by a pong with its nonce.
#
# tshark may drop packets when a run relays megabyte blocks over the
# loopback faster than it records them; connections with segments lost
# to the capture are named and left out of the per-connection counts.
. "$(dirname "$0")/../lib.sh"

PCAP=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
PORT=${BITCOIN_PORT:-8333}

if [ ! -r "${PCAP:-}" ]; then
	not_ok "usage: check-bitcoin.sh PCAP (readable)"
	done_testing
	exit 1
fi

DA="tcp.port==$PORT,bitcoin"

# One line per frame with Bitcoin in it: stream, src port, then the
# commands, getdata counts, notfound counts, ping and pong nonces, each
# a space-separated list.
tshark -r "$PCAP" -d "$DA" -Y bitcoin -T fields -E separator='|' -E occurrence=a -E aggregator=' ' \
	-e tcp.stream -e tcp.srcport -e bitcoin.command -e bitcoin.getdata.count \
	-e bitcoin.getdata.count64 -e bitcoin.notfound.count -e bitcoin.ping.nonce \
	-e bitcoin.pong.nonce >"$T/msgs" 2>"$T/err"
tshark -r "$PCAP" -d "$DA" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment' \
	-T fields -e tcp.stream >"$T/lost" 2>>"$T/err"

nmsg=$(awk -F'|' '{ n += split($3, a, " ") } END { print n + 0 }' "$T/msgs")
if [ "$nmsg" -gt 0 ]; then
	ok "decodes as Bitcoin ($nmsg messages)"
else
	not_ok "decodes as Bitcoin" "$(head -c 2000 "$T/err")"
fi

tshark -r "$PCAP" -d "$DA" -Y '_ws.malformed || _ws.expert.severity == "Error"' \
	>"$T/bad" 2>>"$T/err"
if [ ! -s "$T/bad" ]; then
	ok "no malformed packets, no expert errors"
else
	not_ok "no malformed packets, no expert errors" "$(head -20 "$T/bad")"
fi

awk -F'|' -v port="$PORT" '
	FILENAME == ARGV[1] { lost[$1] = 1; next }
	{
		s = $1
		d = $2 == port ? "s" : "c"      # from the server, from a client
		o = d == "s" ? "c" : "s"
		streams[s] = 1
		nc = split($3, cmd, " ")
		for (i = 1; i <= nc; i++) {
			total[cmd[i]]++
			if (!((s, d) in first))
				first[s, d] = cmd[i]
			if (cmd[i] == "verack")
				verack[s, d] = 1
			if (cmd[i] == "tx" || cmd[i] == "block")
				got[s, d]++
		}
		ng = split($4 " " $5, g, " ")
		for (i = 1; i <= ng; i++)
			asked[s, o] += g[i]     # answers are owed by the other side
		nn = split($6, f, " ")
		for (i = 1; i <= nn; i++)
			got[s, d] += f[i]
		np = split($7, pi, " ")
		for (i = 1; i <= np; i++)
			ping[s, o, pi[i]]++
		np = split($8, po, " ")
		for (i = 1; i <= np; i++)
			pong[s, d, po[i]]++
	}
	END {
		for (s in streams) {
			conns++
			if (s in lost) {
				skipped = skipped " " s
				continue
			}
			checked++
			if (first[s, "c"] != "version" || first[s, "s"] != "version" ||
			    !verack[s, "c"] || !verack[s, "s"])
				badhs++
			for (k = 1; k <= 2; k++) {
				d = k == 1 ? "c" : "s"
				asked_all += asked[s, d]
				got_all += got[s, d]
				if (asked[s, d] != got[s, d])
					unanswered = unanswered sprintf(" stream %s: %d asked, %d sent;", s, asked[s, d], got[s, d])
			}
		}
		for (k in ping) {
			split(k, kk, SUBSEP)
			if (kk[1] in lost)
				continue
			pings += ping[k]
			if (pong[k] != ping[k])
				badping++
		}
		printf "conns %d bad_handshake %d checked %d lost_in_capture%s\n", conns, badhs, checked, skipped
		printf "getdata_items %d answered %d%s\n", asked_all, got_all, unanswered
		printf "pings %d without_pong %d\n", pings, badping
		for (c in total)
			printf "cmd %s %d\n", c, total[c]
	}
' "$T/lost" "$T/msgs" >"$T/counts"
sed 's/^/# /' "$T/counts"

get() { # KEY FIELD
	awk -v k="$1" -v f="$2" '$1 == k { print $f + 0; found = 1 } END { if (!found) print 0 }' "$T/counts"
}
cmd() {
	awk -v c="$1" '$1 == "cmd" && $2 == c { n = $3 } END { print n + 0 }' "$T/counts"
}

conns=$(get conns 2)
checked=$(get conns 6)
# per-connection checks need connections the capture kept whole
skip=""
if [ "$conns" -gt 0 ] && [ "$checked" -eq 0 ]; then
	skip=" # SKIP the capture lost segments on every connection (tshark -B)"
fi
if [ -n "$skip" ] || { [ "$checked" -gt 0 ] && [ "$(get conns 4)" -eq 0 ]; }; then
	ok "each of $checked connections starts with version and verack both ways$skip"
else
	not_ok "each connection starts with version and verack both ways" "$(head -1 "$T/counts")"
fi

missing=""
for c in version verack inv getdata tx ping pong getaddr addr; do
	[ "$(cmd "$c")" -gt 0 ] || missing="$missing $c"
done
if [ -z "$missing" ]; then
	ok "the model's messages are there (inv $(cmd inv), getdata $(cmd getdata), tx $(cmd tx), block $(cmd block), ping $(cmd ping))"
else
	not_ok "the model's messages are there" "missing:$missing"
fi

if [ -n "$skip" ] || { [ "$(get getdata_items 2)" -gt 0 ] &&
	[ "$(get getdata_items 2)" -eq "$(get getdata_items 4)" ]; }; then
	ok "every getdata is answered with tx/block ($(get getdata_items 2) items on $checked connections)$skip"
else
	not_ok "every getdata is answered with tx/block" "$(head -2 "$T/counts")"
fi

if [ -n "$skip" ] || { [ "$(get pings 2)" -gt 0 ] && [ "$(get pings 4)" -eq 0 ]; }; then
	ok "every ping gets a pong with its nonce ($(get pings 2))$skip"
else
	not_ok "every ping gets a pong with its nonce" "$(sed -n 3p "$T/counts")"
fi

done_testing
