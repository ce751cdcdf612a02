#!/bin/sh
# pps.sh - a packet rate holds, judged by tshark alone on the run's
# recording: 'generate database traffic from h1 to h2 with RATE pps over
# redis' for DURATION seconds.  After the 5 s warm-up, the statement's IP
# packets (both directions) are within TOL of RATE a second, and every
# 1 s window within BAND; the report says the same.  The defaults, 0.03
# and 0.08, are looser than for bit rates (1%, 5%): packet rates run
# 0.8-1.6% over their target in runs this short, and single seconds up to
# 5% (docs/control.md, "Known limits"), which is not fixed yet.
# usage: tests/net/pps.sh DYNAMO [DURATION] [RATE_PPS]
set -u
DYNAMO=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
D=${2:-20}
RATE=${3:-5000}
BAND=${BAND:-0.08}
TOL=${TOL:-0.03}
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. tests/lib.sh

need_netns
need_tools tshark jq

printf 'generate database traffic from h1 to h2 with %s pps over redis using source redis ;\n' "$RATE" \
	>"$T/pps.dyn"
if timeout $((D + 60)) "$DYNAMO" run --duration "${D}s" --quiet --record "$T/run.pcapng" \
	--report "$T/report.json" "$T/pps.dyn" >"$T/out" 2>"$T/err"; then
	ok "dynamo run $RATE pps for $D s"
else
	not_ok "dynamo run $RATE pps for $D s" "$(cat "$T/err")"
	done_testing
	exit
fi
tshark -r "$T/run.pcapng" -Y ip -T fields -e frame.time_relative 2>"$T/terr" |
	awk -v d="$D" -v target="$RATE" -v band="$BAND" '
		{ w = int($1); n[w]++ }
		END {
			lo = 9; hi = 0
			for (w = 5; w < d - 1; w++) {
				tot += n[w]; k++
				r = n[w] / target
				if (r < lo) lo = r
				if (r > hi) hi = r
				if (r < 1 - band || r > 1 + band) bad = bad sprintf(" %d:%.3f", w, r)
			}
			printf "%.4f %.3f %.3f %s\n", tot / k / target, lo, hi, bad
		}' >"$T/j"
read -r total lo hi bad <"$T/j"
if awk -v t="$total" -v tol="$TOL" 'BEGIN { exit !(t >= 1 - tol && t <= 1 + tol) }'; then
	ok "tshark counts $total of $RATE pps after the warm-up (within $TOL)"
else
	not_ok "within $TOL of $RATE pps after the warm-up" "tshark: $total of it"
fi
if [ -z "$bad" ]; then
	ok "every second after the warm-up within $BAND of the target ($lo to $hi)"
else
	not_ok "every second after the warm-up within $BAND of the target" "seconds out of the band:$bad"
fi
if jq -e --argjson r "$RATE" --argjson t "$TOL" '.statements[0].target.pps == $r and
	(.statements[0].achieved.pps / $r) > 1 - $t and (.statements[0].achieved.pps / $r) < 1 + $t' \
	"$T/report.json" >/dev/null 2>&1; then
	ok "report: target $RATE pps, achieved $(jq .statements[0].achieved.pps "$T/report.json") pps"
else
	not_ok "report: target and achieved pps" "$(jq -c '.statements[0] | del(.series) | del(.parts)' "$T/report.json")"
fi
done_testing
