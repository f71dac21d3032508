#!/usr/bin/env bash
# MinIO (S3-compatible object store) for the S3 storage tests.
#   minio.sh install | start | stop | restart | down | up | status
# Built from source with `go install` once per pinned version (MinIO publishes no module tags the
# Go proxy serves, so the pin is the pseudo-version `go list -m github.com/minio/minio@latest`
# resolved to). Fault tests: `restart` stops and starts it again on the SAME port and data dir;
# `down` stops it but remembers port/data dir, `up` brings it back there (outage in between).
# Publishes (minio.env): MINIO_ENDPOINT MINIO_ACCESS_KEY MINIO_SECRET_KEY MINIO_REGION MINIO_PORT
#                        MINIO_CONSOLE_PORT MINIO_DATA_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"

MINIO_VERSION="${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
MINIO_MODULE="github.com/minio/minio"
NAME=minio
ACCESS_KEY="kuiktestadmin"
SECRET_KEY="kuiktestsecret123"
REGION="us-east-1"

minio_bin() { go_install_cached minio "$MINIO_VERSION" "$MINIO_MODULE@$MINIO_VERSION" minio; }

ready() { http_ok "http://127.0.0.1:$1/minio/health/ready"; }

# run_server PORT CONSOLE_PORT DATA_DIR
run_server() {
  local port="$1" cport="$2" data="$3" bin
  bin="$(minio_bin)"
  mkdir -p "$data"
  local t0=$SECONDS
  # MINIO_BROWSER=off: no web console (faster start, one port less in use); no update checks.
  start_daemon "$NAME" env \
    MINIO_ROOT_USER="$ACCESS_KEY" MINIO_ROOT_PASSWORD="$SECRET_KEY" MINIO_REGION="$REGION" \
    MINIO_BROWSER=off MINIO_UPDATE=off MINIO_CALLHOME_ENABLE=off MINIO_CI_CD=1 \
    "$bin" server "$data" --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$cport"
  # `env` execs minio, so the recorded pid is the MinIO server itself.
  wait_ready "$NAME" "MinIO on 127.0.0.1:$port" 60 ready "$port"
  log "MinIO ready in $((SECONDS - t0))s"
  publish "$NAME" \
    "MINIO_ENDPOINT=http://127.0.0.1:$port" \
    "MINIO_ACCESS_KEY=$ACCESS_KEY" \
    "MINIO_SECRET_KEY=$SECRET_KEY" \
    "MINIO_REGION=$REGION" \
    "MINIO_PORT=$port" \
    "MINIO_CONSOLE_PORT=$cport" \
    "MINIO_DATA_DIR=$data"
  print_env "$NAME"
}

cmd_start() {
  already_running "$NAME" && return 0
  run_server "$(free_port)" "$(free_port)" "$KUIK_TEST_STATE_DIR/$NAME"
}

# down: stop MinIO but remember its port and data dir (minio.down.env), so `up` brings the same
# endpoint back: fault tests run requests while it is down.
cmd_down() {
  if ! is_running "$NAME" || [[ ! -f "$KUIK_TEST_STATE_DIR/$NAME.env" ]]; then die "MinIO is not running"; fi
  cp "$KUIK_TEST_STATE_DIR/$NAME.env" "$KUIK_TEST_STATE_DIR/$NAME.down.env"
  stop_daemon "$NAME"
}

cmd_up() {
  already_running "$NAME" && return 0
  local down="$KUIK_TEST_STATE_DIR/$NAME.down.env"
  [[ -f "$down" ]] || { log "no $down: plain start"; cmd_start; return; }
  local port cport data
  port="$(grep -m1 '^MINIO_PORT=' "$down" | cut -d= -f2-)"
  cport="$(grep -m1 '^MINIO_CONSOLE_PORT=' "$down" | cut -d= -f2-)"
  data="$(grep -m1 '^MINIO_DATA_DIR=' "$down" | cut -d= -f2-)"
  local _; for _ in $(seq 1 50); do port_in_use "$port" || break; sleep 0.1; done
  port_in_use "$port" && die "port $port is still in use: cannot bring MinIO back on it"
  rm -f "$down"
  run_server "$port" "$cport" "$data"
}

cmd_restart() {
  if is_running "$NAME"; then cmd_down; fi
  cmd_up
}

case "${1:-}" in
  install) minio_bin >/dev/null ;;
  start) cmd_start ;;
  stop) stop_daemon "$NAME"; rm -f "$KUIK_TEST_STATE_DIR/$NAME.down.env" ;;
  restart) cmd_restart ;;
  down) cmd_down ;;
  up) cmd_up ;;
  status) server_status "$NAME" ;;
  *) echo "usage: minio.sh install|start|stop|restart|down|up|status" >&2; exit 2 ;;
esac
