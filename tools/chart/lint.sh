#!/usr/bin/env bash
# helm lint of the kuik chart in every storage mode of the design document.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
helm_bin="${HELM_BIN:-}"
if [[ -z "$helm_bin" ]]; then
  helm_bin="$(bash "$root/tools/test-servers/kube-tools.sh" path helm 2>/dev/null || true)"
fi
[[ -x "$helm_bin" ]] || { echo "helm is missing: bash tools/test-servers/kube-tools.sh install" >&2; exit 1; }
cd "$root/charts/kuik"
for f in test/values/*.yaml; do
  echo "helm lint --strict -f $f"
  "$helm_bin" lint --strict --quiet . -f "$f"
done
# The CRDs and versions the chart ships must match the controller's generated CRDs and the apps' versions.
cd "$root"
node tools/release/sync-chart.mjs --check
