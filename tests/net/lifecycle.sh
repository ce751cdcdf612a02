#!/bin/sh
# lifecycle.sh - what a run does when things go wrong around it.
#
# 1. A real server that dies (nginx, killed with SIGKILL by its pid in the
#    middle of a run) is started again: the run says so on stderr and in
#    its report, and tshark sees HTTP answers after the restart.
# 2. Ctrl-C (SIGINT to dynamo by its pid) stops a 60 s run after a few
#    seconds, cleanly: the recording reads whole (capinfos, and as many
#    packets as the report says), the report is JSON that says it was
#    stopped, with its seconds, and the labels have one row for each flow
#    of the recording with the packets and bytes tshark counts.
# usage: tests/net/lifecycle.sh DYNAMO
set -u
DYNAMO=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$T"' EXIT
. tests/lib.sh

need_netns
need_tools tshark capinfos jq

# wait_for N CMD...: up to N tenths of a second for CMD to succeed.
wait_for() {
	tries=$1
	shift
	while [ "$tries" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		tries=$((tries - 1))
	done
	return 1
}

# --- 1. a program that dies is started again ------------------------------
if [ -z "$(command -v nginx || ls /usr/sbin/nginx 2>/dev/null)" ]; then
	ok "restart: nginx # skip not installed"
else
	printf 'generate web traffic from h1 to h2 with 4 Mbps over http using source nginx ;\n' >"$T/web.dyn"
	"$DYNAMO" run --quiet --duration 16s --warmup 2s --record "$T/web.pcapng" --report "$T/web.json" \
		"$T/web.dyn" >"$T/web.out" 2>"$T/web.err" &
	pid=$!
	# nginx's master names its directory on its command line
	master=
	found() { master=$(pgrep -o -f '/h2-nginx' 2>/dev/null); [ -n "$master" ]; }
	if wait_for 200 found; then
		sleep 5
		kill -KILL "$master"
		ok "restart: killed nginx's master ($master) 5 s into the run"
	else
		not_ok "restart: nginx runs in the run"
	fi
	wait "$pid"
	st=$?
	pid=
	if [ "$st" -eq 0 ]; then
		ok "restart: the run ends well"
	else
		not_ok "restart: the run ends well" "exit $st: $(cat "$T/web.err")"
	fi
	if grep -q "h2: nginx was killed by signal 9 (Killed); started it again" "$T/web.err"; then
		ok "restart: the run says so: $(grep 'started it again' "$T/web.err")"
	else
		not_ok "restart: the run says nginx was started again" "$(cat "$T/web.err")"
	fi
	if jq -e '.notices_total == 1 and (.notices[0] | test("nginx was killed"))' "$T/web.json" >/dev/null 2>&1; then
		ok "restart: the report keeps the notice"
	else
		not_ok "restart: the report keeps the notice" "$(jq -c '.notices' "$T/web.json" 2>&1)"
	fi
	# HTTP answers in the last 4 s of the recording: after the restart
	last=$(tshark -r "$T/web.pcapng" -Y http.response -T fields -e frame.time_relative 2>/dev/null |
		awk 'NR == 1 { first = $1 } { t = $1 } END { print int(t - first) }')
	late=$(tshark -r "$T/web.pcapng" -Y "http.response" -T fields -e frame.time_relative 2>/dev/null |
		awk -v end="$last" 'NR == 1 { first = $1 } $1 - first > end - 4 { n++ } END { print n + 0 }')
	if [ "$late" -gt 0 ] && [ "$last" -ge 12 ]; then
		ok "restart: tshark sees $late HTTP answers in the last 4 s of ${last} s"
	else
		not_ok "restart: HTTP answers after the restart" "answers in the last 4 s: $late, span $last s"
	fi
fi

# --- 2. Ctrl-C ------------------------------------------------------------
cat >"$T/seed.dyn" <<EOF
generate web traffic from h1 to h2 with 10 Mbps ;
generate database traffic from h3 to external with 5 Mbps using >= 5 flows ;
EOF
"$DYNAMO" run --quiet --duration 60s --record "$T/seed.pcapng" --labels "$T/seed.csv" \
	--report "$T/seed.json" "$T/seed.dyn" >"$T/seed.out" 2>"$T/seed.err" &
pid=$!
sleep 10
kill -INT "$pid"
t0=$(date +%s)
wait "$pid"
st=$?
pid=
took=$(($(date +%s) - t0))
if [ "$st" -eq 0 ] && [ "$took" -le 15 ]; then
	ok "Ctrl-C: the run stops in $took s and exits 0"
else
	not_ok "Ctrl-C: the run stops soon and exits 0" "exit $st after $took s: $(cat "$T/seed.err")"
fi
if jq -e '.stopped == true and .duration_s < 20 and (.statements | length) == 2 and
	([.statements[].series | length] | min) >= 4' "$T/seed.json" >/dev/null 2>&1; then
	ok "Ctrl-C: the report is whole JSON: stopped, $(jq .duration_s "$T/seed.json") s, its seconds"
else
	not_ok "Ctrl-C: the report is whole" "$(head -c 300 "$T/seed.json")"
fi
held=$(capinfos -M -c "$T/seed.pcapng" 2>"$T/capinfos.err" | awk -F': *' '/Number of packets/ { print $2 }')
said=$(jq .packets "$T/seed.json")
if [ -n "$held" ] && [ "$held" = "$said" ] && [ ! -s "$T/capinfos.err" ]; then
	ok "Ctrl-C: capinfos reads the whole recording, the $held packets the report says"
else
	not_ok "Ctrl-C: the recording is whole" "capinfos $held, report $said: $(cat "$T/capinfos.err")"
fi
if labels_match "$T/seed.pcapng" "$T/seed.csv"; then
	ok "Ctrl-C: the labels have one row for each of the $labels_rows flows, as tshark counts them"
else
	not_ok "Ctrl-C: the labels agree with tshark's conversations" "$labels_diff"
fi
if awk -F, 'NR == 1 { n = NF } NF != n { bad++ } END { exit bad > 0 || NR < 2 }' "$T/seed.csv" &&
	[ "$(tail -c 1 "$T/seed.csv" | od -An -c | tr -d ' ')" = '\n' ]; then
	ok "Ctrl-C: every row of the labels is whole"
else
	not_ok "Ctrl-C: every row of the labels is whole" "$(tail -2 "$T/seed.csv")"
fi
done_testing
