#!/bin/sh
# generic.sh - clone | run | compare on traffic no agent speaks, made by
# another tool: D-ITG (ITGSend) sends a UDP flow of 400 packets a second
# with exponential gaps and payloads uniform in 40-1400 bytes from h1 to
# h2 of a lab this test makes (dynamo up; never the machine's own
# interfaces), recorded by tshark on h1's interface.  The clone must put
# it in class generic with a model fitted to exactly that flow (its
# port, one flow at a time, no server packets), the run must hold its
# rate, and the copy's packet sizes and gaps must match the reference's:
# by dynamo compare (Jensen-Shannon distances printed beside their
# floors, held within a margin of them) and by tshark (the 10th, 50th
# and 90th percentiles within 10 %).
# usage: tests/clone/generic.sh DYNAMO
set -u
DYNAMO=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
T=$(mktemp -d)
export DYNAMO_RUNDIR=$T/run
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	"$DYNAMO" down --all >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
need_netns
need_tools tshark jq ITGSend ITGRecv

printf 'host h1 ;\nhost h2 ;\n' >"$T/two.dyn"
if ! "$DYNAMO" up --name ditg "$T/two.dyn" >"$T/up" 2>&1; then
	not_ok "dynamo up a lab of two hosts" "$(cat "$T/up")"
	done_testing
	exit
fi
h2=$("$DYNAMO" exec h2 -- ip -4 -o addr show eth0 | awk '{ sub(/\/.*/, "", $4); print $4 }')
"$DYNAMO" exec h2 -- ITGRecv >"$T/recv" 2>&1 &
recvpid=$!
pids="$pids $recvpid"
"$DYNAMO" exec h1 -- tshark -q -i eth0 -a duration:27 -w "$T/ref.pcapng" >"$T/ts" 2>&1 &
tspid=$!
pids="$pids $tspid"
sleep 2
timeout 40 "$DYNAMO" exec h1 -- ITGSend -a "$h2" -T UDP -E 400 -u 40 1400 -t 22000 >"$T/send" 2>&1
wait "$tspid"
kill "$recvpid" 2>/dev/null
wait "$recvpid" 2>/dev/null
"$DYNAMO" down --all >/dev/null 2>&1
n=$(tshark -r "$T/ref.pcapng" -Y 'udp.port == 8999' -T fields -e frame.number 2>/dev/null | wc -l)
if [ "$n" -ge 7000 ]; then
	ok "the reference: D-ITG sent $n UDP packets to h2 in 22 s"
else
	not_ok "the reference: D-ITG's UDP flow" "$n packets: $(tail -5 "$T/send")"
	done_testing
	exit
fi

if ! "$DYNAMO" clone "$T/ref.pcapng" -o "$T/copy.dyn" >"$T/clone" 2>&1; then
	not_ok "dynamo clone" "$(cat "$T/clone")"
	done_testing
	exit
fi
line=$(grep 'over udp' "$T/copy.dyn")
model=$(printf '%s\n' "$line" | sed -n 's/.*using model "\([^"]*\)".*/\1/p')
if printf '%s\n' "$line" | grep -q '^generate generic traffic from h1 to h2 .* using <= 1 flows using model' &&
	[ -f "$T/$model" ]; then
	ok "the flow is generic over udp, one at a time, with a fitted model: $line"
else
	not_ok "the flow is generic over udp with a fitted model" "$(cat "$T/copy.dyn")"
	done_testing
	exit
fi
for want in 'param port +8999' 'param down +0.00%' 'param up_size +histogram\(' 'param gap +histogram\('; do
	if grep -Eq "^$want" "$T/$model"; then
		ok "the model has: $want"
	else
		not_ok "the model has: $want" "$(grep '^param' "$T/$model")"
	fi
done

if ! timeout 90 "$DYNAMO" run "$T/copy.dyn" --duration 30s --record "$T/copy.pcapng" --json \
	>"$T/run.json" 2>"$T/run.err"; then
	not_ok "dynamo run of the clone" "$(cat "$T/run.err")"
	done_testing
	exit
fi
ratio=$(jq '.statements[0] | .achieved / .target' "$T/run.json")
if awk -v r="$ratio" 'BEGIN { exit !(r >= 0.9 && r <= 1.1) }'; then
	ok "the copy holds the flow's rate: $ratio of it"
else
	not_ok "the copy holds the flow's rate" "$ratio"
fi

"$DYNAMO" compare "$T/ref.pcapng" "$T/copy.pcapng" --json >"$T/cmp.json" 2>"$T/cmp.err"
for m in packet_size interarrival; do
	set -- $(jq -r ".classes.generic.$m | \"\(.js) \(.js_floor)\"" "$T/cmp.json")
	# margins over the floor as measured (0.013 and 0.05 above it on
	# this machine), with room for a run's noise
	margin=0.04
	[ $m = interarrival ] && margin=0.09
	if awk -v j="$1" -v f="$2" -v m="$margin" 'BEGIN { exit !(j <= f + m) }'; then
		ok "compare: $m Jensen-Shannon $1 (floor $2)"
	else
		not_ok "compare: $m Jensen-Shannon within $margin of its floor" "$1 (floor $2)"
	fi
done

# tshark: the UDP packets to h2, their sizes and gaps, in both captures.
pct() {
	tshark -r "$1" -Y "ip.dst == $h2 && udp" -T fields -e frame.time_relative -e ip.len \
		2>/dev/null | awk -v what="$2" '
		{ if (what == "size") print $2; else if (NR > 1 && $1 - t < 1) print $1 - t; t = $1 }' |
		sort -g | awk '{ v[NR] = $1 }
		END { printf "%g %g %g\n", v[int(NR * 0.1) + 1], v[int(NR * 0.5) + 1], v[int(NR * 0.9) + 1] }'
}
for what in size gap; do
	a=$(pct "$T/ref.pcapng" $what)
	b=$(pct "$T/copy.pcapng" $what)
	if awk -v a="$a" -v b="$b" 'BEGIN { split(a, x); split(b, y)
		for (i = 1; i <= 3; i++) if (y[i] < 0.9 * x[i] || y[i] > 1.1 * x[i]) exit 1 }'; then
		ok "tshark: $what percentiles 10/50/90 of the copy ($b) within 10 % of the reference's ($a)"
	else
		not_ok "tshark: $what percentiles 10/50/90 within 10 %" "reference $a, copy $b"
	fi
done
done_testing
