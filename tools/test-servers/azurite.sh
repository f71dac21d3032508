#!/usr/bin/env bash
# Azurite (Azure Blob Storage emulator), blob service only:
#   azurite.sh install | start | stop | status
# Installed from npm once per pinned version into $KUIK_CACHE_DIR/tools/azurite-<version> and run
# as `node .../azurite/dist/src/blob/main.js` with Node >= 22 from tools/env.sh (not via npx or the
# azurite-blob shim), so the recorded pid is the server itself.
# Publishes: AZURITE_BLOB_ENDPOINT AZURITE_ACCOUNT_NAME AZURITE_ACCOUNT_KEY AZURITE_CONNECTION_STRING
#            AZURITE_BLOB_PORT AZURITE_DATA_DIR
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
# shellcheck source=tools/env.sh
source "$KUIK_REPO_ROOT/tools/env.sh"

AZURITE_VERSION="${AZURITE_VERSION:-3.37.0}"
NAME=azurite
ACCOUNT=devstoreaccount1
# Azurite's well-known development account key (public, documented by Microsoft; not a secret).
ACCOUNT_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

azurite_dir() { tool_dir azurite "$AZURITE_VERSION"; }
blob_main() { printf '%s/node_modules/azurite/dist/src/blob/main.js' "$(azurite_dir)"; }

install() {
  [[ -f "$(blob_main)" ]] && return 0
  command -v npm >/dev/null || die "npm is required to install Azurite (run tools/bootstrap.sh)"
  local dir tmp; dir="$(azurite_dir)"; tmp="$dir.tmp.$$"
  log "installing azurite@$AZURITE_VERSION from npm into $dir"
  rm -rf "$tmp"; mkdir -p "$tmp"
  echo '{"name":"kuik-azurite","private":true}' >"$tmp/package.json"
  npm install --prefix "$tmp" --no-audit --no-fund --omit=dev --loglevel=error \
    "azurite@$AZURITE_VERSION" >&2
  rm -rf "$dir"; mv "$tmp" "$dir"
  [[ -f "$(blob_main)" ]] || die "azurite installed but $(blob_main) is missing"
}

node_bin() {
  local n; n="$(command -v node)" || die "node not found: run tools/bootstrap.sh"
  (($("$n" -p 'process.versions.node.split(".")[0]') >= 22)) || die "Azurite needs Node >= 22 (got $("$n" --version)): run tools/bootstrap.sh"
  printf '%s' "$n"
}

ready() {
  # Any HTTP answer from the account endpoint means the server is up; list containers with the
  # (anonymous) request: Azurite answers 4xx without auth, so check for an HTTP status instead.
  local code; code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$1?comp=list")"
  [[ "$code" =~ ^[2-4][0-9][0-9]$ ]]
}

cmd_start() {
  already_running "$NAME" && return 0
  install
  local node port t0=$SECONDS data="$KUIK_TEST_STATE_DIR/$NAME"
  node="$(node_bin)"; port="$(free_port)"
  mkdir -p "$data"
  # --loose: accept headers Azurite does not implement; --skipApiVersionCheck: newer SDKs;
  # --disableProductStyleUrl: account name from the path (127.0.0.1:PORT/devstoreaccount1);
  # --disableTelemetry: no usage data sent anywhere.
  start_daemon "$NAME" "$node" "$(blob_main)" \
    --blobHost 127.0.0.1 --blobPort "$port" --location "$data" \
    --skipApiVersionCheck --loose --disableProductStyleUrl --disableTelemetry
  local endpoint="http://127.0.0.1:$port/$ACCOUNT"
  wait_ready "$NAME" "Azurite on 127.0.0.1:$port" 60 ready "$endpoint"
  log "Azurite ready in $((SECONDS - t0))s"
  publish "$NAME" \
    "AZURITE_BLOB_ENDPOINT=$endpoint" \
    "AZURITE_ACCOUNT_NAME=$ACCOUNT" \
    "AZURITE_ACCOUNT_KEY=$ACCOUNT_KEY" \
    "AZURITE_CONNECTION_STRING=DefaultEndpointsProtocol=http;AccountName=$ACCOUNT;AccountKey=$ACCOUNT_KEY;BlobEndpoint=$endpoint;" \
    "AZURITE_BLOB_PORT=$port" \
    "AZURITE_DATA_DIR=$data"
  print_env "$NAME"
}

case "${1:-}" in
  install) install ;;
  start) cmd_start ;;
  stop) stop_daemon "$NAME" ;;
  status) server_status "$NAME" ;;
  *) echo "usage: azurite.sh install|start|stop|status" >&2; exit 2 ;;
esac
