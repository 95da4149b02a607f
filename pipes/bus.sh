# shellcheck shell=bash
# MSG_* are set for the caller; `a= b=` assigns empty strings; patterns in variables are meant as patterns.
# shellcheck disable=SC2034,SC1007,SC2295,SC1003,SC2059,SC2053
# bmad-bus from the shell: plain bash (>= 4.3) and coreutils; no jq, no node.
#
#   source /path/to/bmad-bus/pipes/bus.sh
#   export BMAD_AGENT=alice                  # who I am (default sender: user)
#   bus_send bob "hello, bob"                # one message to an agent
#   bus_broadcast "build is green"           # to every registered agent but me
#   bus_to_orchestrator "epic 3 is done"     # to the orchestrator
#   bus_send_json bob '{"task":"review","pr":42}'
#   on_msg() { echo "$MSG_FROM: $MSG_BODY"; }
#   bus_listen on_msg                        # read my inbox, one call per message
#
# Every write is ONE line of at most 4096 bytes (PIPE_BUF) into bus.pipe, made
# with a single write(2), so it is atomic and never interleaves with other
# writers. Longer messages are refused: use `bmad-bus send`, which spools them.
# See pipes/README.md for the pipe protocol.
#
# Functions return 0 on success and 1 (message on stderr) on failure; usage
# errors return 2. Nothing on the send path forks a process: a loop of
# bus_send runs at 40-50% of the speed of a bare `printf '%s\n' "$line" > pipe`
# loop, which checks nothing.

if [ -z "${BASH_VERSION-}" ]; then
  echo "bus.sh: needs bash (this shell is not bash)" >&2
  # shellcheck disable=SC2317
  return 1 2>/dev/null || exit 1
fi
if (( BASH_VERSINFO[0] < 4 || (BASH_VERSINFO[0] == 4 && BASH_VERSINFO[1] < 3) )); then
  echo "bus.sh: needs bash >= 4.3 (this is $BASH_VERSION)" >&2
  # shellcheck disable=SC2317
  return 1 2>/dev/null || exit 1
fi

# ---------------------------------------------------------------- constants --

BUS_PIPE_BUF=4096
# The contract's name rules (src/bus/names.ts, src/bus/envelope.ts).
_BUS_NAME_RE='^[a-z0-9][a-z0-9._-]{0,63}$'
_BUS_ADDR_RE='^([*]|((role|group|leader):)?[a-z0-9][a-z0-9._-]{0,63})$'
_BUS_TYPE_RE='^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$'
_BUS_BS='\'
_BUS_Q='"'
_BUS_SEP=$'\x1f'
# Text that needs JSON escaping: a backslash, a quote or a control character.
_BUS_PAT_ESC=$'*[\\\\"\001-\037]*'
# Patterns the JSON scanner looks for (in variables: a literal } would end ${...}).
_BUS_PAT_NEST='[][{}"]'
_BUS_PAT_END='[],}[:space:]]'

# Where this file lives: the CLI is ../bin/bmad-bus next to it (for the no-router fallback).
_BUS_LIB=${BASH_SOURCE[0]-}
if [[ $_BUS_LIB == */* ]]; then _BUS_LIB=${_BUS_LIB%/*}; else _BUS_LIB=.; fi
[[ $_BUS_LIB == /* ]] || _BUS_LIB=$PWD/$_BUS_LIB

# JSON escapes of the control characters U+0001..U+001F (bash strings cannot hold NUL).
_BUS_CC=() _BUS_CE=()
_bus_init_tables() {
  local i h c e
  for ((i = 1; i < 32; i++)); do
    printf -v h '%02x' "$i"
    printf -v c "\\x$h"
    case $i in
      8) e='\b' ;; 9) e='\t' ;; 10) e='\n' ;; 12) e='\f' ;; 13) e='\r' ;;
      *) e="\\u00$h" ;;
    esac
    _BUS_CC[i]=$c
    _BUS_CE[i]=$e
  done
}
_bus_init_tables
unset -f _bus_init_tables

# State (kept when the file is sourced twice).
: "${_BUS_ROOT:=}" "${_BUS_ROOT_KEY:=}" "${_BUS_FD:=}" "${_BUS_FD_ROOT:=}"
: "${_BUS_UP:=1}" "${_BUS_UP_AT:=}" "${_BUS_UP_ROOT:=}"
: "${_BUS_FAST:=}" "${_BUS_FAST_MAX:=0}" "${_BUS_HEAD:=}" "${_BUS_PIPE:=}"
: "${_BUS_IN_FD:=}" "${_BUS_IN_PATH:=}" "${_BUS_PARTIAL:=}" "${_BUS_STOP:=}"
if ! declare -p _BUS_SEEN >/dev/null 2>&1; then
  declare -gA _BUS_SEEN=()
  declare -ga _BUS_SEEN_RING=()
  declare -g _BUS_SEEN_AT=0
fi

_bus_err() { printf 'bus.sh: %s\n' "$*" >&2; }

# --------------------------------------------------------------- the root --

# bus_root [VAR] — the bus root, resolved like the CLI: $BMAD_BUS_DIR, else
# /tmp/bmad-bus-<uid>. Prints it, or stores it in VAR.
bus_root() {
  _bus_resolve || return 1
  if [[ -n ${1-} ]]; then printf -v "$1" '%s' "$_BUS_ROOT"; else printf '%s\n' "$_BUS_ROOT"; fi
}

# Sets _BUS_ROOT; checks the root directory once per root (a shared /tmp is
# hostile: refuse a symlink, a directory of another user, or a mode other
# than 0700).
_bus_resolve() {
  local dir=${BMAD_BUS_DIR-} key
  key=$dir
  [[ -n $dir && $dir != /* ]] && key=$PWD/$dir
  if [[ -n $_BUS_ROOT && $key == "$_BUS_ROOT_KEY" ]]; then return 0; fi
  if [[ -n $dir ]]; then
    [[ $dir == /* ]] || dir=$PWD/$dir
  else
    # Always /tmp, whatever $TMPDIR says: every tool of the user must find the same bus.
    dir=/tmp/bmad-bus-$UID
  fi
  while [[ $dir == */ && $dir != / ]]; do dir=${dir%/}; done
  if [[ -h $dir ]]; then _bus_err "refusing $dir: it is a symlink (expected a directory)"; return 1; fi
  if [[ ! -e $dir ]]; then
    _bus_err "no bus at $dir (run \`bmad-bus init\`, or set BMAD_BUS_DIR)"
    return 1
  fi
  if [[ ! -d $dir ]]; then _bus_err "refusing $dir: expected a directory"; return 1; fi
  if [[ ! -O $dir ]]; then _bus_err "refusing $dir: not owned by you (uid $UID)"; return 1; fi
  local mode
  mode=$(stat -c %a -- "$dir" 2>/dev/null) || { _bus_err "cannot stat $dir"; return 1; }
  if [[ ${mode: -2} != 00 ]]; then
    _bus_err "refusing $dir: mode $mode lets other users in (expected 700; run \`chmod 700 $dir\` if it is yours)"
    return 1
  fi
  _BUS_ROOT=$dir
  _BUS_ROOT_KEY=$key
  return 0
}

# Is a FIFO at $1 that is ours and not a symlink? (Never write into anything else:
# `> file` on a missing pipe would create a regular file.)
_bus_check_fifo() {
  if [[ -p $1 && -O $1 && ! -h $1 ]]; then return 0; fi
  if [[ -h $1 ]]; then _bus_err "refusing $1: it is a symlink"
  elif [[ ! -e $1 ]]; then _bus_err "$1 is missing (run \`bmad-bus init\`)"
  elif [[ ! -p $1 ]]; then _bus_err "refusing $1: expected a FIFO"
  else _bus_err "refusing $1: not owned by you (uid $UID)"
  fi
  return 1
}

# Does a router or its keeper hold the pipes of this root? (Then a write never
# waits for a reader.) Read from their status files, at most once a second.
bus_router_running() {
  _bus_resolve || return 1
  local now=${EPOCHSECONDS:-$SECONDS}
  if [[ $_BUS_UP_ROOT == "$_BUS_ROOT" && $_BUS_UP_AT == "$now" ]]; then return "$_BUS_UP"; fi
  _BUS_UP=1
  local f head
  for f in "$_BUS_ROOT/state/keeper.json" "$_BUS_ROOT/state/router-status.json"; do
    [[ -f $f ]] || continue
    head=
    IFS= read -r -N 64 head <"$f" || true
    if [[ $head =~ \"pid\":([0-9]+) ]] && kill -0 "${BASH_REMATCH[1]}" 2>/dev/null; then
      _BUS_UP=0
      break
    fi
  done
  _BUS_UP_AT=$now
  _BUS_UP_ROOT=$_BUS_ROOT
  return "$_BUS_UP"
}

# ------------------------------------------------------------ JSON helpers --

# _bus_esc TEXT — JSON string contents (no quotes) of TEXT into _BUS_J.
# Backslash and quote are escaped, control characters become \n \t ... \u00XX,
# everything else (UTF-8 included) passes through unchanged.
_bus_esc() {
  _BUS_J=$1
  case $_BUS_J in
    *[\\\"]*)
      _BUS_J=${_BUS_J//"$_BUS_BS"/"$_BUS_BS$_BUS_BS"}
      _BUS_J=${_BUS_J//"$_BUS_Q"/"$_BUS_BS$_BUS_Q"}
      ;;
  esac
  case $_BUS_J in *[[:cntrl:]]*) _bus_esc_cntrl ;; esac
}

# Control characters in _BUS_J to their JSON escapes (DEL and C1 may pass raw).
_bus_esc_cntrl() {
  local i
  for ((i = 1; i < 32; i++)); do
    case $_BUS_J in *"${_BUS_CC[i]}"*) _BUS_J=${_BUS_J//"${_BUS_CC[i]}"/"${_BUS_CE[i]}"} ;; esac
  done
}

# bus_json_str VAR TEXT — VAR becomes TEXT as a quoted JSON string, for
# building bodies: bus_json_str q "$query"; bus_send_json bob "{\"q\":$q}"
bus_json_str() {
  if (( $# != 2 )); then _bus_err "usage: bus_json_str VAR TEXT"; return 2; fi
  _bus_esc "$2"
  printf -v "$1" '"%s"' "$_BUS_J"
}

# _bus_unesc RAW — decodes the contents of a JSON string into _BUS_U
# (\" \\ \/ \b \f \n \r \t \uXXXX, surrogate pairs too; needs a UTF-8 locale
# for non-ASCII \u escapes). Best effort on invalid input.
_bus_unesc() {
  local s=$1 out= seg
  case $s in *"$_BUS_BS"*) ;; *) _BUS_U=$s; return 0 ;; esac
  # Split on \\ first (leftmost pairs are real escaped backslashes), so every
  # remaining backslash starts an escape of its own.
  while [[ $s == *"$_BUS_BS$_BUS_BS"* ]]; do
    seg=${s%%"$_BUS_BS$_BUS_BS"*}
    s=${s#*"$_BUS_BS$_BUS_BS"}
    _bus_unesc_seg "$seg"
    out+=$_BUS_U$_BUS_BS
  done
  _bus_unesc_seg "$s"
  _BUS_U=$out$_BUS_U
}

_bus_unesc_seg() {
  local s=$1 hi lo cp
  case $s in *"$_BUS_BS"*) ;; *) _BUS_U=$s; return 0 ;; esac
  s=${s//"$_BUS_BS$_BUS_Q"/"$_BUS_Q"}
  s=${s//"$_BUS_BS/"/\/}
  # A UTF-16 surrogate pair (what Python's json.dumps writes for emoji) becomes one \UXXXXXXXX.
  while [[ $s =~ \\u([dD][89abAB][0-9a-fA-F]{2})\\u([dD][c-fC-F][0-9a-fA-F]{2}) ]]; do
    hi=$((16#${BASH_REMATCH[1]})) lo=$((16#${BASH_REMATCH[2]}))
    printf -v cp '\\U%08x' $(( 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00) ))
    s=${s//"${BASH_REMATCH[0]}"/"$cp"}
  done
  # Only JSON's escapes are left, and %b reads each of them the same way JSON does.
  printf -v _BUS_U '%b' "$s"
}

# _bus_scan_string — _BUS_R starts just after an opening quote: the raw string
# contents into _BUS_S, _BUS_R advanced past the closing quote.
_bus_scan_string() {
  local acc= pre bs
  while :; do
    pre=${_BUS_R%%"$_BUS_Q"*}
    if [[ $pre == "$_BUS_R" ]]; then return 1; fi
    _BUS_R=${_BUS_R:${#pre}+1}
    bs=${pre##*[!\\]}
    if (( ${#bs} % 2 )); then acc+=$pre$_BUS_Q; continue; fi
    _BUS_S=$acc$pre
    return 0
  done
}

# _bus_scan_value — one JSON value at the start of _BUS_R (whitespace
# trimmed): its raw text into _BUS_V, or for a string its decoded text (and
# _BUS_VS=1); _BUS_R advanced past it.
_bus_scan_value() {
  local depth=0 pre c raw=
  _BUS_VS=
  case $_BUS_R in
    \"*)
      _BUS_R=${_BUS_R:1}
      _bus_scan_string || return 1
      _bus_unesc "$_BUS_S"
      _BUS_V=$_BUS_U _BUS_VS=1
      return 0
      ;;
    [\{\[]*)
      while :; do
        pre=${_BUS_R%%$_BUS_PAT_NEST*}
        if [[ $pre == "$_BUS_R" ]]; then return 1; fi
        c=${_BUS_R:${#pre}:1}
        raw+=$pre$c
        _BUS_R=${_BUS_R:${#pre}+1}
        case $c in
          \") _bus_scan_string || return 1; raw+=$_BUS_S$_BUS_Q ;;
          [\{\[]) ((++depth)) ;;
          *) if ((--depth == 0)); then _BUS_V=$raw; return 0; fi ;;
        esac
      done
      ;;
    *)
      pre=${_BUS_R%%$_BUS_PAT_END*}
      [[ -n $pre ]] || return 1
      _BUS_V=$pre
      _BUS_R=${_BUS_R:${#pre}}
      return 0
      ;;
  esac
}

# _bus_scan LINE [KEY] — the top-level members of a JSON object line into
# _BUS_KEYS / _BUS_VALS (stops early at KEY and returns 0 if found).
_bus_scan() {
  _BUS_KEYS=() _BUS_VALS=()
  _BUS_R=$1
  _BUS_R=${_BUS_R#"${_BUS_R%%[![:space:]]*}"}
  case $_BUS_R in \{*) _BUS_R=${_BUS_R:1} ;; *) return 1 ;; esac
  local key
  while :; do
    _BUS_R=${_BUS_R#"${_BUS_R%%[![:space:]]*}"}
    case $_BUS_R in
      \}*) [[ -z ${2-} ]]; return ;;
      \"*) _BUS_R=${_BUS_R:1} ;;
      *) return 1 ;;
    esac
    _bus_scan_string || return 1
    key=$_BUS_S
    case $key in *"$_BUS_BS"*) _bus_unesc "$key"; key=$_BUS_U ;; esac
    _BUS_R=${_BUS_R#"${_BUS_R%%[![:space:]]*}"}
    case $_BUS_R in :*) _BUS_R=${_BUS_R:1} ;; *) return 1 ;; esac
    _BUS_R=${_BUS_R#"${_BUS_R%%[![:space:]]*}"}
    _bus_scan_value || return 1
    _BUS_KEYS+=("$key")
    _BUS_VALS+=("$_BUS_V")
    if [[ -n ${2-} && $key == "$2" ]]; then return 0; fi
    _BUS_R=${_BUS_R#"${_BUS_R%%[![:space:]]*}"}
    case $_BUS_R in
      ,*) _BUS_R=${_BUS_R:1} ;;
      \}*) [[ -z ${2-} ]]; return ;;
      *) return 1 ;;
    esac
  done
}

# bus_field LINE FIELD [VAR] — a top-level field of a JSON object line. A
# string comes back decoded (escapes undone); any other value as its raw JSON
# text (a number, true, {"a":1}...). Prints it, or stores it in VAR. Returns 1
# if the line is not a JSON object or has no such field.
# Best effort: a small scanner for well-formed JSON (what the router writes),
# not a validator; it does not look inside nested values for the field.
bus_field() {
  if (( $# < 2 )); then _bus_err "usage: bus_field LINE FIELD [VAR]"; return 2; fi
  _bus_scan "$1" "$2" || return 1
  if [[ -n ${3-} ]]; then printf -v "$3" '%s' "${_BUS_VALS[-1]}"; else printf '%s\n' "${_BUS_VALS[-1]}"; fi
}

# bus_parse LINE — reads an envelope line into MSG_ID MSG_TS MSG_FROM MSG_TO
# MSG_TYPE MSG_BODY MSG_THREAD MSG_REPLY_TO MSG_RCPT (empty when absent).
# MSG_BODY is the decoded text when the body is a string, else raw JSON.
# MSG_LINE is the line itself. Returns 1 if the line is not a JSON object.
bus_parse() {
  MSG_LINE=$1 MSG_ID= MSG_TS= MSG_FROM= MSG_TO= MSG_TYPE= MSG_BODY= MSG_THREAD= MSG_REPLY_TO= MSG_RCPT=
  _bus_scan "$1" || return 1
  local i
  for i in "${!_BUS_KEYS[@]}"; do
    case ${_BUS_KEYS[i]} in
      id) MSG_ID=${_BUS_VALS[i]} ;;
      ts) MSG_TS=${_BUS_VALS[i]} ;;
      from) MSG_FROM=${_BUS_VALS[i]} ;;
      to) MSG_TO=${_BUS_VALS[i]} ;;
      type) MSG_TYPE=${_BUS_VALS[i]} ;;
      body) MSG_BODY=${_BUS_VALS[i]} ;;
      thread) MSG_THREAD=${_BUS_VALS[i]} ;;
      reply_to) MSG_REPLY_TO=${_BUS_VALS[i]} ;;
      rcpt) MSG_RCPT=${_BUS_VALS[i]} ;;
    esac
  done
  return 0
}

# ------------------------------------------------------------------ sending --
#
# The hot path is bus_send: when nothing changed since the last call (same
# recipient, sender, root, options, and the same second) it escapes the text
# with parameter expansion and writes one line — no function calls, no
# subshells, no external processes. Everything else (validating names,
# checking the root and the pipe, asking whether a router runs) happens in
# _bus_prepare, at most once a second or when an input changes.

# _bus_prepare FN TO — validates and caches everything about a send except
# the body: _BUS_HEAD (the envelope up to the body), _BUS_PIPE, and the key
# _BUS_FAST under which the cache is valid. Returns 1 (or 2 for a usage
# error) with a message, or 3 when no router runs (the caller falls back).
# Sender: $BMAD_AGENT, else user. Options, set for one call:
#   BUS_TYPE=task BUS_THREAD=t1 BUS_REPLY_TO=<id> bus_send bob "..."
_bus_prepare() {
  local key="2$2$_BUS_SEP${BMAD_AGENT-}$_BUS_SEP${BMAD_BUS_DIR-}$_BUS_SEP${EPOCHSECONDS-$SECONDS}$_BUS_SEP"
  [[ $key == "$_BUS_FAST" && -z ${BUS_TYPE-}${BUS_THREAD-}${BUS_REPLY_TO-} ]] && return 0
  _BUS_FAST=
  local from=${BMAD_AGENT:-user}
  if [[ ! $2 =~ $_BUS_ADDR_RE || $2 == . || $2 == .. ]]; then
    _bus_err "$1: expected an address (an agent name, orchestrator, *, role:R, group:G or leader:G), got '$2'"
    return 2
  fi
  if [[ ! $from =~ $_BUS_NAME_RE || $from == . || $from == .. ]]; then
    _bus_err "$1: BMAD_AGENT must match [a-z0-9][a-z0-9._-]{0,63}, got '$from'"
    return 2
  fi
  local head="{\"from\":\"$from\",\"to\":\"$2\""
  if [[ -n ${BUS_TYPE-} ]]; then
    if [[ ! $BUS_TYPE =~ $_BUS_TYPE_RE ]]; then _bus_err "$1: BUS_TYPE must be a word like message, task or event, got '$BUS_TYPE'"; return 2; fi
    head+=",\"type\":\"$BUS_TYPE\""
  fi
  if [[ -n ${BUS_THREAD-} ]]; then _bus_esc "$BUS_THREAD"; head+=",\"thread\":\"$_BUS_J\""; fi
  if [[ -n ${BUS_REPLY_TO-} ]]; then _bus_esc "$BUS_REPLY_TO"; head+=",\"reply_to\":\"$_BUS_J\""; fi
  _BUS_HEAD=$head
  _bus_resolve || return 1
  _BUS_PIPE=$_BUS_ROOT/bus.pipe
  _bus_check_fifo "$_BUS_PIPE" || return 1
  if [[ -z $_BUS_FD ]]; then
    bus_router_running || return 3
  fi
  # A relative BMAD_BUS_DIR depends on the working directory: never cached.
  [[ -n ${BMAD_BUS_DIR-} && $BMAD_BUS_DIR != /* ]] && return 0
  # Sends with options (BUS_TYPE...) are not cached: the fast path is for plain messages.
  [[ -n ${BUS_TYPE-}${BUS_THREAD-}${BUS_REPLY_TO-} ]] && return 0
  _BUS_FAST=$key
  # Text this long (in characters, at most 4 bytes each) always fits in one atomic write.
  _BUS_FAST_MAX=$(( (BUS_PIPE_BUF - 16) / 4 - ${#_BUS_HEAD} ))
}

# _bus_write_body FN BODY_JSON — _BUS_HEAD plus the body as one line into
# bus.pipe (or the fd of bus_open): at most 4096 bytes, one write(2).
_bus_write_body() {
  _BUS_LINE="$_BUS_HEAD,\"body\":$2}"
  if (( ${#_BUS_LINE} > 1023 )); then
    # A character is at most 4 bytes: only long lines need counting in bytes.
    _bus_nbytes
    if (( _BUS_N + 1 > BUS_PIPE_BUF )); then
      _bus_err "$1: the message is $((_BUS_N + 1)) bytes as a line, over the $BUS_PIPE_BUF-byte limit of an atomic pipe write (PIPE_BUF); send it with \`bmad-bus send\`, which spools big messages"
      return 1
    fi
  fi
  if [[ -z $_BUS_FD ]]; then printf '%s\n' "$_BUS_LINE" >"$_BUS_PIPE"; else printf '%s\n' "$_BUS_LINE" >&"$_BUS_FD"; fi
}

_bus_nbytes() {
  local LC_ALL=C
  _BUS_N=${#_BUS_LINE}
}

# _bus_send FN TO BODY_JSON IS_JSON TEXT — the slow path of every send.
_bus_send() {
  local rc=0
  _bus_prepare "$1" "$2" || rc=$?
  if ((rc == 3)); then _bus_fallback "$1" "$2" "$4" "$5"; return; fi
  ((rc == 0)) || return "$rc"
  _bus_write_body "$1" "$3"
}

# No router and no keeper hold the pipes: a raw write would wait for a reader
# (forever). `bmad-bus send` accepts the message into the journal instead, to
# be delivered when the router starts (a node process per message: slow, but
# nothing is lost). BUS_FALLBACK=fail returns 1 instead.
_bus_fallback() {
  if [[ ${BUS_FALLBACK-} == fail ]]; then
    _bus_err "$1: no router runs for $_BUS_ROOT (start one with \`bmad-bus start\`)"
    return 1
  fi
  local cli=${BMAD_BUS_CLI-}
  if [[ -z $cli ]]; then
    if [[ -x $_BUS_LIB/../bin/bmad-bus ]]; then cli=$_BUS_LIB/../bin/bmad-bus
    else cli=$(type -P bmad-bus) || cli=
    fi
  fi
  if [[ -z $cli ]]; then
    _bus_err "$1: no router runs for $_BUS_ROOT and the bmad-bus CLI was not found (set BMAD_BUS_CLI)"
    return 1
  fi
  local args=(--dir "$_BUS_ROOT" send --from "${BMAD_AGENT:-user}")
  [[ -z ${BUS_TYPE-} ]] || args+=(--type "$BUS_TYPE")
  [[ -z ${BUS_THREAD-} ]] || args+=(--thread "$BUS_THREAD")
  [[ -z ${BUS_REPLY_TO-} ]] || args+=(--reply-to "$BUS_REPLY_TO")
  [[ -z $3 ]] || args+=(--body-json)
  "$cli" "${args[@]}" -- "$2" "$4" >/dev/null
}

# bus_send TO TEXT... — sends TEXT (the arguments joined by single spaces) to
# TO: an agent, `orchestrator`, `*`, role:R, group:G or leader:G. The text is
# JSON-escaped (newlines, tabs, quotes, backslashes, control characters);
# UTF-8 passes through. Refuses (returns 1) a line over 4096 bytes.
bus_send() {
  # The fast path: one test (same inputs as the last call, in the same second;
  # text no longer than _BUS_FAST_MAX characters — else a character past it
  # lands in the key — and nothing to escape), then one write.
  if [[ "$#$1$_BUS_SEP${BMAD_AGENT-}$_BUS_SEP${BMAD_BUS_DIR-}$_BUS_SEP${EPOCHSECONDS-$SECONDS}$_BUS_SEP${BUS_TYPE-}${BUS_THREAD-}${BUS_REPLY_TO-}${2:_BUS_FAST_MAX:1}" == "$_BUS_FAST" && $2 != $_BUS_PAT_ESC ]]; then
    if [[ -z $_BUS_FD ]]; then
      printf '%s\n' "$_BUS_HEAD,\"body\":\"$2\"}" >"$_BUS_PIPE"
    else
      printf '%s\n' "$_BUS_HEAD,\"body\":\"$2\"}" >&"$_BUS_FD"
    fi
    return
  fi
  if (( $# < 2 )); then _bus_err "usage: bus_send TO TEXT..."; return 2; fi
  local IFS=' '
  _bus_esc "${*:2}"
  _bus_send bus_send "$1" "\"$_BUS_J\"" "" "${*:2}"
}

# bus_send_json TO JSON — sends a JSON value (object, array, number, string...)
# as the body. It is not validated here: invalid JSON is dead-lettered by the
# router. Newlines between tokens are turned into spaces (one line per message).
bus_send_json() {
  if (( $# != 2 )) || [[ -z $2 ]]; then _bus_err "usage: bus_send_json TO JSON"; return 2; fi
  local body=$2
  case $body in *[$'\n\r']*) body=${body//$'\n'/ }; body=${body//$'\r'/ } ;; esac
  _bus_send bus_send_json "$1" "$body" 1 "$body"
}

# bus_write_line LINE — writes one line as it is (a full or partial envelope
# that names its own `to`) into bus.pipe: at most 4096 bytes, one write.
bus_write_line() {
  if (( $# != 1 )); then _bus_err "usage: bus_write_line LINE"; return 2; fi
  case $1 in *[$'\n\r']*) _bus_err "bus_write_line: the line contains a newline"; return 2 ;; esac
  local rc=0
  _bus_prepare bus_write_line orchestrator || rc=$?
  if ((rc == 3)); then _bus_err "bus_write_line: no router runs for $_BUS_ROOT (start one with \`bmad-bus start\`)"; return 1; fi
  ((rc == 0)) || return "$rc"
  _BUS_LINE=$1
  if (( ${#_BUS_LINE} > 1023 )); then
    _bus_nbytes
    if (( _BUS_N + 1 > BUS_PIPE_BUF )); then
      _bus_err "bus_write_line: the line is $((_BUS_N + 1)) bytes, over the $BUS_PIPE_BUF-byte limit of an atomic pipe write (PIPE_BUF)"
      return 1
    fi
  fi
  if [[ -z $_BUS_FD ]]; then printf '%s\n' "$_BUS_LINE" >"$_BUS_PIPE"; else printf '%s\n' "$_BUS_LINE" >&"$_BUS_FD"; fi
}

# bus_broadcast TEXT... — to every registered agent but the sender.
bus_broadcast() { bus_send '*' "$@"; }

# bus_to_orchestrator TEXT... — to the orchestrator.
bus_to_orchestrator() { bus_send orchestrator "$@"; }

# bus_reply TEXT... — inside a bus_listen handler: answers the message being
# handled (to its sender, reply_to its id, in its thread).
bus_reply() {
  if [[ -z ${MSG_FROM-} ]]; then _bus_err "bus_reply: no message to answer (call it from a bus_listen handler)"; return 2; fi
  BUS_REPLY_TO=${MSG_ID-} BUS_THREAD=${MSG_THREAD:-${MSG_ID-}} bus_send "$MSG_FROM" "$@"
}

# bus_open / bus_close — batch mode: keep bus.pipe open between sends (no
# open(2) per message). bus_open fails if no router runs (a write would wait).
bus_open() {
  _bus_resolve || return 1
  if [[ -n $_BUS_FD ]]; then
    [[ $_BUS_FD_ROOT == "$_BUS_ROOT" ]] && return 0
    bus_close
  fi
  _bus_check_fifo "$_BUS_ROOT/bus.pipe" || return 1
  _BUS_UP_AT=
  if ! bus_router_running; then
    _bus_err "bus_open: no router runs for $_BUS_ROOT (start one with \`bmad-bus start\`)"
    return 1
  fi
  exec {_BUS_FD}>"$_BUS_ROOT/bus.pipe" || { _BUS_FD=; return 1; }
  _BUS_FD_ROOT=$_BUS_ROOT _BUS_FAST=
}

bus_close() {
  if [[ -n $_BUS_FD ]]; then exec {_BUS_FD}>&-; fi
  _BUS_FD= _BUS_FD_ROOT= _BUS_FAST=
  return 0
}

# bus_pipe FROM TO [VAR] — the pair pipe agents/FROM-to-TO.pipe (created with
# mode 600 if missing). Prints its path, or stores it in VAR. The router reads
# sender and receiver off the name: `echo hi > "$(bus_pipe alice bob)"`.
bus_pipe() {
  if (( $# < 2 )); then _bus_err "usage: bus_pipe FROM TO [VAR]"; return 2; fi
  local from=$1 to=$2 n
  for n in "$from" "$to"; do
    if [[ ! $n =~ $_BUS_NAME_RE || $n == . || $n == .. ]]; then
      _bus_err "bus_pipe: expected an agent name matching [a-z0-9][a-z0-9._-]{0,63}, got '$n'"
      return 2
    fi
  done
  # The name must split into sender and receiver one way only (src/bus/names.ts).
  local stem="$from-to-$to" i splits=0
  for ((i = 0; i + 4 <= ${#stem}; i++)); do
    [[ ${stem:i:4} == -to- ]] || continue
    if [[ ${stem:0:i} =~ $_BUS_NAME_RE && ${stem:i+4} =~ $_BUS_NAME_RE ]]; then ((++splits)); fi
  done
  if ((splits != 1)); then
    _bus_err "bus_pipe: a pair pipe for '$from' -> '$to' would be ambiguous (its name splits into sender and receiver more than one way)"
    return 2
  fi
  _bus_resolve || return 1
  local dir=$_BUS_ROOT/agents pipe=$_BUS_ROOT/agents/$stem.pipe
  if [[ ! -e $pipe && ! -h $pipe ]]; then
    mkfifo -m 600 -- "$pipe" 2>/dev/null || [[ -p $pipe ]] || { _bus_err "bus_pipe: could not create $pipe (is $dir there? run \`bmad-bus init\`)"; return 1; }
  fi
  _bus_check_fifo "$pipe" || return 1
  if [[ -n ${3-} ]]; then printf -v "$3" '%s' "$pipe"; else printf '%s\n' "$pipe"; fi
}

# ------------------------------------------------------------------ reading --

# Opens (once) the inbox of agent $1 into _BUS_IN_FD.
_bus_inbox_open() {
  _bus_resolve || return 1
  local inbox=$_BUS_ROOT/inbox/$1.pipe
  if [[ -n $_BUS_IN_FD && $_BUS_IN_PATH == "$inbox" ]]; then return 0; fi
  _bus_inbox_close
  if [[ ! -e $inbox && ! -h $inbox ]]; then
    _bus_err "no inbox for '$1' at $inbox (register the agent: \`bmad-bus agents add $1\`)"
    return 1
  fi
  _bus_check_fifo "$inbox" || return 1
  # Read-write, not read-only: the open never waits for a writer, and the
  # reader never sees end-of-file when the router stops or restarts — the
  # next router simply writes into the same open pipe.
  exec {_BUS_IN_FD}<>"$inbox" || { _BUS_IN_FD=; return 1; }
  _BUS_IN_PATH=$inbox
  _BUS_PARTIAL=
}

_bus_inbox_close() {
  if [[ -n $_BUS_IN_FD ]]; then exec {_BUS_IN_FD}<&-; fi
  _BUS_IN_FD= _BUS_IN_PATH= _BUS_PARTIAL=
  return 0
}

# Microseconds since the epoch (bash 5), or seconds * 1e6 (bash 4).
_bus_now_us() {
  if [[ -n ${EPOCHREALTIME-} ]]; then _BUS_NOW=${EPOCHREALTIME//[!0-9]/}; else _BUS_NOW=$((SECONDS * 1000000)); fi
}

# bus_read [-a AGENT] [-t SECONDS] [VAR] — reads the next message line from
# my inbox ($BMAD_AGENT, or -a AGENT) into VAR (default REPLY). Waits for one;
# with -t, returns 124 after SECONDS (fractions allowed) without a message.
# The inbox stays open between calls; blank lines are skipped.
bus_read() {
  local agent=${BMAD_AGENT-} timeout= OPTIND=1 OPTARG opt
  while getopts ':a:t:' opt; do
    case $opt in
      a) agent=$OPTARG ;;
      t) timeout=$OPTARG ;;
      *) _bus_err "usage: bus_read [-a AGENT] [-t SECONDS] [VAR]"; return 2 ;;
    esac
  done
  shift $((OPTIND - 1))
  local var=${1:-REPLY}
  if [[ -z $agent ]]; then _bus_err "bus_read: who am I? set BMAD_AGENT or pass -a AGENT"; return 2; fi
  if [[ ! $agent =~ $_BUS_NAME_RE ]]; then _bus_err "bus_read: bad agent name '$agent'"; return 2; fi
  if [[ -n $timeout && ! $timeout =~ ^[0-9]+([.][0-9]+)?$ ]]; then _bus_err "bus_read: -t wants seconds, got '$timeout'"; return 2; fi
  _bus_inbox_open "$agent" || return 1
  local deadline= part rc slice=1 whole frac left
  if [[ -n $timeout ]]; then
    whole=${timeout%%.*} frac=
    [[ $timeout == *.* ]] && frac=${timeout#*.}
    frac=${frac}000000
    _bus_now_us
    deadline=$((_BUS_NOW + 10#$whole * 1000000 + 10#${frac:0:6}))
  fi
  while :; do
    if [[ -n $deadline ]]; then
      _bus_now_us
      left=$((deadline - _BUS_NOW))
      if ((left <= 0)); then return 124; fi
      if ((left < 1000000)); then printf -v slice '0.%06d' "$left"; else slice=1; fi
    fi
    part=
    if IFS= read -r -t "$slice" -u "$_BUS_IN_FD" part; then
      part=$_BUS_PARTIAL$part
      _BUS_PARTIAL=
      [[ -z ${part//[[:space:]]/} ]] && continue
      printf -v "$var" '%s' "$part"
      return 0
    fi
    rc=$?
    if ((rc > 128)); then
      # Timed out (maybe in the middle of a line: keep what came).
      _BUS_PARTIAL+=$part
      # The inbox FIFO was removed and made again (agent re-registered): follow it.
      if [[ ! /dev/fd/$_BUS_IN_FD -ef $_BUS_IN_PATH ]]; then
        _bus_inbox_close
        _bus_inbox_open "$agent" || return 1
      fi
      continue
    fi
    # End of file cannot happen on a read-write FIFO; if it does, reopen.
    _BUS_PARTIAL+=$part
    local keep=$_BUS_PARTIAL
    _bus_inbox_close
    _bus_inbox_open "$agent" || return 1
    _BUS_PARTIAL=$keep
  done
}

# bus_stop — inside a bus_listen handler: stop listening after this message.
bus_stop() { _BUS_STOP=1; }

# bus_listen [-a AGENT] [-t SECONDS] [-n COUNT] HANDLER — reads my inbox in a
# loop: for each message, sets MSG_* (see bus_parse) and calls HANDLER LINE.
# The inbox is opened once and survives the router stopping and restarting.
# Delivery is at-least-once: a message re-delivered after a router restart
# (same id) is skipped if it was among the last 4096 handled.
# Stops when the handler calls bus_stop (returns 0), after COUNT messages
# (returns 0), or after SECONDS without a message (returns 124). A handler
# that fails is reported on stderr and the loop goes on.
bus_listen() {
  local agent=${BMAD_AGENT-} timeout= count= OPTIND=1 OPTARG opt
  while getopts ':a:t:n:' opt; do
    case $opt in
      a) agent=$OPTARG ;;
      t) timeout=$OPTARG ;;
      n) count=$OPTARG ;;
      *) _bus_err "usage: bus_listen [-a AGENT] [-t SECONDS] [-n COUNT] HANDLER"; return 2 ;;
    esac
  done
  shift $((OPTIND - 1))
  local handler=${1-}
  if [[ -z $handler ]] || ! type -t "$handler" >/dev/null; then
    _bus_err "usage: bus_listen [-a AGENT] [-t SECONDS] [-n COUNT] HANDLER (a function or command)"
    return 2
  fi
  if [[ -n $count && ! $count =~ ^[0-9]+$ ]]; then _bus_err "bus_listen: -n wants a count, got '$count'"; return 2; fi
  local line rc seen=0 hrc
  local -a ropts=(-a "$agent")
  [[ -n $timeout ]] && ropts+=(-t "$timeout")
  _BUS_STOP=
  while [[ -z $count ]] || ((seen < count)); do
    bus_read "${ropts[@]}" line || return
    if ! bus_parse "$line"; then
      _bus_err "bus_listen: skipping a line that is not a JSON object: ${line:0:80}"
      continue
    fi
    if [[ -n $MSG_ID ]]; then
      [[ -n ${_BUS_SEEN[$MSG_ID]-} ]] && continue
      _bus_seen "$MSG_ID"
    fi
    ((++seen))
    hrc=0
    "$handler" "$line" || hrc=$?
    if ((hrc != 0)); then _bus_err "bus_listen: $handler returned $hrc for message ${MSG_ID:-?}"; fi
    if [[ -n $_BUS_STOP ]]; then _BUS_STOP=; return 0; fi
  done
  return 0
}

# Remembers an id in a bounded set (a ring of 4096).
_bus_seen() {
  local old=${_BUS_SEEN_RING[_BUS_SEEN_AT]-}
  # Only plain ids are remembered: unset would expand anything else in the subscript.
  [[ $1 =~ ^[A-Za-z0-9._:+=-]{1,128}$ ]] || return 0
  if [[ -n $old ]]; then unset "_BUS_SEEN[$old]"; fi
  _BUS_SEEN[$1]=1
  _BUS_SEEN_RING[_BUS_SEEN_AT]=$1
  _BUS_SEEN_AT=$(((_BUS_SEEN_AT + 1) % 4096))
}
