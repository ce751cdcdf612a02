#!/bin/bash
# lab.sh - labs in real network namespaces: 'dynamo up' builds a 3-subnet
# network with a router, a NAT gateway and the external region; ping (an
# independent instrument) proves every pair reaches, 'exec' passes exit
# codes and terminals through, and 'down' or a kill -9 of dynamo leaves
# the machine's interfaces, namespaces and processes as they were.
# Runs as root, and rootless as user nobody when root can su to it.
# usage: tests/net/lab.sh DYNAMO
set -u
DYNAMO=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d)
chmod 755 "$T"
export DYNAMO_RUNDIR=$T/run
trap '"$DYNAMO" down --all >/dev/null 2>&1; rm -rf "$T"' EXIT
. tests/lib.sh

need_netns

cat >"$T/three.dyn" <<'DYN'
subnet lan 10.1.0.0/24 ;
subnet dmz 10.2.0.0/24 ;
subnet lab 10.3.0.0/24 ;
host a1, a2 in lan ;
host web in dmz ;
host b1 in lab ;
host inet in external ;
router core joins lan, dmz, lab ;
router gw joins dmz, external nat ;
generate web traffic from a1 to external with 1 Mbps ;
DYN
INTERNAL="a1 a2 web b1"

# What the machine looks like from outside any lab.
snapshot() {
	{
		echo "links:"; ip -o link show | awk -F': ' '{print $2}' | sort
		echo "netns:"; ip netns list 2>/dev/null | sort
		# zombies are gone in all but name: init reaps them in its own time
		echo "dynamo processes:"; ps -eo stat=,comm= | awk '$1 !~ /^Z/ && $2 == "dynamo"' | wc -l
	} >"$1"
}
# A killed process takes a moment to go: wait (at most 10 s) until the
# machine looks as before, then take the snapshot the test compares.
settle() {
	for _ in $(seq 100); do
		snapshot "$T/after"
		cmp -s "$T/before" "$T/after" && return
		sleep 0.1
	done
}
# No process may be left in the namespaces a lab's state file named.
inos_of() { awk '$1 == "node" { print $6 }' "$DYNAMO_RUNDIR/$1.lab"; }
left_inside() {
	local n=0 p
	for p in /proc/[0-9]*; do
		ino=$(readlink "$p/ns/net" 2>/dev/null | sed 's/net:\[\(.*\)\]/\1/')
		[ -n "$ino" ] && grep -qx "$ino" "$1" && n=$((n + 1))
	done
	echo $n
}

snapshot "$T/before"

# --- up, status --------------------------------------------------------
expect_exit 0 "up builds the 3-subnet lab" "$DYNAMO" up --name t1 "$T/three.dyn"
expect_grep "$T/out" "lab t1 is up: 6 hosts, 2 routers, 4 subnets" "up says what it built"
expect_exit 0 "status lists the lab" "$DYNAMO" status
expect_grep "$T/out" "t1" "the lab is in the list"
expect_exit 0 "status --json of the lab" "$DYNAMO" status --json t1
addr() { jq -r --arg n "$1" '.nodes[] | select(.name == $n) | .address' "$T/status.json"; }
cp "$T/out" "$T/status.json"
EXT=$(addr ext1)
INET=$(addr inet)
case $EXT in 198.18.*) ok "the external server is in 198.18.0.0/15 ($EXT)" ;;
	*) not_ok "the external server is in 198.18.0.0/15" "$EXT" ;; esac

# --- every internal host reaches every other and the Internet -----------------
for src in $INTERNAL; do
	targets=""
	for dst in $INTERNAL; do [ "$dst" != "$src" ] && targets="$targets $(addr "$dst")"; done
	targets="$targets $EXT $INET"
	"$DYNAMO" exec --lab t1 "$src" -- sh -c "
		for a in $targets; do ping -c 1 -W 2 -q \$a >/dev/null 2>&1 || echo \$a; done" \
		>"$T/miss" 2>&1
	if [ ! -s "$T/miss" ]; then
		ok "$src reaches all $(echo $targets | wc -w) others"
	else
		not_ok "$src reaches all others" "unreachable: $(tr '\n' ' ' <"$T/miss")"
	fi
done
# names resolve through the lab's hosts file
expect_exit 0 "exec resolves lab names (ping web)" "$DYNAMO" exec --lab t1 a1 -- ping -c 1 -W 2 web
# NAT: the Internet answers a1 without a route back, and cannot reach in
expect_exit 0 "the Internet has no route to the inside" \
	"$DYNAMO" exec --lab t1 inet -- sh -c "! ip route get $(addr a1) >/dev/null 2>&1"
expect_exit 0 "nothing reaches in through the NAT" \
	"$DYNAMO" exec --lab t1 inet -- sh -c "! ping -c 1 -W 1 -q $(addr a1) >/dev/null 2>&1"
expect_exit 0 "the gateway forwards" \
	"$DYNAMO" exec --lab t1 gw -- sh -c 'test "$(cat /proc/sys/net/ipv4/ip_forward)" = 1'

# --- exec: exit codes, the node's view, a terminal -----------------------------
expect_exit 7 "exec passes an exit code through" "$DYNAMO" exec --lab t1 a1 -- sh -c 'exit 7'
expect_exit 0 "exec runs with the node's name" \
	"$DYNAMO" exec --lab t1 b1 -- sh -c 'test "$(hostname)" = b1 && test "$DYNAMO_NODE" = b1'
expect_exit 0 "exec sees the node's address" \
	"$DYNAMO" exec --lab t1 web -- sh -c 'ip -o addr show eth0 | grep -q "10.2.0.3/24"'
expect_exit 127 "a missing program exits 127" "$DYNAMO" exec --lab t1 a1 -- /no/such/program
expect_exit 2 "a missing node exits 2" "$DYNAMO" exec --lab t1 nosuch -- true
expect_exit 1 "a missing lab exits 1" "$DYNAMO" exec --lab nosuch a1 -- true
if command -v script >/dev/null 2>&1; then
	# script needs a standard input, which CI does not give
	script -qec "\"$DYNAMO\" exec --lab t1 a1 -- tty" /dev/null </dev/null >"$T/tty" 2>&1
	expect_grep "$T/tty" "/dev/pts/" "a terminal stays attached"
fi

# --- mirrors: copies counted by the kernel's interface counters --------------------
rx() { "$DYNAMO" exec --lab "$1" "$2" -- cat "/proc/self/net/dev" |
	awk -v i="$3:" '$1 == i { print $3 }'; }
expect_exit 0 "up with --mirror" "$DYNAMO" up --name m1 --mirror lan:b1 --mirror a1--lan:web \
	"$T/three.dyn"
before_b1=$(rx m1 b1 mon0); before_web=$(rx m1 web mon0)
"$DYNAMO" exec --lab m1 a1 -- ping -c 100 -i 0.005 -q a2 >/dev/null
"$DYNAMO" exec --lab m1 a2 -- ping -c 50 -i 0.005 -q "$EXT" >/dev/null
got_b1=$(( $(rx m1 b1 mon0) - before_b1 )); got_web=$(( $(rx m1 web mon0) - before_web ))
# lan: a1's 100 requests, a2's 100 replies, a2's 50 requests out, 50 replies
# entering lan from core: 300 frames, each copied once
if [ "$got_b1" -ge 300 ] && [ "$got_b1" -le 320 ]; then ok "a subnet's mirror copies each frame once ($got_b1)"
else not_ok "a subnet's mirror copies each frame once" "$got_b1 frames, want 300-320"; fi
# a1's link: its 100 requests and the 100 replies to it, nothing of a2's pings
if [ "$got_web" -ge 200 ] && [ "$got_web" -le 215 ]; then ok "a link's mirror copies both ways ($got_web)"
else not_ok "a link's mirror copies both ways" "$got_web frames, want 200-215"; fi
expect_exit 0 "down m1" "$DYNAMO" down m1

# --- two labs at once ------------------------------------------------------
expect_exit 0 "a second lab of the same spec" "$DYNAMO" up --name t2 "$T/three.dyn"
expect_exit 2 "exec without --lab asks which" "$DYNAMO" exec a1 -- true
expect_grep "$T/err" "2 labs are up" "the labs are named"
expect_exit 0 "the second lab works" "$DYNAMO" exec --lab t2 a1 -- ping -c 1 -W 2 -q web
expect_exit 1 "a lab name is taken once" "$DYNAMO" up --name t2 "$T/three.dyn"

# --- down leaves the machine as it was ----------------------------------------
inos_of t1 >"$T/inos1"
inos_of t2 >"$T/inos2"
# (in a shell that outlives the kill, so bash reports no "Killed")
sh -c '"$0" exec --lab t1 a2 -- sleep 60; true' "$DYNAMO" 2>/dev/null &
sleep 0.3
expect_exit 0 "down t1" "$DYNAMO" down t1
expect_grep "$T/out" "programs still running in it were killed" "down kills what runs inside"
expect_exit 0 "down t2" "$DYNAMO" down t2
wait 2>/dev/null
settle
expect_same "$T/before" "$T/after" "after down: interfaces, namespaces, processes as before"
in1=$(left_inside "$T/inos1"); in2=$(left_inside "$T/inos2")
if [ "$in1" -eq 0 ] && [ "$in2" -eq 0 ]; then ok "no process left in the labs' namespaces"; else
	not_ok "no process left in the labs' namespaces" "$in1 and $in2 left"; fi

# --- kill -9 of the holder during a lab ------------------------------------------
expect_exit 0 "up again" "$DYNAMO" up --name t3 "$T/three.dyn"
pid=$(awk '$1 == "pid" {print $2}' "$DYNAMO_RUNDIR/t3.lab")
kill -9 "$pid"
settle
expect_same "$T/before" "$T/after" "after kill -9 of a lab's holder: nothing left"
expect_exit 0 "status shows the lab gone" "$DYNAMO" status
expect_grep "$T/out" "gone" "the dead lab is marked gone"
expect_exit 0 "down cleans up a dead lab" "$DYNAMO" down t3

# --- kill -9 in the middle of a build -------------------------------------------
{ echo "host h1..h3000 ;"; echo "generate web traffic from h1 to external with 1 Mbps ;"; } >"$T/big.dyn"
for victim in parent holder; do
	"$DYNAMO" up --name big "$T/big.dyn" >"$T/out" 2>"$T/err" &
	up=$!
	sleep 0.5
	if [ $victim = parent ]; then kill -9 $up; else pkill -9 -P $up; fi
	wait $up 2>/dev/null
	settle
	expect_same "$T/before" "$T/after" "after kill -9 of the $victim mid-build: nothing left"
	"$DYNAMO" down big >/dev/null 2>&1
done

# --- rootless, as user nobody -----------------------------------------------------
if [ "$(id -u)" -eq 0 ] && id nobody >/dev/null 2>&1 && command -v su >/dev/null &&
	su nobody -s /bin/sh -c 'unshare -rn true' 2>/dev/null; then
	cp "$DYNAMO" "$T/dynamo"
	chmod 755 "$T/dynamo"
	chmod 644 "$T/three.dyn"
	mkdir -p "$T/nobody"
	chown nobody "$T/nobody"
	as_nobody() { su nobody -s /bin/sh -c "cd $T && DYNAMO_RUNDIR=$T/nobody $*"; }
	expect_exit 0 "rootless: up as nobody" as_nobody ./dynamo up --name r1 three.dyn
	expect_exit 0 "rootless: a1 reaches the Internet" \
		as_nobody ./dynamo exec a1 -- ping -c 1 -W 2 -q "$EXT"
	expect_exit 5 "rootless: exit codes pass" as_nobody ./dynamo exec a1 -- sh -c "'exit 5'"
	expect_exit 0 "rootless: down" as_nobody ./dynamo down r1
	settle
	expect_same "$T/before" "$T/after" "rootless: nothing left"
else
	echo "# rootless pass skipped: not root, or user nobody cannot make namespaces"
fi

done_testing
