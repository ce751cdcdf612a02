#!/bin/sh
# docs.sh - every example in docs/language.md is checked.  A ```dyn block
# must pass 'dynamo check'; a ```dyn invalid block must fail with exit 2
# and print on stderr exactly the ```console block that follows it (each
# example is checked as a file named example.dyn).
# usage: tests/docs.sh DYNAMO
set -u
DYNAMO=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
cd "$(dirname "$0")/.." || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. tests/lib.sh
doc=docs/language.md

# Split the document: ex-N.dyn (+ ex-N.invalid) and ex-N.want, with the
# line each example starts on in ex-N.line.
awk -v dir="$T" '
	/^```dyn( invalid)?$/ {
		n++; file = sprintf("%s/ex-%03d", dir, n); inb = 1
		print NR > (file ".line")
		if ($2 == "invalid") { print "" > (file ".invalid"); want = file }
		next
	}
	/^```console$/ && want != "" { inw = 1; next }
	/^```$/ { if (inb) inb = 0; else if (inw) { inw = 0; want = "" }; next }
	inb { print > (file ".dyn") }
	inw { print > (want ".want") }
' "$doc"

count=0
for f in "$T"/ex-*.dyn; do
	[ -e "$f" ] || continue
	count=$((count + 1))
	base=${f%.dyn}
	line=$(cat "$base.line")
	cp "$f" "$T/example.dyn"
	(cd "$T" && "$DYNAMO" check example.dyn >out 2>err)
	rc=$?
	if [ -e "$base.invalid" ]; then
		if [ ! -e "$base.want" ]; then
			not_ok "$doc:$line: invalid example has a console block after it"
		elif [ "$rc" -eq 2 ] && cmp -s "$T/err" "$base.want"; then
			ok "$doc:$line: invalid example fails as documented"
		else
			not_ok "$doc:$line: invalid example fails as documented" \
				"exit $rc; diff documented actual:
$(diff "$base.want" "$T/err")"
		fi
	else
		if [ "$rc" -eq 0 ]; then
			ok "$doc:$line: example is valid"
		else
			not_ok "$doc:$line: example is valid" "exit $rc: $(cat "$T/err")"
		fi
	fi
done
if [ "$count" -lt 10 ]; then
	not_ok "$doc has examples" "found only $count"
fi
done_testing
