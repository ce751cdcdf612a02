#!/bin/sh
# check-generic.sh PCAP [PORT] [tcp|udp] - check a recording of the
# generic agent playing data/behaviours/generic.model, with tshark alone:
# flows to the port, nothing malformed; each flow opens with the
# client's packet of 8 bytes or more (the schedule's seed); payloads fit
# one segment (TCP) or one datagram (UDP); and the flows' data packets
# follow the model: about 40 a flow, 60 % of them the server's, a
# median payload of 120 bytes from the client and 600 from the server,
# and a median gap of 20 ms between a flow's packets.
# Made for: a run of some seconds of the shipped model (tests/net/run.sh).
set -u
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh

pcap=${1:?usage: check-generic.sh PCAP [PORT] [tcp|udp]}
port=${2:-9000}
tr=${3:-tcp}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

if [ "$tr" = tcp ]; then
	len=tcp.len stream=tcp.stream dport=tcp.dstport
else
	len=udp.length stream=udp.stream dport=udp.dstport
fi
# data packets: stream, time, from the client?, payload
tshark -r "$pcap" -Y "$tr.port == $port && $len > 0" -T fields -e $stream -e frame.time_relative \
	-e $dport -e $len 2>"$T/err" |
	awk -v p="$port" -v tr="$tr" '{ print $1, $2, ($3 == p), tr == "udp" ? $4 - 8 : $4 }' >"$T/pk"
flows=$(cut -d' ' -f1 "$T/pk" | sort -u | wc -l)
if [ "$flows" -ge 5 ]; then
	ok "$flows $tr flows to port $port"
else
	not_ok "$tr flows to port $port" "$flows flows $(head -c 300 "$T/err")"
fi
# What the flows carry is random: as data, not whatever a heuristic
# dissector takes random bytes for (RTCP, for one).
no_malformed "$pcap" -d "$tr.port==$port,data"

# Two packets due at once may leave as one segment (the kernel's doing,
# as for any application that writes twice): 2 % of them at most.
awk -v tr="$tr" '
	!($1 in first) { first[$1] = 1; nf++; if ($3 == 1 && $4 >= 8) seeded++ }
	{ n++; if ($4 > (tr == "tcp" ? 1448 : 1472)) big++ }
	END { printf "%d %d %d %d\n", nf, seeded, n, big }' "$T/pk" >"$T/first"
read -r nf seeded n big <"$T/first"
if [ "$nf" -gt 0 ] && [ "$seeded" -eq "$nf" ] && [ "$big" -le $((n / 50)) ]; then
	ok "each of $nf flows opens with the client's seed (8 bytes or more); $big of $n payloads over a packet"
else
	not_ok "flows open with the client's seed; payloads fit a packet" "$seeded of $nf; $big of $n too large"
fi

# The model's figures, from flows that ended in the recording (all but
# the last second's).
end=$(tail -1 "$T/pk" | cut -d' ' -f2)
awk -v end="$end" '{ n[$1]++; last[$1] = $2; if (!($1 in t0)) t0[$1] = $2 }
	END { for (s in n) if (last[s] < end - 1) print s }' "$T/pk" >"$T/done"
awk 'NR == FNR { keep[$1] = 1; next } ($1 in keep)' "$T/done" "$T/pk" >"$T/kept"
awk '{ n[$1]++; if ($3 == 1) up++; else down++ }
	($1 in t) { g = $2 - t[$1]; print "gap", g } { t[$1] = $2 }
	$3 == 1 { print "up", $4 } $3 == 0 { print "down", $4 }
	END { f = 0; for (s in n) { f++; tot += n[s] }
	      printf "flows %d %.2f %.3f\n", f, f ? tot / f : 0, up + down ? down / (up + down) : 0 }' \
	"$T/kept" >"$T/stats"
med() { grep "^$1 " "$T/stats" | cut -d' ' -f2 | sort -g | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }'; }
read -r _ f per share <<EOF
$(grep '^flows ' "$T/stats")
EOF
mu=$(med up) md=$(med down) mg=$(med gap)
if [ "$f" -ge 3 ] && awk -v x="$per" 'BEGIN { exit !(x >= 28 && x <= 55) }'; then
	ok "about 40 packets a flow ($per over $f flows)"
else
	not_ok "about 40 packets a flow" "$per over $f flows"
fi
if awk -v x="$share" 'BEGIN { exit !(x >= 0.52 && x <= 0.66) }'; then
	ok "60 % of the packets are the server's ($share)"
else
	not_ok "60 % of the packets are the server's" "$share"
fi
if awk -v u="$mu" -v d="$md" 'BEGIN { exit !(u >= 100 && u <= 140 && d >= 480 && d <= 720) }'; then
	ok "median payloads: $mu bytes up, $md down (model: 120, 600)"
else
	not_ok "median payloads 120 up, 600 down" "$mu up, $md down"
fi
if awk -v g="$mg" 'BEGIN { exit !(g >= 0.016 && g <= 0.025) }'; then
	ok "median gap between a flow's packets $mg s (model: 20 ms)"
else
	not_ok "median gap between a flow's packets 20 ms" "$mg s"
fi
done_testing
