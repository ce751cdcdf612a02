#!/bin/sh
# check-https.sh PCAP - check a recording of the https agent with tshark
# alone: it decodes as TLS without malformed packets or errors, every
# handshake is TLS 1.3 (offered in supported_versions and chosen by the
# server) with the server's name in SNI, application data flows on every
# connection, and the traffic is web browsing as web.model says: the
# server sends far more than the client (pages and objects against
# requests), and connections are kept alive for several requests.
#
# Connections with segments lost to the capture (tshark may drop packets
# when large objects cross the loopback) are left out of the
# per-connection counts.
. "$(dirname "$0")/../lib.sh"

PCAP=$1
# Segments that arrive out of order (a retransmission racing the segment
# it repeats, on a busy machine) are put back in order before TLS and
# HTTP see them, as TCP itself does; without it tshark reports their
# overlap as a reassembly error of the protocol above.
TSO="-o tcp.reassemble_out_of_order:TRUE"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT INT TERM
PORT=${HTTPS_PORT:-443}

if [ ! -r "${PCAP:-}" ]; then
	not_ok "usage: check-https.sh PCAP (readable)"
	done_testing
	exit 1
fi

DA="tcp.port==$PORT,tls"

# Handshake messages: stream, type, SNI, versions offered or chosen.
tshark -r "$PCAP" $TSO -d "$DA" -Y 'tls.handshake.type == 1 || tls.handshake.type == 2' \
	-T fields -E separator='|' -E occurrence=a -E aggregator=' ' \
	-e tcp.stream -e tls.handshake.type -e tls.handshake.extensions_server_name \
	-e tls.handshake.extensions.supported_version >"$T/hello" 2>"$T/err"
# Records: stream, whether from the server, the outer types of the
# encrypted records (TLS 1.3 shows every one as application data), TCP
# payload, and record versions.
tshark -r "$PCAP" $TSO -d "$DA" -Y "tcp.port == $PORT && tcp.len > 0" \
	-T fields -E separator='|' -E occurrence=a -E aggregator=' ' \
	-e tcp.stream -e tcp.srcport -e tls.record.opaque_type -e tcp.len \
	-e tls.record.version >"$T/rec" 2>>"$T/err"
tshark -r "$PCAP" $TSO -d "$DA" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment' \
	-T fields -e tcp.stream 2>>"$T/err" | sort -u >"$T/lost"

nch=$(awk -F'|' '$2 ~ /^1/' "$T/hello" | wc -l)
nsh=$(awk -F'|' '$2 ~ /^2/' "$T/hello" | wc -l)
if [ "$nch" -gt 0 ] && [ "$nsh" -gt 0 ]; then
	ok "decodes as TLS ($nch ClientHello, $nsh ServerHello)"
else
	not_ok "decodes as TLS" "ClientHello $nch, ServerHello $nsh
$(head -c 2000 "$T/err")"
fi

tshark -r "$PCAP" $TSO -d "$DA" -Y '_ws.malformed || _ws.expert.severity == "Error"' \
	>"$T/bad" 2>>"$T/err"
if [ ! -s "$T/bad" ]; then
	ok "no malformed packets, no expert errors"
else
	not_ok "no malformed packets, no expert errors" "$(head -20 "$T/bad")"
fi

bad=$(awk -F'|' '$2 ~ /^1/ && ($3 == "" || $4 !~ /0x0304/)' "$T/hello" | head -5)
if [ "$nch" -gt 0 ] && [ -z "$bad" ]; then
	ok "every ClientHello has SNI and offers TLS 1.3"
else
	not_ok "every ClientHello has SNI and offers TLS 1.3" "$bad"
fi
bad=$(awk -F'|' '$2 ~ /^2/ && $4 != "0x0304"' "$T/hello" | head -5)
if [ "$nsh" -gt 0 ] && [ -z "$bad" ]; then
	ok "every ServerHello chooses TLS 1.3"
else
	not_ok "every ServerHello chooses TLS 1.3" "$bad"
fi
# TLS 1.3 records carry the legacy version 0x0303 (0x0301 may open a
# ClientHello); anything else is not TLS 1.3.
# A stream with segments lost to the capture is left out: tshark then
# reads record headers from the middle of a record.
bad=$(awk -F'|' -v lostf="$T/lost" '
	BEGIN { while ((getline s < lostf) > 0) lost[s] = 1 }
	!($1 in lost) { n = split($5, v, " "); for (i = 1; i <= n; i++) if (v[i] != "0x0303" && v[i] != "0x0301") print }' "$T/rec" | head -5)
if [ -z "$bad" ]; then
	ok "record versions are those of TLS 1.3 (0x0303, 0x0301)"
else
	not_ok "record versions are those of TLS 1.3 (0x0303, 0x0301)" "$bad"
fi

# Per whole connection: encrypted records (type 23) each way, and
# payload bytes each way.  The client's are its Finished, its requests
# and its close_notify: four or more is two requests or more.
awk -F'|' -v port="$PORT" -v lostf="$T/lost" '
	BEGIN { while ((getline s < lostf) > 0) lost[s] = 1 }
	{
		s = $1; if (s in lost) next
		conn[s] = 1
		n = split($3, t, " "); app = 0
		for (i = 1; i <= n; i++) if (t[i] == 23) app++
		if ($2 == port) { sapp[s] += app; down += $4 } else { capp[s] += app; up += $4 }
	}
	END {
		for (s in conn) { nc++; if (capp[s] > 0 && sapp[s] > 0) flowing++; if (capp[s] >= 4) reused++ }
		printf "%d %d %d %d %d\n", nc, flowing, reused, up, down
	}' "$T/rec" >"$T/flow"
read -r nc flowing reused up down <"$T/flow"
if [ "$nc" -gt 0 ] && [ "$flowing" -eq "$nc" ]; then
	ok "application data flows both ways on every connection ($nc whole connections)"
else
	not_ok "application data flows both ways on every connection" "$flowing of $nc"
fi
if [ "$up" -gt 0 ] && [ "$down" -ge $((up * 5)) ]; then
	ok "browsing: the server sends far more than the client ($down bytes against $up)"
else
	not_ok "browsing: the server sends five times what the client does or more" "$down bytes against $up"
fi
if [ "$nc" -gt 0 ] && [ $((reused * 2)) -ge "$nc" ]; then
	ok "keep-alive: $reused of $nc connections carry two requests or more"
else
	not_ok "keep-alive: half the connections carry two requests or more" "$reused of $nc"
fi

done_testing
