#!/bin/sh
# demo.sh - the main job on the built-in defaults: the seed statements of
# DESIGN.md, checked, planned, their traffic run for 20 s and recorded,
# and the report printed; then the network brought up as a lab for a few
# pings.
set -eu
cd "$(dirname "$0")/.."
spec=examples/seed.dyn
if [ -z "${DYNAMO_RUNDIR:-}" ]; then
	DYNAMO_RUNDIR=$(mktemp -d)
	own_rundir=$DYNAMO_RUNDIR
fi
export DYNAMO_RUNDIR
cleanup() {
	./dynamo down seed >/dev/null 2>&1 || true
	[ -n "${own_rundir:-}" ] && rm -rf "$own_rundir"
	return 0
}
trap cleanup EXIT

echo "== the spec ($spec)"
sed 's/^/   /' "$spec"
echo
echo "== dynamo check $spec"
./dynamo check "$spec"
echo
echo "== dynamo plan $spec"
./dynamo plan "$spec"
if ! unshare -n true 2>/dev/null && ! unshare -rn true 2>/dev/null; then
	echo "== no network namespaces here: the network is not built"
	exit 0
fi
echo "== dynamo run $spec --duration 20s --record seed.pcapng"
rec=${DYNAMO_DEMO_RECORD:-$(mktemp -d)/seed.pcapng}
./dynamo run "$spec" --duration 20s --record "$rec"
echo "   (the recording: $rec)"
echo
echo "== dynamo up $spec"
./dynamo up "$spec"
echo
echo "== dynamo exec h1 -- ping -c 3 h2"
./dynamo exec h1 -- ping -c 3 -i 0.2 -q h2
echo
echo "== dynamo exec h3 -- ping -c 3 ext1   (the emulated Internet, through gw)"
./dynamo exec h3 -- ping -c 3 -i 0.2 -q ext1
echo
echo "== dynamo down seed"
./dynamo down seed
