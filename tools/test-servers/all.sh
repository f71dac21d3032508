#!/usr/bin/env bash
# Installs, starts or stops every real test server and client tool the suite uses.
#   all.sh install | start | stop | status
# Each server is started on a free loopback port and publishes its endpoints to
# $KUIK_TEST_STATE_DIR/<name>.env (read by libs/testing). Builds are cached by version.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"
# shellcheck source=tools/env.sh
source "$KUIK_REPO_ROOT/tools/env.sh"

# "script [instance]" — order matters only for readability; each script is independent.
SERVERS=("minio.sh" "fake-gcs.sh" "azurite.sh" "docker-registry.sh origin" "kube-apiserver.sh" "containerd.sh")
TOOLS=("tools.sh" "kube-tools.sh")

cmd="${1:-}"
case "$cmd" in
  install)
    for t in "${TOOLS[@]}"; do bash "$here/$t" install; done
    for s in "${SERVERS[@]}"; do read -r script _ <<<"$s"; bash "$here/$script" install; done
    ;;
  start)
    for t in "${TOOLS[@]}"; do bash "$here/$t" install; done
    for s in "${SERVERS[@]}"; do
      read -r script inst <<<"$s"
      t=$SECONDS
      # shellcheck disable=SC2086
      bash "$here/$script" start ${inst:-}
      log "started ${script%.sh}${inst:+ $inst} in $((SECONDS - t))s"
    done
    ;;
  stop)
    rc=0
    for s in "${SERVERS[@]}"; do read -r script inst <<<"$s"; bash "$here/$script" stop ${inst:-} || rc=1; done
    # Test suites start docker-registry instances of their own on demand (proxy-origin, …): those too.
    bash "$here/docker-registry.sh" stop --all || rc=1
    exit $rc
    ;;
  status)
    for s in "${SERVERS[@]}"; do read -r script inst <<<"$s"; bash "$here/$script" status ${inst:-} || true; done
    ;;
  *) echo "usage: all.sh install|start|stop|status" >&2; exit 2 ;;
esac
