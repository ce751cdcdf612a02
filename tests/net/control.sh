#!/bin/sh
# control.sh - dynamo run holds what the statements ask, judged by tshark
# alone on the run's recording: the seed statements (100 Mbps of web
# traffic h1 -> h2; 50 Mbps of database traffic h3 -> external over at
# least 5 flows) for DURATION seconds (default 30).  After the 5 s warm-
# up, each statement's IP bytes (both directions) over the run are within
# 1 % of its rate, every 1 s window within 5 %, and the database
# statement has 5 TCP conversations or more open at the end of every
# second.  Packets are told apart by the interface they were recorded on
# (each flow is kept at its client's end: h1 for the web statement, h3
# for the database one).  The report's figures agree with tshark's.
#
# BAND is the per-second band (default 0.05, as DESIGN.md states it).
# usage: tests/net/control.sh DYNAMO [DURATION]
set -u
DYNAMO=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
D=${2:-30}
BAND=${BAND:-0.05}
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. tests/lib.sh

need_netns
need_tools tshark jq

cat >"$T/seed.dyn" <<EOF
generate web traffic
  from h1 to h2
  with 100 Mbps ;
generate database traffic
  from h3 to external
  with 50 Mbps
  using >= 5 flows ;
EOF
if timeout $((D + 60)) "$DYNAMO" run --duration "${D}s" --quiet --record "$T/run.pcapng" \
	--report "$T/report.json" --json "$T/seed.dyn" >"$T/out.json" 2>"$T/err"; then
	ok "dynamo run the seed statements for $D s"
else
	not_ok "dynamo run the seed statements for $D s" "$(cat "$T/err")"
	done_testing
	exit
fi

# Per second from the first packet: IP bytes on each client's interface.
tshark -r "$T/run.pcapng" -Y ip -T fields -E separator=' ' -e frame.interface_name \
	-e frame.time_relative -e ip.len 2>"$T/terr" >"$T/pk"
# judge IFACE TARGET_BPS NAME: the whole run after the warm-up and each
# full second of it (the last one may hold the stop).
judge() {
	awk -v ifc="$1" -v target="$2" -v d="$D" -v name="$3" -v band="$BAND" '
		$1 == ifc { w = int($2); b[w] += $3 }
		END {
			for (w = 5; w < d - 1; w++) {
				tot += b[w]; n++
				r = b[w] * 8 / target
				if (r < worst_lo || worst_lo == "") worst_lo = r
				if (r > worst_hi) worst_hi = r
				if (r < 1 - band || r > 1 + band) bad = bad sprintf(" %d:%.3f", w, r)
			}
			printf "%s %.4f %.3f %.3f %s\n", name, tot * 8 / n / target, worst_lo, worst_hi, bad
		}' "$T/pk"
}
for s in "h1-eth0 100000000 web" "h3-eth0 50000000 database"; do
	# shellcheck disable=SC2086
	set -- $s
	judge "$1" "$2" "$3" >"$T/j"
	read -r name total lo hi bad <"$T/j"
	if awk -v t="$total" 'BEGIN { exit !(t >= 0.99 && t <= 1.01) }'; then
		ok "$name: tshark counts $total of the target after the warm-up (within 1%)"
	else
		not_ok "$name: within 1% of the target after the warm-up" "tshark: $total of it"
	fi
	if [ -z "$bad" ]; then
		ok "$name: every second after the warm-up within $BAND of the target ($lo to $hi)"
	else
		not_ok "$name: every second after the warm-up within $BAND of the target" "seconds out of the band:$bad"
	fi
done

# The database statement's TCP conversations open at the end of each
# second: start <= t <= start + duration, from tshark's conversation
# table of the packets recorded at h3.
tshark -r "$T/run.pcapng" -Y 'frame.interface_name == "h3-eth0"' -q -z conv,tcp 2>>"$T/terr" |
	awk '/<->/ { print $(NF - 1), $NF }' >"$T/conv"
least=$(awk -v d="$D" '
	{ s[NR] = $1; e[NR] = $1 + $2 }
	END {
		least = -1
		for (t = 6; t < d; t++) {
			n = 0
			for (i in s) if (s[i] <= t && e[i] >= t) n++
			if (least < 0 || n < least) least = n
		}
		print least
	}' "$T/conv")
if [ "$least" -ge 5 ]; then
	ok "database: $least or more TCP conversations open at every second after the warm-up"
else
	not_ok "database: 5 or more TCP conversations open at every second" "tshark: $least at the least"
fi

# The report holds targets, totals and a series that agree with tshark.
r=$(jq -r '.statements[] | "\(.target.bps) \(.achieved.bps) \(.series | length)"' "$T/report.json" | tr '\n' ' ')
set -- $r
if [ "$1" = 100000000 ] && [ "$4" = 50000000 ] && [ "$3" -ge $((D - 1)) ] &&
	awk -v a="$2" -v b="$5" 'BEGIN { exit !(a > 98e6 && a < 102e6 && b > 49e6 && b < 51e6) }'; then
	ok "report: targets, rates held ($2 and $5 bps) and $3 seconds of series"
else
	not_ok "report: targets, rates held and the series" "$r"
fi
nsec=$(jq '[.statements[0].series[5:-1][] | select(.bytes > 0)] | length' "$T/report.json")
if [ "$nsec" -ge $((D - 7)) ]; then
	ok "report: every second after the warm-up has traffic"
else
	not_ok "report: every second after the warm-up has traffic" "$nsec seconds"
fi
done_testing
