#!/bin/bash
# completion.sh - the bash completion script offers what a user expects,
# with and without the bash-completion package (whose _filedir it uses
# when present).  usage: tests/cli/completion.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
. tests/lib.sh

mkdir -p "$T/d/sub dir" "$T/d/only"
touch "$T/d/a.dyn" "$T/d/c.dyn" "$T/d/b.txt" "$T/d/only/x.txt"

# complete WANT WORD...: completing the last word gives WANT ('|'-joined, sorted)
complete_is() {
	local want=$1 got
	shift
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	_dynamo
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd'|')
	if [[ $got == "$want" ]]; then
		ok "$mode: dynamo ${*:2} -> ${want:-nothing}"
	else
		not_ok "$mode: dynamo ${*:2}" "got '$got', want '$want'"
	fi
}

cases() {
	complete_is "check" dynamo ch
	complete_is "--json" dynamo plan --j
	complete_is "plan" dynamo help p
	complete_is "--help|--version|check|help|plan|version" dynamo ""
	complete_is "--help|--quiet|-h|-q" dynamo check -
	complete_is "--help|--json|-h" dynamo plan -
	complete_is "check" dynamo --help ch
	complete_is "" dynamo help check ""
	complete_is "examples/office.dyn|examples/seed.dyn" dynamo check examples/
	complete_is "examples/seed.dyn" dynamo check -- examples/s
	complete_is "" dynamo check -- --q
	complete_is "Makefile" dynamo check Makef
	complete_is "$T/d/a.dyn|$T/d/c.dyn|$T/d/only|$T/d/sub dir" dynamo check "$T/d/"
	complete_is "$T/d/b.txt" dynamo check "$T/d/b"
	complete_is "$T/d/only/x.txt" dynamo plan "$T/d/only/"
}

mode=plain
source completion/dynamo.bash
cases
if [[ -r /usr/share/bash-completion/bash_completion ]]; then
	mode=bash-completion
	source /usr/share/bash-completion/bash_completion
	source completion/dynamo.bash
	cases
fi
done_testing
