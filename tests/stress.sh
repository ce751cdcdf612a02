#!/bin/sh
# stress.sh - specs at the documented limits (docs/language.md, "Limits")
# finish with the right exit status well inside a time bound: the checks
# stay near linear and the bounds hold.  Not a benchmark: the bound only
# catches a hang or a quadratic blow-up.
# usage: tests/stress.sh DYNAMO
set -u
DYNAMO=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "$0")/.." || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. tests/lib.sh
BOUND=${STRESS_SECONDS:-120}

# run WANT DESC FILE: check FILE within BOUND seconds, expecting WANT
run() {
	start=$(date +%s)
	timeout "$BOUND" "$DYNAMO" check -q "$3" >"$T/out" 2>"$T/err"
	rc=$?
	secs=$(($(date +%s) - start))
	if [ "$rc" -eq "$1" ]; then
		ok "$2 (exit $rc in ${secs}s)"
	else
		not_ok "$2" "exit $rc (124 is the ${BOUND}s bound), want $1; stderr:
$(head -c 1500 "$T/err")"
	fi
}

# 65,536 hosts on the default LAN, all talking to the Internet and to each other
{
	echo "host h1..h65536 ;"
	echo "generate web traffic from lan to external with 1 Gbps ;"
	echo "generate dns traffic from lan to lan with 100 Mbps ;"
} >"$T/hosts.dyn"
run 0 "65536 hosts" "$T/hosts.dyn"

# 1,024 subnets in a chain of 1,023 routers: the longest paths there are
{
	i=1
	while [ $i -le 1024 ]; do
		echo "subnet s$i ;"
		[ $i -gt 1 ] && echo "router r$i joins s$((i - 1)), s$i ;"
		i=$((i + 1))
	done
	echo "host a in s1 ; host b in s1024 ; host c in s512 ;"
	echo "generate web traffic from a to b with 1 Gbps ;"
	echo "generate web traffic from b, c to a with 1 Gbps ;"
} >"$T/chain.dyn"
run 0 "1024 subnets in a chain" "$T/chain.dyn"

# 10,000 statements across the chain: the capacity check's work budget
{
	cat "$T/chain.dyn"
	i=0
	while [ $i -lt 9998 ]; do
		echo "generate dns traffic from a to b with 1 kbps ;"
		i=$((i + 1))
	done
} >"$T/many.dyn"
run 0 "10000 statements over 2000-hop paths" "$T/many.dyn"
if grep -q "capacity is not checked" "$T/err"; then
	ok "the capacity check says where it gave up"
else
	not_ok "the capacity check says where it gave up" "$(head -c 500 "$T/err")"
fi

# more statements, and more names from ranges, than the limits allow
{
	i=0
	while [ $i -lt 10001 ]; do
		echo "generate dns traffic from a to b with 1 kbps ;"
		i=$((i + 1))
	done
} >"$T/toomany.dyn"
run 2 "10001 statements are refused" "$T/toomany.dyn"
{
	i=0
	while [ $i -lt 20 ]; do
		echo "generate dns traffic from h1..h65536 to h1..h65536 with 1 kbps ;"
		i=$((i + 1))
	done
} >"$T/names.dyn"
run 2 "over a million names from ranges are refused" "$T/names.dyn"

# a file of errors stops after 50 of them
awk 'BEGIN { for (i = 0; i < 300000; i++) print "generate web traffic from a to b with 1 Mbsp ;" }' \
	>"$T/errors.dyn"
run 2 "300000 bad statements" "$T/errors.dyn"
if grep -q "stopped after 50 errors" "$T/err"; then ok "errors stop at 50"; else not_ok "errors stop at 50"; fi

# one line of 16 MiB less a byte
awk 'BEGIN { printf "generate web traffic from a to b with 1 Mbps ; #"; for (i = 0; i < 16777100; i++) printf "x"; print "" }' \
	>"$T/long.dyn"
run 0 "a 16 MiB line" "$T/long.dyn"

done_testing
