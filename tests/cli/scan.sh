#!/bin/sh
# scan.sh - dynamo catalog scan on the real compose files of public
# repositories in tests/data/projects (MANIFEST.tsv: each one's
# repository, commit and the classes a person read off it), laid out as
# a folder of checkouts: every file parses, the classes found agree with
# the labels on at least 90 % of the (project, class) pairs that either
# names, the evidence points at the lines it names; then the ways a
# scan is given its paths (a compose file, a list of paths), override
# files, and the errors a bad file gets (FILE:LINE:COL).
# usage: tests/cli/scan.sh DYNAMO
set -u
DYNAMO=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "$0")/../.." || exit 1
. tests/lib.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
need_tools jq

P=tests/data/projects
mkdir "$T/repos"
n=0
for f in "$P"/*.yml; do
	b=$(basename "$f" .yml)
	mkdir "$T/repos/$b"
	cp "$f" "$T/repos/$b/docker-compose.yml"
	n=$((n + 1))
done

if "$DYNAMO" catalog scan --json "$T/repos" >"$T/scan.json" 2>"$T/err"; then
	ok "catalog scan of $n checkouts"
else
	not_ok "catalog scan of $n checkouts" "$(cat "$T/err")"
fi
got=$(jq '.projects | length' "$T/scan.json")
errs=$(jq '.errors' "$T/scan.json")
if [ "$got" = "$n" ] && [ "$errs" = 0 ]; then
	ok "every compose file parsed: $got projects, no errors"
else
	not_ok "every compose file parsed" "$got projects of $n, $errs errors: $(cat "$T/err")"
fi

# (project, class) pairs: found against labelled
jq -r '.projects[] | (.path | sub(".*/"; "")) as $p | .classes[] | "\($p)\t\(.class)"' \
	"$T/scan.json" | sort >"$T/found"
tail -n +2 "$P/MANIFEST.tsv" | awk -F'\t' '{ sub(/\.yml$/, "", $1); n = split($7, c, ",")
	for (i = 1; i <= n; i++) print $1 "\t" c[i] }' | sort >"$T/labels"
both=$(comm -12 "$T/found" "$T/labels" | wc -l)
only_found=$(comm -23 "$T/found" "$T/labels" | wc -l)
only_label=$(comm -13 "$T/found" "$T/labels" | wc -l)
if awk -v b="$both" -v f="$only_found" -v l="$only_label" 'BEGIN {
	a = b / (b + f + l); printf "%.3f", a > "/dev/stderr"; exit !(a >= 0.9) }' 2>"$T/agree"; then
	ok "classes agree with the labels on $(cat "$T/agree") of the pairs either names ($both both, $only_found found only, $only_label labelled only)"
else
	not_ok "classes agree with the labels on 90 % of the pairs" \
		"$(cat "$T/agree"): found only: $(comm -23 "$T/found" "$T/labels" | tr '\t\n' ' ;')
labelled only: $(comm -13 "$T/found" "$T/labels" | tr '\t\n' ' ;')"
fi

# The evidence is where it says: an image's line holds 'image', a
# port's its number.
bad=$(jq -r '.projects[].classes[].evidence[] | "\(.file)\t\(.line)\t\(.why)"' "$T/scan.json" |
	while IFS="$(printf '\t')" read -r file line why; do
		text=$(sed -n "${line}p" "$file")
		case $why in
		*": image "*) want=image ;;
		*": port "*) want=$(printf '%s' "$why" | sed 's/.*port \([0-9]*\).*/\1/') ;;
		*) want=$(printf '%s' "$why" | sed "s/.*'\(.*\)'/\1/") ;;
		esac
		printf '%s\n' "$text" | grep -qi -- "$want" || echo "$file:$line: '$want' in: $text"
	done)
if [ -z "$bad" ]; then
	ok "every evidence's FILE:LINE holds what it names"
else
	not_ok "every evidence's FILE:LINE holds what it names" "$(printf '%s\n' "$bad" | head -5)"
fi

drives() {
	jq -r --arg p "$1" '.projects[] | select(.path | endswith($p)) | .drives' "$T/scan.json"
}
if [ "$(drives 03__cherijs__bitcoind-lnd)" = true ] && [ "$(drives 27__locustio__locust)" = true ] &&
	[ "$(drives 51__fauria__docker-vsftpd)" = false ]; then
	ok "a blockchain node and a load generator make traffic on their own; an FTP server needs users"
else
	not_ok "drives" "bitcoind-lnd $(drives 03__cherijs__bitcoind-lnd), locust $(drives 27__locustio__locust), vsftpd $(drives 51__fauria__docker-vsftpd)"
fi

# A compose file given alone, a list of paths, an override file merged.
mkdir -p "$T/app"
cat >"$T/app/compose.yaml" <<'YAML'
x-db: &db
  image: postgres:16
  environment:
    POSTGRES_PASSWORD: secret
services:
  db:
    <<: *db
  web:
    build: ./site
    ports:
      - target: 80
        published: 8080
YAML
cat >"$T/app/compose.override.yaml" <<'YAML'
services:
  broker:
    image: "${BROKER_IMAGE:-eclipse-mosquitto:2}"
    ports: ["1883:1883"]
YAML
printf "# projects\n%s\n\n%s  # the one file\n" "$T/app" "$PWD/$P/51__fauria__docker-vsftpd.yml" >"$T/list"
if "$DYNAMO" catalog scan --json "$T/list" >"$T/l.json" 2>"$T/err" &&
	[ "$(jq -r '[.projects[] | .classes | map(.class) | join(",")] | join(" ")' "$T/l.json")" = \
		"web,database,message-broker file-transfer" ] &&
	[ "$(jq -r '.projects[0].files | length' "$T/l.json")" = 2 ]; then
	ok "a list of a folder (compose.yaml and its override, an anchor merged) and a file"
else
	not_ok "a list of a folder and a file" "$(cat "$T/l.json" "$T/err")"
fi
"$DYNAMO" catalog scan "$T/app" >"$T/text" 2>&1
if grep -q "^  database  .*compose.yaml:[0-9]* service db: image postgres:16" "$T/text" &&
	grep -q "needs dynamo's users" "$T/text"; then
	ok "text: each class with its evidence, and who drives it"
else
	not_ok "text output" "$(cat "$T/text")"
fi

# The modules a project's code imports, where it imports them; a load
# generator's makes it drive itself.
mkdir -p "$T/coded/api" "$T/coded/load" "$T/coded/node_modules/x"
printf 'services:\n  api:\n    build: ./api\n' >"$T/coded/docker-compose.yml"
printf '"""the API"""\nimport os\nfrom flask import Flask\nimport psycopg2\n' >"$T/coded/api/app.py"
printf 'from locust import HttpUser, task\n' >"$T/coded/load/locustfile.py"
printf "const mqtt = require('mqtt');\n" >"$T/coded/node_modules/x/index.js"
"$DYNAMO" catalog scan --json "$T/coded" >"$T/c.json" 2>"$T/err"
got=$(jq -r '.projects[0] | [.classes[] | "\(.class):\(.evidence | map("\(.file | sub(".*/coded/"; "")):\(.line)") | join("+"))"] | join(" ")' "$T/c.json")
if [ "$got" = "web:docker-compose.yml:2+api/app.py:3+load/locustfile.py:1 database:api/app.py:4" ] &&
	[ "$(jq -r '.projects[0].drives' "$T/c.json")" = true ]; then
	ok "imports in the code, with their lines (node_modules left out): $got"
else
	not_ok "imports in the code" "$got: $(jq -c '.projects[0] | {classes, drives_why}' "$T/c.json")"
fi

# Dockerfiles: a compose service built from one takes its image from
# it; a folder with a Dockerfile alone is a project; the folder a service
# is built from is not a project of its own.
mkdir -p "$T/dk/shop/api" "$T/dk/tool"
printf 'services:\n  api:\n    build: ./api\n' >"$T/dk/shop/docker-compose.yml"
printf 'FROM node:20 AS build\nRUN npm ci\nFROM nginx:1.25-alpine\nEXPOSE 80\n' >"$T/dk/shop/api/Dockerfile"
printf 'FROM debian:12\nEXPOSE 5432/tcp \\\n  6379\n' >"$T/dk/tool/Dockerfile"
"$DYNAMO" catalog scan --json "$T/dk" >"$T/d.json" 2>"$T/err"
got=$(jq -r '[.projects[] | "\(.path | sub(".*/dk/"; "")):" + ([.classes[] | "\(.class)@\(.evidence[0].file | sub(".*/dk/"; "")):\(.evidence[0].line)"] | join(","))] | join(" ")' "$T/d.json")
if [ "$got" = "shop:web@shop/api/Dockerfile:3 tool:database@tool/Dockerfile:2" ]; then
	ok "Dockerfiles: a built service's base image, a project of its own: $got"
else
	not_ok "Dockerfiles" "$got: $(cat "$T/err")"
fi

# Kubernetes manifests (a folder of them, other YAML left alone) and
# Procfiles are projects too.
mkdir -p "$T/k8/shop/k8s" "$T/k8/paas"
printf 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: db}\nspec:\n  template:\n    spec:\n      containers:\n        - name: pg\n          image: postgres:16\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: load}\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers: [{name: k6, image: grafana/k6}]\n' \
	>"$T/k8/shop/k8s/all.yaml"
printf 'name: ci\non: push\n' >"$T/k8/shop/k8s/workflow.yml"
printf 'web: gunicorn app:app\nworker: celery -A app worker\n' >"$T/k8/paas/Procfile"
"$DYNAMO" catalog scan --json "$T/k8" >"$T/k.json" 2>"$T/err"
got=$(jq -r '[.projects[] | "\(.path | sub(".*/k8/"; "")):" + ([.classes[] | "\(.class)@\(.evidence[0].file | sub(".*/k8/"; "")):\(.evidence[0].line)"] | join(",")) + ":\(.drives)"] | join(" ")' "$T/k.json")
if [ "$got" = "paas:web@paas/Procfile:1:false shop/k8s:web@shop/k8s/all.yaml:19,database@shop/k8s/all.yaml:9:true" ] &&
	[ "$(jq .files "$T/k.json")" = 2 ]; then
	ok "Kubernetes manifests and Procfiles: $got"
else
	not_ok "Kubernetes manifests and Procfiles" "$got: $(cat "$T/err")"
fi

# Provenance from the checkout's .git, as git itself gives it: origin's
# URL, HEAD's commit (a branch's loose ref, then packed, then detached),
# the project's folder inside.
if command -v git >/dev/null; then
	mkdir -p "$T/git/shop/deploy"
	cp "$P/07__psaghelyi__web_test.yml" "$T/git/shop/deploy/docker-compose.yml"
	g() { git -C "$T/git/shop" -c user.email=t@example.org -c user.name=t "$@"; }
	g init -q && g remote add origin https://example.org/acme/shop.git && g add . &&
		g commit -qm one
	for how in loose packed detached; do
		[ $how = packed ] && g pack-refs --all
		[ $how = detached ] && g checkout -q --detach
		want="https://example.org/acme/shop.git $(g rev-parse HEAD) deploy"
		got=$("$DYNAMO" catalog scan --json "$T/git" 2>/dev/null |
			jq -r '.projects[0] | "\(.repository) \(.commit) \(.subdir)"')
		if [ "$got" = "$want" ]; then
			ok "provenance, $how HEAD: $got"
		else
			not_ok "provenance, $how HEAD" "got '$got', want '$want'"
		fi
	done
	# --write: the checkout as a catalog entry of kind project, with
	# its provenance, that 'catalog list' and 'show' read back
	mkdir "$T/cat"
	if "$DYNAMO" catalog scan --write --catalog "$T/cat" "$T/git" >"$T/w.out" 2>"$T/err" &&
		"$DYNAMO" catalog show --json --catalog "$T/cat" shop-deploy >"$T/w.json" 2>>"$T/err" &&
		[ "$(jq -r '"\(.kind) \(.class) \(.repository) \(.commit) \(.subdir) \(.start)"' "$T/w.json")" = \
			"project web https://example.org/acme/shop.git $(g rev-parse HEAD) deploy $(cd "$T/git/shop/deploy" && pwd -P)" ] &&
		"$DYNAMO" catalog list --catalog "$T/cat" --kind project | grep -q "^shop-deploy  *project  *web"; then
		ok "--write: an entry of kind project with its provenance: $(jq -c '{name, class, protocols, driver, subdir}' "$T/w.json")"
	else
		not_ok "--write: an entry of kind project" "$(cat "$T/w.out" "$T/err" "$T/cat"/* 2>&1)"
	fi
	if "$DYNAMO" catalog scan --write --catalog "$T/cat" "$T/git" >"$T/w.out" 2>"$T/err" &&
		grep -q "kept .*shop-deploy.source (already there)" "$T/w.out" && [ "$(ls "$T/cat" | wc -l)" = 1 ]; then
		ok "--write again: the entry is kept, not written twice"
	else
		not_ok "--write again keeps the entry" "$(ls "$T/cat"; cat "$T/w.out" "$T/err")"
	fi
	if [ "$(jq -r '.projects[0].commit' "$T/scan.json")" = null ]; then
		ok "no provenance outside a checkout"
	else
		not_ok "no provenance outside a checkout" "$(jq -c '.projects[0]' "$T/scan.json")"
	fi
else
	ok "provenance # skip git is not installed"
fi

# Bad files: named with their place, and the scan goes on.
mkdir -p "$T/bad/a" "$T/bad/b" "$T/bad/c"
printf 'services:\n  web:\n    image: nginx\n    ports: [80\n' >"$T/bad/a/docker-compose.yml"
printf -- '- just\n- a list\n' >"$T/bad/b/docker-compose.yml"
printf 'services:\n  web:\n    image: nginx\n' >"$T/bad/c/docker-compose.yml"
"$DYNAMO" catalog scan --json "$T/bad" >"$T/b.json" 2>"$T/err"
st=$?
if [ $st = 0 ] && grep -q "bad/a/docker-compose.yml:[0-9]*:[0-9]*: not YAML" "$T/err" &&
	grep -q "bad/b/docker-compose.yml:1: not a compose file" "$T/err" &&
	[ "$(jq '.errors' "$T/b.json")" = 2 ] && [ "$(jq '.projects | length' "$T/b.json")" = 1 ]; then
	ok "bad files are named with their line and the scan goes on"
else
	not_ok "bad files" "exit $st: $(cat "$T/err")"
fi
# --write names: a folder of the same name elsewhere gets NAME-2, and
# a project whose load generator drives it is written so
mkdir -p "$T/w1/api" "$T/w2/api" "$T/wcat"
printf 'services:\n  db:\n    image: postgres:16\n' >"$T/w1/api/compose.yaml"
printf 'services:\n  web:\n    image: nginx\n  loadgen:\n    image: busybox\n    command: wrk -c 4 http://web/\n' \
	>"$T/w2/api/compose.yaml"
if "$DYNAMO" catalog scan --write --catalog "$T/wcat" "$T/w1" "$T/w2" >"$T/w.out" 2>"$T/err" &&
	[ "$(ls "$T/wcat" | tr '\n' ' ')" = "api-2.source api.source " ] &&
	grep -q '^class  *database' "$T/wcat/api.source" && grep -q '^protocols  *postgresql' "$T/wcat/api.source" &&
	grep -q '^driver  *users' "$T/wcat/api.source" &&
	grep -q '^class  *web' "$T/wcat/api-2.source" && grep -q '^driver  *project' "$T/wcat/api-2.source"; then
	ok "--write: a second 'api' is api-2; a database needs users, a web app with its load generator drives itself"
else
	not_ok "--write names and drivers" "$(cat "$T/err"; head -20 "$T/wcat"/*)"
fi
expect_exit 2 "--catalog without --write: usage, exit 2" "$DYNAMO" catalog scan --catalog "$T/wcat" "$T/w1"
printf 'name broken\n' >"$T/wcat/broken.source"
"$DYNAMO" catalog scan --write --catalog "$T/wcat" "$T/w1" >/dev/null 2>"$T/err"
if [ $? = 2 ] && grep -q "broken.source:1: " "$T/err"; then
	ok "--write into a catalog with a bad entry: its FILE:LINE, exit 2, nothing scanned"
else
	not_ok "--write into a bad catalog" "$(cat "$T/err")"
fi
expect_exit 1 "nothing to scan but an error: exit 1" "$DYNAMO" catalog scan "$T/none"
expect_exit 2 "no PATH: usage, exit 2" "$DYNAMO" catalog scan
printf 'image nginx webb\n' >"$T/bad.map"
"$DYNAMO" catalog scan --map "$T/bad.map" "$T/app" >/dev/null 2>"$T/err"
if [ $? = 2 ] && grep -q "bad.map:1: unknown class 'webb'" "$T/err"; then
	ok "a bad map: FILE:LINE and exit 2"
else
	not_ok "a bad map" "$(cat "$T/err")"
fi
done_testing
