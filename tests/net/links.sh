#!/bin/bash
# links.sh - link conditions measured by instruments that are not dynamo:
# ping for delay, jitter and loss, iperf3 for rate.  Bounds are those of
# the acceptance of issue 3: 20 ms of delay gives an RTT within 10% of
# 40 ms; 1% loss loses 1% +- 0.3% of 20,000 packets; a 100 Mbps link
# carries 95-101 Mbps of TCP.  Every traffic loop is bounded in count and
# time.  usage: tests/net/links.sh DYNAMO
set -u
DYNAMO=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d)
export DYNAMO_RUNDIR=$T/run
trap '"$DYNAMO" down --all >/dev/null 2>&1; rm -rf "$T"' EXIT
. tests/lib.sh

need_netns
for tool in ping iperf3; do
	if ! command -v $tool >/dev/null; then
		not_ok "$tool is installed (make check installs it)"
	fi
done

# in_range VALUE LO HI DESC
in_range() {
	if awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v >= lo && v <= hi) }'; then
		ok "$4: $1 in [$2, $3]"
	else
		not_ok "$4" "$1 is outside [$2, $3]"
	fi
}

lab() { # NAME SPEC-TEXT
	printf '%s\n' "$2" >"$T/$1.dyn"
	"$DYNAMO" up --name "$1" "$T/$1.dyn" >"$T/up.out" 2>&1 ||
		not_ok "up $1" "$(cat "$T/up.out")"
}
run() { timeout 60 "$DYNAMO" exec --lab "$@"; }

# --- delay: 20 ms each way ---------------------------------------------------
lab delay "host a, b ;
link a -- lan delay 20 ms ;
generate web traffic from a to b with 1 Mbps ;"
rtt=$(run delay a -- ping -c 50 -i 0.02 -q b | awk -F/ '/^rtt/ { print $5 }')
in_range "${rtt:-0}" 36 44 "20 ms of delay: average RTT (ms)"
"$DYNAMO" down delay >/dev/null

# --- delay with jitter -----------------------------------------------------------
lab jitter "host a, b ;
link a -- lan delay 20 ms jitter 5 ms ;
generate web traffic from a to b with 1 Mbps ;"
run jitter a -- ping -c 200 -i 0.01 -q b >"$T/ping"
rtt=$(awk -F/ '/^rtt/ { print $5 }' "$T/ping")
mdev=$(awk -F/ '/^rtt/ { sub(/ ms.*/, "", $7); print $7 }' "$T/ping")
min=$(awk -F'[=/]' '/^rtt/ { print $5 }' "$T/ping")
in_range "${rtt:-0}" 36 44 "20 ms +- 5 ms each way: average RTT (ms)"
in_range "${mdev:-0}" 1.5 6 "the jitter shows in the RTT's deviation (ms)"
in_range "${min:-0}" 29 41 "no RTT below the delay less twice the jitter (ms)"
"$DYNAMO" down jitter >/dev/null

# --- loss: 1% on the way from a; 20,000 echoes ---------------------------------
lab loss "host a, b ;
link a -> lan loss 1% ;
generate web traffic from a to b with 1 Mbps ;"
loss=$(run loss a -- ping -c 20000 -i 0.0002 -W 1 -q b | awk '/packet loss/ { sub(/%/, "", $6); print $6 }')
in_range "${loss:-100}" 0.7 1.3 "1% loss: lost of 20000 echoes (%)"
# counted where the frames arrive: b's receive counter, one way only
rxb() { run loss b -- cat /proc/self/net/dev | awk '$1 == "eth0:" { print $3 }'; }
r0=$(rxb)
run loss a -- ping -c 20000 -i 0.0002 -W 1 -q b >/dev/null
r1=$(rxb)
in_range "$(awk -v a="$r0" -v b="$r1" 'BEGIN { printf "%.3f", (20000 - (b - a)) / 200 }')" \
	0.7 1.3 "1% loss: echoes that never reached b, by its receive counter (%)"
# the other direction is clean
loss=$(run loss b -- ping -c 2000 -i 0.0002 -W 1 -q a | awk '/packet loss/ { sub(/%/, "", $6); print $6 }')
in_range "${loss:-100}" 0.4 1.7 "loss on a's way out only: b's echoes lose it once (%)"
"$DYNAMO" down loss >/dev/null

# --- rate: 100 Mbps, and a one-way limit ------------------------------------------
lab rate "host a, b ;
link a -- lan rate 100 Mbps ;
link b -> lan rate 10 Mbps ;
generate web traffic from a to b with 1 Mbps ;"
iperf() { # LAB SERVER CLIENT [ARGS]: receiver's Mbit/s of a 5 s TCP test, less its first second (slow start)
	local lab=$1 srv=$2 cli=$3
	shift 3
	run "$lab" "$srv" -- timeout 20 iperf3 -s -1 >/dev/null 2>&1 &
	sleep 0.5
	run "$lab" "$cli" -- timeout 20 iperf3 -c "$srv" -t 5 -O 1 -J "$@" >"$T/iperf.json"
	wait
	jq '.end.sum_received.bits_per_second / 1e6' "$T/iperf.json" 2>/dev/null || echo 0
}
in_range "$(iperf rate b a)" 95 101 "100 Mbps link: TCP a to b (Mbit/s)"
in_range "$(iperf rate b a -R)" 9.3 10.1 "10 Mbps on b's way out: TCP b to a (Mbit/s)"
"$DYNAMO" down rate >/dev/null

# --- MTU, as the plan says ------------------------------------------------------
lab mtu "host a, b ;
link a -- lan mtu 1400 ;
generate web traffic from a to b with 1 Mbps ;"
expect_exit 0 "a's interface has the link's MTU" \
	run mtu a -- sh -c 'ip -o link show eth0 | grep -q " mtu 1400 "'
expect_exit 0 "a 1372-byte ping fits the 1400 MTU unfragmented" \
	run mtu a -- ping -c 1 -W 2 -M do -s 1372 -q b
expect_exit 0 "a 1373-byte one does not" \
	run mtu a -- sh -c '! ping -c 1 -W 1 -M do -s 1373 -q b >/dev/null 2>&1'
"$DYNAMO" down mtu >/dev/null

# --- conditions across a router: delay on the gateway's Internet side -------------
lab wan "host a ;
router gw joins lan, external ;
link gw -- external delay 15 ms ;
generate web traffic from a to external with 1 Mbps ;"
ext=$("$DYNAMO" status --json wan | jq -r '.nodes[] | select(.name == "ext1") | .address')
rtt=$(run wan a -- ping -c 20 -i 0.05 -q "$ext" | awk -F/ '/^rtt/ { print $5 }')
in_range "${rtt:-0}" 27 33 "15 ms on the gateway's Internet link: RTT to the Internet (ms)"
"$DYNAMO" down wan >/dev/null

done_testing
