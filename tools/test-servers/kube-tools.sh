#!/usr/bin/env bash
# Kubernetes client tools the tests drive:
#   kube-tools.sh install        builds helm and kubectl (idempotent), writes kube-tools.env
#   kube-tools.sh path helm|kubectl
#   kube-tools.sh env            prints the KEY=VALUE lines of kube-tools.env (without installing)
# kubectl comes out of the same `go build` as kube-apiserver (kube-apiserver.sh install, wrapper
# module kube-apiserver-build/), so it is the cluster's exact version.
# helm is built with `go install helm.sh/helm/v4/cmd/helm@HELM_VERSION` into
# $KUIK_CACHE_DIR/tools/helm-HELM_VERSION/bin, with the version ldflags of helm's Makefile.
# Writes $KUIK_TEST_STATE_DIR/kube-tools.env: HELM_BIN HELM_VERSION KUBECTL_BIN KUBECTL_VERSION
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"

HELM_VERSION="v4.3.1"

helm_path() { printf '%s/bin/helm' "$(tool_dir helm "$HELM_VERSION")"; }
kubectl_path() { bash "$here/kube-apiserver.sh" path kubectl; }
kube_version() { sed -nE 's/^\s*(require\s+)?k8s.io\/kubernetes (v[^ ]+).*/\2/p' "$here/kube-apiserver-build/go.mod"; }

install_helm() {
  local dir bin tmp t0=$SECONDS; dir="$(tool_dir helm "$HELM_VERSION")"; bin="$(helm_path)"
  [[ -x "$bin" ]] && return 0
  command -v go >/dev/null || die "Go is required to build helm: install Go >= 1.26 (https://go.dev/doc/install)"
  log "building helm $HELM_VERSION with go install (once per version, cached in $dir)"
  mkdir -p "$KUIK_CACHE_DIR/tools"
  tmp="$(mktemp -d "$KUIK_CACHE_DIR/tools/.build-helm-XXXXXX")"
  local v=helm.sh/helm/v4/internal/version
  if ! GOBIN="$tmp" GOTOOLCHAIN=local GOFLAGS="-trimpath -buildvcs=false" CGO_ENABLED=0 \
      go install -ldflags "-s -w -X $v.version=$HELM_VERSION -X $v.metadata= -X $v.gitTreeState=clean" \
      "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >&2; then
    rm -rf "$tmp"; die "building helm $HELM_VERSION failed"
  fi
  mkdir -p "$dir/bin"; mv -f "$tmp/helm" "$bin"; rm -rf "$tmp"
  log "built helm $HELM_VERSION in $((SECONDS - t0))s"
}

env_lines() {
  printf '%s\n' "HELM_BIN=$(helm_path)" "HELM_VERSION=$HELM_VERSION" \
    "KUBECTL_BIN=$(kubectl_path)" "KUBECTL_VERSION=$(kube_version)"
}

case "${1:-}" in
  install)
    bash "$here/kube-apiserver.sh" install
    install_helm
    f="$KUIK_TEST_STATE_DIR/kube-tools.env"
    env_lines >"$f.tmp" && mv "$f.tmp" "$f"
    log "kube tools installed; paths in $f"
    ;;
  path)
    case "${2:-}" in
      helm) p="$(helm_path)" ;;
      kubectl) p="$(kubectl_path)" ;;
      *) die "usage: kube-tools.sh path helm|kubectl" ;;
    esac
    [[ -x "$p" ]] || die "$2 is not installed: run tools/test-servers/kube-tools.sh install"
    printf '%s\n' "$p"
    ;;
  env) env_lines ;;
  *) echo "usage: kube-tools.sh install | path helm|kubectl | env" >&2; exit 2 ;;
esac
