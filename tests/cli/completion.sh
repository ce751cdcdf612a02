#!/bin/bash
# completion.sh - the bash completion script offers what a user expects,
# with and without the bash-completion package (whose _filedir it uses
# when present).  The completion of labs and nodes runs the ./dynamo of
# the repository (first on PATH) against labs of its own, in a run
# directory of its own, when it can make them (root, network namespaces).
# usage: tests/cli/completion.sh
set -u
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d)
DYN=$PWD/dynamo
labs=
cleanup() {
	if [[ -n $labs ]]; then
		DYNAMO_RUNDIR=$T/run1 "$DYN" down --all >/dev/null 2>&1
		DYNAMO_RUNDIR=$T/run2 "$DYN" down --all >/dev/null 2>&1
	fi
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM
. tests/lib.sh

# The completion runs 'dynamo' from PATH: this repository's, and only the
# labs of this test (none in run0).
mkdir -p "$T/bin" "$T/nobin" "$T/run0" "$T/run1" "$T/run2"
ln -s "$DYN" "$T/bin/dynamo"
export PATH=$T/bin:$PATH
export DYNAMO_RUNDIR=$T/run0

mkdir -p "$T/d/sub dir" "$T/d/only" "$T/cat"
printf 'name web1\nclass web\nprotocols http\nkind agent\nstart agent http\n' >"$T/cat/web1.source"
touch "$T/d/a.dyn" "$T/d/c.dyn" "$T/d/b.txt" "$T/d/only/x.txt"

# run_completion WORD...: complete the last word, silently, with PATH and
# DYNAMO_RUNDIR set from $cpath and $crun (default: as exported)
run_completion() {
	COMP_WORDS=("$@")
	COMP_CWORD=$(($# - 1))
	COMPREPLY=()
	PATH=${cpath:-$PATH} DYNAMO_RUNDIR=${crun:-$DYNAMO_RUNDIR} _dynamo 2>"$T/cerr"
}

# where: how the words are completed, for the test's name
where() {
	[[ -n ${cpath:-} ]] && printf ' (no dynamo on PATH)'
	[[ -n ${crun:-} ]] && printf ' (in %s)' "${crun##*/}"
}

# complete_is WANT WORD...: completing the last word gives WANT ('|'-joined,
# sorted) and prints nothing
complete_is() {
	local want=$1 got
	shift
	run_completion "$@"
	got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | paste -sd'|')
	if [[ $got == "$want" && ! -s $T/cerr ]]; then
		ok "$mode: dynamo ${*:2} -> ${want:-nothing}$(where)"
	else
		not_ok "$mode: dynamo ${*:2}$(where)" "got '$got', want '$want'
stderr: $(head -c 2000 "$T/cerr")"
	fi
}

# complete_has WANT WORD...: completing the last word offers WANT, silently
complete_has() {
	local want=$1
	shift
	run_completion "$@"
	if printf '%s\n' "${COMPREPLY[@]}" | grep -qxF -- "$want" && [[ ! -s $T/cerr ]]; then
		ok "$mode: dynamo ${*:2} offers $want$(where)"
	else
		not_ok "$mode: dynamo ${*:2} offers $want$(where)" \
			"got '${COMPREPLY[*]:0:20}'
stderr: $(head -c 2000 "$T/cerr")"
	fi
}

cases() {
	complete_is "check" dynamo ch
	complete_is "--json" dynamo plan --j
	complete_is "plan" dynamo help p
	complete_is "--help|--version|agent|catalog|check|clone|compare|down|exec|help|plan|run|status|up|version" dynamo ""
	complete_is "agent|catalog|check|clone|compare|down|exec|help|plan|run|status|up|version" dynamo help ""
	complete_is "up" dynamo u
	complete_is "run" dynamo ru
	# run: options, .dyn files; --record takes any file
	complete_is "--data|--duration|--help|--json|--labels|--open-loop|--quiet|--record|--report|--seed|--warmup|-h|-q" dynamo run -
	complete_is "examples/seed.dyn" dynamo run --duration 5s examples/s
	complete_is "" dynamo run --duration ""
	# agent: protocols, then serve or client, then options
	complete_is "http|https" dynamo agent htt
	complete_is "serve" dynamo agent http s
	complete_is "client" dynamo agent redis c
	complete_is "--users" dynamo agent http client h2 --us
	complete_is "exec" dynamo e
	complete_is "status" dynamo st
	complete_is "down" dynamo d
	complete_is "down" dynamo help d
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

	# clone: its options, and any file for the capture and outputs
	complete_is "--anonymize|--catalog|--help|--internal|--json|--output|--profile|-h|-o" dynamo clone -
	complete_has "$T/d/b.txt" dynamo clone "$T/d/b"
	complete_is "" dynamo clone --internal ""
	complete_is "--help|--html|--internal|--json|-h" dynamo compare -

	# catalog: a command, its options and their values, a source
	complete_is "catalog" dynamo cat
	complete_is "catalog" dynamo help ca
	complete_is "list|measure|scan|show" dynamo catalog ""
	complete_is "--all|--catalog|--help|--json|--map|--write|-h" dynamo catalog scan -
	complete_is "$T/d/a.dyn" dynamo catalog scan --json "$T/d/a"
	complete_is "show" dynamo catalog sh
	complete_is "" dynamo catalog -
	complete_is "--catalog|--class|--help|--json|--kind|-h" dynamo catalog list -
	complete_is "--catalog|--help|--json|-h" dynamo catalog show -
	complete_is "agent|program|project" dynamo catalog list --kind ""
	complete_is "agent" dynamo catalog list --kind = a
	complete_is "database" dynamo catalog list --json --class data
	complete_is "" dynamo catalog list ""
	complete_is "" dynamo catalog list --kind agent ""
	complete_is "nginx" dynamo catalog show ngi
	complete_is "redis|redis-server" dynamo catalog show --json red
	complete_is "" dynamo catalog show nginx ""
	complete_is "http|https" dynamo catalog measure htt
	complete_is "$T/d/only|$T/d/sub dir" dynamo catalog show --catalog "$T/d/"
	complete_is "web1" dynamo catalog show --catalog "$T/cat" w
	complete_is "web1" dynamo catalog show --catalog="$T/cat" ""
	complete_is "" dynamo catalog show --catalog "$T/nothere" ""
	cpath=$T/nobin complete_is "" dynamo catalog show ngi

	# up: options, .dyn files, no completion of option values
	complete_is "--help|--mirror|--name|--timeout|-h" dynamo up -
	complete_is "--name" dynamo up --na
	complete_is "examples/office.dyn|examples/seed.dyn" dynamo up examples/
	complete_is "examples/seed.dyn" dynamo up --name lab1 --timeout 5 examples/s
	complete_is "examples/seed.dyn" dynamo up -- examples/s
	complete_is "" dynamo up -- --n
	complete_is "" dynamo up --name ""
	complete_is "" dynamo up --timeout ""
	complete_is "" dynamo up --timeout = ""
	complete_is "$T/d/a.dyn|$T/d/c.dyn|$T/d/only|$T/d/sub dir" dynamo up "$T/d/"

	# exec: options; after the node, '--', a command, then files
	complete_is "--help|--lab|-h" dynamo exec -
	complete_is "--lab" dynamo exec --l
	complete_is "--" dynamo exec pc1 -
	complete_has "echo" dynamo exec pc1 ech
	complete_has "echo" dynamo exec pc1 -- ech
	complete_has "echo" dynamo exec --lab office pc1 -- ech
	complete_is "examples/office.dyn|examples/seed.dyn" dynamo exec pc1 -- ls examples/
	complete_is "examples/office.dyn|examples/seed.dyn" dynamo exec pc1 ls examples/
	complete_is "examples" dynamo exec pc1 -- ls --lab exa

	# status, down: options, at most one lab
	complete_is "--help|--json|-h" dynamo status -
	complete_is "--all|--help|-h" dynamo down -
	complete_is "" dynamo status office ""
	complete_is "" dynamo down office ""
	complete_is "" dynamo down --all ""

	# no lab up, no run directory, no dynamo: nothing, silently
	complete_is "" dynamo status ""
	complete_is "" dynamo down ""
	complete_is "" dynamo exec ""
	complete_is "" dynamo exec --lab ""
	complete_is "" dynamo exec --lab office pc
	crun=$T/missing complete_is "" dynamo status ""
	crun=$T/missing complete_is "" dynamo exec pc
	cpath=$T/nobin complete_is "" dynamo down ""
	cpath=$T/nobin complete_is "" dynamo exec --lab ""
	cpath=$T/nobin complete_is "" dynamo exec --lab office pc

	[[ -n $labs ]] && lab_cases
}

# With lab c1 up in run1, and labs c1 and c2 up in run2.
lab_cases() {
	local pc1s="pc1|pc10|pc11|pc12|pc13|pc14|pc15|pc16|pc17|pc18|pc19"
	crun=$T/run1 complete_is "$pc1s" dynamo exec --lab c1 pc1
	crun=$T/run1 complete_is "$pc1s" dynamo exec pc1
	crun=$T/run1 complete_is "$pc1s" dynamo exec -- pc1
	crun=$T/run1 complete_is "b1|b2" dynamo exec --lab=c1 b
	crun=$T/run1 complete_is "gw" dynamo exec --lab = c1 g
	crun=$T/run1 complete_is "c1" dynamo down ""
	crun=$T/run1 complete_is "c1" dynamo status --json ""
	crun=$T/run1 complete_is "c1" dynamo exec --lab ""
	crun=$T/run1 complete_is "" dynamo exec --lab nosuch pc
	crun=$T/run1 complete_is "--" dynamo exec --lab c1 pc1 -
	crun=$T/run1 complete_has "echo" dynamo exec --lab c1 pc1 -- ech
	crun=$T/run1 complete_is "examples" dynamo exec pc1 -- ls --lab exa
	crun=$T/run2 complete_is "c1|c2" dynamo down ""
	crun=$T/run2 complete_is "c1|c2" dynamo status c
	crun=$T/run2 complete_is "c1|c2" dynamo exec --lab ""
	crun=$T/run2 complete_is "c2" dynamo exec --lab = c2
	crun=$T/run2 complete_is "--lab=c1|--lab=c2" dynamo exec --lab=c
	crun=$T/run2 complete_is "web1" dynamo exec --lab c2 we
	crun=$T/run2 complete_is "" dynamo exec pc1
	cpath=$T/nobin crun=$T/run1 complete_is "" dynamo exec pc1
}

# Labs to complete, when this machine can make them.
if [[ $(id -u) == 0 && -x $DYN ]] && unshare -n true 2>/dev/null; then
	labs=1
	for lab in run1/c1 run2/c1 run2/c2; do
		if ! DYNAMO_RUNDIR=$T/${lab%/*} "$DYN" up --name "${lab#*/}" examples/office.dyn \
			>"$T/out" 2>&1; then
			not_ok "dynamo up --name ${lab#*/} examples/office.dyn (in ${lab%/*})" \
				"$(cat "$T/out")"
			labs=
		fi
	done
	if [[ -z $labs ]]; then
		DYNAMO_RUNDIR=$T/run1 "$DYN" down --all >/dev/null 2>&1
		DYNAMO_RUNDIR=$T/run2 "$DYN" down --all >/dev/null 2>&1
	fi
fi

mode=plain
source completion/dynamo.bash
cases
if [[ -r /usr/share/bash-completion/bash_completion ]]; then
	mode=bash-completion
	source /usr/share/bash-completion/bash_completion
	source completion/dynamo.bash
	cases
fi
if [[ -n $labs ]]; then
	for run in run1 run2; do
		expect_exit 0 "dynamo down --all (in $run)" env DYNAMO_RUNDIR="$T/$run" "$DYN" down --all
	done
	labs=
	crun=$T/run1 complete_is "" dynamo down ""
fi
done_testing
