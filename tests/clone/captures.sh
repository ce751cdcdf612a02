#!/bin/sh
# captures.sh - dynamo clone on real captures that dynamo did not make
# (tests/data/captures, with their sources), judged by other tools:
#   - every address in tshark's endpoint tables is a host of the clone;
#   - every conversation in tshark's tables has its server end (the one
#     a SYN went to, else a multicast or broadcast address, else the
#     lower port) among the clone's services;
#   - the class mix by bytes agrees with ndpiReader's on the same file,
#     each class within 5 percentage points, its flows mapped onto
#     classes through the same table (data/clone/ndpi.map: the master
#     protocol, the application, its category; Unknown is generic),
#     except that a flow tshark decodes as ftp-data (it follows the
#     control connection's PASV and PORT, which ndpiReader, flow by
#     flow, cannot) is file-transfer;
#   - the spec it writes passes dynamo check and dynamo plan.
# usage: tests/clone/captures.sh DYNAMO [CAPTURE...]
set -u
DYNAMO=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
shift
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
T=$(mktemp -d)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$T"' EXIT

need_tools tshark ndpiReader jq
MAP=data/clone/ndpi.map
caps=${*:-$(ls tests/data/captures/*.pcap tests/data/captures/*.pcapng)}

for cap in $caps; do
	name=$(basename "$cap")
	if ! "$DYNAMO" clone "$cap" -o "$T/c.dyn" --json >"$T/c.json" 2>"$T/err"; then
		not_ok "$name: dynamo clone" "$(cat "$T/err")"
		continue
	fi
	ok "$name: dynamo clone"
	if "$DYNAMO" check -q "$T/c.dyn" >"$T/err" 2>&1 && "$DYNAMO" plan "$T/c.dyn" >/dev/null 2>>"$T/err"; then
		ok "$name: the spec passes check and plan"
	else
		not_ok "$name: the spec passes check and plan" "$(cat "$T/err")
$(cat "$T/c.dyn")"
	fi
	jq -r '.hosts[].address' "$T/c.json" | sort -u >"$T/hosts"
	jq -r '.hosts[] | .address as $a | .services[] | "\($a) \(.port)"' "$T/c.json" | sort -u >"$T/svc"

	# Hosts: tshark's endpoint tables
	tshark -r "$cap" -q -z endpoints,ip -z endpoints,ipv6 2>/dev/null |
		awk '/^[0-9a-f:.]+ +[0-9]+ +[0-9]+/ { print $1 }' | sort -u >"$T/ts_hosts"
	missing=$(comm -23 "$T/ts_hosts" "$T/hosts")
	if [ -s "$T/ts_hosts" ] && [ -z "$missing" ]; then
		ok "$name: every one of tshark's $(wc -l <"$T/ts_hosts") endpoints is a host"
	else
		not_ok "$name: every one of tshark's endpoints is a host" "missing: $missing"
	fi

	# Services: each conversation's server end
	tshark -r "$cap" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 0' -T fields \
		-e ip.dst -e ipv6.dst -e tcp.dstport 2>/dev/null |
		awk '{ print $1, $NF }' | sort -u >"$T/syn"
	tshark -r "$cap" -q -z conv,tcp -z conv,udp 2>/dev/null |
		awk '/<->/ {
			a = $1; b = $3
			na = match(a, /:[0-9]+$/); pa = substr(a, na + 1); a = substr(a, 1, na - 1)
			nb = match(b, /:[0-9]+$/); pb = substr(b, nb + 1); b = substr(b, 1, nb - 1)
			print a, pa, b, pb
		}' >"$T/conv"
	awk -v synfile="$T/syn" '
		# multicast or broadcast: what is sent to a group is served there
		function group(a) { return a ~ /^2(2[4-9]|3[0-9])\./ || a ~ /\.255$/ || a ~ /^ff/ }
		BEGIN { while ((getline l < synfile) > 0) syn[l] = 1 }
		{
			if (($1 " " $2) in syn) print $1, $2
			else if (($3 " " $4) in syn) print $3, $4
			else if (group($1)) print $1, $2
			else if (group($3)) print $3, $4
			else if ($2 + 0 <= $4 + 0) print $1, $2
			else print $3, $4
		}' "$T/conv" | sort -u >"$T/ts_svc"
	missing=$(comm -23 "$T/ts_svc" "$T/svc")
	if [ -z "$missing" ]; then
		ok "$name: every server end of tshark's $(wc -l <"$T/conv") conversations is a service"
	else
		not_ok "$name: every server end of tshark's conversations is a service" "missing: $missing"
	fi

	# Class mix against ndpiReader's flows
	ndpiReader -i "$cap" -v 2 2>/dev/null | grep -E '^[[:space:]]+[0-9]+[[:space:]]+(TCP|UDP|ICMP|ICMPV6|IGMP)' |
		sed -n 's/.*\[proto: [0-9.]*\/\([^]]*\)\].*/&/p' >"$T/nd"
	tshark -r "$cap" -Y ftp-data -T fields -e tcp.srcport -e tcp.dstport 2>/dev/null | sort -u >"$T/ftpdata"
	awk -v mapfile="$MAP" -v ftpdata="$T/ftpdata" '
		BEGIN {
			while ((getline l < mapfile) > 0) {
				split(l, f, /[ \t]+/)
				if (f[1] == "protocol") pm[f[2]] = f[3]
				else if (f[1] == "category") cm[f[2]] = f[3]
			}
			while ((getline l < ftpdata) > 0) {
				split(l, f, /[ \t]+/)
				fd[f[1] " " f[2]] = 1; fd[f[2] " " f[1]] = 1
			}
		}
		{
			match($0, /\[proto: [0-9.]*\/[^]]*\]/)
			p = substr($0, RSTART + 8, RLENGTH - 9); sub(/^[0-9.]*\//, "", p)
			cat = ""
			if (match($0, /\[cat: [^\/]*\//)) cat = substr($0, RSTART + 6, RLENGTH - 7)
			# bytes both ways: "[N pkts/B bytes <-> N pkts/B bytes]",
			# "->" when nothing came back
			if (!match($0, /[0-9]+ pkts\/[0-9]+ bytes <?-> [0-9]+ pkts\/[0-9]+ bytes/))
				next
			split(substr($0, RSTART, RLENGTH), w, /[ \/]/)
			b = w[3] + w[8]
			n = split(p, parts, ".")
			m = n > 1 ? parts[1] : ""; a = parts[n]
			if (m != "" && m in pm) c = pm[m]
			else if (a in pm) c = pm[a]
			else if (a != "Unknown" && cat in cm) c = cm[cat]
			else c = "generic"
			# "TCP a:p <-> b:q": the ports, as tshark gives them
			if (c == "generic" && match($0, /:[0-9]+ <-> [^ ]*:[0-9]+ /)) {
				split(substr($0, RSTART + 1, RLENGTH - 2), q, / <-> [^ ]*:/)
				if ((q[1] " " q[2]) in fd) c = "file-transfer"
			}
			by[c] += b; tot += b
		}
		END { for (c in by) printf "%s %.4f\n", c, by[c] / tot }' "$T/nd" | sort >"$T/nd_mix"
	jq -r '.classes | to_entries[] | "\(.key) \(.value.share)"' "$T/c.json" | sort >"$T/mix"
	worst=$(awk 'NR == FNR { a[$1] = $2; next } { b[$1] = $2 }
		END {
			for (c in a) { d = a[c] - b[c]; if (d < 0) d = -d; if (d > w) { w = d; wc = c } }
			for (c in b) { d = a[c] - b[c]; if (d < 0) d = -d; if (d > w) { w = d; wc = c } }
			printf "%.1f %s", w * 100, wc
		}' "$T/mix" "$T/nd_mix")
	if awk -v w="${worst% *}" 'BEGIN { exit !(w <= 5) }'; then
		ok "$name: class mix within 5 points of ndpiReader's (worst ${worst% *} points)"
	else
		not_ok "$name: class mix within 5 points of ndpiReader's" "worst ${worst% *} points (${worst#* }); dynamo: $(tr '\n' ' ' <"$T/mix"); ndpiReader: $(tr '\n' ' ' <"$T/nd_mix")"
	fi
done
done_testing
