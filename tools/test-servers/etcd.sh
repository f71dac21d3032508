#!/usr/bin/env bash
# etcd, single member, for the test control plane (kube-apiserver.sh starts a private one).
#   etcd.sh install
#   etcd.sh start  [INSTANCE]     state name etcd or etcd-INSTANCE (kube-apiserver.sh uses "kube")
#   etcd.sh stop   [INSTANCE]
#   etcd.sh status [INSTANCE]
# Debian bookworm's etcd-server is 3.4.23: older than what kube-apiserver 1.37 is meant to run
# with (kubeadm's minimum external etcd is 3.5.24, its default 3.7.0), so etcd is built from its
# published Go modules through the wrapper module in etcd-build/ (`go install
# go.etcd.io/etcd/server/v3@v3.x` is refused: that module's go.mod has replace directives).
# Client and peer URLs are plain HTTP on free 127.0.0.1 ports. The data dir is wiped at each
# start (a fresh cluster per start) and fsync is off (--unsafe-no-fsync): test data only.
# Publishes (<name>.env): ETCD_ENDPOINT ETCD_PEER_URL ETCD_DATA_DIR ETCD_VERSION
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"

# Must match the go.etcd.io/etcd/server/v3 requirement in etcd-build/go.mod (checked below).
ETCD_VERSION="v3.7.3"

etcd_bin_path() { printf '%s/bin/etcd' "$(tool_dir etcd "$ETCD_VERSION")"; }

install() {
  grep -qE "^\s*(require\s+)?go.etcd.io/etcd/server/v3 $ETCD_VERSION(\s|\$)" "$here/etcd-build/go.mod" \
    || die "ETCD_VERSION=$ETCD_VERSION does not match etcd-build/go.mod"
  go_build_cached etcd "$ETCD_VERSION" "$here/etcd-build" "-s -w" "go.etcd.io/etcd/server/v3:etcd"
}

cmd="${1:-}"; inst="${2:-}"
NAME="etcd${inst:+-$inst}"
DATA="$KUIK_TEST_STATE_DIR/$NAME"

start() {
  already_running "$NAME" && return 0
  install
  local bin cport pport t0=$SECONDS
  bin="$(etcd_bin_path)"
  cport="$(free_port)"; pport="$(free_port)"
  [[ "$cport" != "$pport" ]] || pport="$(free_port)"
  rm -rf "$DATA"; mkdir -p "$DATA"; chmod 700 "$DATA"
  start_daemon "$NAME" "$bin" \
    --name kuik --data-dir "$DATA" \
    --listen-client-urls "http://127.0.0.1:$cport" --advertise-client-urls "http://127.0.0.1:$cport" \
    --listen-peer-urls "http://127.0.0.1:$pport" --initial-advertise-peer-urls "http://127.0.0.1:$pport" \
    --initial-cluster "kuik=http://127.0.0.1:$pport" --initial-cluster-state new \
    --initial-cluster-token "kuik-$NAME" \
    --unsafe-no-fsync --log-level warn --quota-backend-bytes $((2 * 1024 * 1024 * 1024))
  wait_ready "$NAME" "etcd on 127.0.0.1:$cport" 60 http_ok "http://127.0.0.1:$cport/health"
  log "$NAME ready in $((SECONDS - t0))s"
  publish "$NAME" \
    "ETCD_ENDPOINT=http://127.0.0.1:$cport" \
    "ETCD_PEER_URL=http://127.0.0.1:$pport" \
    "ETCD_DATA_DIR=$DATA" \
    "ETCD_VERSION=$ETCD_VERSION"
  print_env "$NAME"
}

case "$cmd" in
  install) install ;;
  start) start ;;
  stop) stop_daemon "$NAME" ;;
  status) server_status "$NAME" ;;
  path) printf '%s\n' "$(etcd_bin_path)" ;;
  *) echo "usage: etcd.sh install | start|stop|status [INSTANCE] | path" >&2; exit 2 ;;
esac
