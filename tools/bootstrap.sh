#!/usr/bin/env bash
# Makes a fresh machine ready to build and test kuik. Idempotent; safe to run on every command.
#  1. Node >= 22: the system Node if new enough, otherwise Node 24 LTS from the npm package
#     node-linux-<arch> installed into $KUIK_CACHE_DIR/tools/node-<version> (keyed by version).
#  2. npm ci, skipped when node_modules matches package-lock.json already.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tools/env.sh
source "$here/env.sh"
log() { printf '[bootstrap] %s\n' "$*" >&2; }

node_major() { "${1:-node}" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if ! command -v node >/dev/null || (($(node_major) < 22)); then
  command -v npm >/dev/null || { log "npm is required to fetch Node $KUIK_NODE_VERSION: install Node.js and npm from your distribution"; exit 1; }
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) log "unsupported CPU $(uname -m)"; exit 1 ;; esac
  dest="$KUIK_CACHE_DIR/tools/node-$KUIK_NODE_VERSION"
  if [[ ! -x "$dest/bin/node" ]]; then
    log "system Node is $(node --version 2>/dev/null || echo absent); installing Node $KUIK_NODE_VERSION into $dest"
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent "node-linux-$arch@$KUIK_NODE_VERSION" >/dev/null)
    mkdir -p "$dest.tmp"
    tar -xzf "$tmp"/node-linux-"$arch"-*.tgz -C "$dest.tmp" --strip-components=1
    rm -rf "$tmp" "$dest"
    mv "$dest.tmp" "$dest"
  fi
  source "$here/env.sh"
fi
log "node $(node --version) at $(command -v node), npm $(npm --version)"

# npm ci only when the lock file changed since the last install (its hash is kept in node_modules).
cd "$KUIK_REPO_ROOT"
if [[ -f package-lock.json ]]; then
  lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)-$(node --version)"
  stamp="node_modules/.kuik-lock-hash"
  if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_hash" ]]; then
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$lock_hash" >"$stamp"
  fi
fi
