#!/bin/sh
# accuracy.sh - how exactly dynamo and D-ITG hit a requested rate, in the
# same run, toward the same targets: 50 Mbps, 200 Mbps, 1 Gbps (IP-layer
# bits per second), and 10 kpps, 100 kpps of small packets.
#
# D-ITG: ITGRecv in one network namespace of this script's own, ITGSend in
# another, joined by a veth pair (10.99.0.1 -> 10.99.0.2); UDP at a constant
# packet rate for SECS s, once without and once with -poll. The flags, as
# `ITGSend -h` of D-ITG 2.8.1 (Debian 12's d-itg; it has no man page) gives
# them:
#   -a <dest_address>  -T UDP  -t <duration in ms>
#   -C <rate>    constant inter-departure time, packets/s
#   -c <size>    constant packet size; it is the UDP payload (checked with
#                tshark: -c 1460 gives 1488-byte IP packets, -c 64 gives 92)
#   -poll        "busy-wait loop for IDTs shorter than 1 msec"
#   (-j 1, "guarantee the mean packet rate", is the default)
# Bit-rate targets use 1460-byte payloads at the packet rate that makes the
# IP-layer rate equal the target (1488 IP bytes a packet); packet-rate
# targets use 64-byte payloads. What arrived is counted by an instrument
# independent of D-ITG: the receiving veth's /proc/net/dev counters, read in
# its namespace at t = 2 s and 1 s before the sender's scheduled end (the
# steady part), frame bytes less 14 bytes of Ethernet header a packet.
# D-ITG's own report (ITGRecv -l and ITGDec) is left out: it covers the whole
# run, start-up included, and its logging costs CPU on the sender's cores;
# ITGDEC=1 adds it below the table as an aside.
#
# dynamo: `dynamo run SPEC --duration SECS+5 --record FILE.pcapng`, SPEC one
# statement between two hosts (`generate web traffic from h1 to h2 with
# 50 Mbps ;`, and for the packet rates `generate database traffic from h1
# to h2 with 10 kpps over redis ;`: small requests and answers). Its rate
# is computed from the recording with tshark alone: IP bytes (sum of
# ip.len) and IP packets, both directions, from t = 5 s (warm-up) to 1 s
# before the scheduled end (the run's stop lets pending
# exchanges finish at the rate), over that span (frame.time_relative).
#
# Ratios are achieved / target.
# usage: bench/accuracy.sh   (root; needs d-itg and tshark)
#   SECS=20          seconds of D-ITG traffic per target (dynamo: SECS + 5)
#   TARGETS="50Mbps 200Mbps 1Gbps 10kpps 100kpps"   a subset, or other values
#   DYNAMO=./dynamo  the binary
#   ITGDEC=1         also print D-ITG's own figures (receiver log, ITGDec)
set -eu
cd "$(dirname "$0")/.."
DYNAMO=${DYNAMO:-./dynamo}
case $DYNAMO in /*) ;; *) DYNAMO=$(pwd)/$DYNAMO ;; esac
SECS=${SECS:-20}
TARGETS=${TARGETS:-50Mbps 200Mbps 1Gbps 10kpps 100kpps}
ITGDEC=${ITGDEC:-0}
WARM=5

case $SECS in '' | *[!0-9]*) echo "accuracy: SECS must be a whole number of seconds" >&2; exit 2 ;; esac
[ "$SECS" -ge 5 ] && [ "$SECS" -le 600 ] ||
	{ echo "accuracy: SECS must be 5 to 600" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "accuracy: run as root (network namespaces)" >&2; exit 1; }
for tool in ITGSend ITGRecv tshark capinfos; do
	command -v $tool >/dev/null ||
		{ echo "accuracy: needs $tool: apt-get install d-itg tshark" >&2; exit 1; }
done
[ "$ITGDEC" = 0 ] || command -v ITGDec >/dev/null ||
	{ echo "accuracy: needs ITGDec: apt-get install d-itg" >&2; exit 1; }
for tool in ip timeout awk ss; do
	command -v $tool >/dev/null || { echo "accuracy: needs $tool" >&2; exit 1; }
done
[ -x "$DYNAMO" ] || { echo "accuracy: build dynamo first (make)" >&2; exit 1; }

T=$(mktemp -d)
export DYNAMO_RUNDIR=$T/run
NA=dyn-acc-$$-a
NB=dyn-acc-$$-b
made=
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	for n in $made; do ip netns del "$n" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

say() { printf '%s\n' "$*" >&2; }
# bg CMD...: run in the background, bounded by the caller's timeout; $last
# is its pid (ip netns exec and timeout keep it)
bg() { "$@" >>"$T/bg.log" 2>&1 & last=$!; pids="$pids $last"; }
halt() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	pids=$(printf '%s\n' $pids | awk -v p="$1" '$1 != p' | tr '\n' ' ')
}
calc() { awk "BEGIN { $1 }"; }

# The two namespaces: made here, nothing outside them is touched.
ip netns add "$NA"
made=$NA
ip netns add "$NB"
made="$NA $NB"
ip -n "$NA" link add veth0 type veth peer name veth1 netns "$NB"
ip -n "$NA" addr add 10.99.0.1/24 dev veth0
ip -n "$NB" addr add 10.99.0.2/24 dev veth1
for n in $NA $NB; do ip -n "$n" link set lo up; done
ip -n "$NA" link set veth0 up
ip -n "$NB" link set veth1 up

# rx: "time frame-bytes packets" of veth1 in $NB, now
rx() {
	ip netns exec "$NB" sh -c 'date +%s.%N; cat /proc/net/dev' |
		awk 'NR == 1 { t = $1 } /^ *veth1:/ { sub(/^ *veth1:/, ""); print t, $1, $2 }'
}

# itg KIND VALUE PAYLOAD POLL: res is D-ITG's achieved rate (bit/s or
# packet/s), or a word saying why not (no command substitution: the
# processes must be started by this shell for cleanup to stop them)
itg() {
	log=
	[ "$ITGDEC" = 0 ] || log="-l $T/itg.log"
	rm -f "$T/itg.log"
	# shellcheck disable=SC2086
	bg ip netns exec "$NB" timeout -k 5 $((SECS + 60)) ITGRecv $log
	recv=$last
	up=
	for _ in $(seq 50); do
		[ -n "$(ip netns exec "$NB" ss -Hltn 'sport = :9000')" ] && { up=1; break; }
		sleep 0.1
	done
	[ -n "$up" ] || { say "accuracy: ITGRecv did not start"; halt "$recv"; res=failed; return; }
	pps=$(calc "printf \"%.2f\", $([ "$1" = bps ] && echo "$2 / 8 / ($3 + 28)" || echo "$2")")
	# shellcheck disable=SC2086
	bg ip netns exec "$NA" timeout -k 5 $((SECS + 30)) \
		ITGSend -a 10.99.0.2 -T UDP -C "$pps" -c "$3" -t $((SECS * 1000)) $4
	snd=$last
	sleep 2
	a=$(rx)
	sleep $((SECS - 3))
	b=$(rx)
	wait "$snd" 2>/dev/null || say "accuracy: ITGSend -C $pps -c $3 $4 failed"
	halt "$snd"
	halt "$recv"
	if [ "$ITGDEC" != 0 ] && [ -s "$T/itg.log" ]; then
		printf '%-8s ITGSend %-5s ITGDec: %s\n' "$t" "$4" "$(ITGDec "$T/itg.log" 2>/dev/null |
			awk '/Average bitrate/ { r = $4 " " $5 } /Average packet rate/ { p = $5 " " $6 }
				END { printf "%s, %s", r, p }')" >>"$T/aside"
	fi
	res=$(echo "$a $b" | awk -v k="$1" '{
		dt = $4 - $1; db = $5 - $2; dp = $6 - $3
		if (k == "bps") printf "%.0f\n", (db - 14 * dp) * 8 / dt
		else printf "%.1f\n", dp / dt }')
}

# dyn KIND VALUE SPECRATE: res is dynamo's achieved rate, or a word saying
# why not
dyn() {
	if [ "$1" = bps ]; then
		printf 'generate web traffic from h1 to h2 with %s ;\n' "$3"
	else
		printf 'generate database traffic from h1 to h2 with %s over redis ;\n' "$3"
	fi >"$T/spec.dyn"
	if ! "$DYNAMO" check "$T/spec.dyn" >"$T/check.out" 2>&1; then
		say "accuracy: dynamo refuses the spec: $(cat "$T/check.out")"
		res=refused
		return
	fi
	d=$((SECS + WARM))
	# the recording: frames at the target, plus pcapng's 32 bytes a block;
	# 250 bytes a packet for the packet rates
	need=$(calc "printf \"%.0f\", $d * ($([ "$1" = bps ] && echo "$2 / 8 * 1.1" || echo "$2 * 250")) / 1024 + 262144")
	free=$(df -Pk "$T" | awk 'NR == 2 { print $4 }')
	if [ "$free" -lt "$need" ]; then
		say "accuracy: $t: the recording needs about $((need / 1024)) MiB in $T, $((free / 1024)) MiB free: dynamo skipped"
		res="skipped (no room)"
		return
	fi
	timeout -k 10 $((d + 120)) "$DYNAMO" run "$T/spec.dyn" --duration "${d}s" \
		--record "$T/dyn.pcapng" >"$T/dyn.out" 2>&1 &
	run=$!
	pids="$pids $run"
	wait "$run" 2>/dev/null || say "accuracy: dynamo run failed: $(tail -5 "$T/dyn.out")"
	halt "$run"
	if ! capinfos -c "$T/dyn.pcapng" >/dev/null 2>&1; then
		rm -f "$T/dyn.pcapng"
		res="no recording"
		return
	fi
	res=$(timeout 600 tshark -r "$T/dyn.pcapng" -n --disable-protocol tcp,udp -Y ip \
		-T fields -E occurrence=f -e frame.time_relative -e ip.len 2>/dev/null |
		awk -v w="$WARM" -v e="$((d - 1))" -v k="$1" '
			{ if ($1 > end) end = $1 }
			$1 >= w && $1 < e { b += $2; n++ }
			END {
				if (end < e) { print "too short"; exit }
				if (k == "bps") printf "%.0f\n", b * 8 / (e - w)
				else printf "%.1f\n", n / (e - w) }')
	rm -f "$T/dyn.pcapng"
}

# cell KIND VALUE ACHIEVED: "49.87 Mbps (0.997)"
cell() {
	case $3 in
	*[!0-9.]* | '') printf '%s' "$3" ;;
	*) calc "v = $3; r = v / $2
		if (\"$1\" == \"bps\") printf \"%.2f Mbps (%.3f)\", v / 1e6, r
		else printf \"%.2f kpps (%.3f)\", v / 1e3, r" ;;
	esac
}

start=$(date +%s)
load0=$(cut -d" " -f1 /proc/loadavg)
: >"$T/rows"
: >"$T/ratios"
for t in $TARGETS; do
	case $t in
	*Gbps) kind=bps mul=1e9 ;;
	*Mbps) kind=bps mul=1e6 ;;
	*kpps) kind=pps mul=1e3 ;;
	*pps) kind=pps mul=1 ;;
	*) say "accuracy: target $t: write it like 50Mbps, 1Gbps, 10kpps or 500pps"; exit 2 ;;
	esac
	num=${t%[GMk]bps}
	num=${num%pps}
	num=${num%k}
	case $num in '' | *[!0-9.]*) say "accuracy: target $t: not a number"; exit 2 ;; esac
	val=$(calc "printf \"%.0f\", $num * $mul")
	unit=${t#"$num"}
	payload=1460
	[ $kind = pps ] && payload=64
	say "accuracy: $t: ITGSend"
	itg $kind "$val" $payload ""
	i1=$res
	say "accuracy: $t: ITGSend -poll"
	itg $kind "$val" $payload -poll
	i2=$res
	say "accuracy: $t: dynamo"
	dyn $kind "$val" "$num $unit"
	d1=$res
	for x in "dynamo $d1" "ITGSend $i1" "ITGSend-poll $i2"; do
		set -- $x
		case ${2:-} in '' | *[!0-9.]*) ;; *) calc "printf \"%s %s %.3f\\n\", \"$1\", \"$t\", $2 / $val" >>"$T/ratios" ;; esac
	done
	printf '%s|%s|%s|%s\n' "$num $unit" "$(cell $kind "$val" "$d1")" \
		"$(cell $kind "$val" "$i1")" "$(cell $kind "$val" "$i2")" >>"$T/rows"
done

{ echo "target|dynamo achieved (ratio)|ITGSend (ratio)|ITGSend -poll (ratio)"; cat "$T/rows"; } |
	awk -F'|' '{ for (i = 1; i <= 4; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
	END {
		for (r = 1; r <= NR; r++) {
			printf "%-*s | %-*s | %-*s | %s\n", w[1], c[r, 1], w[2], c[r, 2], w[3], c[r, 3], c[r, 4]
			if (r == 1) {
				for (i = 1; i <= 4; i++) {
					d = sprintf("%*s", w[i] + (i > 1) + (i < 4), ""); gsub(/ /, "-", d)
					printf "%s%s", d, i < 4 ? "+" : "\n" } } } }'
echo
for tool in dynamo ITGSend ITGSend-poll; do
	awk -v tool="$tool" '$1 == tool {
			n++; s += $3; d = $3 > 1 ? $3 - 1 : 1 - $3
			if (d <= 0.01) ok++
			if (n == 1 || $3 < lo) { lo = $3; lt = $2 }
			if (n == 1 || $3 > hi) { hi = $3; ht = $2 } }
		END {
			name = tool == "ITGSend-poll" ? "ITGSend -poll" : tool
			if (!n) { printf "%-14s no measurement\n", name ": "; exit }
			printf "%-14s ratio %.3f (%s) to %.3f (%s), mean %.3f over %d target(s); within 1%%: %d\n",
				name ":", lo, lt, hi, ht, s / n, n, ok }' "$T/ratios"
done
if [ -s "$T/aside" ]; then
	echo
	echo "aside, D-ITG's own report (receiver log, whole run):"
	cat "$T/aside"
fi
echo
echo "($(($(date +%s) - start)) s; SECS=$SECS, warm-up: D-ITG 2 s, dynamo $WARM s;" \
	"load average $load0 at the start, $(cut -d" " -f1 /proc/loadavg) at the end)"
