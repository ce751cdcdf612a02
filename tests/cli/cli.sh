#!/bin/sh
# cli.sh - the dynamo command line as a user meets it: help, exit codes,
# diagnostics on stderr, and 'plan --json' read by an independent parser (jq).
# usage: tests/cli/cli.sh DYNAMO
set -u
DYNAMO=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. tests/lib.sh

# --- help and usage ---------------------------------------------------
expect_exit 0 "--help exits 0" "$DYNAMO" --help
expect_grep "$T/out" "usage: dynamo" "--help prints usage on stdout"
for c in check plan help version; do
	expect_grep "$T/out" "  $c " "--help lists $c"
done
expect_exit 0 "help check exits 0" "$DYNAMO" help check
cp "$T/out" "$T/help-check"
expect_exit 0 "check --help exits 0" "$DYNAMO" check --help
expect_same "$T/out" "$T/help-check" "check --help is 'help check'"
expect_grep "$T/out" "FILE:LINE:COL" "check's help shows the error format"
expect_exit 0 "plan -h exits 0" "$DYNAMO" plan -h
expect_grep "$T/out" "--json" "plan's help lists --json"
expect_exit 0 "--version exits 0" "$DYNAMO" --version
expect_grep "$T/out" "dynamo 0." "--version prints the version"
expect_exit 2 "no arguments is misuse" "$DYNAMO"
expect_grep "$T/err" "usage: dynamo" "misuse prints usage on stderr"
expect_exit 2 "an unknown command is misuse" "$DYNAMO" chekc x.dyn
expect_grep "$T/err" "did you mean 'check'?" "an unknown command gets a suggestion"
expect_exit 2 "an unknown option is misuse" "$DYNAMO" check --bogus x.dyn
expect_exit 2 "check without a file is misuse" "$DYNAMO" check
expect_exit 2 "plan with two files is misuse" "$DYNAMO" plan a.dyn b.dyn
expect_exit 2 "help of an unknown command is misuse" "$DYNAMO" help frobnicate

# --- check ----------------------------------------------------------------
expect_exit 0 "the seed spec is valid" "$DYNAMO" check examples/seed.dyn
expect_grep "$T/out" "examples/seed.dyn: ok: 2 statements" "check says what it found"
expect_exit 0 "the office spec is valid" "$DYNAMO" check examples/office.dyn
expect_exit 0 "check -q is quiet" "$DYNAMO" check -q examples/seed.dyn
if [ -s "$T/out" ]; then not_ok "check -q prints nothing" "$(cat "$T/out")"; else ok "check -q prints nothing"; fi
printf 'generate web traffic from a to b with 1 Mbps ;\n' >"$T/in.dyn"
expect_exit 0 "check reads standard input" sh -c "\"$DYNAMO\" check - <\"$T/in.dyn\""
expect_exit 1 "an unreadable file fails with 1" "$DYNAMO" check "$T/missing.dyn"
expect_grep "$T/err" "dynamo: cannot open $T/missing.dyn" "the unreadable file is named"
expect_exit 1 "a directory fails with 1" "$DYNAMO" check "$T"
head -c 17000000 /dev/zero | tr '\0' '#' >"$T/huge.dyn"
expect_exit 1 "a file over 16 MiB is refused" "$DYNAMO" check "$T/huge.dyn"
expect_grep "$T/err" "larger than 16 MiB" "the size limit is named"

# The acceptance case: a unit typo, an unknown class and a missing ';'.
cat >"$T/three.dyn" <<'DYN'
generate web traffic from h1 to h2 with 100 Mbsp ;
generate wbe traffic from h1 to h3 with 5 Mbps ;
generate dns traffic from h1 to h2 with 1 Mbps
generate mail traffic from h2 to h1 with 1 Mbps ;
DYN
expect_exit 2 "three errors exit 2" "$DYNAMO" check "$T/three.dyn"
cat >"$T/want" <<EOF
$T/three.dyn:1:45: error: unknown rate unit 'Mbsp'
    1 | generate web traffic from h1 to h2 with 100 Mbsp ;
      |                                             ^~~~
      = hint: did you mean 'Mbps'?
$T/three.dyn:2:10: error: unknown traffic class 'wbe'
    2 | generate wbe traffic from h1 to h3 with 5 Mbps ;
      |          ^~~
      = hint: did you mean 'web'?
$T/three.dyn:3:47: error: expected ';' after the generate statement
    3 | generate dns traffic from h1 to h2 with 1 Mbps
      |                                               ^
      = hint: each statement ends with ';'
dynamo: $T/three.dyn: 3 errors
EOF
expect_same "$T/err" "$T/want" "three errors with line:col, carets and hints"
if [ -s "$T/out" ]; then not_ok "errors go to stderr only"; else ok "errors go to stderr only"; fi
expect_exit 2 "one invalid file of two exits 2" "$DYNAMO" check examples/seed.dyn "$T/three.dyn"
expect_grep "$T/out" "examples/seed.dyn: ok" "the valid file is still reported"

# --- plan -----------------------------------------------------------------
expect_exit 0 "plan of the seed" "$DYNAMO" plan examples/seed.dyn
expect_grep "$T/out" "statement 2 (line 5): database traffic" "plan shows the statements"
expect_grep "$T/out" "route default via 10.0.0.1 dev eth0" "plan shows routes"
expect_exit 0 "plan --json of the seed" "$DYNAMO" plan --json examples/seed.dyn
cp "$T/out" "$T/seed.json"
jqok() { # DESC FILTER: the filter holds on the seed plan
	if jq -e "$2" "$T/seed.json" >/dev/null 2>&1; then ok "$1"; else not_ok "$1" "jq -e '$2' failed"; fi
}
jqok "plan --json is JSON" '.'
jqok "the planner chose sources for the web statement, served by h2" \
	'.statements[0].parts[0].sources | length >= 1 and all(.servers[0].host == "h2")'
jqok "each source says its instances, knobs and expected rate" \
	'[.statements[].parts[].sources[] | .instances >= 1 and .users >= 1 and .think_scale > 0 and .rate > 0] | all'
jqok "the sources' shares add up to the part" \
	'[.statements[].parts[] | ([.sources[].share] | add) > 0.999 and ([.sources[].share] | add) < 1.001] | all'
jqok "the database statement expects at least 5 flows" '.statements[1].parts[0].expected.flows >= 5'
jqok "the expected rates are the targets" \
	'.statements[0].parts[0].expected.rate == 100000000 and .statements[1].parts[0].expected.rate == 50000000'
jqok "hosts h1, h2, h3 are there" \
	'[.nodes[] | select(.kind == "host") | .name] | contains(["h1", "h2", "h3"])'
jqok "h1 is on the default LAN 10.0.0.0/24" \
	'(.nodes[] | select(.name == "h1") | .interfaces[0] | .subnet == "lan" and .prefix == 24) and
	 (.subnets[] | select(.name == "lan") | .cidr == "10.0.0.0/24")'
jqok "the external region is 198.18.0.0/15" \
	'.subnets[] | select(.external) | .cidr == "198.18.0.0/15"'
jqok "the external region lists its gateway and server" \
	'.external == {"subnet": "external", "cidr": "198.18.0.0/15", "gateways": ["gw"], "hosts": ["ext1"]}'
jqok "an external server holds a 198.18/15 address" \
	'[.nodes[] | select(.external) | .interfaces[0].address | startswith("198.18.")] | all and length == 1'
jqok "a gateway joins lan and external" \
	'.nodes[] | select(.kind == "router") | [.interfaces[].subnet] == ["lan", "external"]'
jqok "rates are 100000000 and 50000000 bits/s" '[.statements[].rate] == [100000000, 50000000]'
jqok "the flow bound is >= 5" '.statements[1].flows == {"op": ">=", "count": 5}'
jqok "the first statement has no flow bound" '.statements[0].flows == null'
jqok "defaults are applied" \
	'.statements[0] | .protocols == ["http", "https"] and .start == 0 and .duration == null and .label == "web"'
expect_exit 0 "plan --json of the office" "$DYNAMO" plan --json examples/office.dyn
if jq -e '.statements | length == 6' "$T/out" >/dev/null 2>&1; then ok "office plan is JSON with 6 statements"; else not_ok "office plan is JSON with 6 statements"; fi
if jq -e '[.statements[4].parts[].rate] == [120000000, 20000000, 10000000, 50000000]' "$T/out" >/dev/null 2>&1; then
	ok "the mix is split by its shares"
else
	not_ok "the mix is split by its shares" "$(jq -c '.statements[4].parts' "$T/out" 2>&1)"
fi
expect_exit 2 "plan of an invalid spec exits 2" "$DYNAMO" plan "$T/three.dyn"
expect_grep "$T/err" "3 errors" "plan prints the diagnostics"

# --- install ----------------------------------------------------------------
if [ -f docs/dynamo.1 ] && [ -f completion/dynamo.bash ]; then
	expect_exit 0 "make install into a staging directory" \
		make -s install DESTDIR="$T/stage" PREFIX=/usr
	for f in usr/bin/dynamo usr/share/man/man1/dynamo.1 usr/share/bash-completion/completions/dynamo \
		usr/share/dynamo/behaviours/web.model; do
		if [ -f "$T/stage/$f" ]; then ok "installed $f"; else not_ok "installed $f"; fi
	done
	# the catalog ships once the install target copies data/catalog
	if grep -q 'data/catalog' Makefile; then
		if [ -f "$T/stage/usr/share/dynamo/catalog/http.source" ]; then
			ok "installed usr/share/dynamo/catalog/http.source"
		else
			not_ok "installed usr/share/dynamo/catalog/http.source"
		fi
		expect_exit 0 "the installed dynamo lists the installed catalog" \
			"$T/stage/usr/bin/dynamo" catalog list
		expect_grep "$T/out" "nginx         program" "and finds nginx there"
	fi
fi

# --- run and agent: usage and refusals before any network is built -------
expect_exit 0 "run --help exits 0" "$DYNAMO" run --help
expect_grep "$T/out" "--record FILE" "run --help teaches --record"
expect_exit 2 "run without a spec is usage" "$DYNAMO" run
expect_exit 2 "run --duration takes a time" "$DYNAMO" run --duration soon examples/seed.dyn
expect_grep "$T/err" "not 'soon'" "the bad duration is quoted"
printf 'generate web traffic from h1 to h2 with 1 Mbps using source nosuch ;\n' >"$T/nosuch.dyn"
expect_exit 1 "run refuses a source that does not exist" "$DYNAMO" run "$T/nosuch.dyn"
expect_grep "$T/err" "no source is named 'nosuch' (sources: bitcoin, dns, dnsmasq," "and lists the sources"
printf 'generate web traffic from h1 to h2 with 1 Mbps using source mosquitto ;\n' >"$T/wrong.dyn"
expect_exit 1 "run refuses a source of another class" "$DYNAMO" run "$T/wrong.dyn"
expect_grep "$T/err" "source 'mosquitto' makes message-broker traffic (mqtt), not web" "and says why"
printf 'host a, b ;\ngenerate database traffic from a to b with 50 Mbps over redis using <= 2 flows ;\n' >"$T/few.dyn"
expect_exit 1 "run refuses fewer flows than the rate needs" "$DYNAMO" run "$T/few.dyn"
expect_grep "$T/err" "statement 1: 'using <= 2 flows' is too few for 50 Mbps of database traffic" "and says why"
expect_exit 1 "plan refuses it too" "$DYNAMO" plan "$T/few.dyn"
expect_grep "$T/err" "is too few for 50 Mbps" "with the same reason"
printf 'generate web traffic from h1 to h2 with 1 Mbs ;\n' >"$T/typo.dyn"
expect_exit 2 "run of an invalid spec is invalid input" "$DYNAMO" run "$T/typo.dyn"
mkdir -p "$T/models/behaviours"
printf 'start open_page\naction open_page\naction fly\nnext open_page fly 100%%\nnext fly end 100%%\n' \
	>"$T/models/behaviours/web.model"
printf 'generate web traffic from h1 to h2 with 1 Mbps over http ;\n' >"$T/web.dyn"
expect_exit 1 "run refuses a model with an action its agent cannot do" \
	"$DYNAMO" run --data "$T/models" "$T/web.dyn"
expect_grep "$T/err" "action 'fly' is not one this agent can do" "and names the action"
expect_exit 0 "agent --help exits 0" "$DYNAMO" agent --help
expect_exit 2 "agent needs a known protocol" "$DYNAMO" agent gopher serve
expect_exit 2 "agent client needs a server" "$DYNAMO" agent http client

# --- catalog ----------------------------------------------------------------
expect_exit 0 "catalog --help exits 0" "$DYNAMO" catalog --help
cp "$T/out" "$T/help-catalog"
expect_grep "$T/out" "DIR/NAME.source" "catalog's help says where the files are"
expect_grep "$T/out" "refuses a source that is not measured" "and what measured means"
expect_exit 0 "help catalog exits 0" "$DYNAMO" help catalog
expect_same "$T/out" "$T/help-catalog" "catalog --help is 'help catalog'"
expect_exit 0 "catalog list -h is the catalog's help" "$DYNAMO" catalog list -h
expect_same "$T/out" "$T/help-catalog" "catalog list -h is 'help catalog'"
expect_exit 0 "--help lists catalog" "$DYNAMO" --help
expect_grep "$T/out" "  catalog " "--help lists catalog"
expect_exit 2 "catalog without a command is misuse" "$DYNAMO" catalog
expect_grep "$T/err" "catalog needs a command (list, show, measure, scan)" "and says which"
expect_exit 2 "an unknown catalog command is misuse" "$DYNAMO" catalog frob
expect_grep "$T/err" "dynamo: unknown catalog command 'frob' (list, show, measure, scan)" "and names it"
expect_exit 2 "catalog list --kind takes a kind" "$DYNAMO" catalog list --kind robot
expect_grep "$T/err" "not 'robot'" "the bad kind is quoted"
expect_exit 2 "catalog list --class takes a class" "$DYNAMO" catalog list --class wbe
expect_exit 2 "catalog list takes no names" "$DYNAMO" catalog list http
expect_exit 2 "catalog list with an unknown option is misuse" "$DYNAMO" catalog list --bogus
expect_exit 2 "catalog show needs a name" "$DYNAMO" catalog show
expect_exit 2 "catalog show takes one name" "$DYNAMO" catalog show http https
expect_exit 2 "catalog show has no --kind" "$DYNAMO" catalog show --kind agent http

# the shipped catalog
expect_exit 0 "catalog list" "$DYNAMO" catalog list
expect_grep "$T/out" "NAME          KIND     CLASS           PROTOCOLS     RATE         FLOWS    MEASURED" \
	"catalog list has a header"
expect_grep "$T/out" "nginx         program  web             http,https  " "a program is a row"
if [ "$(wc -l <"$T/out")" -eq 22 ]; then
	ok "21 sources, one line each"
else
	not_ok "21 sources, one line each" "$(cat "$T/out")"
fi
(cd / && "$DYNAMO" catalog list) >"$T/out2" 2>&1
expect_same "$T/out" "$T/out2" "the catalog is found from any directory"
expect_exit 0 "catalog list --kind program" "$DYNAMO" catalog list --kind program
if [ "$(grep -c ' program ' "$T/out")" -eq 7 ] && ! grep -q ' agent ' "$T/out"; then
	ok "--kind program lists the 7 programs"
else
	not_ok "--kind program lists the 7 programs" "$(cat "$T/out")"
fi
expect_exit 0 "catalog list --class database" "$DYNAMO" catalog list --class database
if [ "$(grep -c ' database ' "$T/out")" -eq 4 ]; then
	ok "--class database lists 4"
else
	not_ok "--class database lists 4" "$(cat "$T/out")"
fi
expect_exit 0 "catalog list --json" "$DYNAMO" catalog list --json
cp "$T/out" "$T/catalog.json"
cjq() { # DESC FILTER: the filter holds on the catalog's JSON
	if jq -e "$2" "$T/catalog.json" >/dev/null 2>&1; then ok "$1"; else not_ok "$1" "jq -e '$2' failed"; fi
}
cjq "catalog list --json is a JSON array of 21" 'type == "array" and length == 21'
cjq "sorted by name" '[.[].name] == ([.[].name] | sort)'
cjq "every source has every field" \
	'all(.[]; has("name") and has("description") and has("class") and has("protocols") and
	 has("kind") and has("start") and has("available") and has("file") and has("knobs") and
	 has("rate") and has("rate_max") and has("packets") and has("flows") and has("flows_max") and
	 has("sessions") and has("measured") and has("measured_on") and has("measured_by") and
	 has("profile") and has("packet_size") and has("flow_size"))'
cjq "nginx is a web program for http and https" \
	'.[] | select(.name == "nginx") | .kind == "program" and .class == "web" and
	 .protocols == ["http", "https"] and .start == "nginx"'
cjq "agents start by their protocol" 'all(.[] | select(.kind == "agent"); .start == .name)'
cjq "the knobs are users and think-scale" \
	'all(.[]; .knobs == [{"name": "users", "default": 8, "min": 1, "max": 4096},
	 {"name": "think-scale", "default": 1, "min": 0.01, "max": 100}])'
cjq "unmeasured sources have no figures" \
	'all(.[] | select(.measured | not); .rate == null and .profile == null and .packet_size == null)'
expect_exit 0 "catalog show nginx" "$DYNAMO" catalog show nginx
expect_grep "$T/out" "nginx (program, web: http, https)" "show names the kind, class and protocols"
expect_grep "$T/out" "  start        program nginx" "show says how it starts"
expect_grep "$T/out" "  knob         think-scale  default 1      min 0.01   max 100" "show lists the knobs"
expect_exit 0 "catalog show --json nginx" "$DYNAMO" catalog show --json nginx
jq -S . "$T/out" >"$T/show.json" 2>&1
jq -S '.[] | select(.name == "nginx")' "$T/catalog.json" >"$T/list.json" 2>&1
expect_same "$T/show.json" "$T/list.json" "show --json is list --json's element"
expect_exit 1 "catalog show of an unknown source fails with 1" "$DYNAMO" catalog show nosuch
expect_grep "$T/err" "dynamo: no source named 'nosuch' in " "and says so"
expect_grep "$T/err" "(sources: bitcoin, dns, dnsmasq, ftp, generic, hls," "and lists the sources"

# another catalog: a measured entry, a bad one, none
mkdir -p "$T/cat" "$T/empty"
cat >"$T/cat/web1.source" <<'SRC'
# a measured source, by hand
name         web1
description  "a \"test\" source"
class        web
protocols    http,https
kind         agent
start        agent https
knob         users default 8 min 1 max 64
measured     "dynamo catalog measure web1" 2026-11-24
profile      users 8 think-scale 1 duration 20
rate         12345678
rate-max     987654321
packets      2345.6
flows        9.5
flows-max    14
sessions     3.25
packet-size  64:0.12 128:0.05 1500:0.83
flow-size    1024:0.1 1048576:0.8 inf:0.1
SRC
expect_exit 0 "catalog list --catalog DIR" "$DYNAMO" catalog list --catalog "$T/cat"
expect_grep "$T/out" "web1  agent    web    http,https  12.345 Mbps  9.5      2026-11-24" \
	"a measured source shows its rate, flows and date"
expect_exit 0 "catalog show --catalog DIR web1" "$DYNAMO" catalog show --catalog "$T/cat" web1
expect_grep "$T/out" "  rate         12.345 Mbps per instance, 987.654 Mbps with think-scale at its min" \
	"show gives the rates"
expect_grep "$T/out" "    <= 1500 B        83.0%  #################################" \
	"show draws the histogram"
expect_grep "$T/out" "    larger           10.0%  ####" "and its unbounded bucket"
expect_exit 0 "catalog show --json of a measured source" \
	"$DYNAMO" catalog show --json web1 --catalog "$T/cat"
if jq -e '.rate == 12345678 and .rate_max == 987654321 and .flows_max == 14 and
	.measured == true and .measured_on == "2026-11-24" and .description == "a \"test\" source" and
	.profile == {"users": 8, "think_scale": 1, "duration": 20} and
	.packet_size == [{"upper": 64, "fraction": 0.12}, {"upper": 128, "fraction": 0.05},
	                 {"upper": 1500, "fraction": 0.83}] and
	.flow_size[2] == {"upper": null, "fraction": 0.1}' "$T/out" >/dev/null 2>&1; then
	ok "show --json holds the profile (bits/s, bytes, fractions)"
else
	not_ok "show --json holds the profile (bits/s, bytes, fractions)" "$(cat "$T/out")"
fi
printf 'name bad\nclass web\nprotocols http,smtp\nkind agent\nstart agent http\n' >"$T/cat/bad.source"
expect_exit 2 "a bad catalog file is invalid input" "$DYNAMO" catalog list --catalog "$T/cat"
printf 'dynamo: %s\n' "$T/cat/bad.source:3: protocol 'smtp' is not of class web (web: http,https)" \
	>"$T/want"
expect_same "$T/err" "$T/want" "the bad file is named with its line"
if [ -s "$T/out" ]; then
	not_ok "nothing is listed from a bad catalog" "$(cat "$T/out")"
else
	ok "nothing is listed from a bad catalog"
fi
expect_exit 2 "show of a good source in a bad catalog is invalid input too" \
	"$DYNAMO" catalog show --catalog "$T/cat" web1
expect_exit 1 "a catalog that is not there fails with 1" "$DYNAMO" catalog list --catalog "$T/nothere"
expect_grep "$T/err" "$T/nothere: No such file or directory" "and says why"
expect_exit 0 "an empty catalog lists nothing" "$DYNAMO" catalog list --catalog "$T/empty"
expect_grep "$T/out" "no sources in $T/empty" "and says so"
expect_exit 0 "an empty catalog is [] in JSON" "$DYNAMO" catalog list --json --catalog "$T/empty"
if [ "$(jq -c . "$T/out" 2>&1)" = "[]" ]; then ok "empty JSON array"; else not_ok "empty JSON array" "$(cat "$T/out")"; fi
expect_exit 1 "show in an empty catalog fails with 1" "$DYNAMO" catalog show --catalog "$T/empty" http
expect_grep "$T/err" "(sources: none)" "and says there are none"

done_testing
