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
#   DEPUTY_PROBE_TIMEOUT      how long to wait for the answer, in whole or decimal seconds (default 1)
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

printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$host" >&3
if ! IFS= read -r -t "$timeout" status_line <&3; then
  printf '%s: unhealthy: no answer within %ss from %s port %s\n' "$1" "$timeout" "$host" "$port"
  exit 1
fi
if ! [[ $status_line =~ ^HTTP/[0-9.]+\ ([0-9]{3}) ]]; then
  # Something else listens on the port: like no server at all, not like an unhealthy one.
  printf '%s: unreachable: not an HTTP answer from %s port %s\n' "$1" "$host" "$port"
  exit 2
fi
code=${BASH_REMATCH[1]}

# Headers end at the empty line; the body (a small JSON document) follows until the server closes.
body=''
while IFS= read -r -t "$timeout" line <&3; do
  [[ $line == $'\r' || -z $line ]] && break
done
while IFS= read -r -t "$timeout" line <&3 || [[ -n ${line-} ]]; do
  body+=${line%$'\r'}
  line=''
done
exec 3<&-

if [[ $code == 2[0-9][0-9] ]]; then
  printf '%s: healthy: %s %s\n' "$1" "$code" "$body"
  exit 0
fi
printf '%s: unhealthy: %s %s\n' "$1" "$code" "$body"
exit 1
