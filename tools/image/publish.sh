#!/usr/bin/env bash
# Pushes an app's OCI layout (built by `nx image <app>`) with every platform, unchanged digests:
#   bash tools/image/publish.sh <app>
# Destination: the reference the Helm chart pulls by default (charts/kuik/values.yaml, e.g.
# ghcr.io/kuik/kuik-<app>:<version>), or KUIK_IMAGE_REGISTRY/kuik-<app>:<version> when
# KUIK_IMAGE_REGISTRY (registry/namespace) is set (tools/image/reference.mjs says which).
# KUIK_IMAGE_LAYOUT overrides the layout directory (default dist/images/<app>).
# Credentials: REGISTRY_USER / REGISTRY_PASSWORD when set (CI), else skopeo's own auth files.
# KUIK_IMAGE_TLS_VERIFY=false for a plain-HTTP registry (tests push to our own registry on loopback).
set -euo pipefail
app="${1:?usage: publish.sh <app>}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
version="$(node -p "require('$root/apps/$app/package.json').version")"
layout="${KUIK_IMAGE_LAYOUT:-$root/dist/images/$app}"
[[ -f "$layout/index.json" ]] || { echo "no image layout at $layout: run npx nx image $app" >&2; exit 1; }
if [[ -n "${KUIK_IMAGE_REGISTRY:-}" ]]; then
  ref="$(node "$root/tools/image/reference.mjs" "$app" --registry "$KUIK_IMAGE_REGISTRY")"
else
  ref="$(node "$root/tools/image/reference.mjs" "$app")"
fi
creds=()
[[ -n "${REGISTRY_USER:-}" ]] && creds=(--dest-creds "$REGISTRY_USER:${REGISTRY_PASSWORD:-}")
skopeo copy --all --preserve-digests --dest-tls-verify="${KUIK_IMAGE_TLS_VERIFY:-true}" "${creds[@]}" \
  "oci:$layout:$version" "docker://$ref"
echo "pushed $ref"
