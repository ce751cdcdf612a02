#!/bin/bash
# run.sh - dynamo run, checked from outside: for every protocol that has a
# built-in agent, a spec that pins it runs for a few seconds with
# --record, and tshark alone judges the recording (tests/agents/check-
# PROTO.sh: decodes as the protocol, nothing malformed, the behaviour the
# model says).  capinfos counts the packets dynamo says it recorded, and
# tshark's byte count per statement matches dynamo's report.  Then the
# same for each real server from the distribution that is installed
# ('using source PROGRAM': nginx, dnsmasq, vsftpd, postgres, sshd,
# redis-server, mosquitto), driven by the built-in client of its
# protocol and judged by the same check.  Every run is bounded by its
# --duration and by timeout.
# usage: tests/net/run.sh DYNAMO [PROTO|PROGRAM...]
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
	sip) echo realtime ;;
	hls) echo streaming ;;
	generic) echo generic ;;
	*) echo unknown ;;
	esac
}

# The protocol a source is pinned over: its own, but hls's is http and
# generic's tcp.
over_of() {
	case $1 in
	hls) echo http ;;
	generic) echo tcp ;;
	*) echo "$1" ;;
	esac
}

# The protocols each program serves, as the spec names them.
program_protos() {
	case $1 in
	nginx) echo http https ;;
	dnsmasq) echo dns ;;
	vsftpd) echo ftp ;;
	postgres) echo postgresql ;;
	sshd) echo ssh ;;
	redis-server) echo redis ;;
	mosquitto) echo mqtt ;;
	esac
}
programs="nginx dnsmasq vsftpd postgres sshd redis-server mosquitto"

# run_one LABEL PROTO [PROGRAM]: a statement over PROTO (with the
# program as its server), recorded and judged.
run_one() {
	label=$1 p=$2 prog=${3:-}
	cls=$(class_of "$p")
	# Pinned: the agent itself, or the program (a mix could run either)
	using=" using source ${prog:-$p}"
	# Enough users for the check's statistics in 8 s: mail users write
	# a message every few seconds, the mix test wants 40.
	flows=8
	[ "$p" = smtp ] && flows=24
	# Calls of a few seconds that ring briefly, so that 8 s hold some
	# whole ones (the model's last minutes)
	if [ "$p" = sip ]; then
		model_with data/behaviours/sip.model "$T/sip.model" "action register think 200 ms" \
			"param call_length lognormal(2 s, 0.3)" "param meeting_length lognormal(2 s, 0.3)" \
			"param ring lognormal(300 ms, 0.3)"
		using="$using using model \"sip.model\""
	fi
	# Viewings of a few seconds with a short buffer: several titles,
	# each a burst and then a segment a second, in 8 s.
	if [ "$p" = hls ]; then
		model_with data/behaviours/streaming.model "$T/hls.model" "param segment 1 s" \
			"param buffer 3 s" "param startup 1 s" "param watch_length lognormal(6 s, 0.2)" \
			"action watch think 300 ms"
		using="$using using model \"hls.model\""
	fi
	cat >"$T/$label.dyn" <<-EOF
	generate $cls traffic from h1 to h2 with 2 Mbps over $(over_of "$p") using >= $flows flows for 8 s$using ;
	EOF
	# Open loop: the users as their model says, each exchange finished;
	# tests/net/control.sh judges the closed loop.
	if ! timeout 90 "$DYNAMO" run --open-loop --record "$T/$label.pcapng" --json "$T/$label.dyn" \
		>"$T/$label.json" 2>"$T/$label.err"; then
		if [ -n "$prog" ] && grep -q "is not installed" "$T/$label.err"; then
			ok "$label: dynamo run # skip not installed"
			return
		fi
		not_ok "$label: dynamo run" "$(cat "$T/$label.err")"
		return
	fi
	ok "$label: dynamo run for 8 s"
	# What dynamo says it recorded is what the file holds.
	said=$(jq .packets "$T/$label.json")
	held=$(capinfos -M -c "$T/$label.pcapng" 2>/dev/null | awk -F': *' '/Number of packets/ { print $2 }')
	if [ "$said" = "$held" ] && [ "$held" -gt 0 ]; then
		ok "$label: capinfos counts the $held packets dynamo recorded"
	else
		not_ok "$label: capinfos counts what dynamo recorded" "dynamo $said, capinfos $held"
	fi
	# The statement's bytes, by tshark: IP bytes of the protocol's flows.
	bytes=$(jq '.statements[0].bytes' "$T/$label.json")
	tb=$(tshark -r "$T/$label.pcapng" -Y "tcp || udp" -T fields -e ip.len 2>/dev/null |
		awk '{ s += $1 } END { print s + 0 }')
	if [ "$bytes" -gt 0 ] && [ "$tb" -eq "$bytes" ]; then
		ok "$label: tshark counts the statement's $bytes IP bytes"
	else
		not_ok "$label: tshark counts the statement's IP bytes" "dynamo $bytes, tshark $tb"
	fi
	if [ -f "tests/agents/check-$p.sh" ]; then
		sh "tests/agents/check-$p.sh" "$T/$label.pcapng" |
			sed -e "s/^\(not \)\{0,1\}ok [0-9]* - /&$label: /"
	fi
}

args=$*
protos= progs=
for a in $args; do
	if [ -n "$(program_protos "$a")" ]; then
		progs="$progs $a"
	else
		protos="$protos $a"
	fi
done
if [ -z "$args" ]; then
	for f in tests/agents/check-*.sh; do
		[ -e "$f" ] || continue
		p=${f##*/check-}
		protos="$protos ${p%.sh}"
	done
	progs=$programs
fi

for p in $protos; do
	run_one "$p" "$p"
done

# Web users behind a gateway look the server up first, as browsers do:
# every connection to the server comes after an answer that gives its
# address, and every visit begins with one.
if [ -z "$args" ] || [ -n "$(echo "$args" | grep -w http)" ]; then
	printf 'generate web traffic from h1 to external with 2 Mbps over http using >= 4 flows for 6 s ;\n' \
		>"$T/lookup.dyn"
	if timeout 60 "$DYNAMO" run --record "$T/lookup.pcapng" --labels "$T/lookup.csv" \
		--json "$T/lookup.dyn" >"$T/lookup.json" 2>"$T/lookup.err"; then
		tshark -r "$T/lookup.pcapng" -Y 'dns.flags.response == 1 || (tcp.flags.syn == 1 && tcp.flags.ack == 0)' \
			-T fields -e frame.number -e dns.qry.name -e dns.a -e ip.dst -e tcp.dstport 2>/dev/null |
			awk -F'\t' '
				$3 != "" { known[$3] = 1; answers++; next }
				$5 == 80 { syns++; if (!($4 in known)) early++ }
				END { printf "%d %d %d\n", answers, syns, early }' >"$T/lookup.counts"
		read -r answers syns early <"$T/lookup.counts"
		sessions=$(jq '.statements[0].agents.sessions' "$T/lookup.json")
		if [ "$syns" -gt 0 ] && [ "$early" -eq 0 ] && [ "$answers" -ge "$sessions" ]; then
			ok "web: each of $sessions visits looks the server up first ($answers answers before $syns connections)"
		else
			not_ok "web: each visit looks the server up first" \
				"answers $answers, connections $syns, before any answer $early, visits $sessions"
		fi
		# The labels: one row per flow of the recording, with the packets
		# and bytes each way that tshark counts for that conversation.
		if labels_match "$T/lookup.pcapng" "$T/lookup.csv"; then
			ok "labels: one row for each of the $labels_rows flows, packets and bytes each way as tshark counts them"
		else
			not_ok "labels agree with tshark's conversations" "$labels_diff"
		fi
		if awk -F, 'NR > 1 && ($12 != 1 || $13 != "web" || $14 != "web" ||
			($15 != "http" && $15 != "dns")) { bad++ } END { exit bad > 0 }' "$T/lookup.csv"; then
			ok "labels: every flow is statement 1, web, over http or its dns lookups"
		else
			not_ok "labels name the statement, class and protocol" "$(head -5 "$T/lookup.csv")"
		fi
	else
		not_ok "web: a run behind a gateway" "$(cat "$T/lookup.err")"
	fi
fi
for prog in $progs; do
	for p in $(program_protos "$prog"); do
		run_one "$prog-$p" "$p" "$prog"
	done
done
# A statement's own model ('using model'): requests padded with cookies
# to the model's request_size, each connection closed after its
# conn_requests; tshark judges both on the wire.
if [ -z "$args" ] || [ -n "$(echo "$args" | grep -w http)" ]; then
	model_with data/behaviours/web.model "$T/own.model" "param parallel_conns 2" \
		"param request_size quantiles(900 B, 1000 B)" "param conn_requests 2"
	echo 'generate web traffic from h1 to h2 with 2 Mbps over http using model "own.model" using source http for 8 s ;' >"$T/own.dyn"
	if timeout 90 "$DYNAMO" run --open-loop --record "$T/own.pcapng" "$T/own.dyn" >"$T/own.out" 2>&1; then
		ok "using model: dynamo run"
		tshark -r "$T/own.pcapng" -Y 'http.request && tcp.dstport == 80' -T fields -e tcp.stream -e tcp.len \
			-e http.connection 2>/dev/null >"$T/own.req"
		n=$(wc -l <"$T/own.req")
		out=$(awk '$2 < 900 || $2 > 1000 { print }' "$T/own.req" | tee "$T/own.bad" | wc -l)
		if [ "$n" -ge 10 ] && [ "$out" -eq 0 ]; then
			ok "using model: every request is 900-1000 bytes, as request_size says ($n requests)"
		else
			not_ok "using model: every request is 900-1000 bytes" "$out of $n outside: $(head -3 "$T/own.bad")"
		fi
		bad=$(awk '{ k[$1]++; if (k[$1] == 2 && $3 != "close") b++; if (k[$1] > 2) b++ } END { print b + 0 }' "$T/own.req")
		if [ "$n" -ge 10 ] && [ "$bad" -eq 0 ]; then
			ok "using model: at most 2 requests a connection, the second with Connection: close"
		else
			not_ok "using model: at most 2 requests a connection" "$bad connections otherwise"
		fi
	else
		not_ok "using model: dynamo run" "$(tail -5 "$T/own.out")"
	fi
fi

# catalog measure: a source run alone, its profile written into a copy
# of its entry, the rest of the file kept.
if [ -z "$args" ] || [ -n "$(echo "$args" | grep -w redis)" ]; then
	cp -r data/catalog "$T/catalog"
	if timeout 120 "$DYNAMO" catalog measure --catalog "$T/catalog" --duration 10s redis \
		>"$T/measure.out" 2>"$T/measure.err" &&
		"$DYNAMO" catalog show --catalog "$T/catalog" --json redis >"$T/measure.json"; then
		ok "catalog measure redis: $(cat "$T/measure.out")"
	else
		not_ok "catalog measure redis" "$(cat "$T/measure.err")"
	fi
	if jq -e '.measured == true and .rate > 0 and .rate_max > .rate and .flows >= 1' \
		"$T/measure.json" >/dev/null 2>&1 &&
		head -1 "$T/catalog/redis.source" | grep -q '^#' &&
		grep -q '^measured .*"dynamo catalog measure redis --duration 10s"' "$T/catalog/redis.source"; then
		ok "catalog measure redis: a profile (rate, rate-max, flows) and the command, the file's comments kept"
	else
		not_ok "catalog measure redis: a profile and the command" "$(cat "$T/measure.json" "$T/catalog/redis.source")"
	fi
fi

done_testing
