#!/bin/sh
# paced.sh - the closed loop holds a rate for sessions whose socket a
# library owns (libssh: the ssh agent against its own server and against
# sshd), judged by tshark alone: 'generate remote-access traffic ... with
# RATE over ssh' for DURATION seconds, one statement per server.  After
# the 5 s warm-up each statement's IP bytes (both directions, told apart
# by the client's interface) are within TOL of RATE; a library that
# moves bytes behind the bucket's back shows as many times the rate.
# usage: tests/net/paced.sh DYNAMO [DURATION] [RATE_KBPS]
set -u
DYNAMO=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
D=${2:-15}
RATE=${3:-1000}
TOL=${TOL:-0.10}
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. tests/lib.sh

need_netns
need_tools tshark

cat >"$T/ssh.dyn" <<EOF2
generate remote-access traffic from h1 to h2 with $RATE kbps over ssh using source ssh ;
generate remote-access traffic from h3 to h4 with $RATE kbps over ssh using source sshd ;
EOF2
if ! timeout $((D + 60)) "$DYNAMO" run --duration "${D}s" --quiet --record "$T/run.pcapng" \
	"$T/ssh.dyn" >"$T/out" 2>"$T/err"; then
	if grep -q "is not installed" "$T/err"; then
		sed -i '/sshd/d' "$T/ssh.dyn"
		timeout $((D + 60)) "$DYNAMO" run --duration "${D}s" --quiet --record "$T/run.pcapng" \
			"$T/ssh.dyn" >"$T/out" 2>"$T/err"
	fi
fi
if [ -s "$T/run.pcapng" ]; then
	ok "dynamo run ssh at $RATE kbps for $D s"
else
	not_ok "dynamo run ssh at $RATE kbps for $D s" "$(cat "$T/err")"
	done_testing
	exit
fi
tshark -r "$T/run.pcapng" -Y ip -T fields -E separator=' ' -e frame.interface_name \
	-e frame.time_relative -e ip.len 2>/dev/null >"$T/pk"
for s in "h1-eth0 ssh" "h3-eth0 sshd"; do
	# shellcheck disable=SC2086
	set -- $s
	grep -q "source $2 ;" "$T/ssh.dyn" || { ok "$2: # skip sshd is not installed"; continue; }
	r=$(awk -v ifc="$1" -v rate="$RATE" -v d="$D" '
		$1 == ifc && $2 >= 5 && $2 < d { b += $3 }
		END { printf "%.3f", b * 8 / (d - 5) / (rate * 1000) }' "$T/pk")
	if awk -v r="$r" -v t="$TOL" 'BEGIN { exit !(r >= 1 - t && r <= 1 + t) }'; then
		ok "$2: tshark counts $r of the target after the warm-up (within $TOL)"
	else
		not_ok "$2: within $TOL of the target after the warm-up" "tshark: $r of it"
	fi
done
done_testing
