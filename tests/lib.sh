# lib.sh - TAP helpers for shell tests: source it, call ok/check/..., then done_testing.
# The counters have names of their own: a test's "n=..." must not renumber its lines.
tap_n=0
tap_failed=0

ok() { # DESC: pass
	tap_n=$((tap_n + 1))
	echo "ok $tap_n - $1"
}

not_ok() { # DESC [DETAIL]: fail, with detail shown as comments
	tap_n=$((tap_n + 1))
	tap_failed=$((tap_failed + 1))
	echo "not ok $tap_n - $1"
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
	echo "1..$tap_n"
	[ "$tap_failed" -eq 0 ]
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

# need_tools TOOL...: each is installed, or a failing test says which
# (make check installs them) and the script ends there.
need_tools() {
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null; then
			not_ok "$tool is installed (make check installs it)"
			done_testing
			exit
		fi
	done
}

# no_malformed PCAP [TSHARK-ARG...]: tshark (with those arguments, such
# as -d to decode a port as something) finds no malformed packet and no
# expert error in it (one test).  Uses $T.
no_malformed() {
	_pcap=$1
	shift
	if ! tshark -r "$_pcap" "$@" -Y '_ws.malformed || _ws.expert.severity == "Error"' >"$T/bad" 2>"$T/err"; then
		not_ok "no malformed packets or expert errors" "tshark failed: $(head -5 "$T/err")"
	elif [ -s "$T/bad" ]; then
		not_ok "no malformed packets or expert errors" "$(head -20 "$T/bad")"
	else
		ok "no malformed packets or expert errors"
	fi
}

# model_with MODEL OUT LINE...: the behaviour model MODEL with each LINE
# ("param ring 300 ms", "action register think 200 ms") in place of the
# line that names the same param or action, or added at the end.
model_with() {
	src=$1 out=$2
	shift 2
	printf '%s\n' "$@" | awk '
		NR == FNR { k = $1 " " $2; want[k] = $0; order[++n] = k; next }
		($1 " " $2) in want { print want[$1 " " $2]; used[$1 " " $2] = 1; next }
		{ print }
		END { for (i = 1; i <= n; i++) if (!(order[i] in used)) print want[order[i]] }
	' - "$src" >"$out"
}

# labels_match PCAP CSV: the labels (dynamo run --labels) have one row
# per TCP or UDP conversation of the recording, with the packets and
# frame bytes each way that tshark counts; sets labels_rows, and
# labels_diff when they differ.  Uses $T.
labels_match() {
	tshark -r "$1" -Y 'tcp || udp' -T fields -e ip.proto -e ip.src \
		-e tcp.srcport -e udp.srcport -e ip.dst -e tcp.dstport -e udp.dstport \
		-e frame.len 2>/dev/null |
		awk -F'\t' '{ s = $2 ":" $3 $4; d = $5 ":" $6 $7
			k = s < d ? $1 "|" s "|" d : $1 "|" d "|" s; w = s < d ? 0 : 1
			n[k, w]++; b[k, w] += $8; keys[k] = 1 }
			END { for (k in keys) print k, n[k, 0] + 0, b[k, 0] + 0, n[k, 1] + 0, b[k, 1] + 0 }' |
		sort >"$T/conv.tshark"
	awk -F, 'NR > 1 && ($3 == "tcp" || $3 == "udp") {
			p = $3 == "tcp" ? 6 : 17; s = $4 ":" $5; d = $6 ":" $7
			if (s < d) print p "|" s "|" d, $8, $9, $10, $11
			else print p "|" d "|" s, $10, $11, $8, $9 }' "$2" |
		sort >"$T/conv.labels"
	labels_rows=$(wc -l <"$T/conv.labels")
	labels_diff=$(diff "$T/conv.tshark" "$T/conv.labels" | head -10)
	[ "$labels_rows" -gt 0 ] && [ -z "$labels_diff" ]
}
