#!/bin/sh
# scan.sh - how fast dynamo catalog scan goes through a tree of
# repositories, against what a user would otherwise write for the same
# tree: a Python script with PyYAML's C loader (libyaml, as dynamo uses)
# that walks the tree, loads every compose file and lists its services,
# images and ports (no classification: less work than dynamo's).
#
# The tree is REPOS checkouts made from tests/data/projects: repository i
# holds sample i mod 40 as docker-compose.yml, with a README, a src/
# folder of a few files and a nested folder, as checkouts have.  Each
# tool reads the tree once first (page cache), then is timed RUNS times;
# the best wall time of each is printed, with dynamo's speed over the
# other's.
# usage: bench/scan.sh   (needs python3-yaml and /usr/bin/time)
#   REPOS=1000  RUNS=3  DYNAMO=./dynamo
set -eu
cd "$(dirname "$0")/.."
DYNAMO=${DYNAMO:-./dynamo}
case $DYNAMO in /*) ;; *) DYNAMO=$(pwd)/$DYNAMO ;; esac
REPOS=${REPOS:-1000}
RUNS=${RUNS:-3}
python3 -c 'import yaml; yaml.CSafeLoader' 2>/dev/null ||
	{ echo "scan: needs PyYAML with libyaml: apt-get install python3-yaml" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

set -- tests/data/projects/*.yml
n=$#
i=0
while [ $i -lt "$REPOS" ]; do
	k=$((i % n + 1))
	eval f=\${$k}
	d=$T/tree/repo$i
	mkdir -p "$d/src/lib" "$d/docs"
	cp "$f" "$d/docker-compose.yml"
	printf '# repo %d\n' $i >"$d/README.md"
	printf 'int main(void) { return 0; }\n' >"$d/src/main.c"
	printf 'def f():\n    return 1\n' >"$d/src/lib/util.py"
	printf 'x\n' >"$d/docs/index.md"
	i=$((i + 1))
done

cat >"$T/scan.py" <<'PY'
import os, sys, yaml
names = {"docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml",
         "docker-compose.override.yml", "docker-compose.override.yaml",
         "compose.override.yml", "compose.override.yaml"}
projects = services = 0
for root, dirs, files in os.walk(sys.argv[1]):
    dirs[:] = [d for d in dirs if not d.startswith(".") and d not in ("node_modules", "vendor")]
    found = [f for f in files if f in names]
    if found:
        projects += 1
    for f in found:
        with open(os.path.join(root, f), "rb") as fh:
            doc = yaml.load(fh, Loader=yaml.CSafeLoader)
        svcs = doc.get("services", doc) if isinstance(doc, dict) else {}
        for name, s in (svcs or {}).items():
            if isinstance(s, dict):
                services += 1
                print(name, s.get("image"), s.get("ports"))
print(projects, "projects,", services, "services", file=sys.stderr)
PY

best() { # CMD...: the best wall time of RUNS runs, in seconds
	b=
	r=0
	while [ $r -lt "$RUNS" ]; do
		/usr/bin/time -f %e -o "$T/t" "$@" >/dev/null 2>"$T/err" || { cat "$T/err" >&2; exit 1; }
		t=$(cat "$T/t")
		b=$(awk -v a="$b" -v t="$t" 'BEGIN { print (a == "" || t < a) ? t : a }')
		r=$((r + 1))
	done
	echo "$b"
}
"$DYNAMO" catalog scan "$T/tree" >/dev/null 2>&1 || true
python3 "$T/scan.py" "$T/tree" >/dev/null 2>&1
d=$(best "$DYNAMO" catalog scan --json "$T/tree")
"$DYNAMO" catalog scan --json "$T/tree" 2>"$T/derr" | python3 -c 'import json, sys
d = json.load(sys.stdin); print(len(d["projects"]), "projects,", d["errors"], "errors")' >"$T/dn"
p=$(best python3 "$T/scan.py" "$T/tree")
python3 "$T/scan.py" "$T/tree" 2>"$T/pn" >/dev/null
echo "tree: $REPOS repositories ($(find "$T/tree" -type f | wc -l) files), best of $RUNS"
echo "dynamo catalog scan --json: ${d} s  ($(cat "$T/dn"))"
echo "python3 + PyYAML (C loader): ${p} s  ($(cat "$T/pn"))"
awk -v d="$d" -v p="$p" 'BEGIN { if (d > 0) printf "dynamo is %.1fx as fast\n", p / d }'
