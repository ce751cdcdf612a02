#!/bin/bash
# run.sh - dynamo run, checked from outside: for every protocol that has a
# built-in agent, a spec that pins it runs for a few seconds with
# --record, and tshark alone judges the recording (tests/agents/check-
# PROTO.sh: decodes as the protocol, nothing malformed, the behaviour the
# model says).  capinfos counts the packets dynamo says it recorded, and
# tshark's byte count per statement matches dynamo's report.  Every run
# is bounded by its --duration and by timeout.
# usage: tests/net/run.sh DYNAMO [PROTO...]
set -u
DYNAMO=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. tests/lib.sh

need_netns
if ! command -v tshark >/dev/null; then
	not_ok "tshark is installed (make check installs it)"
	done_testing
	exit
fi

class_of() {
	case $1 in
	http | https) echo web ;;
	smtp | imap) echo mail ;;
	dns) echo dns ;;
	ftp) echo file-transfer ;;
	postgresql | redis) echo database ;;
	mqtt) echo message-broker ;;
	bitcoin) echo crypto ;;
	ssh) echo remote-access ;;
	*) echo unknown ;;
	esac
}

protos=$*
if [ -z "$protos" ]; then
	for f in tests/agents/check-*.sh; do
		[ -e "$f" ] || continue
		p=${f##*/check-}
		protos="$protos ${p%.sh}"
	done
fi

for p in $protos; do
	cls=$(class_of "$p")
	cat >"$T/$p.dyn" <<-EOF
	generate $cls traffic from h1 to h2 with 2 Mbps over $p using >= 4 flows for 8 s ;
	EOF
	if ! timeout 90 "$DYNAMO" run --record "$T/$p.pcapng" --json "$T/$p.dyn" \
		>"$T/$p.json" 2>"$T/$p.err"; then
		not_ok "$p: dynamo run" "$(cat "$T/$p.err")"
		continue
	fi
	ok "$p: dynamo run for 8 s"
	# What dynamo says it recorded is what the file holds.
	said=$(jq .packets "$T/$p.json")
	held=$(capinfos -M -c "$T/$p.pcapng" 2>/dev/null | awk -F': *' '/Number of packets/ { print $2 }')
	if [ "$said" = "$held" ] && [ "$held" -gt 0 ]; then
		ok "$p: capinfos counts the $held packets dynamo recorded"
	else
		not_ok "$p: capinfos counts what dynamo recorded" "dynamo $said, capinfos $held"
	fi
	# The statement's bytes, by tshark: IP bytes of the protocol's flows.
	bytes=$(jq '.statements[0].bytes' "$T/$p.json")
	tb=$(tshark -r "$T/$p.pcapng" -Y "tcp || udp" -T fields -e ip.len 2>/dev/null |
		awk '{ s += $1 } END { print s + 0 }')
	if [ "$bytes" -gt 0 ] && [ "$tb" -eq "$bytes" ]; then
		ok "$p: tshark counts the statement's $bytes IP bytes"
	else
		not_ok "$p: tshark counts the statement's IP bytes" "dynamo $bytes, tshark $tb"
	fi
	if [ -x "tests/agents/check-$p.sh" ] || [ -f "tests/agents/check-$p.sh" ]; then
		sh "tests/agents/check-$p.sh" "$T/$p.pcapng" | sed "s/^\(not \)\{0,1\}ok [0-9]* - /&$p: /"
	fi
done
done_testing
