#!/bin/sh
# check-redis.sh PCAP - check a recording of the redis agent with tshark
# alone: it decodes as RESP without malformed packets or errors, every
# command gets exactly one reply and none is an error, every connection
# ends with QUIT answered +OK, and the users behave as
# data/behaviours/redis.model says: cache-aside (each nil a GET or MGET
# returns is filled by a SET of that key), GET-heavy lookups, and a
# GET/SET ratio within tolerance.
. "$(dirname "$0")/../lib.sh"

PCAP=$1
T=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT INT TERM
PORT=${REDIS_PORT:-6379}

if [ ! -r "${PCAP:-}" ]; then
	not_ok "usage: check-redis.sh PCAP (readable)"
	done_testing
	exit 1
fi

# One line per RESP message, in capture order: client port, direction
# (c: to the server, s: from it), the top element ("Array: Length 3",
# "String: OK", "Bulk String: [NULL]", ...), then for arrays the first
# two members (command and key), the count of nil members, a letter per
# member (N nil, v other) and, for MGET, its keys joined by '|'.
# Values with line breaks print on several lines; only indented lines
# that name an element are read: top elements at 4 spaces, members at 8.
# Two quirks of the dissector with messages split over TCP segments: an
# array cut inside a member is shown partially (with an expert note) and
# again whole in the frame that ends it, so the partial one is dropped;
# an array cut between members shows its remaining members as top
# elements of the next frame, so those are added back to it.
tshark -r "$PCAP" -d "tcp.port==$PORT,resp" -Y resp -O resp 2>"$T/err" | awk -v port="$PORT" '
	function member(j, text,   v) {
		have[j]++
		v = text ~ /^Bulk String: / ? substr(text, 14) : ""
		if (have[j] == 1) name[j] = toupper(v)
		if (have[j] == 2) key[j] = v
		if (v == "[NULL]") nils[j]++
		flags[j] = flags[j] (v == "[NULL]" ? "N" : "v")
		if (have[j] >= 2 && name[j] == "MGET") rest[j] = rest[j] (have[j] > 2 ? "|" : "") v
	}
	/^Frame [0-9]+:/ { inresp = 0; cur = 0 }
	/^Transmission Control Protocol, Src Port: / {
		split($0, a, /[:,] */)
		src = a[3] + 0; dst = a[5] + 0
		dir = dst == port ? "c" : "s"
		cli = dst == port ? src : dst
	}
	/^REdis Serialization Protocol/ { inresp = 1; cur = 0 }
	inresp && /^    (Array|Bulk String|String|Error|Integer): / {
		j = last[cli, dir]
		if (j && !drop[j] && have[j] < want[j]) {
			member(j, substr($0, 5))
			cur = 0
			next
		}
		cur = ++rc
		rcli[cur] = cli; rdir[cur] = dir; top[cur] = substr($0, 5)
		want[cur] = top[cur] ~ /^Array: Length [0-9]+$/ ? substr(top[cur], 15) + 0 : 0
		prev[cur] = j
		last[cli, dir] = cur
		next
	}
	cur && /^        (Array|Bulk String|String|Error|Integer): / { member(cur, substr($0, 9)) }
	cur && /^ +\[Expert Info .*partially decoded/ {
		drop[cur] = 1
		last[rcli[cur], rdir[cur]] = prev[cur]
	}
	END {
		for (j = 1; j <= rc; j++)
			if (!drop[j])
				print rcli[j] "\t" rdir[j] "\t" top[j] "\t" name[j] "\t" key[j] "\t" \
					nils[j] + 0 "\t" flags[j] "\t" rest[j]
	}
' >"$T/msgs"

nmsg=$(wc -l <"$T/msgs")
if [ "$nmsg" -gt 0 ]; then
	ok "decodes as RESP ($nmsg messages)"
else
	not_ok "decodes as RESP" "$(head -c 2000 "$T/err")"
fi

tshark -r "$PCAP" -d "tcp.port==$PORT,resp" -Y '_ws.malformed || _ws.expert.severity == "Error"' \
	>"$T/bad" 2>"$T/err"
if [ ! -s "$T/bad" ]; then
	ok "no malformed packets, no expert errors"
else
	not_ok "no malformed packets, no expert errors" "$(head -20 "$T/bad")"
fi

# Connections where the recording missed a segment (tshark drops some
# under bursts of large values) cannot be followed message by message:
# they are left out, and counted.
tshark -r "$PCAP" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment' \
	-T fields -e tcp.srcport -e tcp.dstport 2>/dev/null |
	awk -v port="$PORT" '{ print ($1 == port ? $2 : $1) }' | sort -u >"$T/lost"

# Replies match commands in order, per connection.  A SET is a fill
# when a nil for its key is still owed on that connection; the other
# SETs and the DELs are the model's updates.  Each action of the model
# begins with its own command: GET lookup, MGET lookup_many, SET (not
# a fill) or DEL update, INCR counter, HGETALL session, LPUSH feed.
awk -F '\t' -v lostfile="$T/lost" '
	FILENAME == lostfile { lost[$1] = 1; next }
	$1 in lost { nlost[$1] = 1; next }
	{
		c = $1
		if ($2 == "c") {
			if ($3 !~ /^Array: Length [1-9]/) { badreq++; next }
			q[c, tail[c]++] = $4 SUBSEP $5 SUBSEP $8
			req++
			cmd[$4]++
			if ($4 == "SET") {
				if (owed[c, $5] > 0) { owed[c, $5]--; fills++ }
				else updates_set++
			}
			if ($4 == "DEL") updates_del++
			next
		}
		rep++
		if (head[c] + 0 == tail[c] + 0) { unasked++; next }
		split(q[c, head[c] + 0], r, SUBSEP)
		delete q[c, head[c]++]
		if ($3 ~ /^Error: /) errs++
		if (r[1] == "GET" && $3 == "Bulk String: [NULL]") { owed[c, r[2]]++; nils++ }
		if (r[1] == "MGET" && $3 ~ /^Array: Length/) {
			nk = split(r[3], keys, "|")
			for (i = 1; i <= nk; i++)
				if (substr($7, i, 1) == "N") { owed[c, keys[i]]++; mget_nils++ }
		}
		if (r[1] == "QUIT" && $3 == "String: OK") quit[c] = 1
		last[c] = r[1]
	}
	END {
		for (c in tail) {
			conns++
			if (head[c] + 0 != tail[c] + 0) unanswered += tail[c] - head[c]
			if (quit[c] && last[c] == "QUIT") quits++
		}
		actions = cmd["GET"] + cmd["MGET"] + updates_set + updates_del + cmd["INCR"] + \
			cmd["HGETALL"] + cmd["LPUSH"]
		for (c in nlost) lostn++
		printf "conns %d quits %d lost %d\n", conns, quits, lostn
		printf "requests %d replies %d unanswered %d unasked %d badreq %d errors %d\n", \
			req, rep, unanswered, unasked, badreq, errs
		printf "get %d mget %d set %d del %d incr %d hgetall %d lpush %d actions %d\n", \
			cmd["GET"], cmd["MGET"], cmd["SET"], cmd["DEL"], cmd["INCR"], cmd["HGETALL"], \
			cmd["LPUSH"], actions
		printf "misses %d mget_misses %d fills %d update_sets %d\n", nils, mget_nils, fills, updates_set
	}
' "$T/lost" "$T/msgs" >"$T/counts"
sed 's/^/# /' "$T/counts"

# field N of the line starting with KEY
get() {
	awk -v k="$1" -v f="$2" '$1 == k { print $f + 0 }' "$T/counts"
}

req=$(get requests 2)
if [ "$req" -gt 0 ] && [ "$(get requests 4)" -eq "$req" ] && [ "$(get requests 6)" -eq 0 ] &&
	[ "$(get requests 8)" -eq 0 ] && [ "$(get requests 10)" -eq 0 ]; then
	ok "every command gets one reply ($req)"
else
	not_ok "every command gets one reply" "$(grep requests "$T/counts")"
fi

if [ "$(get requests 12)" -eq 0 ]; then
	ok "no error replies"
else
	not_ok "no error replies" "$(grep requests "$T/counts")"
fi

conns=$(get conns 2)
if [ "$conns" -gt 0 ] && [ "$(get conns 4)" -eq "$conns" ]; then
	ok "every connection ends with QUIT answered +OK ($conns; $(get conns 6) left out for lost segments)"
else
	not_ok "every connection ends with QUIT answered +OK" "$(grep conns "$T/counts")"
fi

# Cache-aside: each nil from GET or MGET is filled by one SET.
misses=$(($(get misses 2) + $(get misses 4)))
fills=$(get misses 6)
if [ "$misses" -gt 0 ] && [ "$fills" -eq "$misses" ]; then
	ok "every cache miss is filled with SET ($misses)"
else
	not_ok "every cache miss is filled with SET" "misses $misses, fills $fills"
fi

# The model's mix: lookups (GET, MGET) are 70 % of the actions; allow
# 55..85 % (a few hundred actions in an 8 s run).
actions=$(get get 16)
lookups=$(($(get get 2) + $(get get 4)))
if [ "$actions" -ge 100 ] && [ $((lookups * 100)) -ge $((actions * 55)) ] &&
	[ $((lookups * 100)) -le $((actions * 85)) ]; then
	ok "GET-heavy: lookups are $((lookups * 100 / actions)) % of $actions actions (model: 70 %)"
else
	not_ok "GET-heavy: lookups are 70 % of the actions" "lookups $lookups of $actions"
fi

# GET/SET: beside the fills, SETs come from updates: 10 % of actions,
# 70 % of them SET (delete_share 30 %), against 60 % GETs: 0.117 SETs
# per GET; allow 0.03..0.30.
gets=$(get get 2)
usets=$(get misses 8)
if [ "$gets" -gt 0 ] && [ $((usets * 100)) -ge $((gets * 3)) ] && [ $((usets * 100)) -le $((gets * 30)) ]; then
	ok "GET/SET: $gets GETs, $usets update SETs + $fills fills (model: 0.117 update SETs per GET)"
else
	not_ok "GET/SET ratio within tolerance" "$gets GETs, $usets update SETs, $fills fills"
fi

done_testing
