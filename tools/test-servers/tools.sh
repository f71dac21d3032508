#!/usr/bin/env bash
# Client tools the tests drive (no daemons):
#   tools.sh install       installs everything (idempotent) and writes $KUIK_TEST_STATE_DIR/tools.env
#   tools.sh path TOOL     absolute path of a cached Go-built tool: crane | conformance | actionlint
#   tools.sh env           prints the KEY=VALUE lines of tools.env (without installing)
# Debian packages: skopeo umoci jq wrk curl openssl apache2-utils (htpasswd) python3.
# Built from Go modules once per pinned version into $KUIK_CACHE_DIR/tools/<name>-<version>/bin:
#   crane        github.com/google/go-containerregistry/cmd/crane
#   conformance  github.com/opencontainers/distribution-spec/conformance (the OCI distribution-spec
#                conformance runner; a `main` package in current versions, so it is built with
#                go install and run as a program configured by OCI_* env vars, see README.md)
#   actionlint   github.com/rhysd/actionlint/cmd/actionlint
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"

CRANE_VERSION="${CRANE_VERSION:-v0.22.1}"
# The conformance module lives in a subdirectory of opencontainers/distribution-spec and has no
# tags of its own (the repo's v1.1.x tags belong to the root module), so only pseudo-versions
# resolve through the Go proxy: this is what `go list -m ...conformance@latest` gave (2026-08-31).
OCI_CONFORMANCE_VERSION="${OCI_CONFORMANCE_VERSION:-v0.0.0-20260831232431-97274622c111}"
ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-v1.7.12}"
APT_TOOLS=(skopeo umoci jq wrk curl openssl apache2-utils python3)

crane_bin() { go_install_cached crane "$CRANE_VERSION" "github.com/google/go-containerregistry/cmd/crane@$CRANE_VERSION" crane; }
conformance_bin() {
  go_install_cached oci-conformance "$OCI_CONFORMANCE_VERSION" \
    "github.com/opencontainers/distribution-spec/conformance@$OCI_CONFORMANCE_VERSION" conformance
}
actionlint_bin() { go_install_cached actionlint "$ACTIONLINT_VERSION" "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" actionlint; }

# Paths without building (for `env` and `path` on an installed cache).
cached_path() {
  case "$1" in
    crane) printf '%s/bin/crane' "$(tool_dir crane "$CRANE_VERSION")" ;;
    conformance) printf '%s/bin/conformance' "$(tool_dir oci-conformance "$OCI_CONFORMANCE_VERSION")" ;;
    actionlint) printf '%s/bin/actionlint' "$(tool_dir actionlint "$ACTIONLINT_VERSION")" ;;
    *) die "unknown tool $1 (crane | conformance | actionlint)" ;;
  esac
}

env_lines() {
  printf '%s\n' \
    "CRANE_BIN=$(cached_path crane)" \
    "CRANE_VERSION=$CRANE_VERSION" \
    "OCI_CONFORMANCE_BIN=$(cached_path conformance)" \
    "OCI_CONFORMANCE_VERSION=$OCI_CONFORMANCE_VERSION" \
    "ACTIONLINT_BIN=$(cached_path actionlint)" \
    "ACTIONLINT_VERSION=$ACTIONLINT_VERSION"
  local k t
  for k in SKOPEO:skopeo UMOCI:umoci JQ:jq WRK:wrk CURL:curl OPENSSL:openssl HTPASSWD:htpasswd PYTHON3:python3; do
    # the apt-installed binary first (a pyenv/nvm shim earlier on PATH may change under us)
    t="/usr/bin/${k#*:}"; [[ -x "$t" ]] || t="$(command -v "${k#*:}" 2>/dev/null || true)"
    [[ -n "$t" ]] && printf '%s_BIN=%s\n' "${k%%:*}" "$t"
  done
  return 0
}

install() {
  local t0=$SECONDS
  apt_ensure "${APT_TOOLS[@]}"
  crane_bin >/dev/null
  conformance_bin >/dev/null
  actionlint_bin >/dev/null
  local f="$KUIK_TEST_STATE_DIR/tools.env"
  env_lines >"$f.tmp" && mv "$f.tmp" "$f"
  log "tools installed in $((SECONDS - t0))s; paths in $f"
}

case "${1:-}" in
  install) install ;;
  path)
    [[ -n "${2:-}" ]] || die "usage: tools.sh path crane|conformance|actionlint"
    p="$(cached_path "$2")"
    [[ -x "$p" ]] || die "$2 is not installed: run tools/test-servers/tools.sh install"
    printf '%s\n' "$p"
    ;;
  env) env_lines ;;
  *) echo "usage: tools.sh install | path crane|conformance|actionlint | env" >&2; exit 2 ;;
esac
