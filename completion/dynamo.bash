# bash completion for dynamo(1)                              -*- shell-script -*-
# Works with or without the bash-completion package.

# Complete file names: *.dyn files and directories when a .dyn file
# matches, any file otherwise.
_dynamo_files()
{
    local cur=$1 f dyn= IFS=$'\n'
    for f in $(compgen -f -- "$cur"); do
        [[ $f == *.dyn && ! -d $f ]] && dyn=1 && break
    done
    if declare -F _filedir >/dev/null; then
        _filedir ${dyn:+dyn}
        return
    fi
    COMPREPLY=()
    for f in $(compgen -f -- "$cur"); do
        [[ -z $dyn || -d $f || $f == *.dyn ]] && COMPREPLY+=("$f")
    done
    compopt -o filenames 2>/dev/null
}

# Complete any file name.
_dynamo_anyfiles()
{
    local cur=$1 IFS=$'\n'
    if declare -F _filedir >/dev/null; then
        _filedir
        return
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
    compopt -o filenames 2>/dev/null
}

# Complete command names.
_dynamo_commands()
{
    local IFS=$'\n'
    COMPREPLY=($(compgen -c -- "$1" | sort -u))
}

# _dynamo_run ARG...: run dynamo quietly; fails when it is not installed.
# The command being completed is used when it is a path ('./dynamo').
_dynamo_run()
{
    local d=dynamo
    [[ ${COMP_WORDS[0]} == */* && -x ${COMP_WORDS[0]} && ! -d ${COMP_WORDS[0]} ]] &&
        d=${COMP_WORDS[0]}
    command -v "$d" >/dev/null 2>&1 || return 1
    "$d" "$@" </dev/null 2>/dev/null
}

# The labs up, one a line: the first column of 'dynamo status' under its
# header "LAB  PID ...".
_dynamo_labs()
{
    local first rest hdr=
    while read -r first rest; do
        if [[ -z $hdr ]]; then
            [[ $first == LAB && $rest == PID* ]] && hdr=1
            continue
        fi
        [[ -z $first ]] && break
        printf '%s\n' "$first"
    done < <(_dynamo_run status)
}

# _dynamo_nodes [LAB]: the nodes of LAB (default: the only lab up), one a
# line: the first column of 'dynamo status LAB' under "  NODE  KIND ...".
_dynamo_nodes()
{
    local lab=$1 first rest hdr= labs
    if [[ -z $lab ]]; then
        labs=($(_dynamo_labs))
        ((${#labs[@]} == 1)) || return 0
        lab=${labs[0]}
    fi
    while read -r first rest; do
        if [[ -z $hdr ]]; then
            [[ $first == NODE && $rest == KIND* ]] && hdr=1
            continue
        fi
        [[ -z $first ]] && break
        printf '%s\n' "$first"
    done < <(_dynamo_run status -- "$lab")
}

# The sources of the catalog, one a line: the first column of 'dynamo
# catalog list [--catalog DIR]' under its header "NAME  KIND ...".
_dynamo_sources()
{
    local first rest hdr=
    while read -r first rest; do
        if [[ -z $hdr ]]; then
            [[ $first == NAME && $rest == KIND* ]] && hdr=1
            continue
        fi
        [[ -z $first ]] && break
        printf '%s\n' "$first"
    done < <(_dynamo_run catalog list ${1:+--catalog "$1"})
}

# Complete the words after 'catalog' (at index $1):
# list|show|measure|scan, then the options of each and, for show and
# measure, a source; for scan, paths.
_dynamo_catalog()
{
    local i=$1 cur=${COMP_WORDS[COMP_CWORD]} prev j sub= dir= names=0 opts
    for ((j = i + 1; j < COMP_CWORD; j++)); do
        case ${COMP_WORDS[j]} in
        --catalog)
            ((j + 1 < COMP_CWORD)) && [[ ${COMP_WORDS[j + 1]} == = ]] && j=$((j + 1))
            j=$((j + 1))
            dir=${COMP_WORDS[j]}
            ;;
        --catalog=*) dir=${COMP_WORDS[j]#--catalog=} ;;
        --kind|--class)
            ((j + 1 < COMP_CWORD)) && [[ ${COMP_WORDS[j + 1]} == = ]] && j=$((j + 1))
            j=$((j + 1))
            ;;
        -*) ;;
        *)
            if [[ -z $sub ]]; then
                sub=${COMP_WORDS[j]}
            else
                names=$((names + 1))
            fi
            ;;
        esac
    done
    dir=${dir//[\'\"\\]/}
    if [[ -z $sub ]]; then
        [[ $cur != -* ]] && COMPREPLY=($(compgen -W "list show measure scan" -- "$cur"))
        return
    fi
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    [[ $prev == = ]] && prev=${COMP_WORDS[COMP_CWORD - 2]}
    case $prev in
    --kind)
        [[ $sub == list ]] && COMPREPLY=($(compgen -W "agent program project" -- "$cur"))
        return
        ;;
    --class)
        [[ $sub == list ]] && COMPREPLY=($(compgen -W "web mail dns file-transfer database
            message-broker crypto remote-access realtime streaming generic" -- "$cur"))
        return
        ;;
    --catalog)
        local IFS=$'\n'
        COMPREPLY=($(compgen -d -- "$cur"))
        compopt -o filenames 2>/dev/null
        return
        ;;
    --map)
        local IFS=$'\n'
        COMPREPLY=($(compgen -f -- "$cur"))
        compopt -o filenames 2>/dev/null
        return
        ;;
    esac
    case $sub in
    list) opts="--kind --class --catalog --json -h --help" ;;
    show) opts="--catalog --json -h --help" ;;
    measure) opts="--duration --catalog --data --dry-run -h --help" ;;
    scan) opts="--json --all --map --write --catalog -h --help" ;;
    *) return ;;
    esac
    if [[ $cur == -* ]]; then
        [[ -n $opts ]] && COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    elif [[ $sub == scan ]]; then
        local IFS=$'\n'
        COMPREPLY=($(compgen -f -- "$cur"))
        compopt -o filenames 2>/dev/null
    elif [[ $sub != list ]] && ((names == 0)); then
        COMPREPLY=($(compgen -W "$(_dynamo_sources "$dir")" -- "$cur"))
    fi
}

# Complete the words after 'exec' (at index $1):
# [--lab LAB] NODE [--] [COMMAND [ARG...]]
_dynamo_exec()
{
    local i=$1 cur=${COMP_WORDS[COMP_CWORD]} w lab= node=
    local j=$((i + 1))

    # The options, then the node.
    while ((j < COMP_CWORD)); do
        w=${COMP_WORDS[j]}
        case $w in
        --lab)
            # '--lab LAB', or '--lab' '=' 'LAB' when '=' breaks words
            ((j + 1 < COMP_CWORD)) && [[ ${COMP_WORDS[j + 1]} == = ]] && j=$((j + 1))
            j=$((j + 1))
            if ((j == COMP_CWORD)); then
                COMPREPLY=($(compgen -W "$(_dynamo_labs)" -- "$cur"))
                return
            fi
            lab=${COMP_WORDS[j]}
            ;;
        --lab=*)
            lab=${w#--lab=}
            ;;
        --)
            j=$((j + 1))
            node=--
            break
            ;;
        -*) ;;
        *)
            node=$w
            break
            ;;
        esac
        j=$((j + 1))
    done
    lab=${lab//[\'\"\\]/}

    if [[ $node == -- ]]; then
        # 'exec -- NODE': the word after '--' is the node
        if ((j == COMP_CWORD)); then
            COMPREPLY=($(compgen -W "$(_dynamo_nodes "$lab")" -- "$cur"))
            return
        fi
        node=${COMP_WORDS[j]}
    elif [[ -z $node ]]; then
        if [[ $cur == --lab=* ]]; then
            COMPREPLY=($(compgen -P --lab= -W "$(_dynamo_labs)" -- "${cur#--lab=}"))
        elif [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--lab -h --help" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_dynamo_nodes "$lab")" -- "$cur"))
        fi
        return
    fi

    # After the node: an optional '--', then a command and its arguments.
    j=$((j + 1))
    if ((j == COMP_CWORD)) && [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "--" -- "$cur"))
        return
    fi
    ((j < COMP_CWORD)) && [[ ${COMP_WORDS[j]} == -- ]] && j=$((j + 1))
    if ((j == COMP_CWORD)); then
        _dynamo_commands "$cur"
    else
        _dynamo_anyfiles "$cur"
    fi
}

_dynamo()
{
    local cur=${COMP_WORDS[COMP_CWORD]}
    local commands="check plan run clone compare up exec agent catalog status down help version"
    local cmd= i j opts

    COMPREPLY=()
    # The command is the first word after the global options.
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} != -* ]]; then
            cmd=${COMP_WORDS[i]}
            break
        fi
    done

    case $cmd in
    '')
        COMPREPLY=($(compgen -W "$commands --help --version" -- "$cur"))
        ;;
    check|plan|up|run)
        case $cmd in
        check) opts="-q --quiet -h --help" ;;
        plan) opts="--json -h --help" ;;
        up) opts="--name --timeout --mirror -h --help" ;;
        run) opts="--duration --record --labels --report --warmup --open-loop --seed --data --quiet -q --json -h --help" ;;
        esac
        # After '--' every word is a file; the values of up's options are
        # not completed.
        for ((j = i + 1; j < COMP_CWORD; j++)); do
            [[ ${COMP_WORDS[j]} == -- ]] && opts=
        done
        if [[ $cmd == up && -n $opts ]]; then
            j=${COMP_WORDS[COMP_CWORD - 1]}
            [[ $j == = ]] && j=${COMP_WORDS[COMP_CWORD - 2]}
            [[ $j == --name || $j == --timeout || $j == --mirror ]] && return 0
            [[ $cur == --name=* || $cur == --timeout=* || $cur == --mirror=* ]] && return 0
        fi
        if [[ $cmd == run && -n $opts ]]; then
            j=${COMP_WORDS[COMP_CWORD - 1]}
            [[ $j == = ]] && j=${COMP_WORDS[COMP_CWORD - 2]}
            # --record, --labels and --data take any file or folder; the others
            # a value
            if [[ $j == --record || $j == --labels || $j == --report || $j == --data ]]; then
                COMPREPLY=($(compgen -f -- "$cur"))
                return 0
            fi
            [[ $j == --duration || $j == --seed || $j == --warmup ]] && return 0
            [[ $cur == --*=* ]] && return 0
        fi
        if [[ -n $opts && $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        else
            _dynamo_files "$cur"
        fi
        ;;
    clone)
        j=${COMP_WORDS[COMP_CWORD - 1]}
        [[ $j == = ]] && j=${COMP_WORDS[COMP_CWORD - 2]}
        case $j in
        -o|--output|--profile) _dynamo_anyfiles "$cur"; return 0 ;;
        --catalog)
            local IFS=$'\n'
            COMPREPLY=($(compgen -d -- "$cur"))
            compopt -o filenames 2>/dev/null
            return 0
            ;;
        --internal|--anonymize) return 0 ;;
        esac
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "-o --output --profile --json --internal --anonymize --catalog -h --help" -- "$cur"))
        else
            _dynamo_anyfiles "$cur"
        fi
        ;;
    compare)
        j=${COMP_WORDS[COMP_CWORD - 1]}
        [[ $j == = ]] && j=${COMP_WORDS[COMP_CWORD - 2]}
        case $j in
        --html) _dynamo_anyfiles "$cur"; return 0 ;;
        --internal) return 0 ;;
        esac
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--json --html --internal -h --help" -- "$cur"))
        else
            _dynamo_anyfiles "$cur"
        fi
        ;;
    exec)
        _dynamo_exec "$i"
        ;;
    catalog)
        _dynamo_catalog "$i"
        ;;
    agent)
        # dynamo agent PROTO serve|client SERVER [options]
        local words=() 
        for ((j = i + 1; j < COMP_CWORD; j++)); do
            [[ ${COMP_WORDS[j]} != -* ]] && words+=("${COMP_WORDS[j]}")
        done
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "--port --users --duration --think-scale --data -h --help" -- "$cur"))
        elif ((${#words[@]} == 0)); then
            COMPREPLY=($(compgen -W "http https smtp imap dns ftp postgresql redis mqtt bitcoin ssh sip hls hls-tls generic generic-udp" -- "$cur"))
        elif ((${#words[@]} == 1)); then
            COMPREPLY=($(compgen -W "serve client" -- "$cur"))
        fi
        ;;
    status|down)
        opts="--json -h --help"
        [[ $cmd == down ]] && opts="--all -h --help"
        # One lab at most, and none with --all.
        for ((j = i + 1; j < COMP_CWORD; j++)); do
            [[ ${COMP_WORDS[j]} == --all ]] && return 0
            [[ ${COMP_WORDS[j]} != -* ]] && return 0
        done
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_dynamo_labs)" -- "$cur"))
        fi
        ;;
    help)
        ((COMP_CWORD == i + 1)) &&
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        ;;
    esac
    return 0
}

complete -F _dynamo dynamo
