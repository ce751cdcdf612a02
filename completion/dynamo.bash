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

_dynamo()
{
    local cur=${COMP_WORDS[COMP_CWORD]}
    local commands="check plan help version"
    local cmd= i

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
    check|plan)
        local opts="-q --quiet -h --help"
        [[ $cmd == plan ]] && opts="--json -h --help"
        # After '--' every word is a file.
        for ((i++; i < COMP_CWORD; i++)); do
            [[ ${COMP_WORDS[i]} == -- ]] && opts=
        done
        if [[ -n $opts && $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        else
            _dynamo_files "$cur"
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
