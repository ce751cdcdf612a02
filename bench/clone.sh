#!/bin/sh
# clone.sh - how fast dynamo clone reads a large capture, against the
# tools a user would otherwise run on it, in the same run on the same
# file: `tshark -q -z conv,ip` (conversations) and `ndpiReader -i`
# (nDPI's own reader, one thread, classification of every flow).
#
# The capture (at least 5 million packets) is made with dynamo run, once,
# and kept in CAPDIR for later runs: a mix of web traffic at 200 Mbps and
# redis at 90 kpps between hosts of one LAN, recorded for SECS seconds.
# Each tool reads it once first (so all read from the page cache), then
# is timed reading it: wall time and CPU time (user + system) of its
# process, from /usr/bin/time.  Packets per second are the capture's
# packets over each time; ratios are dynamo's speed over the other's.
# usage: bench/clone.sh   (root for the capture; needs tshark, ndpiReader)
#   CAPDIR=/var/tmp/dynamo-bench   where the capture is kept
#   SECS=50                          seconds of traffic for a new capture
#   DYNAMO=./dynamo                  the binary
set -eu
cd "$(dirname "$0")/.."
DYNAMO=${DYNAMO:-./dynamo}
case $DYNAMO in /*) ;; *) DYNAMO=$(pwd)/$DYNAMO ;; esac
CAPDIR=${CAPDIR:-/var/tmp/dynamo-bench}
SECS=${SECS:-50}
CAP=$CAPDIR/clone-bench.pcapng
for tool in tshark ndpiReader capinfos /usr/bin/time; do
	command -v $tool >/dev/null ||
		{ echo "clone: needs $tool: apt-get install tshark libndpi-bin time" >&2; exit 1; }
done
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

packets() {
	capinfos -M -c "$1" 2>/dev/null | awk -F': *' '/Number of packets/ { print $2 }'
}

mkdir -p "$CAPDIR"
if [ ! -s "$CAP" ] || [ "$(packets "$CAP")" -lt 5000000 ]; then
	echo "clone: making the capture ($SECS s of traffic) into $CAP" >&2
	cat >"$T/bench.dyn" <<-EOF
	generate web traffic from h1 to h2 with 200 Mbps ;
	generate database traffic from h3 to h4 with 90 kpps over redis ;
	EOF
	"$DYNAMO" run "$T/bench.dyn" --duration "${SECS}s" --quiet --record "$CAP" >/dev/null
fi
n=$(packets "$CAP")
size=$(stat -c %s "$CAP")
echo "clone: $CAP: $n packets, $((size / 1000000)) MB" >&2

# timeit NAME CMD...: run CMD once to warm the cache, then timed; prints
# "NAME WALL CPU"
timeit() {
	name=$1
	shift
	"$@" >/dev/null 2>&1 || { echo "clone: $name failed: $*" >&2; exit 1; }
	/usr/bin/time -f '%e %U %S' -o "$T/time" "$@" >"$T/$name.out" 2>"$T/$name.err" ||
		{ echo "clone: $name failed: $*" >&2; exit 1; }
	awk -v n="$name" '{ printf "%s %s %.2f\n", n, $1, $2 + $3 }' "$T/time"
}

echo "clone: timing dynamo clone, tshark -z conv,ip, ndpiReader" >&2
{
	timeit dynamo "$DYNAMO" clone "$CAP" -o "$T/clone.dyn"
	timeit tshark tshark -r "$CAP" -q -z conv,ip
	timeit ndpiReader ndpiReader -i "$CAP" -v 0 -q
} >"$T/times"

awk -v n="$n" '
	{ wall[$1] = $2; cpu[$1] = $3; order[NR] = $1 }
	END {
		printf "%-11s | %9s | %9s | %14s | %14s\n", "tool", "wall (s)", "cpu (s)", "packets/s wall", "packets/s cpu"
		printf "------------+-----------+-----------+----------------+---------------\n"
		for (i = 1; i <= NR; i++) {
			t = order[i]
			printf "%-11s | %9.2f | %9.2f | %14.0f | %14.0f\n", t, wall[t], cpu[t],
			       n / wall[t], n / cpu[t]
		}
		printf "\n"
		printf "dynamo clone vs tshark -z conv,ip: %.1fx (wall), %.1fx (cpu)\n",
		       wall["tshark"] / wall["dynamo"], cpu["tshark"] / cpu["dynamo"]
		printf "dynamo clone vs ndpiReader:        %.1fx (wall), %.1fx (cpu)\n",
		       wall["ndpiReader"] / wall["dynamo"], cpu["ndpiReader"] / cpu["dynamo"]
		printf "dynamo clone: %.2f million packets/s on one core (cpu time)\n", n / cpu["dynamo"] / 1e6
	}' "$T/times"
echo
echo "(capture: $n packets, $((size / 1000000)) MB, $CAP; load average $(cut -d' ' -f1 /proc/loadavg))"
grep -E '^(read|flows|classes)' "$T/dynamo.out" | sed 's/^/dynamo: /'
