#!/bin/sh
# netbuild.sh - how fast a network of N hosts on one subnet comes up and
# goes away: 'dynamo up' (built, and every host answering a ping) and
# 'dynamo down', against Mininet building and stopping the same topology
# (mn --switch lxbr --controller none --topo single,N --test none), in the
# same run on the same machine.  Mininet runs inside a network namespace
# of its own (unshare -n), so that neither tool touches the machine's.
# usage: bench/netbuild.sh [N...]   (default: 100 1000; root)
set -eu
cd "$(dirname "$0")/.."
DYNAMO=${DYNAMO:-./dynamo}
RUNS=${RUNS:-3}
# After 'down' returns the kernel frees the namespaces in the background
# (a few seconds of a kernel worker for 1000); each measurement starts
# after that, on a quiet machine, for both tools alike.
PAUSE=${PAUSE:-8}
T=$(mktemp -d)
export DYNAMO_RUNDIR=$T/run
trap '"$DYNAMO" down --all >/dev/null 2>&1; rm -rf "$T"' EXIT

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a - b }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

command -v mn >/dev/null || { echo "netbuild: needs mininet (apt-get install mininet bridge-utils)" >&2; exit 1; }
[ -x "$DYNAMO" ] || { echo "netbuild: build dynamo first (make)" >&2; exit 1; }

printf '%-6s %10s %10s %10s %12s %8s\n' hosts "dynamo-up" "dynamo-down" "dynamo" "mininet" "ratio"
for n in ${*:-100 1000}; do
	printf 'host h1..h%s ;\n' "$n" >"$T/n$n.dyn"
	: >"$T/up"
	: >"$T/down"
	for _ in $(seq "$RUNS"); do
		sleep "$PAUSE"
		t0=$(now)
		"$DYNAMO" up --name nb "$T/n$n.dyn" >/dev/null
		t1=$(now)
		"$DYNAMO" down nb >/dev/null
		t2=$(now)
		sub "$t1" "$t0" >>"$T/up"
		sub "$t2" "$t1" >>"$T/down"
	done
	up=$(median <"$T/up")
	down=$(median <"$T/down")
	sleep "$PAUSE"
	t0=$(now)
	unshare -n -- mn --switch lxbr --controller none --topo "single,$n" --test none \
		>"$T/mn.log" 2>&1
	t1=$(now)
	mn=$(sub "$t1" "$t0")
	total=$(awk -v a="$up" -v b="$down" 'BEGIN { printf "%.3f", a + b }')
	printf '%-6s %9ss %9ss %9ss %11ss %7.0fx\n' "$n" "$up" "$down" "$total" "$mn" \
		"$(awk -v m="$mn" -v d="$total" 'BEGIN { print m / d }')"
done
