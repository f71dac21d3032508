#!/usr/bin/env bash
# Reads changed paths (one per line) on stdin; exits 0 when they change what the chart renders:
# the chart itself, an app's package.json (its version is the chart's appVersion and image tag),
# the controller's CRDs, or the chart tooling. tools/test.sh affected skips the chart otherwise.
grep -qE '^(charts/|apps/[^/]+/package\.json$|apps/controller/crds/|tools/chart/)'
