# lib.sh - TAP helpers for shell tests: source it, call ok/check/..., then done_testing.
n=0
failed=0

ok() { # DESC: pass
	n=$((n + 1))
	echo "ok $n - $1"
}

not_ok() { # DESC [DETAIL]: fail, with detail shown as comments
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	[ $# -gt 1 ] && printf '%s\n' "$2" | sed 's/^/# /'
	return 0
}

# expect_exit WANT DESC CMD...: run CMD, compare its exit status
expect_exit() {
	want=$1
	desc=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	if [ "$got" -eq "$want" ]; then
		ok "$desc"
	else
		not_ok "$desc" "exit $got, want $want
stdout: $(head -c 2000 "$T/out")
stderr: $(head -c 2000 "$T/err")"
	fi
}

# expect_grep FILE PATTERN DESC: FILE holds a line matching PATTERN (fixed string)
expect_grep() {
	if grep -qF -- "$2" "$1"; then
		ok "$3"
	else
		not_ok "$3" "no '$2' in:
$(head -c 2000 "$1")"
	fi
}

# expect_same A B DESC: the two files are equal
expect_same() {
	if cmp -s "$1" "$2"; then
		ok "$3"
	else
		not_ok "$3" "$(diff "$1" "$2" | head -40)"
	fi
}

done_testing() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
}

# need_netns: end the test, skipped, where network namespaces cannot be
# made (neither as root nor in a user namespace).
need_netns() {
	if ! unshare -n true 2>/dev/null && ! unshare -rn true 2>/dev/null; then
		echo "# no network namespaces here: skipped"
		done_testing
		exit 0
	fi
}
