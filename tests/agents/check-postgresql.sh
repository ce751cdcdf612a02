#!/bin/sh
# check-postgresql.sh PCAP - check a recording of the postgresql agent
# with tshark alone: it decodes as PGSQL without malformed packets or
# errors; every connection starts up (SSLRequest refused, StartupMessage,
# AuthenticationOk) and ends with Terminate; every Query and Sync gets
# one ReadyForQuery; and the users behave as
# data/behaviours/postgresql.model says: point reads, range scans,
# inserts and updates in the model's read/write ratio, writes only inside
# BEGIN ... COMMIT, named prepared statements reused, and no
# ErrorResponse but the 42703 the model's mistakes ask for.
. "$(dirname "$0")/../lib.sh"

PCAP=$1
T=$(mktemp -d)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT INT TERM
PORT=${PGSQL_PORT:-5432}

if [ ! -r "${PCAP:-}" ]; then
	not_ok "usage: check-postgresql.sh PCAP (readable)"
	done_testing
	exit 1
fi

# One line per message, in capture order: client port, direction (c to
# the server, s from it), type, statement name, query, SQLSTATE,
# authentication type, ReadyForQuery status.
tshark -r "$PCAP" -d "tcp.port==$PORT,pgsql" -Y pgsql -O pgsql 2>"$T/err" | awk -v port="$PORT" '
	function flush() {
		if (inmsg)
			print cli "\t" dir "\t" type "\t" stmt "\t" query "\t" code "\t" auth "\t" status
		inmsg = 0
	}
	/^Frame [0-9]+:/ { flush() }
	/^Transmission Control Protocol, Src Port: / {
		flush()
		split($0, a, /[:,] */)
		src = a[3] + 0; dst = a[5] + 0
		dir = dst == port ? "c" : "s"
		cli = dst == port ? src : dst
	}
	/^PostgreSQL$/ {
		flush()
		inmsg = 1; type = stmt = query = code = auth = status = ""
	}
	inmsg && /^    Type: / { type = substr($0, 11) }
	inmsg && /^    Statement: / { stmt = substr($0, 16) }
	inmsg && /^    Query: / { query = substr($0, 12) }
	inmsg && /^    Code: / { code = substr($0, 11) }
	inmsg && /^    Authentication type: / { t = $0; sub(/.*\(/, "", t); sub(/\).*/, "", t); auth = t }
	inmsg && /^    Status: / { status = substr($0, 13, 1) }
	END { flush() }
' >"$T/msgs"

nmsg=$(wc -l <"$T/msgs")
if [ "$nmsg" -gt 0 ]; then
	ok "decodes as PGSQL ($nmsg messages)"
else
	not_ok "decodes as PGSQL" "$(head -c 2000 "$T/err")"
fi

tshark -r "$PCAP" -d "tcp.port==$PORT,pgsql" -Y '_ws.malformed || _ws.expert.severity == "Error"' \
	>"$T/bad" 2>"$T/err"
if [ ! -s "$T/bad" ]; then
	ok "no malformed packets, no expert errors"
else
	not_ok "no malformed packets, no expert errors" "$(head -20 "$T/bad")"
fi

# Connections where the recording missed a segment (tshark drops some
# under a burst of large results) cannot be followed message by message:
# they are left out, and counted.
tshark -r "$PCAP" -Y 'tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment' \
	-T fields -e tcp.srcport -e tcp.dstport 2>/dev/null |
	awk -v port="$PORT" '{ print ($1 == port ? $2 : $1) }' | sort -u >"$T/lost"

# Each executed statement, from a simple Query or from Execute (its SQL
# found through Bind's statement name and that statement's Parse), is
# classed by its shape; the model's actions begin with one statement
# each: point_read (users by id), range_scan (posts), insert (INSERT
# INTO orders), update (SELECT ... FOR UPDATE on orders).
awk -F '\t' -v lostfile="$T/lost" '
	function kind(q) {
		if (q ~ /^BEGIN/) return "begin"
		if (q ~ /^COMMIT/) return "commit"
		if (q ~ /^ROLLBACK/) return "rollback"
		if (q ~ /^SELECT .* FROM users WHERE id = /) return "point"
		if (q ~ /^SELECT .* FROM posts /) return "scan"
		if (q ~ /^INSERT INTO orders /) return "insert"
		if (q ~ /^INSERT INTO posts /) return "post"
		if (q ~ /^SELECT .* FROM orders WHERE id = .* FOR UPDATE/) return "lock"
		if (q ~ /^UPDATE orders SET /) return "update"
		return "other"
	}
	function exec(c, q,   k) {
		k = kind(q)
		n[k]++
		if (q ~ /emial/) mistakes++
		if (k == "begin") { if (intx[c]) nested++; intx[c] = 1 }
		if (k == "commit" || k == "rollback") intx[c] = 0
		if ((k == "insert" || k == "post" || k == "lock" || k == "update") && !intx[c]) outside++
	}
	FILENAME == lostfile { lost[$1] = 1; next }
	$1 in lost { gone[$1] = 1; next }
	{
		c = $1
		conn[c] = 1
		if ($2 == "c") {
			if ($3 == "Startup message") startups[c]++
			if ($3 == "Simple query") { exec(c, $5); syncs[c]++ }
			if ($3 == "Sync") syncs[c]++
			if ($3 == "Parse") {
				sql[c, $4] = $5
				if ($4 != "") { parses_named++; named[c, $4] = 1 }
			}
			if ($3 == "Bind") {
				bound[c] = $4
				if ($4 != "" && named[c, $4]) binds_named++
			}
			if ($3 == "Execute") { exec(c, sql[c, bound[c]]); executes++ }
			if ($3 == "Termination") terms[c]++
		} else {
			if ($3 == "Authentication request" && $7 == "0") authok[c]++
			if ($3 == "Ready for query") ready[c]++
			if ($3 == "Error") { errs++; if ($6 == "42703") e42703++; else other_err = other_err " " $6 }
		}
	}
	END {
		for (c in gone)
			nlost++
		for (c in conn) {
			conns++
			if (startups[c] == 1 && authok[c] == 1) up++
			if (terms[c] == 1) ended++
			if (ready[c] != syncs[c] + (authok[c] ? 1 : 0)) unready++
			if (intx[c]) open_tx++
		}
		printf "conns %d started %d terminated %d lost %d\n", conns, up, ended, nlost
		printf "unready %d open_tx %d nested %d writes_outside %d\n", unready, open_tx, nested, outside
		printf "point %d scan %d insert %d post %d lock %d update %d begin %d commit %d rollback %d other %d\n", \
			n["point"], n["scan"], n["insert"], n["post"], n["lock"], n["update"], n["begin"], \
			n["commit"], n["rollback"], n["other"]
		printf "errors %d e42703 %d mistakes %d other_codes%s\n", errs, e42703, mistakes, other_err
		printf "executes %d parses_named %d binds_named %d\n", executes, parses_named, binds_named
	}
' "$T/lost" "$T/msgs" >"$T/counts"
sed 's/^/# /' "$T/counts"

# field N of the line starting with KEY
get() {
	awk -v k="$1" -v f="$2" '$1 == k { print $f + 0 }' "$T/counts"
}

conns=$(get conns 2)
if [ "$conns" -gt 0 ] && [ "$(get conns 4)" -eq "$conns" ]; then
	ok "every connection starts up and authenticates ($conns; $(get conns 8) left out for lost segments)"
else
	not_ok "every connection starts up and authenticates" "$(grep conns "$T/counts")"
fi
if [ "$conns" -gt 0 ] && [ "$(get conns 6)" -eq "$conns" ]; then
	ok "every connection ends with Terminate"
else
	not_ok "every connection ends with Terminate" "$(grep conns "$T/counts")"
fi
if [ "$(get unready 2)" -eq 0 ]; then
	ok "every Query and Sync gets one ReadyForQuery"
else
	not_ok "every Query and Sync gets one ReadyForQuery" "$(grep unready "$T/counts")"
fi

if [ "$(get unready 4)" -eq 0 ] && [ "$(get unready 6)" -eq 0 ] && [ "$(get unready 8)" -eq 0 ] &&
	[ "$(get point 16)" -eq "$(get point 14)" ] && [ "$(get point 14)" -gt 0 ]; then
	ok "writes only inside BEGIN ... COMMIT, every transaction closed ($(get point 14))"
else
	not_ok "writes only inside BEGIN ... COMMIT, every transaction closed" "$(grep -E 'unready|point' "$T/counts")"
fi

if [ "$(get point 20)" -eq 0 ]; then
	ok "every statement is one of the model's"
else
	not_ok "every statement is one of the model's" "$(grep point "$T/counts")"
fi

# Errors: only 42703, one for each misspelled query (mistake_share).
errs=$(get errors 2)
if [ "$errs" -eq "$(get errors 4)" ] && [ "$errs" -eq "$(get errors 6)" ]; then
	ok "no ErrorResponse but the model's mistakes (42703: $errs)"
else
	not_ok "no ErrorResponse but the model's mistakes" "$(grep errors "$T/counts")"
fi

# The mix: each action begins with one statement.  Writes (insert,
# update) are 14 % of the actions in the model; the count of writes must
# lie within 4 binomial standard deviations of that (at least 30
# actions, so the test has some power).
point=$(get point 2)
scan=$(get point 4)
ins=$(get point 6)
upd=$(get point 10)
actions=$((point + scan + ins + upd))
writes=$((ins + upd))
if [ "$actions" -ge 30 ] && [ "$scan" -gt 0 ] &&
	awk -v n="$actions" -v w="$writes" 'BEGIN { m = n * 0.14; sd = sqrt(m * 0.86);
		d = w - m; if (d < 0) d = -d; exit !(d <= 4 * sd + 1) }'; then
	ok "read/write: $((point + scan)) reads ($point point, $scan scans), $writes writes of $actions actions (model: 14 % writes)"
else
	not_ok "read/write ratio within tolerance" "$(grep point "$T/counts")"
fi

# Prepared statements: parsed once per connection, then bound again.
if [ "$(get executes 2)" -gt 0 ] && [ "$(get executes 6)" -gt "$(get executes 4)" ]; then
	ok "named statements are prepared once and reused ($(get executes 4) Parse, $(get executes 6) Bind)"
else
	not_ok "named statements are prepared once and reused" "$(grep executes "$T/counts")"
fi

done_testing
