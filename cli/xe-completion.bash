# bash completion for xe: commands, parameter names and values. Every
# answer comes from the host (xe help, <class>-list), so it never falls
# behind the server's commands. Installed by make install; to try it
# from a checkout: source cli/xe-completion.bash

# The options on the command line that say where xe connects, for the
# xe calls the completion makes.
_xe_conn() {
    local i w
    _xe_conn_args=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
        -s | -h | -p | -u | -pw | -pwf | --state)
            _xe_conn_args+=("$w" "${COMP_WORDS[i + 1]}")
            ((i++))
            ;;
        --nossl) _xe_conn_args+=("$w") ;;
        esac
    done
}

# The command: the first word that is no option and no key=value.
_xe_command() {
    local i w
    _xe_cmd=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
        -s | -h | -p | -u | -pw | -pwf | --state) ((i++)) ;;
        -* | *=*) ;;
        *)
            _xe_cmd=$w
            return
            ;;
        esac
    done
}

_xe_ask() {
    "${COMP_WORDS[0]}" "${_xe_conn_args[@]}" "$@" 2>/dev/null
}

_xe() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    COMPREPLY=()
    _xe_conn
    _xe_command
    if [[ -z $_xe_cmd ]]; then
        [[ $cur == -* ]] && return
        COMPREPLY=($(compgen -W "$(_xe_ask help --all --minimal | tr ',' ' ')" -- "$cur"))
        return
    fi
    local class=${_xe_cmd%%-*}
    case $_xe_cmd in
    host-cpu-* | vm-group-* | gpu-group-* | usb-group-* | network-sriov-*)
        class=${_xe_cmd%-*}
        class=${class%-param}
        ;;
    esac
    if [[ $cur == *=* ]]; then
        local key=${cur%%=*} value=${cur#*=} values=""
        case $key in
        uuid)
            values=$(_xe_ask "$class-list" params=uuid --minimal)
            ;;
        vm)
            values=$(_xe_ask vm-list params=name-label --minimal)
            ;;
        *-uuid)
            values=$(_xe_ask "${key%-uuid}-list" params=uuid --minimal)
            ;;
        name-label)
            values=$(_xe_ask "$class-list" params=name-label --minimal)
            ;;
        param-name)
            values=$(_xe_ask help "$class-list" |
                sed -n 's/^ *optional params *: //p' | tr -d ' ' | tr ',' '\n' |
                grep -v '^params$' | grep -v ':')
            ;;
        esac
        local IFS=$'\n'
        COMPREPLY=($(compgen -P "$key=" -W "$(printf '%s\n' "$values" | tr ',' '\n' |
            sed 's/\\\\/\\/g')" -- "$value"))
        return
    fi
    local params
    params=$(_xe_ask help "$_xe_cmd" |
        sed -n 's/^ *\(reqd\|optional\) params *: //p' | tr -d ' ' | tr ',' '\n' |
        grep -v '^<' | grep -v '^$' | grep -v ':$' | sed 's/$/=/')
    COMPREPLY=($(compgen -W "$params" -- "$cur"))
}

complete -o nospace -F _xe xe
