#!/bin/bash
# peers.sh - broken peers never crash or block an agent: for each agent,
# its server gets the messages of its fuzz corpus (real ones and broken
# ones) from peers that close at once, reset, stall or trickle, while a
# real client runs against it; the client must finish its actions with
# no protocol error, and the process must end cleanly (under ASan too).
# usage: tests/net/peers.sh TOOLDIR   (build/tests or build/asan/tests)
set -u
TOOLS=$(cd "$1" && pwd)
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. tests/lib.sh

need_netns
for f in tests/agents/check-*.sh; do
	[ -e "$f" ] || continue
	p=${f##*/check-}
	p=${p%.sh}
	corpus=tests/fuzz/corpus/$p
	# the same server as http (hls: the player reads playlists, fuzz-hls);
	# generic's server reads nothing but a seed: any bytes
	case $p in https | hls | generic) corpus=tests/fuzz/corpus/http ;; esac
	if [ ! -d "$corpus" ]; then
		ok "$p: no corpus of its own (its parser is a library's)"
		continue
	fi
	n=$(ls "$corpus" | wc -l)
	if timeout 60 "$TOOLS/agent-try" "$p" --seconds 4 --users 2 --think-scale 0.2 \
		--abuse "$corpus" >"$T/out" 2>&1; then
		ok "$p: serves a real client while $n broken peers hit it"
	else
		not_ok "$p: serves a real client while $n broken peers hit it" "$(tail -20 "$T/out")"
	fi
done
done_testing
