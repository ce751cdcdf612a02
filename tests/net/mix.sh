#!/bin/sh
# mix.sh - a mix statement lands each class at its share, judged by
# tshark alone on the run's recording: 'generate mix from h1 to h2 with
# RATE Mbps: web 50%, database 20%, mail 15%, file-transfer 15%' for
# DURATION seconds.  After the 5 s warm-up, the statement's IP bytes
# (both directions) are within 1% of RATE, and each class's part of them
# within 2 percentage points of its share.  Classes are told apart by
# their servers' ports: web 80, 443 and its name lookups on 53;
# database 5432 and 6379; mail 25 and 143; file-transfer 21 and the
# passive data connections (every other TCP port).
# usage: tests/net/mix.sh DYNAMO [DURATION] [RATE_MBPS]
set -u
DYNAMO=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
D=${2:-30}
RATE=${3:-200}
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. tests/lib.sh

need_netns
need_tools tshark jq

printf 'generate mix from h1 to h2 with %s Mbps: web 50%%, database 20%%, mail 15%%, file-transfer 15%% ;\n' \
	"$RATE" >"$T/mix.dyn"
if timeout $((D + 90)) "$DYNAMO" run --duration "${D}s" --quiet --record "$T/run.pcapng" \
	--report "$T/report.json" "$T/mix.dyn" >"$T/out" 2>"$T/err"; then
	ok "dynamo run a mix at $RATE Mbps for $D s"
else
	not_ok "dynamo run a mix at $RATE Mbps for $D s" "$(cat "$T/err")"
	done_testing
	exit
fi

# IP bytes per class, from the 5th second to the last full one
tshark -r "$T/run.pcapng" -Y ip -T fields -E separator=' ' -E occurrence=f -e frame.time_relative \
	-e ip.len -e tcp.srcport -e tcp.dstport -e udp.srcport -e udp.dstport 2>"$T/terr" |
	awk -v d="$D" -v rate="$RATE" '
		function cls(a, b) {
			if (a == 80 || b == 80 || a == 443 || b == 443 || a == 53 || b == 53) return "web"
			if (a == 5432 || b == 5432 || a == 6379 || b == 6379) return "database"
			if (a == 25 || b == 25 || a == 143 || b == 143) return "mail"
			return "file-transfer"
		}
		{
			w = int($1)
			if (w < 5 || w >= d - 1) next
			a = $3 != "" ? $3 : $5; b = $4 != "" ? $4 : $6
			by[cls(a, b)] += $2; all += $2
		}
		END {
			printf "total %.4f\n", all * 8 / (d - 6) / (rate * 1e6)
			n = split("web 50 database 20 mail 15 file-transfer 15", v, " ")
			for (i = 1; i < n; i += 2)
				printf "%s %.2f %s\n", v[i], all ? by[v[i]] * 100 / all : 0, v[i + 1]
		}' >"$T/shares"
read -r _ total <"$T/shares"
if awk -v t="$total" 'BEGIN { exit !(t >= 0.99 && t <= 1.01) }'; then
	ok "mix: tshark counts $total of $RATE Mbps after the warm-up (within 1%)"
else
	not_ok "mix: within 1% of $RATE Mbps after the warm-up" "tshark: $total of it"
fi
tail -n +2 "$T/shares" >"$T/parts"
while read -r name got want; do
	if awk -v g="$got" -v w="$want" 'BEGIN { exit !(g >= w - 2 && g <= w + 2) }'; then
		ok "mix: $name is $got% of the bytes (asked $want%, within 2 points)"
	else
		not_ok "mix: $name within 2 points of $want%" "tshark: $got%"
	fi
done <"$T/parts"
done_testing
