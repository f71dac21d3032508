# shellcheck shell=bash
# Source this to get the project's toolchain on PATH: Node >= 22 (Node 24 LTS from the cache
# when the system Node is older), the workspace's node_modules/.bin, and the cache locations.
# It installs nothing; tools/bootstrap.sh does.
# Always this checkout's root: one inherited from another checkout's env.sh (a shell that sourced
# it, then ran this checkout's scripts) would run that checkout's tools and servers. Its default
# test-server directory goes with it; a KUIK_TEST_STATE_DIR chosen by hand stays.
_kuik_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [[ -n "${KUIK_REPO_ROOT:-}" && "$KUIK_REPO_ROOT" != "$_kuik_root" && "${KUIK_TEST_STATE_DIR:-}" == "$KUIK_REPO_ROOT/tmp/test-servers" ]]; then
  unset KUIK_TEST_STATE_DIR
fi
KUIK_REPO_ROOT="$_kuik_root"
KUIK_CACHE_DIR="${KUIK_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/kuik}"
KUIK_NODE_VERSION="${KUIK_NODE_VERSION:-24.21.0}"
KUIK_TEST_STATE_DIR="${KUIK_TEST_STATE_DIR:-$KUIK_REPO_ROOT/tmp/test-servers}"
export KUIK_REPO_ROOT KUIK_CACHE_DIR KUIK_NODE_VERSION KUIK_TEST_STATE_DIR
_kuik_node_dir="$KUIK_CACHE_DIR/tools/node-$KUIK_NODE_VERSION"
if [[ -x "$_kuik_node_dir/bin/node" ]]; then
  case ":$PATH:" in *":$_kuik_node_dir/bin:"*) ;; *) PATH="$_kuik_node_dir/bin:$PATH" ;; esac
fi
case ":$PATH:" in *":$KUIK_REPO_ROOT/node_modules/.bin:"*) ;; *) PATH="$KUIK_REPO_ROOT/node_modules/.bin:$PATH" ;; esac
export PATH
# Nx: no cloud, no telemetry prompts, no daemon in CI (deterministic, fewer processes on 2 cores).
export NX_NO_CLOUD=true NX_SKIP_NX_CACHE="${NX_SKIP_NX_CACHE:-}"
[[ "${CI:-}" == "true" ]] && export NX_DAEMON=false
unset _kuik_node_dir _kuik_root
export NPM_CONFIG_LOGLEVEL="${NPM_CONFIG_LOGLEVEL:-error}"
