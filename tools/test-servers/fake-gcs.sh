#!/usr/bin/env bash
# fake-gcs-server (Google Cloud Storage JSON/XML API emulator), in-memory backend:
#   fake-gcs.sh install | start | stop | status
# Built with `go install` once per pinned version. -public-host/-external-url point at the
# loopback port so resumable-upload session URLs (Location headers) come back to this server.
# Publishes: FAKE_GCS_ENDPOINT FAKE_GCS_PROJECT_ID FAKE_GCS_PORT FAKE_GCS_STORAGE_EMULATOR_HOST
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"

FAKE_GCS_VERSION="${FAKE_GCS_VERSION:-v1.56.1}"
FAKE_GCS_MODULE="github.com/fsouza/fake-gcs-server"
NAME=fake-gcs
PROJECT_ID="kuik-test"

fake_gcs_bin() { go_install_cached fake-gcs-server "$FAKE_GCS_VERSION" "$FAKE_GCS_MODULE@$FAKE_GCS_VERSION" fake-gcs-server; }

ready() { http_ok "$1/storage/v1/b?project=$PROJECT_ID"; }

cmd_start() {
  already_running "$NAME" && return 0
  local bin port t0=$SECONDS data="$KUIK_TEST_STATE_DIR/$NAME/seed"
  bin="$(fake_gcs_bin)"; port="$(free_port)"
  # -data: directory of objects preloaded at start (kept empty; avoids a warning about /storage).
  mkdir -p "$data"
  local url="http://127.0.0.1:$port"
  start_daemon "$NAME" "$bin" -scheme http -host 127.0.0.1 -port "$port" -backend memory \
    -public-host "127.0.0.1:$port" -external-url "$url" -data "$data" -log-level warn
  wait_ready "$NAME" "fake-gcs-server on 127.0.0.1:$port" 30 ready "$url"
  log "fake-gcs-server ready in $((SECONDS - t0))s"
  publish "$NAME" \
    "FAKE_GCS_ENDPOINT=$url" \
    "FAKE_GCS_PROJECT_ID=$PROJECT_ID" \
    "FAKE_GCS_PORT=$port" \
    "FAKE_GCS_STORAGE_EMULATOR_HOST=127.0.0.1:$port"
  print_env "$NAME"
}

case "${1:-}" in
  install) fake_gcs_bin >/dev/null ;;
  start) cmd_start ;;
  stop) stop_daemon "$NAME" ;;
  status) server_status "$NAME" ;;
  *) echo "usage: fake-gcs.sh install|start|stop|status" >&2; exit 2 ;;
esac
