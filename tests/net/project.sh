#!/bin/sh
# project.sh - a project from a repository as a source, end to end: a
# two-container project (a web server and a load generator that drives
# it) built here from busybox-static and imported into podman (there is
# no registry), found by 'catalog scan --write', measured by 'catalog
# measure' with podman in the emulated network, then used by 'dynamo
# run' to meet 'generate web traffic from h1 to h2 with RATE', judged by
# tshark alone: the IP bytes between the two hosts after the warm-up are
# within TOL of RATE, the traffic decodes as HTTP from the load
# generator's host to the server's with no malformed packets, and no
# container of the run is left.
# usage: tests/net/project.sh DYNAMO [DURATION] [RATE_KBPS]
set -u
DYNAMO=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
D=${2:-15}
RATE=${3:-2000}
TOL=${TOL:-0.10}
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d)
IMG=localhost/dynamo-test-busybox:$$
trap 'podman rmi -f "$IMG" >/dev/null 2>&1; rm -rf "$T"' EXIT
. tests/lib.sh

need_netns
need_tools tshark podman runc
if [ ! -x /bin/busybox ] || ! ldd /bin/busybox 2>&1 | grep -q 'not a dynamic'; then
	ok "# skip no static busybox (Debian package busybox-static)"
	done_testing
	exit
fi

# The image: busybox-static and a web site of files of 10 to 200 KB.
mkdir -p "$T/root/bin" "$T/root/www"
cp /bin/busybox "$T/root/bin/"
for a in sh httpd wget sleep; do ln -s busybox "$T/root/bin/$a"; done
for n in 10 50 200; do head -c $((n * 1000)) /dev/urandom >"$T/root/www/f$n"; done
printf '<html><body><a href="/f10">a</a></body></html>\n' >"$T/root/www/index.html"
if tar -C "$T/root" -c . | podman import --change 'CMD ["/bin/sh"]' - "$IMG" >"$T/imp" 2>&1; then
	ok "an image of busybox-static imported into podman"
else
	not_ok "an image imported into podman" "$(cat "$T/imp")"
	done_testing
	exit
fi

# The project: a server and the load generator that drives it.
mkdir -p "$T/repos/shop"
cat >"$T/repos/shop/compose.yaml" <<EOF
services:
  web:
    image: $IMG
    command: httpd -f -p 80 -h /www
    ports:
      - "8080:80"
  loadgen:
    image: $IMG
    entrypoint: ["sh", "-c"]
    command: ["while true; do for f in f10 f50 f200 index.html; do wget -q -O /dev/null http://web/\$\$f; done; done"]
    depends_on: [web]
EOF
mkdir "$T/cat"
"$DYNAMO" catalog scan --write --catalog "$T/cat" "$T/repos" >"$T/scan" 2>&1
if grep -q '^driver  *project' "$T/cat/shop.source" 2>/dev/null &&
	grep -q '^class  *web' "$T/cat/shop.source"; then
	ok "scan: the project is a web source that drives itself (catalog entry shop)"
else
	not_ok "scan: the project as a catalog entry" "$(cat "$T/scan" "$T/cat"/* 2>&1)"
	done_testing
	exit
fi

# Measured with podman in the emulated network.
if timeout 120 "$DYNAMO" catalog measure --catalog "$T/cat" --duration 10s shop >"$T/m" 2>&1 &&
	grep -q '^rate ' "$T/cat/shop.source"; then
	ok "measure: $(grep -E '^(rate|flows) ' "$T/cat/shop.source" | tr -s ' ' | tr '\n' ' ')"
else
	not_ok "measure: the project's profile" "$(cat "$T/m")"
	done_testing
	exit
fi

# Used by a run to meet a statement.
printf 'generate web traffic from h1 to h2 with %s kbps using source shop ;\n' "$RATE" >"$T/s.dyn"
if timeout $((D + 90)) "$DYNAMO" run --catalog "$T/cat" --duration "${D}s" --quiet \
	--record "$T/run.pcapng" "$T/s.dyn" >"$T/out" 2>"$T/err"; then
	ok "dynamo run: web at $RATE kbps from the project for $D s"
else
	not_ok "dynamo run with the project" "$(cat "$T/err" "$T/out")"
	done_testing
	exit
fi
tshark -r "$T/run.pcapng" -Y 'ip && frame.interface_name == "h1-eth0"' -T fields -e frame.time_relative \
	-e ip.len 2>/dev/null >"$T/pk"
r=$(awk -v rate="$RATE" -v d="$D" '$1 >= 5 && $1 < d { b += $2 }
	END { printf "%.3f", b * 8 / (d - 5) / (rate * 1000) }' "$T/pk")
if awk -v r="$r" -v t="$TOL" 'BEGIN { exit !(r >= 1 - t && r <= 1 + t) }'; then
	ok "tshark counts $r of the target after the warm-up (within $TOL)"
else
	not_ok "the rate within $TOL of the target after the warm-up" "tshark: $r of it; $(cat "$T/out")"
fi
if grep -q "containers: 1 of the project's clients started (0 failed)" "$T/out"; then
	ok "the report counts the project's client containers, not users"
else
	not_ok "the report counts the project's containers" "$(cat "$T/out")"
fi
req=$(tshark -r "$T/run.pcapng" -Y 'http.request && ip.src == 10.0.0.0/8' -T fields -e http.request.uri \
	2>/dev/null | sort | uniq -c | tr -s ' ' | tr '\n' ' ')
resp=$(tshark -r "$T/run.pcapng" -Y 'http.response.code == 200' 2>/dev/null | wc -l)
if [ -n "$req" ] && [ "$resp" -gt 0 ]; then
	ok "HTTP from the load generator to the server: requests $req, $resp answers 200"
else
	not_ok "HTTP between the containers" "requests '$req', answers $resp"
fi
no_malformed "$T/run.pcapng" -o tcp.reassemble_out_of_order:TRUE
# A run killed with SIGKILL cannot stop its containers; the next run
# removes them (their owner is gone), and they would die by themselves
# after the run's length and two minutes.
# (dynamo itself in the background, bounded by its --duration, so that
# the kill reaches it and not a wrapper)
"$DYNAMO" run --catalog "$T/cat" --duration 40s --quiet "$T/s.dyn" >/dev/null 2>&1 &
pid=$!
n=0
for _ in $(seq 1 40); do
	n=$(podman ps -q --filter label=dynamo.project=shop | wc -l)
	[ "$n" -ge 2 ] && break
	sleep 0.5
done
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
sleep 1
left=$(podman ps -q --filter label=dynamo.project=shop | wc -l)
timeout 60 "$DYNAMO" run --catalog "$T/cat" --duration 5s --quiet "$T/s.dyn" >/dev/null 2>"$T/err"
after=$(podman ps -aq --filter label=dynamo.project=shop | wc -l)
if [ "$n" -ge 2 ] && [ "$left" -ge 2 ] && [ "$after" -eq 0 ]; then
	ok "a run killed with SIGKILL left $left containers; the next run removed them"
else
	not_ok "a killed run's containers removed by the next" "running $n, left $left, after $after: $(cat "$T/err")"
fi

# What is missing is said: the engine, an image.
mkdir "$T/nobin"
PATH=$T/nobin "$DYNAMO" plan --catalog "$T/cat" "$T/s.dyn" >"$T/p" 2>&1
if grep -q "shop (no container engine: podman is not installed (Debian package podman" "$T/p"; then
	ok "no podman: the plan says so, with the package"
else
	not_ok "no podman: the plan says so" "$(cat "$T/p")"
fi
sed "s|$IMG|localhost/dynamo-no-such-image|" "$T/repos/shop/compose.yaml" >"$T/c2" &&
	mv "$T/c2" "$T/repos/shop/compose.yaml"
timeout 60 "$DYNAMO" run --catalog "$T/cat" --duration 5s --quiet "$T/s.dyn" >/dev/null 2>"$T/err"
if grep -q "service web: image localhost/dynamo-no-such-image is not on this machine, and it has no build context (there is no registry here" "$T/err"; then
	ok "an image that is not here: the run says which and why"
else
	not_ok "a missing image" "$(cat "$T/err")"
fi
left=$(podman ps -a --filter label=dynamo.project=shop --format '{{.ID}}' | wc -l)
if [ "$left" -eq 0 ]; then
	ok "no container of the project is left"
else
	not_ok "no container left" "$left: $(podman ps -a --filter label=dynamo.project=shop)"
	podman ps -a -q --filter label=dynamo.project=shop | xargs -r podman rm -f >/dev/null 2>&1
fi
done_testing
