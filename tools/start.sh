#!/usr/bin/env bash
# The main job, locally: the kuik registry on its embedded filesystem storage and the
# node-local proxy in front of it, as a container runtime on this machine would use them.
#   registry  http://127.0.0.1:5000   (storage: ./tmp/registry-data; metrics/health :5001)
#   proxy     http://127.0.0.1:7439   (pull through: /v2/<origin-host>/<repo>/…; metrics/health :8080)
# Ctrl-C stops both. Set KUIK_REGISTRY_CONFIG / KUIK_PROXY_CONFIG to use your own YAML files.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash tools/bootstrap.sh
# shellcheck source=tools/env.sh
source tools/env.sh
npx nx run-many -t build -p registry,proxy --outputStyle=static >&2

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

mkdir -p tmp
reg_args=(); [[ -n "${KUIK_REGISTRY_CONFIG:-}" ]] && reg_args=(--config "$KUIK_REGISTRY_CONFIG")
node dist/apps/registry/main.js "${reg_args[@]}" &
pids+=($!)

for _ in $(seq 1 100); do curl -fsS -o /dev/null http://127.0.0.1:5000/v2/ 2>/dev/null && break; sleep 0.1; done
curl -fsS -o /dev/null http://127.0.0.1:5000/v2/ || { echo "registry did not start (see its log above)" >&2; exit 1; }

proxy_args=(); [[ -n "${KUIK_PROXY_CONFIG:-}" ]] && proxy_args=(--config "$KUIK_PROXY_CONFIG")
PROXY_REGISTRY_URL="${PROXY_REGISTRY_URL:-http://127.0.0.1:5000}" node dist/apps/proxy/main.js "${proxy_args[@]}" &
pids+=($!)

echo "kuik is running: registry http://127.0.0.1:5000, proxy http://127.0.0.1:7439 (Ctrl-C stops)" >&2
wait -n "${pids[@]}"
