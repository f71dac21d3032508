# shellcheck shell=bash
# Shared helpers for the test-server scripts. Source it; do not run it.
#
# Layout:
#   $KUIK_CACHE_DIR/tools/<name>-<version>/   installed or built tools, keyed by version, kept across runs
#   $KUIK_TEST_STATE_DIR/<server>.env          KEY=VALUE lines a started server publishes (endpoints, credentials)
#   $KUIK_TEST_STATE_DIR/<server>.pid          pid of the server process (the real one, not a wrapper)
#   $KUIK_TEST_STATE_DIR/<server>.log          its output
#   $KUIK_TEST_STATE_DIR/<server>/             its data directory
set -euo pipefail

KUIK_REPO_ROOT="${KUIK_REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
KUIK_CACHE_DIR="${KUIK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kuik}"
KUIK_TEST_STATE_DIR="${KUIK_TEST_STATE_DIR:-$KUIK_REPO_ROOT/tmp/test-servers}"
export KUIK_REPO_ROOT KUIK_CACHE_DIR KUIK_TEST_STATE_DIR
mkdir -p "$KUIK_CACHE_DIR/tools" "$KUIK_TEST_STATE_DIR"

log() { printf '[test-servers] %s\n' "$*" >&2; }
die() { printf '[test-servers] error: %s\n' "$*" >&2; exit 1; }

# tool_dir NAME VERSION -> directory where that exact version lives
tool_dir() { printf '%s/tools/%s-%s' "$KUIK_CACHE_DIR" "$1" "$2"; }

# free_port -> an unused TCP port on 127.0.0.1 (the kernel picks it)
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# go_install_cached NAME VERSION MODULE_PATH[@VERSION] [BINARY_NAME] -> prints the binary path
# Builds once per version into the cache (GOBIN), then reuses it.
go_install_cached() {
  local name="$1" version="$2" module="$3" bin="${4:-$1}"
  local dir; dir="$(tool_dir "$name" "$version")"
  if [[ ! -x "$dir/bin/$bin" ]]; then
    command -v go >/dev/null || die "Go is required to build $name: install Go >= 1.24 (https://go.dev/doc/install) or Debian's golang package"
    log "building $name $version with go install (once per version, cached in $dir)"
    mkdir -p "$dir/bin"
    GOBIN="$dir/bin" GOFLAGS="${GOFLAGS:--trimpath}" go install "$module" >&2
  fi
  printf '%s/bin/%s' "$dir" "$bin"
}

# apt_ensure PACKAGE... : installs missing Debian packages (runs apt-get update once per run)
apt_ensure() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  command -v apt-get >/dev/null || die "missing packages ${missing[*]} and no apt-get: install them with your package manager"
  local sudo=""; [[ $(id -u) -eq 0 ]] || sudo="sudo"
  local stamp="$KUIK_TEST_STATE_DIR/.apt-updated"
  if [[ ! -f "$stamp" ]]; then $sudo apt-get update -qq >&2; touch "$stamp"; fi
  log "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# wait_for DESCRIPTION TIMEOUT_SECONDS COMMAND... : polls COMMAND until it succeeds
wait_for() {
  local what="$1" timeout="$2"; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then die "$what did not become ready within ${timeout}s"; fi
    sleep 0.2
  done
}

# http_ok URL [curl args...] : true when URL answers 2xx
http_ok() { local url="$1"; shift; curl -fsS -o /dev/null --max-time 2 "$@" "$url"; }

# start_daemon NAME COMMAND... : starts COMMAND in the background with its own process group,
# records the pid of the real server process, logs to NAME.log
start_daemon() {
  local name="$1"; shift
  local logf="$KUIK_TEST_STATE_DIR/$name.log"
  setsid "$@" >"$logf" 2>&1 < /dev/null &
  echo $! >"$KUIK_TEST_STATE_DIR/$name.pid"
}

# is_running NAME : true when NAME's recorded pid is alive
is_running() {
  local pidf="$KUIK_TEST_STATE_DIR/$1.pid"
  [[ -f "$pidf" ]] && kill -0 "$(cat "$pidf")" 2>/dev/null
}

# stop_daemon NAME : TERM the process group, wait up to 10 s, then KILL; removes pid and env files
stop_daemon() {
  local name="$1" pidf="$KUIK_TEST_STATE_DIR/$1.pid"
  if [[ -f "$pidf" ]]; then
    local pid; pid="$(cat "$pidf")"
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
      local i; for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidf"
  fi
  rm -f "$KUIK_TEST_STATE_DIR/$name.env"
  log "$name stopped"
}

# publish NAME KEY=VALUE... : writes the env file tests read (atomically), and prints it
publish() {
  local name="$1"; shift
  local f="$KUIK_TEST_STATE_DIR/$name.env"
  printf '%s\n' "$@" >"$f.tmp" && mv "$f.tmp" "$f"
  log "$name ready:"; sed 's/^/    /' "$f" >&2
}

# ---------------------------------------------------------------------------------------------
# Added for minio/fake-gcs/azurite/docker-registry/containerd/tools scripts (do not change the
# helpers above: other scripts rely on their behaviour).

# env_prefix NAME -> NAME as an UPPER_SNAKE env key prefix (docker-registry-origin -> DOCKER_REGISTRY_ORIGIN)
env_prefix() { printf '%s' "$1" | tr '[:lower:]-.' '[:upper:]__'; }

# env_get NAME KEY -> the value of KEY in NAME.env (empty, status 1 when absent)
env_get() {
  local f="$KUIK_TEST_STATE_DIR/$1.env"
  [[ -f "$f" ]] || return 1
  local line; line="$(grep -m1 "^$2=" "$f")" || return 1
  printf '%s' "${line#*=}"
}

# print_env NAME : prints NAME.env on stdout (what `start` prints, fresh or already running)
print_env() { cat "$KUIK_TEST_STATE_DIR/$1.env"; }

# already_running NAME : when NAME is running and published its env, logs it, prints the env and
# returns 0 (so `start` is a no-op); when a stale pid/env is left from a dead server, cleans it up.
already_running() {
  local name="$1"
  if is_running "$name" && [[ -f "$KUIK_TEST_STATE_DIR/$name.env" ]]; then
    log "$name already running (pid $(cat "$KUIK_TEST_STATE_DIR/$name.pid"))"
    print_env "$name"
    return 0
  fi
  if is_running "$name"; then
    log "$name is running without a published env (half-started?): stopping it first"
    stop_daemon "$name"
  fi
  rm -f "$KUIK_TEST_STATE_DIR/$name.pid" "$KUIK_TEST_STATE_DIR/$name.env"
  return 1
}

# wait_ready NAME DESCRIPTION TIMEOUT_SECONDS COMMAND... : like wait_for, but fails fast when the
# server process dies, and on failure prints the tail of NAME.log and stops what was started.
wait_ready() {
  local name="$1" what="$2" timeout="$3"; shift 3
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ! is_running "$name"; then
      log "$what exited before becoming ready; last lines of $KUIK_TEST_STATE_DIR/$name.log:"
      tail -n 30 "$KUIK_TEST_STATE_DIR/$name.log" >&2 || true
      rm -f "$KUIK_TEST_STATE_DIR/$name.pid"
      die "$what failed to start"
    fi
    if ((SECONDS >= deadline)); then
      log "last lines of $KUIK_TEST_STATE_DIR/$name.log:"
      tail -n 30 "$KUIK_TEST_STATE_DIR/$name.log" >&2 || true
      stop_daemon "$name"
      die "$what did not become ready within ${timeout}s"
    fi
    sleep 0.2
  done
}

# server_status NAME : prints whether NAME runs (and its env); status 0 when running, 3 when not
server_status() {
  local name="$1"
  if is_running "$name"; then
    log "$name running (pid $(cat "$KUIK_TEST_STATE_DIR/$name.pid"))"
    [[ -f "$KUIK_TEST_STATE_DIR/$name.env" ]] && print_env "$name"
    return 0
  fi
  log "$name not running"
  return 3
}

# port_in_use PORT : true when something accepts TCP connections on 127.0.0.1:PORT
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start_daemon_split NAME STDOUT_FILE COMMAND... : like start_daemon, but the server's stdout goes
# to STDOUT_FILE (e.g. docker-registry writes its access log there) and stderr to NAME.log
start_daemon_split() {
  local name="$1" out="$2"; shift 2
  local logf="$KUIK_TEST_STATE_DIR/$name.log"
  setsid "$@" >"$out" 2>"$logf" < /dev/null &
  echo $! >"$KUIK_TEST_STATE_DIR/$name.pid"
}

# ---------------------------------------------------------------------------------------------
# Added for etcd/kube-apiserver/kube-tools (builds from committed wrapper Go modules).

# go_build_cached NAME VERSION MODULE_DIR LDFLAGS PACKAGE[:BINARY]... : builds the main PACKAGEs
# of the wrapper Go module in MODULE_DIR (its committed go.mod/go.sum pin every dependency) in a
# single `go build`, once per VERSION, into $(tool_dir NAME VERSION)/bin. BINARY defaults to the
# package's last path element. Built in a temporary directory and moved in place, so an
# interrupted build leaves no half-written binary. GOTOOLCHAIN=local: never downloads a toolchain.
go_build_cached() {
  local name="$1" version="$2" moddir="$3" ldflags="$4"; shift 4
  local dir spec need=0; dir="$(tool_dir "$name" "$version")"
  for spec in "$@"; do [[ "$spec" == *:* ]] || spec="$spec:${spec##*/}"; [[ -x "$dir/bin/${spec##*:}" ]] || need=1; done
  ((need)) || return 0
  command -v go >/dev/null || die "Go is required to build $name: install Go >= 1.26 (https://go.dev/doc/install)"
  # One build at a time per tool version (parallel sessions/scripts): wait, then re-check.
  local lockfd
  exec {lockfd}>"$KUIK_CACHE_DIR/tools/.$name-$version.lock"
  flock "$lockfd"
  need=0
  for spec in "$@"; do [[ "$spec" == *:* ]] || spec="$spec:${spec##*/}"; [[ -x "$dir/bin/${spec##*:}" ]] || need=1; done
  if ((!need)); then exec {lockfd}>&-; return 0; fi
  local tmp t0=$SECONDS pkgs=()
  for spec in "$@"; do pkgs+=("${spec%%:*}"); done
  tmp="$(mktemp -d "$KUIK_CACHE_DIR/tools/.build-$name-XXXXXX")"
  log "building $name $version from $moddir (once per version, cached in $dir): ${pkgs[*]}"
  if ! (cd "$moddir" && GOTOOLCHAIN=local GOFLAGS="-trimpath -mod=readonly -buildvcs=false" CGO_ENABLED=0 \
      go build -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}") >&2; then
    rm -rf "$tmp"; die "building $name $version failed"
  fi
  mkdir -p "$dir/bin"
  for spec in "$@"; do
    [[ "$spec" == *:* ]] || spec="$spec:${spec##*/}"
    local p="${spec%%:*}" out; out="${p##*/}"
    [[ "$out" =~ ^v[0-9]+$ ]] && { p="${p%/*}"; out="${p##*/}"; }  # go build names .../server/v3 "server"
    mv -f "$tmp/$out" "$dir/bin/${spec##*:}"
  done
  rm -rf "$tmp"
  exec {lockfd}>&-
  log "built $name $version in $((SECONDS - t0))s"
}
