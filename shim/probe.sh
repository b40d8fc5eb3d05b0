#!/usr/bin/env bash
# probe.sh — a Kubernetes exec probe in pure bash (/dev/tcp) against a Deputy's health endpoints.
#
#   livenessProbe:  { exec: { command: ["/usr/local/bin/probe.sh", "live"] } }
#   readinessProbe: { exec: { command: ["/usr/local/bin/probe.sh", "ready"] } }
#   startupProbe:   { exec: { command: ["/usr/local/bin/probe.sh", "startup"] } }
#
# Usage: probe.sh live|ready|startup [port]
# Asks GET /livez, /readyz or /startupz and prints one line: the probe, the HTTP status and the
# body. Exit status: 0 healthy (2xx), 1 unhealthy (any other status, or no answer in time),
# 2 unreachable (cannot connect, or the peer does not speak HTTP: as `deputy probe`), 3 usage error.
# (3, not deputy probe's 2, for a usage error: 2 already means unreachable here and a probe
# reads only the status.)
#
# Environment:
#   DEPUTY_HEALTH_CHECK_PORT  port when none is given (default 8081)
#   DEPUTY_HEALTH_CHECK_HOST  host to ask; unset, 0.0.0.0 or :: mean 127.0.0.1
#   DEPUTY_PROBE_TIMEOUT      how long to wait for the whole answer, in whole or decimal seconds (default 1)
set -u

usage() {
  printf 'Usage: probe.sh live|ready|startup [port]\n'
  printf 'Exit status: 0 healthy, 1 unhealthy, 2 unreachable or not HTTP, 3 usage error.\n'
  printf 'Environment: DEPUTY_HEALTH_CHECK_PORT (default 8081), DEPUTY_HEALTH_CHECK_HOST (default 127.0.0.1),\n'
  printf '             DEPUTY_PROBE_TIMEOUT seconds to wait for the answer (default 1).\n'
}

usage_error() {
  printf 'probe.sh: %s (run with --help for usage)\n' "$1" >&2
  exit 3
}

case ${1-} in
  live) path=/livez ;;
  ready) path=/readyz ;;
  startup) path=/startupz ;;
  -h | --help) usage; exit 0 ;;
  '') usage_error 'missing the probe: live, ready or startup' ;;
  *) usage_error "unknown probe '$1': use live, ready or startup" ;;
esac
(($# <= 2)) || usage_error 'too many arguments'

port=${2:-${DEPUTY_HEALTH_CHECK_PORT:-8081}}
if ! [[ $port =~ ^[0-9]{1,5}$ ]] || ((10#$port < 1 || 10#$port > 65535)); then
  usage_error "port '$port' is not a TCP port (1-65535)"
fi
port=$((10#$port))

host=${DEPUTY_HEALTH_CHECK_HOST:-127.0.0.1}
case $host in 0.0.0.0 | :: | '[::]') host=127.0.0.1 ;; esac
host=${host#[}
host=${host%]}

timeout=${DEPUTY_PROBE_TIMEOUT:-1}
[[ $timeout =~ ^[0-9]+(\.[0-9]+)?$ ]] || usage_error "DEPUTY_PROBE_TIMEOUT '$timeout' is not a number of seconds"

# A failed connect prints bash's own message; the group's redirection silences it.
if ! { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null; then
  printf '%s: unreachable: cannot connect to %s port %s\n' "$1" "$host" "$port"
  exit 2
fi

# One deadline for the whole answer, not one per read: a peer that drips bytes or never stops
# sending must not keep the probe past it. EPOCHREALTIME (bash 5) counts microseconds; older
# bash falls back to SECONDS (whole seconds).
clock() {
  if [[ -n ${EPOCHREALTIME-} ]]; then now=${EPOCHREALTIME/[.,]/}; else now=$((SECONDS * 1000000)); fi
}
# Sets $left to the seconds left ("0.250000"); fails once the deadline has passed.
time_left() {
  clock
  local us=$((deadline - now))
  ((us > 0)) || return 1
  printf -v left '%d.%06d' "$((us / 1000000))" "$((us % 1000000))"
}
no_answer() {
  printf '%s: unhealthy: no answer within %ss from %s port %s\n' "$probe" "$timeout" "$host" "$port"
  exit 1
}
not_http() {
  # Something else listens on the port: like no server at all, not like an unhealthy one.
  printf '%s: unreachable: not an HTTP answer from %s port %s\n' "$probe" "$host" "$port"
  exit 2
}
probe=$1
fraction=000000
[[ $timeout == *.* ]] && fraction=${timeout#*.}000000
clock
deadline=$((now + 10#${timeout%%.*} * 1000000 + 10#${fraction:0:6}))

printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$host" >&3

STATUS_LINE_MAX=1024
HEADERS_MAX=16384 # Node's limit, so deputy probe says "not HTTP" too
BODY_MAX=1024

# The status line alone first, so that a peer speaking something else is judged at once.
status_line=''
read_status=1
if time_left; then
  IFS= read -r -t "$left" -n "$STATUS_LINE_MAX" status_line <&3
  read_status=$?
fi
((read_status > 128)) && no_answer
[[ -z $status_line ]] && no_answer
[[ $status_line =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]] || not_http
code=${BASH_REMATCH[1]}

# Then the rest in one read, parsed in memory. `read -N` is the one form of bash's read that
# takes a socket in chunks; a line read takes it a byte at a time, four system calls a byte with
# a timeout, which cost more than bash's own start-up. It ends at the server's close (HTTP/1.0
# asks for one), at the size cap (an endless body or header flood cannot grow it) or at the
# deadline, keeping what came: a server that keeps the connection open is judged then.
rest=''
read_status=142 # no time left reads as a timeout
if time_left; then
  IFS= read -r -t "$left" -N $((HEADERS_MAX + 2 + BODY_MAX)) rest <&3
  read_status=$?
fi
exec 3<&-
timed_out=0
((read_status > 128)) && timed_out=1

# Headers end at the first empty line. A close before it ends them too (there is no body); the
# deadline before it is no answer in time; the size cap before it is no health endpoint.
# With a newline in front, the empty line is the first "\n\r\n" or "\n\n", even at the start.
framed=$'\n'$rest
head=${framed%%$'\n\r\n'*}
lf=${framed%%$'\n\n'*}
((${#lf} < ${#head})) && head=$lf
headers=${head:1}
body=''
ended=0
if ((${#head} < ${#framed})); then
  ended=1
  body=${framed:${#head}+1}
  body=${body#$'\r'}
  body=${body#$'\n'}
fi
((${#headers} > HEADERS_MAX)) && not_http
if ((!ended)); then
  ((timed_out)) && no_answer
  ((read_status == 0)) && not_http
fi

# The body (a small JSON document) runs to Content-Length, at most BODY_MAX of it is shown.
length_header=$'(^|\n)content-length:[[:blank:]]*([0-9]{1,9})[[:blank:]\r]*(\n|$)'
if [[ ${headers,,} =~ $length_header ]]; then
  length=$((10#${BASH_REMATCH[2]}))
  ((length < ${#body})) && body=${body:0:length}
fi
body=${body:0:BODY_MAX}
body=${body//[$'\r\n']/}

if [[ $code == 2[0-9][0-9] ]]; then
  printf '%s: healthy: %s %s\n' "$probe" "$code" "$body"
  exit 0
fi
printf '%s: unhealthy: %s %s\n' "$probe" "$code" "$body"
exit 1
