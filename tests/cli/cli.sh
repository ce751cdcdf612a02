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
fi

# --- run and agent: usage and refusals before any network is built -------
expect_exit 0 "run --help exits 0" "$DYNAMO" run --help
expect_grep "$T/out" "--record FILE" "run --help teaches --record"
expect_exit 2 "run without a spec is usage" "$DYNAMO" run
expect_exit 2 "run --duration takes a time" "$DYNAMO" run --duration soon examples/seed.dyn
expect_grep "$T/err" "not 'soon'" "the bad duration is quoted"
printf 'generate web traffic from h1 to h2 with 1 Mbps using source nosuch ;\n' >"$T/nosuch.dyn"
expect_exit 1 "run refuses a source that does not exist" "$DYNAMO" run "$T/nosuch.dyn"
expect_grep "$T/err" "no source is named 'nosuch' (sources: http, https," "and lists the sources"
printf 'generate web traffic from h1 to h2 with 1 Mbps using source mosquitto ;\n' >"$T/wrong.dyn"
expect_exit 1 "run refuses a source of another class" "$DYNAMO" run "$T/wrong.dyn"
expect_grep "$T/err" "source 'mosquitto' makes mqtt traffic, not web" "and says why"
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

done_testing
