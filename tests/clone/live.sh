#!/bin/sh
# live.sh - dynamo clone --live on an interface of a lab host (a lab this
# test makes with dynamo up; never the machine's own interfaces): while
# an agent's users browse h2 from h1, clone captures h1's interface live
# and tshark records the same interface into a file; the live clone and
# the clone of tshark's file find the same hosts, services and classes
# (those of more than 1% of the bytes: the two captures start a moment
# apart, and the interface's own chatter may fall in one only).
# Also: --live is refused outside a lab, and with a capture file.
# usage: tests/clone/live.sh DYNAMO
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
need_tools tshark jq

expect_exit 2 "--live with a capture file" "$DYNAMO" clone --live h1:eth0 tests/data/captures/ndpi-imap.pcap
expect_exit 2 "--live without an interface" "$DYNAMO" clone --live h1
expect_exit 1 "--live with no lab up" "$DYNAMO" clone --live h1:eth0 --duration 1s
expect_grep "$T/err" "no lab" "says no lab is up"

printf 'host h1 ;\nhost h2 ;\n' >"$T/two.dyn"
if ! "$DYNAMO" up --name live "$T/two.dyn" >"$T/up" 2>&1; then
	not_ok "dynamo up a lab of two hosts" "$(cat "$T/up")"
	done_testing
	exit
fi
ok "dynamo up a lab of two hosts"
expect_exit 2 "--live on a node the lab has not" "$DYNAMO" clone --live h9:eth0 --duration 1s

"$DYNAMO" exec h2 -- "$DYNAMO" agent http serve >"$T/srv" 2>&1 &
pids="$pids $!"
"$DYNAMO" exec h1 -- tshark -q -i eth0 -a duration:8 -w "$T/ref.pcapng" >"$T/ts" 2>&1 &
tspid=$!
pids="$pids $tspid"
"$DYNAMO" clone --live h1:eth0 --duration 8s -o "$T/live.dyn" --json >"$T/live.json" 2>"$T/live.err" &
clpid=$!
pids="$pids $clpid"
sleep 2
timeout 20 "$DYNAMO" exec h1 -- "$DYNAMO" agent http client h2 --users 4 --think-scale 0.1 \
	--duration 3s >"$T/cli" 2>&1
wait "$clpid"
rc=$?
wait "$tspid"
if [ "$rc" -eq 0 ] && [ -s "$T/live.dyn" ]; then
	ok "clone --live h1:eth0 for 8 s"
else
	not_ok "clone --live h1:eth0 for 8 s" "exit $rc: $(cat "$T/live.err")"
	done_testing
	exit
fi
if "$DYNAMO" clone "$T/ref.pcapng" -o "$T/ref.dyn" --json >"$T/ref.json" 2>"$T/ref.err"; then
	ok "clone of tshark's recording of the same interface"
else
	not_ok "clone of tshark's recording of the same interface" "$(cat "$T/ref.err")"
fi
for q in '[.hosts[] | select(.zone != "special") | .address] | sort' \
	'[.hosts[] | .address as $a | .services[] | select(.answered > 0) | "\($a):\(.port)"] | sort' \
	'[.classes | to_entries[] | select(.value.share > 0.01) | .key]'; do
	a=$(jq -c "$q" "$T/live.json")
	b=$(jq -c "$q" "$T/ref.json")
	if [ "$a" = "$b" ] && [ "$a" != "[]" ]; then
		ok "live and recorded agree: $q = $a"
	else
		not_ok "live and recorded agree: $q" "live $a, recorded $b"
	fi
done
expect_grep "$T/live.dyn" "over http" "the live clone's spec has the web traffic"
if "$DYNAMO" check -q "$T/live.dyn" 2>"$T/err"; then
	ok "the live clone's spec is valid"
else
	not_ok "the live clone's spec is valid" "$(cat "$T/err")"
fi
done_testing
