#!/usr/bin/env bash
# Pushes an app's OCI layout (built by `nx image <app>`) with every platform, unchanged digests:
#   KUIK_IMAGE_REGISTRY=registry.example/kuik bash tools/image/publish.sh <app>
# Credentials: REGISTRY_USER / REGISTRY_PASSWORD when set (CI), else skopeo's own auth files.
# KUIK_IMAGE_TLS_VERIFY=false for a plain-HTTP registry (tests push to our own registry on loopback).
set -euo pipefail
app="${1:?usage: publish.sh <app>}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
: "${KUIK_IMAGE_REGISTRY:?set KUIK_IMAGE_REGISTRY to the registry/namespace to push to}"
version="$(node -p "require('$root/apps/$app/package.json').version")"
layout="$root/dist/images/$app"
[[ -f "$layout/index.json" ]] || { echo "no image layout at $layout: run npx nx image $app" >&2; exit 1; }
creds=()
[[ -n "${REGISTRY_USER:-}" ]] && creds=(--dest-creds "$REGISTRY_USER:${REGISTRY_PASSWORD:-}")
skopeo copy --all --preserve-digests --dest-tls-verify="${KUIK_IMAGE_TLS_VERIFY:-true}" "${creds[@]}" \
  "oci:$layout:$version" "docker://$KUIK_IMAGE_REGISTRY/kuik-$app:$version"
echo "pushed $KUIK_IMAGE_REGISTRY/kuik-$app:$version"
