#!/usr/bin/env bash
# The whole kuik test suite, on a fresh machine or a warm one:
#   bash tools/test.sh            every project: lint, typecheck, build, test (what CI runs)
#   bash tools/test.sh affected   only projects affected by changes since origin/main (or main)
# It bootstraps the toolchain, installs and starts every real test server (cached by version under
# ~/.cache/kuik), runs the Nx targets, stops the servers and ends with one line: "N passed, N failed".
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mode="${1:-all}"
t0=$SECONDS

bash tools/bootstrap.sh
# shellcheck source=tools/env.sh
source tools/env.sh

case "$mode" in
  all) nx_scope=(run-many) ;;
  affected)
    # NX_BASE/NX_HEAD come from CI (nrwl/nx-set-shas); locally: the merge base with main.
    base="${NX_BASE:-$(git merge-base HEAD origin/main 2>/dev/null || git merge-base HEAD main 2>/dev/null || git rev-parse HEAD~1)}"
    nx_scope=(affected "--base=$base" "--head=${NX_HEAD:-HEAD}")
    # The chart depends on the apps (so a release of an app bumps it), but only its own files, the
    # apps' versions (package.json) and the CRDs change what it renders: check it only then.
    if ! git diff --name-only "$base" "${NX_HEAD:-HEAD}" | bash tools/chart/changed.sh; then
      nx_scope+=(--exclude=chart)
      echo "chart: no change to the chart, an app version or the CRDs since $base; not checked"
    fi ;;
  *) echo "usage: tools/test.sh [all|affected]" >&2; exit 2 ;;
esac

stop_servers() { bash tools/test-servers/all.sh stop >/dev/null 2>&1 || true; }
trap stop_servers EXIT
echo "=== test servers ($(date -u +%H:%M:%S)) ==="
bash tools/test-servers/all.sh start
echo "test servers ready after $((SECONDS - t0))s"

export KUIK_TEST_RESULTS_DIR="$root/tmp/test-results"
rm -rf "$KUIK_TEST_RESULTS_DIR"
status=0
echo "=== lint, typecheck, build ($(date -u +%H:%M:%S)) ==="
npx nx "${nx_scope[@]}" -t lint typecheck build --outputStyle=static || status=1
echo "=== test ($(date -u +%H:%M:%S)) ==="
# Two at a time: the machine has two cores and the storage tests stream hundreds of MiB.
# Tests always run (no Nx cache): they exercise real servers, which are not among their inputs.
npx nx "${nx_scope[@]}" -t test --outputStyle=static --parallel=2 --skip-nx-cache || status=1

stop_servers
echo "total time $((SECONDS - t0))s"
if [[ $status -ne 0 ]]; then echo "lint, typecheck, build or a test target failed (see above)"; fi
node tools/jest/summarize.mjs "$KUIK_TEST_RESULTS_DIR" || status=1
exit $status
