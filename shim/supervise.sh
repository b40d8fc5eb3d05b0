#!/usr/bin/env bash
# supervise.sh — k8s-deputy's minimal entrypoint (PID 1) in bash and coreutils.
#
#   ENTRYPOINT ["/usr/local/bin/supervise.sh"]
#   CMD ["node", "server.js"]
#
# The core of `deputy supervise`'s contract (README, "What differs from deputy supervise", lists the rest):
# - SIGTERM/SIGINT: read $DEPUTY_IPC_DIR/deputy-entrypoint.pid at that moment and send "terminate"
#   to that pid's graceful-terminator socket (with socat, else OpenBSD nc, else
#   `deputy terminate --no-wait` through node); without a pid file or socket, or when the send
#   fails, send the signal itself to the child. A second SIGTERM/SIGINT is passed to the child.
# - SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM and SIGWINCH are passed to the child.
# - DEPUTY_STOP_SIGNALS: more signals that do what SIGTERM does (an image's STOPSIGNAL, a pod's
#   lifecycle.stopSignal). DEPUTY_REWRITE: from:to pairs changing what the child gets for a
#   received signal (passed on, or sent when terminate cannot be); to 0 drops it. As deputy
#   supervise reads them (src/contract/signals.ts): names with or without SIG, or numbers.
# - DEPUTY_TIMEOUT after termination began, the child's process group gets SIGKILL and the shim
#   exits DEPUTY_TIMEOUT_EXIT_CODE.
# - Exit status: the child's N, or 128+S when it died of signal S; 127 when the command is not
#   found, 126 when it is not executable; 2 for a usage error.
# - Reaps every zombie (bash collects any child with waitpid(-1)), so it can be PID 1.
# - Before exiting, waits for a running preStop hook (`deputy terminate`'s marker in
#   $DEPUTY_IPC_DIR), within what is left of DEPUTY_TIMEOUT.
# - JSON log lines (level, time, pid, component, msg) on stderr; those of repeated signals are
#   rate-limited (the first 5 a minute, then a count).
#
# Environment:
#   DEPUTY_IPC_DIR            directory of the sockets and the entrypoint pid file (default /run)
#   DEPUTY_TIMEOUT            grace period after SIGTERM/SIGINT: 500ms, 5s, 1m or milliseconds (default 25s)
#   DEPUTY_TIMEOUT_EXIT_CODE  exit status after the grace period ran out (default 137)
#   DEPUTY_STOP_SIGNALS       more signals that start termination like SIGTERM: SIGQUIT,WINCH,28 (default unset)
#   DEPUTY_REWRITE            signals to change on their way to the child: TERM:QUIT,HUP:0 (default unset)
#   DEPUTY_LOG_LEVEL          trace, debug, info (default), warn, error, fatal or silent
#   DEPUTY_CLI                deputy CLI for the node sender (default: the package's bin/deputy.js
#                             next to this script, else `deputy` on PATH, else
#                             ./node_modules/k8s-deputy/bin/deputy.js)
set -u
# The log's stderr. bash's own (fd 2) is pointed at /dev/null during a burst of signals (see
# on_signal); the log always writes here. Helpers (the timer, sleep, the senders) inherit it too,
# briefly; the child does not. With no stderr at all, /dev/null.
exec {stderr_fd}>&2 || exec {stderr_fd}>/dev/null

readonly PID_MAX=4194304
readonly MAX_DURATION_MS=2147483647

ipc_dir=${DEPUTY_IPC_DIR:-/run}
child=''
timer=''
terminating=0
terminating_since_ms=0

# ---- logging -------------------------------------------------------------------------------

case ${DEPUTY_LOG_LEVEL:-info} in
  trace) log_min=10 ;; debug) log_min=20 ;; info) log_min=30 ;; warn) log_min=40 ;;
  error) log_min=50 ;; fatal) log_min=60 ;; silent) log_min=100 ;; *) log_min=30 ;;
esac

# Sets REPLY to $1 as a JSON string literal.
json_string() {
  local s=$1 out='' c i
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  if [[ $s == *[[:cntrl:]]* ]]; then
    s=${s//$'\n'/\\n}
    s=${s//$'\r'/\\r}
    s=${s//$'\t'/\\t}
    if [[ $s == *[[:cntrl:]]* ]]; then
      for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        if [[ $c == [[:cntrl:]] ]]; then printf -v c '\\u%04x' "'$c"; fi
        out+=$c
      done
      s=$out
    fi
  fi
  REPLY="\"$s\""
}

# True when records at level $1 are written.
log_enabled() {
  local num
  case $1 in
    debug) num=20 ;; info) num=30 ;; warn) num=40 ;; error) num=50 ;; *) num=60 ;;
  esac
  ((num >= log_min))
}

# log LEVEL MESSAGE [KEY=VALUE ...] — integer values are written as numbers, the rest as strings.
log() {
  local level=$1 msg=$2 field key value line now seconds fraction
  shift 2
  log_enabled "$level" || return 0
  now=${EPOCHREALTIME:-}
  if [[ -n $now ]]; then
    seconds=${now%[.,]*}
    fraction=${now#*[.,]}
  else
    printf -v seconds '%(%s)T' -1
    fraction=000
  fi
  TZ=UTC0 printf -v line '{"level":"%s","time":"%(%Y-%m-%dT%H:%M:%S)T.%sZ","pid":%d,"component":"supervise.sh"' \
    "$level" "$seconds" "${fraction:0:3}" "$$"
  for field in "$@"; do
    key=${field%%=*}
    value=${field#*=}
    if [[ $value =~ ^-?[0-9]{1,15}$ ]]; then
      line+=",\"$key\":$value"
    else
      json_string "$value"
      line+=",\"$key\":$REPLY"
    fi
  done
  json_string "$msg"
  printf '%s,"msg":%s}\n' "$line" "$REPLY" >&"$stderr_fd"
}

# ---- rate-limited records: whoever can signal PID 1 must not be able to flood its log ---------

# Per event (a fixed name, never input), the first $log_burst occurrences in a window of
# $log_window_ms are logged and the rest counted; the count is logged as one summary record
# (event, suppressed, sinceMs) at the first occurrence or wake-up after the window, or before the
# shim exits. So at most log_burst + 1 records per window, however many signals come.
readonly log_burst=5 log_window_ms=60000
declare -A limit_started=() limit_logged=() limit_suppressed=() limit_first=() limit_what=() limit_level=()

# log_limited EVENT WHAT LEVEL MESSAGE [KEY=VALUE ...] — `log`, limited per EVENT; WHAT names the
# occurrences, in the plural, for the summary.
log_limited() {
  local event=$1 what=$2 level=$3 now started logged suppressed
  shift 3
  log_enabled "$level" || return 0
  now_ms
  now=$REPLY
  started=${limit_started[$event]-}
  if [[ -n $started ]] && ((now - started >= log_window_ms)); then
    log_summary "$event"
    started=''
  fi
  if [[ -z $started ]]; then
    limit_started[$event]=$now limit_logged[$event]=0 limit_suppressed[$event]=0
  fi
  logged=${limit_logged[$event]}
  if ((logged < log_burst)); then
    limit_logged[$event]=$((logged + 1))
    log "$level" "$@"
    return 0
  fi
  suppressed=${limit_suppressed[$event]}
  ((suppressed > 0)) || limit_first[$event]=$now
  limit_suppressed[$event]=$((suppressed + 1)) limit_what[$event]=$what limit_level[$event]=$level
}

# Logs the summary of EVENT's occurrences not logged yet, if any.
log_summary() {
  local event=$1 suppressed=${limit_suppressed[$1]:-0} first=${limit_first[$1]:-0} since_ms since
  ((suppressed > 0)) || return 0
  now_ms
  since_ms=$((REPLY - first))
  if ((since_ms < 10000)); then
    printf -v since '%d.%d s' $((since_ms / 1000)) $((since_ms % 1000 / 100))
  else
    since="$(((since_ms + 500) / 1000)) s"
  fi
  limit_suppressed[$event]=0
  log "${limit_level[$event]}" "$suppressed more ${limit_what[$event]} in the last $since (logging the first $log_burst in each $((log_window_ms / 1000)) s)" \
    "event=$event" "suppressed=$suppressed" "sinceMs=$since_ms"
}

# Logs every pending summary (before exiting); with "due", only those whose window has ended.
log_flush() {
  local event started
  for event in "${!limit_started[@]}"; do
    if [[ ${1-} == due ]]; then
      started=${limit_started[$event]}
      now_ms
      ((REPLY - started >= log_window_ms)) || continue
      unset "limit_started[$event]"
    fi
    log_summary "$event"
  done
}

usage() {
  cat <<'EOF'
Usage: supervise.sh [--] <command> [args...]

Runs <command> as the child of a tiny PID 1: SIGTERM/SIGINT become "terminate" on the app's
graceful-terminator socket (else the signal), DEPUTY_TIMEOUT later the child's process group is
killed; exit status is the child's (128+S for signal S), 127/126 when it cannot be started.

Environment:
  DEPUTY_IPC_DIR            directory of the sockets and the entrypoint pid file (default /run)
  DEPUTY_TIMEOUT            grace period after SIGTERM/SIGINT: 500ms, 5s, 1m or milliseconds (default 25s)
  DEPUTY_TIMEOUT_EXIT_CODE  exit status after the grace period ran out (default 137)
  DEPUTY_STOP_SIGNALS       more signals that start termination like SIGTERM, comma-separated:
                            SIGQUIT, QUIT or 3 (for an image STOPSIGNAL or a lifecycle.stopSignal)
  DEPUTY_REWRITE            from:to pairs changing what the child gets for a received signal
                            (passed on, or sent when terminate cannot be): TERM:QUIT, 15:3; to 0 drops it
  DEPUTY_LOG_LEVEL          trace, debug, info (default), warn, error, fatal or silent
  DEPUTY_CLI                deputy CLI used to send terminate when neither socat nor nc is installed
EOF
}

usage_error() {
  log error "$1 (run supervise.sh --help for usage)"
  exit 2
}

# ---- configuration -------------------------------------------------------------------------

# Sets REPLY to the duration $1 (500ms, 5s, 1.5s, 1m, 1h or bare milliseconds) in milliseconds.
parse_duration_ms() {
  local whole fraction unit scale
  [[ $1 =~ ^[[:space:]]*([0-9]{1,12})(\.([0-9]{1,9}))?[[:space:]]*(ms|s|m|h)?[[:space:]]*$ ]] || return 1
  whole=${BASH_REMATCH[1]} fraction=${BASH_REMATCH[3]} unit=${BASH_REMATCH[4]:-ms}
  case $unit in ms) scale=1 ;; s) scale=1000 ;; m) scale=60000 ;; h) scale=3600000 ;; esac
  fraction=${fraction}000000000
  fraction=${fraction:0:9}
  REPLY=$((10#$whole * scale + (10#$fraction * scale + 500000000) / 1000000000))
  ((REPLY <= MAX_DURATION_MS)) || return 2
}

if [[ -n ${DEPUTY_LOG_LEVEL:-} && $log_min == 30 && $DEPUTY_LOG_LEVEL != info ]]; then
  log warn "unknown DEPUTY_LOG_LEVEL; using info (choose one of trace, debug, info, warn, error, fatal, silent)" \
    "DEPUTY_LOG_LEVEL=$DEPUTY_LOG_LEVEL"
fi

parse_duration_ms "${DEPUTY_TIMEOUT:-25s}"
case $? in
  0) timeout_ms=$REPLY ;;
  1) usage_error "DEPUTY_TIMEOUT: invalid duration \"${DEPUTY_TIMEOUT}\"; use e.g. 500ms, 5s, 1m or a number of milliseconds" ;;
  *) usage_error "DEPUTY_TIMEOUT: duration \"${DEPUTY_TIMEOUT}\" is too long (at most 24 days)" ;;
esac
printf -v timeout_seconds '%d.%03d' $((timeout_ms / 1000)) $((timeout_ms % 1000))

timeout_exit_code=${DEPUTY_TIMEOUT_EXIT_CODE:-137}
if ! [[ $timeout_exit_code =~ ^[0-9]{1,3}$ ]] || ((10#$timeout_exit_code > 255)); then
  usage_error "DEPUTY_TIMEOUT_EXIT_CODE: \"${timeout_exit_code}\" is not an exit status; use an integer from 0 to 255"
fi
timeout_exit_code=$((10#$timeout_exit_code))

# ---- stop signals and rewrites (src/contract/signals.ts) ----------------------------------

# The signals deputy supervise listens to (HANDLED_SIGNALS): the only ones that may be stop
# signals or be rewritten. test/contract.test.ts holds this list to the contract.
readonly handled_signals='TERM INT HUP QUIT USR1 USR2 ALRM STKFLT CONT TSTP URG XCPU XFSZ VTALRM PROF WINCH IO PWR'

# parse_signal TEXT WHAT — sets REPLY to the signal TEXT names without SIG (SIGQUIT, quit or 3 →
# QUIT); else a usage error naming WHAT. `kill -l` (a fork) only for numbers and rarer names.
parse_signal() {
  local text=$1 what=$2 word number=''
  word=${text#"${text%%[![:space:]]*}"}
  word=${word%"${word##*[![:space:]]}"}
  word=${word^^}
  word=${word#SIG}
  case $word in IOT) word=ABRT ;; POLL) word=IO ;; esac # names Node knows and bash does not
  if [[ " $handled_signals " == *" $word "* ]]; then
    REPLY=$word
    return 0
  fi
  if [[ $word =~ ^[0-9]{1,3}$ ]]; then
    number=$((10#$word))
  elif [[ $word =~ ^[A-Z0-9]+$ ]]; then
    number=$(kill -l "$word" 2>/dev/null) || number=''
  fi
  if [[ $word == RTM* || ($number =~ ^[0-9]+$ && $number -ge 32 && $number -le 64) ]]; then
    usage_error "$what: \"$text\" is a real-time signal; they are not supported (deputy supervise cannot listen to them): use a standard signal such as SIGQUIT, SIGUSR1 or SIGWINCH"
  fi
  if [[ -n $number ]] && ((number >= 1 && number <= 31)) && REPLY=$(kill -l "$number" 2>/dev/null) && [[ -n $REPLY ]]; then
    return 0
  fi
  usage_error "$what: unknown signal \"$text\"; write a name (SIGQUIT or QUIT) or a number (3)"
}

# parse_handled_signal TEXT WHAT WHY — parse_signal, and the signal must be one this script traps.
parse_handled_signal() {
  parse_signal "$1" "$2"
  [[ " $handled_signals " != *" $REPLY "* ]] || return 0
  case $REPLY in
    KILL | STOP) usage_error "$2: SIG$REPLY cannot be caught, so it cannot $3; use SIGTERM, SIGINT, SIGQUIT, SIGUSR1 or the like" ;;
    *) usage_error "$2: SIG$REPLY cannot $3 (it drives reaping, concerns the entrypoint's own terminal or output, or reports a crash); use one of $handled_signals" ;;
  esac
}

stop_signals=() items=()
[[ -z ${DEPUTY_STOP_SIGNALS:-} ]] || IFS=, read -ra items <<<"$DEPUTY_STOP_SIGNALS"
for item in "${items[@]}"; do
  [[ $item == *[![:space:]]* ]] || continue
  parse_handled_signal "$item" DEPUTY_STOP_SIGNALS "start a graceful termination"
  [[ " ${stop_signals[*]} " == *" $REPLY "* || $REPLY == TERM || $REPLY == INT ]] || stop_signals+=("$REPLY")
done

# rewrite[FROM]=TO (names without SIG; 0 drops the signal); a later pair for FROM wins.
declare -A rewrite=()
items=()
[[ -z ${DEPUTY_REWRITE:-} ]] || IFS=, read -ra items <<<"$DEPUTY_REWRITE"
for item in "${items[@]}"; do
  [[ $item == *[![:space:]]* ]] || continue
  if ! [[ $item =~ ^([^:]*[^:[:space:]][^:]*):([^:]*[^:[:space:]][^:]*)$ ]]; then
    usage_error "DEPUTY_REWRITE: \"$item\" is not a from:to pair; write e.g. TERM:QUIT or 15:3 (to 0 drops the signal)"
  fi
  to_text=${BASH_REMATCH[2]}
  parse_handled_signal "${BASH_REMATCH[1]}" DEPUTY_REWRITE "be rewritten: it is never passed on"
  from=$REPLY
  if [[ $to_text =~ ^[[:space:]]*0[[:space:]]*$ ]]; then
    rewrite[$from]=0
  else
    parse_signal "$to_text" DEPUTY_REWRITE
    rewrite[$from]=$REPLY
  fi
done
unset items item from to_text

# Sets REPLY to what the child gets for the received signal $1, or '' when it is dropped.
rewritten() {
  REPLY=${rewrite[$1]-$1}
  [[ $REPLY != 0 ]] || REPLY=''
}

case ${1-} in
  -h | --help) usage; exit 0 ;;
  --) shift ;;
  -*) usage_error "unknown option '$1'" ;;
esac
(($# > 0)) || usage_error "missing the command to run, e.g. supervise.sh node server.js"

# Sets REPLY to the first executable file named $1 in PATH, or returns 1 (no fork, unlike `type -P`).
# Sets unexecutable_match to the first such file without the execute bit: like bash and execvp,
# finding only those is "permission denied" (126), not "not found" (127).
find_in_path() {
  local dir dirs
  unexecutable_match=''
  IFS=: read -ra dirs <<<"${PATH-}"
  for dir in "${dirs[@]}"; do
    [[ -n $dir ]] || dir=.
    if [[ -f $dir/$1 ]]; then
      if [[ -x $dir/$1 ]]; then
        REPLY=$dir/$1
        return 0
      fi
      [[ -n $unexecutable_match ]] || unexecutable_match=$dir/$1
    fi
  done
  return 1
}

# ---- the command must be startable: 127 not found, 126 not executable -----------------------
# Judged before the fork: a failed exec in the child would print bash's own unstructured
# message (and, for E2BIG, a second one saying "Success"). The checks cost nothing on the happy
# path; the errno names and hints are deputy supervise's (src/supervisor/exec-failure.ts).

# Returns 0 when execve would fail with ENAMETOOLONG: a path component over 255 bytes (NAME_MAX)
# or a path of 4096 bytes or more (PATH_MAX counts the NUL).
name_too_long() {
  ((${#1} > 63)) || return 1 # a character is at most 4 bytes: nothing shorter can be too long
  local LC_ALL=C rest=$1 part
  ((${#rest} < 4096)) || return 0
  while [[ -n $rest ]]; do
    part=${rest%%/*}
    ((${#part} <= 255)) || return 0
    [[ $rest == */* ]] || break
    rest=${rest#*/}
  done
  return 1
}

# Returns 0 when the path $1, which does not exist, runs through a file that is not a directory
# (execve: ENOTDIR rather than ENOENT).
path_through_file() {
  local prefix=$1
  while [[ $prefix == */* ]]; do
    prefix=${prefix%/*}
    [[ -n $prefix ]] || return 1
    if [[ -e $prefix ]]; then
      [[ ! -d $prefix ]]
      return
    fi
  done
  return 1
}

# Sets REPLY to why execve would certainly fail with E2BIG for the command line "$@" and the
# exported environment, or returns 1: a string over the kernel's per-string limit (32 pages), or
# all of them over its total (a quarter of the stack limit, at most 6 MiB, at least 128 KiB, less
# a pointer per string). Only called when BASH_ENV is set: the arguments and environment this
# script received fit the kernel's limits (it was exec'd with them), and only a BASH_ENV file,
# sourced before this script, can grow them. Without a fork, which costs more than the loops.
exec_too_big() {
  local LC_ALL=C i name text bytes total=0 count=0 largest=0 largest_what='' line key value unit page_bytes='' stack total_max
  local -a names
  for ((i = 1; i <= $#; i++)); do
    text=${!i}
    bytes=$((${#text} + 1))
    total=$((total + bytes)) count=$((count + 1))
    ((bytes <= largest)) || largest=$bytes largest_what="argument $((i - 1))"
  done
  names=("${!A@}" "${!B@}" "${!C@}" "${!D@}" "${!E@}" "${!F@}" "${!G@}" "${!H@}" "${!I@}" "${!J@}" "${!K@}" "${!L@}" "${!M@}" "${!N@}" "${!O@}" "${!P@}" "${!Q@}" "${!R@}" "${!S@}" "${!T@}" "${!U@}" "${!V@}" "${!W@}" "${!X@}" "${!Y@}" "${!Z@}" "${!a@}" "${!b@}" "${!c@}" "${!d@}" "${!e@}" "${!f@}" "${!g@}" "${!h@}" "${!i@}" "${!j@}" "${!k@}" "${!l@}" "${!m@}" "${!n@}" "${!o@}" "${!p@}" "${!q@}" "${!r@}" "${!s@}" "${!t@}" "${!u@}" "${!v@}" "${!w@}" "${!x@}" "${!y@}" "${!z@}" "${!_@}")
  for name in "${names[@]}"; do
    [[ -v $name && ${!name@a} == *x* && ${!name@a} != *[aA]* ]] || continue # bash exports no arrays
    text=${!name}
    bytes=$((${#name} + ${#text} + 2))
    total=$((total + bytes)) count=$((count + 1))
    ((bytes <= largest)) || largest=$bytes largest_what="environment variable $name"
  done
  # Within the least limits of any kernel (32 pages of 4 KiB a string, 128 KiB in all): it fits.
  ((largest > 131072 || total + ${#command_path} + 1 + 8 * count > 131072)) || return 1
  while read -r key value unit; do
    if [[ $key == KernelPageSize: && $unit == kB ]]; then
      page_bytes=$((value * 1024))
      break
    fi
  done 2>/dev/null <"/proc/$$/smaps"
  stack=unlimited
  while IFS= read -r line; do
    if [[ $line == 'Max stack size '* ]]; then
      read -r _ _ _ stack _ <<<"$line"
      break
    fi
  done 2>/dev/null <"/proc/$$/limits"
  if [[ $stack =~ ^[0-9]+$ ]]; then total_max=$((stack / 4)); else total_max=6291456; fi
  ((total_max <= 6291456)) || total_max=6291456
  ((total_max >= 131072)) || total_max=131072
  total_max=$((total_max - 8 * count - ${#command_path} - 1)) # a pointer per string; the file name is copied too
  if ! (((${page_bytes:-0} > 0 && largest > 32 * page_bytes) || total > total_max)); then
    return 1
  fi
  REPLY="the arguments and environment are too big for the kernel: each string must be under 128 KiB (32 pages) and all of them together under a quarter of the stack limit (ulimit -s); the largest is $largest_what, $largest bytes, of $total in all — pass large data through a file"
}

command_name=$1
if name_too_long "$command_name"; then
  log error "cannot execute $command_name: ENAMETOOLONG (the command name or path is too long: a name is at most 255 bytes, a path 4095)" \
    "command=$command_name" "code=ENAMETOOLONG"
  exit 126
fi
if [[ $command_name == */* ]]; then
  command_path=$command_name
elif find_in_path "$command_name"; then
  command_path=$REPLY
elif [[ -n $unexecutable_match ]]; then
  command_path=$unexecutable_match # judged not executable below
else
  log error "command not found: $command_name (is it installed and on PATH?)" "command=$command_name" "code=ENOENT" "PATH=${PATH-}"
  exit 127
fi
if [[ ! -e $command_path ]] && path_through_file "$command_path"; then
  log error "cannot execute $command_name: ENOTDIR (a component of the path is not a directory)" "command=$command_name" "code=ENOTDIR"
  exit 126
elif [[ ! -e $command_path ]]; then
  log error "command not found: $command_name (no such file)" "command=$command_name" "code=ENOENT"
  exit 127
elif [[ -d $command_path || ! -x $command_path ]]; then
  log error "command not executable: $command_name (permission denied or a directory; check its mode)" "command=$command_name" "code=EACCES"
  exit 126
fi
if [[ -n ${BASH_ENV:-} ]] && exec_too_big "$@"; then
  log error "cannot execute $command_name: E2BIG ($REPLY)" "command=$command_name" "code=E2BIG"
  exit 126
fi

# ---- preStop hooks --------------------------------------------------------------------------

# Sets REPLY to the milliseconds since the epoch.
now_ms() {
  local now=${EPOCHREALTIME:-}
  if [[ -n $now ]]; then
    now=${now/[.,]/}
    REPLY=$((10#$now / 1000))
  else
    REPLY=$((SECONDS * 1000))
  fi
}

# Sets REPLY to the start time of process $1 (field 22 of /proc/$1/stat) if it runs and is a
# process, not a thread nor a zombie; else returns 1.
process_start_ticks() {
  local stat line fields
  { IFS= read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  read -ra fields <<<"$stat"
  [[ ${fields[0]} != Z ]] || return 1
  while IFS= read -r line; do
    if [[ $line == Tgid:* ]]; then
      [[ ${line//[!0-9]/} == "$1" ]] || return 1
      break
    fi
  done 2>/dev/null <"/proc/$1/status"
  REPLY=${fields[19]}
}

process_start_ticks $$
readonly shim_start_ticks=${REPLY:-0}

# The preStop protocol (src/ipc/prestop.ts states it in full). When PID 1 exits, the kernel SIGKILLs
# every process left in the container, so a running preStop hook would be cut off. The ordering
# invariant that makes one look after the child's exit enough:
#   the hook writes its marker  <  it sends terminate  <  the app exits  <  this shim looks,
#   and the marker stays until its writer has exited.
# `deputy terminate` writes $ipc_dir/deputy-prestop.<its pid> (its target, then its start time)
# before it sends terminate and never removes it; only readers do, once the writer is gone (a
# zombie is gone: its status is final). So a hook that made the child exit is seen here, and
# waited for while its pid is that process.

# Sets hook_pids to the pids of the running preStop hooks. A marker whose pid is not that process
# any more (an exited or SIGKILLed hook, a pid reused after a restart, a process older than this
# shim) is stale and removed. A hook aimed at this shim is released (its marker removed) so that
# it returns 0: it cannot outlive PID 1; it is then followed by pid and start time until it exits.
running_prestop_hooks() {
  local marker pid target recorded entry pids=() released=() removed=()
  for marker in "$ipc_dir"/deputy-prestop.*; do
    pid=${marker##*/deputy-prestop.}
    [[ $pid =~ ^[0-9]{1,7}$ && $pid != "$$" ]] || continue
    target='' recorded=''
    { IFS= read -r target && IFS= read -r recorded; } 2>/dev/null <"$marker"
    if ! process_start_ticks "$pid" || ((REPLY < shim_start_ticks)) || [[ -n $recorded && $recorded != "$REPLY" ]]; then
      removed+=("$marker")
      continue
    fi
    if [[ $target == "$$" ]]; then
      removed+=("$marker")
      released+=("$pid:$REPLY")
    fi
    pids+=("$pid")
  done
  # One rm for all: a fork per stale marker costs seconds on a busy machine.
  ((${#removed[@]} == 0)) || rm -f -- "${removed[@]}" 2>/dev/null
  for entry in "${released_hooks[@]}"; do # released earlier: no marker any more
    pid=${entry%%:*}
    [[ " ${pids[*]} " != *" $pid "* ]] || continue
    # Still that process (kill -0 would count a zombie, or a later process given the same pid)?
    if ! process_start_ticks "$pid" || [[ $REPLY != "${entry#*:}" ]]; then continue; fi
    pids+=("$pid")
    released+=("$entry")
  done
  released_hooks=("${released[@]}")
  hook_pids=("${pids[@]}")
}
hook_pids=()
released_hooks=()

# Kubernetes records FailedPreStopHook when PID 1 exits before the hook returns: wait for running
# hooks, until what is left of DEPUTY_TIMEOUT (at least a second, for a hook to notice its target
# is gone), or 2 s when termination never began (the hook terminated the app itself).
wait_for_prestop_hooks() {
  local deadline
  now_ms
  if ((terminating)); then
    deadline=$((terminating_since_ms + timeout_ms))
    ((deadline >= REPLY + 1000)) || deadline=$((REPLY + 1000))
  else
    deadline=$((REPLY + 2000))
  fi
  running_prestop_hooks
  ((${#hook_pids[@]} > 0)) || return 0
  log info "waiting for the preStop hook to return" "pids=${hook_pids[*]}"
  while ((${#hook_pids[@]} > 0)); do
    now_ms
    if ((REPLY >= deadline)); then
      log warn "preStop hook still running at the timeout; exiting anyway" "pids=${hook_pids[*]}"
      return 0
    fi
    sleep 0.02 # a bounded poll: the hook is not our child, nothing signals its exit
    running_prestop_hooks
  done
  log info "preStop hook returned"
}

# ---- sending terminate ---------------------------------------------------------------------

# Sets REPLY to the deputy CLI the node sender runs, or returns 1.
deputy_cli() {
  local here=${BASH_SOURCE[0]%/*}
  [[ ${BASH_SOURCE[0]} == */* ]] || here=.
  if [[ -n ${DEPUTY_CLI:-} ]]; then
    REPLY=$DEPUTY_CLI
  elif [[ -f $here/../bin/deputy.js ]]; then
    REPLY=$here/../bin/deputy.js
  elif find_in_path deputy; then
    :
  elif [[ -f node_modules/k8s-deputy/bin/deputy.js ]]; then
    REPLY=$PWD/node_modules/k8s-deputy/bin/deputy.js
  else
    return 1
  fi
}

# send_terminate PID SOCKET — sends the datagram; sets sender and send_output; non-zero on failure.
send_terminate() {
  local pid=$1 socket=$2 cli
  [[ $socket == /* ]] || socket=./$socket
  if find_in_path socat; then
    sender=socat
    # socat splits addresses at ':' and ','; a relative name from inside the directory has neither.
    send_output=$(cd -- "$ipc_dir" 2>&1 && exec timeout 5 socat -u STDIN "UNIX-SENDTO:./${socket##*/}" 2>&1 <<<terminate)
  elif find_in_path nc; then
    sender=nc
    send_output=$(exec timeout 5 nc -U -u -q0 "$socket" 2>&1 <<<terminate)
  elif find_in_path node && deputy_cli; then
    sender=node
    cli=$REPLY
    if [[ $cli == *.js ]]; then
      send_output=$(DEPUTY_IPC_DIR=$ipc_dir exec timeout 10 node "$cli" terminate "$pid" --no-wait 2>&1 </dev/null)
    else
      send_output=$(DEPUTY_IPC_DIR=$ipc_dir exec timeout 10 "$cli" terminate "$pid" --no-wait 2>&1 </dev/null)
    fi
  else
    sender=none
    send_output='neither socat, nc nor node with the deputy CLI is available'
    return 1
  fi
}

# signal_child SIGNAL WHY — sends the child the rewrite of the received SIGNAL.
signal_child() {
  local signal=$1 why=$2 sent received=()
  rewritten "$signal"
  sent=$REPLY # log sets REPLY
  if [[ -z $sent ]]; then
    log warn "$why; DEPUTY_REWRITE drops SIG$signal, so nothing is sent: the child is killed at the timeout unless it exits" "signal=SIG$signal" "child=$child"
    return 0
  fi
  [[ $sent == "$signal" ]] || received=("received=SIG$signal")
  log info "$why; sending SIG$sent to the child" "signal=SIG$sent" "${received[@]}" "child=$child"
  kill -s "$sent" "$child" 2>/dev/null
}

# Asks the app to terminate through its socket, else signals the child.
request_termination() {
  local signal=$1 pid_file=$ipc_dir/deputy-entrypoint.pid text='' target socket sender send_output
  if [[ ! -e $pid_file ]]; then
    signal_child "$signal" "no entrypoint pid file at $pid_file"
    return
  fi
  # Only a regular file, and only its first bytes: a FIFO (the open blocks) or a symlink to
  # /dev/zero (no newline, ever) would hang PID 1. Unreadable or no newline: judged below.
  if [[ -f $pid_file ]]; then { IFS= read -r -n 64 text <"$pid_file"; } 2>/dev/null; fi
  if ! [[ $text =~ ^[0-9]{1,7}$ ]] || ((10#$text < 1 || 10#$text > PID_MAX)); then
    log warn "pid file $pid_file is malformed; it must hold a decimal pid and a newline" "path=$pid_file" "content=${text:0:40}"
    signal_child "$signal" "cannot tell which process to terminate"
    return
  fi
  target=$((10#$text))
  socket=$ipc_dir/graceful-terminator.$target.socket
  if [[ ! -S $socket ]]; then
    signal_child "$signal" "no graceful-terminator socket for pid $target at $socket"
    return
  fi
  if send_terminate "$target" "$socket"; then
    log info "received SIG$signal; sent terminate to pid $target" "signal=SIG$signal" "target=$target" "sender=$sender" "socket=$socket"
  else
    log warn "sending terminate to $socket with $sender failed: $send_output" "sender=$sender" "target=$target"
    signal_child "$signal" "terminate could not be sent"
  fi
}

# The grace period: a subshell in its own process group that SIGKILLs the child's group and
# exits 0 when it runs out. It is killed (and exits non-zero) when the child exits first; once it
# has begun the kill it ignores that SIGTERM, so its status always tells whether it fired.
start_timer() {
  set -m
  # It may start while a trap ignores its signal (see trap_text), and a subshell keeps an ignored
  # disposition: an ignored SIGTERM would make the timer unstoppable.
  (trap - "${!signal_action[@]}"; sleep "$timeout_seconds" && trap '' TERM && kill -s KILL -- "-$child" 2>/dev/null) &
  timer=$!
  set +m
  log debug "grace period started" "timeoutMs=$timeout_ms"
}

on_terminate() {
  local signal=$1
  if [[ -z $child ]]; then
    pending_signal=$signal # arrived before the child started: handled right after
    return
  fi
  if ((terminating)); then
    rewritten "$signal"
    local sent=$REPLY # log sets REPLY
    if [[ -z $sent ]]; then
      log_limited termination-signal-repeated "signals passed on during termination" info \
        "SIG$signal again during termination; DEPUTY_REWRITE drops it" "signal=SIG$signal" "child=$child"
      return
    fi
    log_limited termination-signal-repeated "signals passed on during termination" info \
      "SIG$signal again during termination; sending SIG$sent to the child" "signal=SIG$sent" "received=SIG$signal" "child=$child"
    kill -s "$sent" "$child" 2>/dev/null
    return
  fi
  terminating=1
  # What follows can take seconds (the sender runs under a timeout): arm the signal again now,
  # so that a second one meanwhile is passed on once the send is done rather than dropped.
  trap -- "${trap_text[$signal]}" "$signal"
  now_ms
  terminating_since_ms=$REPLY
  start_timer
  request_termination "$signal"
}

# shellcheck disable=SC2317 # called from the traps
forward() {
  [[ -n $child ]] || return 0
  local sent
  rewritten "$1"
  sent=$REPLY # log sets REPLY
  if [[ -z $sent ]]; then
    log_limited forwarded-signal "forwarded signals" debug "SIG$1 dropped (DEPUTY_REWRITE)" "signal=SIG$1" "child=$child"
    return 0
  fi
  log_limited forwarded-signal "forwarded signals" debug "forwarding SIG$sent to the child" "signal=SIG$sent" "received=SIG$1" "child=$child"
  kill -s "$sent" "$child" 2>/dev/null
}

# ---- waiting for a child -------------------------------------------------------------------

# bash loses the exit status of a child it reaps inside `wait` when a trapped signal interrupts
# that wait as the child exits (the signal handler jumps out between waitpid() and recording the
# status; the next `wait` then blocks until some other child exits, and returns -1). Under a
# burst of signals that is likely. So during a burst (a signal within 2 s of the previous one)
# and for 2 s after, poll every 20 ms with sleep(1) instead — bash then reaps the child outside
# `wait` and keeps its status (`read -t` would save the fork, but its timeout jumps out of a
# trap that runs meanwhile, cutting it short). Otherwise, as after the kubelet's one SIGTERM,
# block in `wait`: it sees the exit at once and costs nothing meanwhile.
last_signal_s=-100
burst_s=-100
quiet=0

# What each handled signal does: forward it, or begin termination (TERM, INT, stop signals).
declare -A signal_action=()
for signal in HUP QUIT USR1 USR2 ALRM WINCH "${!rewrite[@]}"; do signal_action[$signal]=forward; done
for signal in TERM INT "${stop_signals[@]}"; do signal_action[$signal]=on_terminate; done # a stop signal is not forwarded

# bash runs a trap again for the signal it is already handling, nested inside the running one,
# and a flood of one signal (a `kill` loop) nested them until bash overflowed its stack and died
# of SIGSEGV — PID 1 gone. So each trap first ignores its own signal and arms it again as its
# very last word: a signal of the same kind arriving meanwhile is dropped, as if it had merged
# with the one being handled. bash looks for pending traps before each command, and after the
# last one of a trap's text there is none: only a signal landing before `trap ''` can still nest,
# one level, which a flood hits too seldom to go deep. (A `:` trap instead of '' nests `:` in `:`
# under a dense enough flood.)
declare -A trap_text=()
for signal in "${!signal_action[@]}"; do
  trap_text[$signal]="trap '' $signal; on_signal $signal; trap -- \"\${trap_text[$signal]}\" $signal"
done

set_traps() {
  local signal
  for signal in "${!trap_text[@]}"; do
    trap -- "${trap_text[$signal]}" "$signal"
  done
}

# Every trap runs its handler through this. REPLY is kept: the code the trap interrupted may be
# about to read it. A signal caught just before its trap's `trap ''` stays pending, and bash warns
# about it on its stderr ("run_pending_traps: bad value in trap_list") — dozens of lines a second
# under a flood. So while a burst lasts bash's own stderr is /dev/null; unmute_after_burst gives
# it back (a burst still on when the shim exits keeps it to the end).
# shellcheck disable=SC2317 # called from the traps
on_signal() {
  local signal=$1 reply=${REPLY-}
  if ((SECONDS - last_signal_s <= 2)); then
    burst_s=$SECONDS
    ((quiet)) || { exec 2>/dev/null; quiet=1; }
  fi
  last_signal_s=$SECONDS
  "${signal_action[$signal]}" "$signal"
  REPLY=$reply
}

unmute_after_burst() {
  ((quiet && SECONDS - burst_s > 2)) || return 0
  exec 2>&"$stderr_fd"
  quiet=0
}

# Waits until child $1 has exited; sets REPLY to its exit status.
wait_for_exit() {
  local pid=$1 status again
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS - burst_s > 2)); then
      unmute_after_burst
      wait "$pid" 2>/dev/null
    else
      sleep 0.02
    fi
    log_flush due
  done
  unmute_after_burst
  # Reaped: `wait` only looks the status up now, and there is no child left to pass a signal on
  # to. A trapped signal would cut that wait short (128+N for the status): ignore them. bash
  # warns about a signal caught just before (see on_signal): the `:` in /dev/null takes that. The
  # same signal can still cut the wait short once, though bash keeps the status of a background
  # pid: ask again. The waits' stderr is silenced for bash's "Killed"-style job notices.
  { trap '' "${!signal_action[@]}"; :; } 2>/dev/null
  wait "$pid" 2>/dev/null
  status=$?
  while ((status > 128)); do
    wait "$pid" 2>/dev/null
    again=$?
    ((again != status && again != 127)) || break
    status=$again
  done
  set_traps
  REPLY=$status
}

pending_signal=''
set_traps

# ---- run the child -------------------------------------------------------------------------

# Job control for this one fork gives the child its own process group (so the grace period can
# kill its descendants too), keeps stdin, and leaves SIGINT/SIGQUIT at their defaults. Traps
# are reset to defaults in the child before exec.
set -m
exec -- "$@" 2>&"$stderr_fd" {stderr_fd}>&- &
child=$!
set +m
signal_fields=() pairs=''
((${#stop_signals[@]} == 0)) || signal_fields+=("stopSignals=${stop_signals[*]}")
for from in "${!rewrite[@]}"; do pairs+="${pairs:+,}$from:${rewrite[$from]}"; done
[[ -z $pairs ]] || signal_fields+=("rewrite=$pairs")
log info "started $command_name" "child=$child" "command=$command_name" "${signal_fields[@]}"
[[ -z $pending_signal ]] || on_terminate "$pending_signal"

wait_for_exit "$child"
status=$REPLY
log_flush

if [[ -n $timer ]]; then
  kill -s TERM -- "-$timer" 2>/dev/null
  wait_for_exit "$timer"
  if ((REPLY == 0)); then
    log error "the child was still running ${timeout_ms} ms after termination began; killed its process group" "child=$child" "timeoutMs=$timeout_ms" "exitCode=$timeout_exit_code"
    wait_for_prestop_hooks
    log_flush
    exit "$timeout_exit_code"
  fi
fi
log info "child exited with status $status" "child=$child" "status=$status"
wait_for_prestop_hooks
log_flush
exit "$status"
