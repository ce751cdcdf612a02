#!/bin/sh
# engine.sh - the per-host engine against the tools a user would
# otherwise pick, in the same run, in the same namespaces (a lab of three
# hosts on one switch, no link limits):
#   1. throughput: the web agents (one user downloading 100 MiB files over
#      HTTP/1.1 from the agent's server) against iperf3 TCP, one stream;
#   2. requests per second: the web agent's users (GET / on keep-alive
#      connections, no think time) against its server, and wrk against
#      nginx serving a page of the same size, with as many connections;
#   3. concurrent idle sessions on one host: SESSIONS users (on two client
#      hosts) each holding a keep-alive connection to one server process,
#      and the memory (RSS) per session of the server and of the clients.
# usage: bench/engine.sh   (root; needs iperf3, wrk, nginx, jq)
set -eu
cd "$(dirname "$0")/.."
DYNAMO=$(pwd)/${DYNAMO:-dynamo}
SECS=${SECS:-10}
CONNS=${CONNS:-10}
SESSIONS=${SESSIONS:-100000}
T=$(mktemp -d)
export DYNAMO_RUNDIR=$T/run
pids=
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	"$DYNAMO" down eng >/dev/null 2>&1 || true
	rm -rf "$T"
}
trap cleanup EXIT
for tool in iperf3 wrk jq /usr/sbin/nginx; do
	command -v $tool >/dev/null ||
		{ echo "engine: needs $tool (apt-get install iperf3 wrk jq nginx-light)" >&2; exit 1; }
done
[ -x "$DYNAMO" ] || { echo "engine: build dynamo first (make)" >&2; exit 1; }

printf 'host a, b, c ;\n' >"$T/eng.dyn"
"$DYNAMO" up --name eng "$T/eng.dyn" >/dev/null
on() { "$DYNAMO" exec --lab eng "$@"; }
# start NODE CMD...: in the background; $last is its pid (exec keeps it)
start() { "$DYNAMO" exec --lab eng "$@" >>"$T/bg.log" 2>&1 & last=$!; pids="$pids $last"; }
halt() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# field N WORD FILE: the number before WORD in the agent's summary line
before() { awk -v w="$1" '{ for (i = 2; i <= NF; i++) if ($i == w) print $(i - 1) }' "$2"; }

# 1. Throughput ------------------------------------------------------------
start b iperf3 -s -1
ip=$last
sleep 1
iperf=$(on a iperf3 -c b -t "$SECS" -J | jq '.end.sum_received.bits_per_second')
halt "$ip"
start b "$DYNAMO" agent http serve --data bench/models/bulk
srv=$last
sleep 1
on a "$DYNAMO" agent http client b --data bench/models/bulk --duration "${SECS}s" >"$T/bulk"
halt "$srv"
agent=$(awk -v b="$(before received, "$T/bulk")" -v s="$SECS" 'BEGIN { print b * 8 / s }')
printf 'throughput  web agent %7.2f Gbit/s   iperf3 %7.2f Gbit/s          ratio %s\n' \
	"$(awk -v v="$agent" 'BEGIN { print v / 1e9 }')" "$(awk -v v="$iperf" 'BEGIN { print v / 1e9 }')" \
	"$(ratio "$agent" "$iperf")"

# 2. Requests per second ---------------------------------------------------
mkdir -p "$T/www" "$T/nginx"
head -c 450 /dev/urandom | base64 -w 76 | head -c 600 >"$T/www/index.html"
printf '%s\n' "daemon off; master_process off; worker_processes 1;" \
	"pid $T/nginx/pid; error_log $T/nginx/error.log;" \
	"events { worker_connections 4096; }" \
	"http { access_log off; keepalive_requests 1000000;" \
	"  client_body_temp_path $T/nginx; proxy_temp_path $T/nginx; fastcgi_temp_path $T/nginx;" \
	"  uwsgi_temp_path $T/nginx; scgi_temp_path $T/nginx;" \
	"  server { listen 8080; root $T/www; } }" >"$T/nginx/nginx.conf"
start b /usr/sbin/nginx -c "$T/nginx/nginx.conf"
ng=$last
sleep 1
wrk=$(on a wrk -t1 -c"$CONNS" -d"${SECS}s" http://b:8080/ | awk '/^Requests\/sec/ { print $2 }')
halt "$ng"
start b "$DYNAMO" agent http serve --data bench/models/rps
srv=$last
sleep 1
on a "$DYNAMO" agent http client b --data bench/models/rps --users "$CONNS" --duration "${SECS}s" >"$T/rps"
halt "$srv"
agent=$(awk -v n="$(before actions, "$T/rps")" -v s="$SECS" 'BEGIN { print n / s }')
printf 'requests/s  web agent %9.0f        wrk on nginx %9.0f        ratio %s\n' \
	"$agent" "$wrk" "$(ratio "$agent" "$wrk")"

# 3. Idle sessions ---------------------------------------------------------
# A process may hold at most 'ulimit -Hn' descriptors (20000 on the
# project's machine, which cannot raise it), so the host's sessions are
# spread over G server processes on ports 8001.., each with its clients
# (on hosts a and c by turns), every process under the limit.
per=$(( $(ulimit -Hn) - 100 ))
G=$(( (SESSIONS + per - 1) / per ))
each=$(( (SESSIONS + G - 1) / G ))
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
srvs= clis=
base=0
for g in $(seq "$G"); do
	start b "$DYNAMO" agent http serve --data bench/models/idle --port $((8000 + g))
	srvs="$srvs $last"
done
sleep 1
for p in $srvs; do base=$((base + $(rss "$p"))); done
for g in $(seq "$G"); do
	h=a
	[ $((g % 2)) -eq 0 ] && h=c
	start $h sh -c "echo 1024 65000 >/proc/sys/net/ipv4/ip_local_port_range;
		exec '$DYNAMO' agent http client b --port $((8000 + g)) --data bench/models/idle \
		--users $each --duration 300s"
	clis="$clis $last"
done
n=0
for _ in $(seq 150); do
	sleep 1
	n=$(on b ss -Htn state established '( sport >= :8001 and sport <= :8099 )' | wc -l)
	[ "$n" -ge "$SESSIONS" ] && break
done
sleep 2
srss=0
crss=0
for p in $srvs; do srss=$((srss + $(rss "$p"))); done
for p in $clis; do crss=$((crss + $(rss "$p"))); done
printf 'idle        %d sessions on host b (%d server processes): %.2f KiB each (RSS %d KiB, %d KiB before)\n' \
	"$n" "$G" "$(awk -v r="$srss" -v b="$base" -v n="$n" 'BEGIN { print (r - b) / n }')" "$srss" "$base"
printf '            their users on hosts a and c: %.2f KiB each (RSS %d KiB for %d users)\n' \
	"$(awk -v r="$crss" -v n="$((G * each))" 'BEGIN { print r / n }')" "$crss" "$((G * each))"
for p in $clis $srvs; do halt "$p"; done
