#!/bin/sh
# check-mqtt.sh PCAP - check a recording of the mqtt agent with tshark
# alone: it decodes as MQTT without malformed packets or errors, every
# connection opens with CONNECT/CONNACK, acknowledgements match (QoS 1
# PUBACK, QoS 2 PUBREC/PUBREL/PUBCOMP, SUBACK, UNSUBACK, PINGRESP), and
# the broker fans each publish out to the sessions whose filters match,
# as recomputed here from the recorded SUBSCRIBE/UNSUBSCRIBE packets.
. "$(dirname "$0")/../lib.sh"

PCAP=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
PORT=${MQTT_PORT:-1883}

if [ ! -r "${PCAP:-}" ]; then
	not_ok "usage: check-mqtt.sh PCAP (readable)"
	done_testing
	exit 1
fi

# One line per MQTT packet: src port, dst port, type, qos, retain,
# topics (tab-separated), from the verbose decode.
tshark -r "$PCAP" -d "tcp.port==$PORT,mqtt" -Y mqtt -O mqtt 2>"$T/err" | awk '
	function flush() {
		if (type != "")
			print src "\t" dst "\t" type "\t" qos "\t" ret topics
		type = ""
	}
	/^Frame [0-9]+:/ { flush() }
	/^Transmission Control Protocol, Src Port: / {
		flush()
		split($0, a, /[:,] */)
		src = a[3] + 0; dst = a[5] + 0
	}
	/^MQ Telemetry Transport Protocol/ { flush(); type = "?"; qos = 0; ret = 0; topics = "" }
	/= Message Type: / { t = $0; sub(/.*\(/, "", t); sub(/\).*/, "", t); type = t + 0 }
	/= QoS Level: / { q = $0; sub(/.*\(/, "", q); sub(/\).*/, "", q); qos = q + 0 }
	/\.\.\.1 = Retain: Set/ { ret = 1 }
	/^    Topic: / { t = $0; sub(/^    Topic: /, "", t); topics = topics "\t" t }
	END { flush() }
' >"$T/pdus"

npdu=$(wc -l <"$T/pdus")
if [ "$npdu" -gt 0 ]; then
	ok "decodes as MQTT ($npdu packets)"
else
	not_ok "decodes as MQTT" "$(head -c 2000 "$T/err")"
fi

tshark -r "$PCAP" -d "tcp.port==$PORT,mqtt" -Y '_ws.malformed || _ws.expert.severity == "Error"' \
	>"$T/bad" 2>"$T/err"
if [ ! -s "$T/bad" ]; then
	ok "no malformed packets, no expert errors"
else
	not_ok "no malformed packets, no expert errors" "$(head -20 "$T/bad")"
fi

# Counts by direction ("c" client to broker, "b" broker to client) and
# type, and the fan-out the broker owes, replayed in capture order.
awk -F '\t' -v port="$PORT" '
	function matches(f, t,   fl, tl, nf, nt, i) {
		if (t ~ /^\$/ && f ~ /^[+#]/)
			return 0
		nf = split(f, fl, "/")
		nt = split(t, tl, "/")
		for (i = 1; i <= nf; i++) {
			if (fl[i] == "#")
				return 1
			if (i > nt || (fl[i] != "+" && fl[i] != tl[i]))
				return 0
		}
		return nf == nt
	}
	{
		cli = $1 == port ? $2 : $1
		dir = $1 == port ? "b" : "c"
		n[dir, $3]++
		if ($3 == 3)
			q[dir, $4]++
		if (dir == "b" && $3 == 3 && $4 == 1)
			q1out[cli]++
		if (dir == "c" && $3 == 4)
			q1ack[cli]++
		if (!(cli in first)) {
			first[cli] = dir $3
			conns++
		}
		if (dir == "c" && $3 == 8)
			for (i = 6; i <= NF; i++)
				sub_[cli, $i] = 1
		if (dir == "c" && $3 == 10)
			for (i = 6; i <= NF; i++)
				delete sub_[cli, $i]
		if (dir == "c" && $3 == 14)
			gone[cli] = 1
		if (dir == "c" && $3 == 3) {
			# every live session with a matching filter, once
			split("", hit)
			for (k in sub_) {
				split(k, kk, SUBSEP)
				if (!(kk[1] in gone) && !(kk[1] in hit) && matches(kk[2], $6))
					hit[kk[1]] = 1
			}
			for (h in hit)
				expect++
		}
		if (dir == "b" && $3 == 3 && !$5)
			got++
	}
	END {
		bad = 0
		for (c in first)
			if (first[c] != "c1")
				bad++
		printf "conns %d first_not_connect %d\n", conns, bad
		printf "connect %d connack %d\n", n["c", 1], n["b", 2]
		printf "pub_in %d pub_out %d\n", n["c", 3], n["b", 3]
		# A QoS 1 copy the broker sent as the client was sending its
		# DISCONNECT cannot be acknowledged any more (the session is
		# clean): at most two such per connection that ended so.
		for (c in q1out) {
			d = q1out[c] - q1ack[c]
			if (d < 0 || (d > 0 && !(c in gone)) || d > 2)
				q1bad++
			else
				q1late += d
		}
		printf "qos1_in %d puback_out %d qos1_out %d puback_in %d late %d bad_conns %d\n", q["c", 1], n["b", 4], q["b", 1], n["c", 4], q1late, q1bad
		printf "qos2_in %d pubrec_out %d pubrel_in %d pubcomp_out %d\n", q["c", 2], n["b", 5], n["c", 6], n["b", 7]
		printf "qos2_out %d pubrec_in %d pubrel_out %d pubcomp_in %d\n", q["b", 2], n["c", 5], n["b", 6], n["c", 7]
		printf "subscribe %d suback %d unsubscribe %d unsuback %d\n", n["c", 8], n["b", 9], n["c", 10], n["b", 11]
		printf "pingreq %d pingresp %d disconnect %d\n", n["c", 12], n["b", 13], n["c", 14]
		printf "fanout expected %d got %d\n", expect, got
	}
' "$T/pdus" >"$T/counts"
sed 's/^/# /' "$T/counts"

# Packets lost by the capture (tshark drops some when a run bursts on
# the loopback faster than it records) make counts unreliable: then the
# counting checks are skipped, not failed.
skip=""
tshark -r "$PCAP" -d "tcp.port==$PORT,mqtt" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment' \
	>"$T/lost" 2>>"$T/err"
if [ -s "$T/lost" ]; then
	skip=" # SKIP the capture lost segments (tshark -B)"
fi

# verdict DESC: ok when the last test ([ ... ]) passed or counts are
# skipped; DETAIL from $detail otherwise
verdict() {
	if [ "$pass" = 1 ] || [ -n "$skip" ]; then
		ok "$1$skip"
	else
		not_ok "$1" "$detail"
	fi
}

# field N of the line starting with KEY
get() {
	awk -v k="$1" -v f="$2" '$1 == k { print $f + 0 }' "$T/counts"
}

conns=$(get conns 2)
pass=0
detail=$(head -2 "$T/counts")
[ "$conns" -gt 0 ] && [ "$(get conns 4)" -eq 0 ] && [ "$(get connect 2)" -eq "$conns" ] &&
	[ "$(get connect 4)" -eq "$conns" ] && pass=1
verdict "each of $conns connections opens with CONNECT and gets one CONNACK"

same() { # DESC A B
	pass=0
	detail="$2 != $3"
	[ "$2" -eq "$3" ] && pass=1
	verdict "$1 ($2)"
}
same "QoS 1 publishes to the broker are acknowledged" "$(get qos1_in 2)" "$(get qos1_in 4)"
pass=0
detail=$(grep qos1 "$T/counts")
[ "$(get qos1_in 12)" -eq 0 ] && pass=1
verdict "QoS 1 publishes from the broker are acknowledged ($(get qos1_in 8), $(get qos1_in 10) crossing a DISCONNECT)"
q2=$(get qos2_in 2)
pass=0
detail=$(grep qos2 "$T/counts")
[ "$q2" -eq "$(get qos2_in 4)" ] && [ "$q2" -eq "$(get qos2_in 6)" ] &&
	[ "$q2" -eq "$(get qos2_in 8)" ] && pass=1
verdict "QoS 2 publishes complete PUBREC/PUBREL/PUBCOMP ($q2)"
same "every SUBSCRIBE gets a SUBACK" "$(get subscribe 2)" "$(get subscribe 4)"
same "every UNSUBSCRIBE gets an UNSUBACK" "$(get subscribe 6)" "$(get subscribe 8)"
same "every PINGREQ gets a PINGRESP" "$(get pingreq 2)" "$(get pingreq 4)"

if [ "$(get pub_in 2)" -gt 0 ] && [ "$(get pub_in 4)" -gt 0 ]; then
	ok "messages flow both ways (publishers and subscribers)"
else
	not_ok "messages flow both ways (publishers and subscribers)" "$(grep pub_ "$T/counts")"
fi

# Fan-out: what the broker sent (retained copies aside) against what the
# recorded subscriptions call for, within 10 % (a publish and a SUBSCRIBE
# crossing in the broker's loop may land either way).
exp=$(get fanout 3)
got=$(get fanout 5)
pass=0
detail="got $got, expected $exp"
[ "$exp" -gt 0 ] && [ $(((got - exp) * (got - exp) * 100)) -le $((exp * exp + 100)) ] && pass=1
verdict "broker fans publishes out to matching subscribers ($got of $exp expected)"

done_testing
