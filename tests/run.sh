#!/bin/sh
# run.sh - run every test group, plain and under ASan+UBSan, counting the
# TAP lines each prints ("ok N - ...", "not ok N - ..."); a group that
# exits non-zero without a failing line counts as one failure.  The last
# line is the summary CI reads: "N passed, N failed".
# Build first: make tests asan (make check does both).
set -u
cd "$(dirname "$0")/.." || exit 1

pass=0
fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

export CMOCKA_MESSAGE_OUTPUT=TAP
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# group NAME CMD...: run CMD, count its TAP lines, show failures
group() {
	name=$1
	shift
	t0=$(date +%s)
	"$@" >"$log" 2>&1
	rc=$?
	secs=$(($(date +%s) - t0))
	p=$(grep -c '^ok ' "$log")
	f=$(grep -c '^not ok ' "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	pass=$((pass + p))
	fail=$((fail + f))
	if [ "$f" -ne 0 ]; then
		printf 'FAIL %-28s %d passed, %d failed (exit %d, %d s)\n' "$name" "$p" "$f" "$rc" "$secs"
		sed 's/^/    /' "$log"
	else
		printf 'ok   %-28s %d passed (%d s)\n' "$name" "$p" "$secs"
	fi
}

group "completion" tests/cli/completion.sh

for flavour in plain asan; do
	if [ $flavour = plain ]; then
		bin=build/tests
		dyn=./dynamo
	else
		bin=build/asan/tests
		dyn=build/asan/dynamo
	fi
	for t in "$bin"/test-*; do
		group "$flavour/unit/${t##*/test-}" "$t"
	done
	group "$flavour/cli" tests/cli/cli.sh "$dyn"
	group "$flavour/cli/scan" tests/cli/scan.sh "$dyn"
	group "$flavour/docs" tests/docs.sh "$dyn"
	group "$flavour/stress" tests/stress.sh "$dyn"
	group "$flavour/clone/cli" tests/clone/cli.sh "$dyn"
	# Every sample capture plainly; under the sanitizers four that take
	# the reader through IPv6, multicast, stitched time and a lone flow
	if [ $flavour = plain ]; then
		group "$flavour/clone/captures" tests/clone/captures.sh "$dyn"
		group "$flavour/clone/copy" tests/clone/copy.sh "$dyn" 20
		group "$flavour/clone/generic" tests/clone/generic.sh "$dyn"
	else
		group "$flavour/clone/captures" tests/clone/captures.sh "$dyn" \
			tests/data/captures/ndpi-android.pcap tests/data/captures/ndpi-http_ipv6.pcap \
			tests/data/captures/ndpi-pgsql.pcap tests/data/captures/ndpi-ftp.pcap
	fi
	group "$flavour/clone/live" tests/clone/live.sh "$dyn"
	group "$flavour/net/lab" tests/net/lab.sh "$dyn"
	group "$flavour/net/links" tests/net/links.sh "$dyn"
	# Every protocol and program once, plainly; under the sanitizers the
	# run's own machinery (hosts, recorder, a program) on three of them,
	# while tests/net/peers.sh takes every agent through ASan.
	if [ $flavour = plain ]; then
		group "$flavour/net/control" tests/net/control.sh "$dyn" 20
		group "$flavour/net/mix" tests/net/mix.sh "$dyn" 15 60
		group "$flavour/net/pps" tests/net/pps.sh "$dyn" 20 5000
		group "$flavour/net/paced" tests/net/paced.sh "$dyn" 15 1000
		group "$flavour/net/run" tests/net/run.sh "$dyn"
		group "$flavour/net/realtime" tests/net/realtime.sh "$dyn"
		group "$flavour/net/streaming" tests/net/streaming.sh "$dyn"
	else
		group "$flavour/net/run" tests/net/run.sh "$dyn" http dns mosquitto
	fi
	group "$flavour/net/lifecycle" tests/net/lifecycle.sh "$dyn"
	group "$flavour/net/project" tests/net/project.sh "$dyn" 15 2000
	# Broken peers under the sanitizers only: the same checks, and what
	# they are for is memory errors (the plain run took 56 s of CI)
	if [ $flavour = asan ]; then
		group "$flavour/net/peers" tests/net/peers.sh "$bin"
	fi
	for r in "$bin"/fuzz-replay-*; do
		t=${r##*/fuzz-replay-}
		group "$flavour/fuzz-corpus/$t" "$r" "tests/fuzz/corpus/$t"
	done
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
