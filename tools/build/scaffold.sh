#!/usr/bin/env bash
# Creates the skeleton of a new workspace project with the conventions of CONTRIBUTING.md.
#   tools/build/scaffold.sh lib <name> <scope>     -> libs/<name>, package @kuik/<name>
#   tools/build/scaffold.sh app <name> <scope>     -> apps/<name>, package @kuik/<name>
# Afterwards: add dependencies to its package.json, then `npx nx sync` and `npm install`.
set -euo pipefail
kind="$1" name="$2" scope="$3"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
case "$kind" in lib) dir="libs/$name" cfg=tsconfig.lib.json ;; app) dir="apps/$name" cfg=tsconfig.app.json ;; *) echo "kind must be lib or app" >&2; exit 2 ;; esac
cd "$root"
[[ -e "$dir" ]] && { echo "$dir exists" >&2; exit 1; }
mkdir -p "$dir/src"
if [[ $kind == lib ]]; then
  cat >"$dir/package.json" <<JSON
{
  "name": "@kuik/$name",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "main": "./dist/index.js",
  "types": "./dist/index.d.ts",
  "exports": {
    ".": {
      "@kuik/source": "./src/index.ts",
      "types": "./dist/index.d.ts",
      "import": "./dist/index.js",
      "default": "./dist/index.js"
    },
    "./package.json": "./package.json"
  },
  "nx": {
    "name": "$name",
    "tags": ["type:lib", "scope:$scope"]
  },
  "dependencies": {}
}
JSON
  echo "export {};" >"$dir/src/index.ts"
else
  cat >"$dir/package.json" <<JSON
{
  "name": "@kuik/$name",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "exports": {
    ".": { "@kuik/source": "./src/main.ts", "default": "../../dist/apps/$name/main.js" }
  },
  "nx": {
    "name": "$name",
    "tags": ["type:app", "scope:$scope"],
    "targets": {
      "build": {
        "command": "node tools/build/bundle-app.mjs $name",
        "options": { "cwd": "{workspaceRoot}" },
        "cache": true,
        "dependsOn": [],
        "inputs": ["production", "^production", "{workspaceRoot}/tools/build/bundle-app.mjs"],
        "outputs": ["{workspaceRoot}/dist/apps/$name"]
      }
    }
  },
  "dependencies": {}
}
JSON
  echo "export {};" >"$dir/src/main.ts"
fi
cat >"$dir/tsconfig.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "files": [],
  "include": [],
  "references": [{ "path": "./$cfg" }, { "path": "./tsconfig.spec.json" }]
}
JSON
cat >"$dir/$cfg" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": {
    "rootDir": "src",
    "outDir": "dist",
    "tsBuildInfoFile": "dist/$cfg.tsbuildinfo",
    "types": ["node"]
  },
  "include": ["src/**/*.ts"],
  "exclude": ["src/**/*.spec.ts", "src/**/*.test.ts"],
  "references": []
}
JSON
cat >"$dir/tsconfig.spec.json" <<JSON
{
  "extends": "../../tsconfig.base.json",
  "compilerOptions": {
    "outDir": "./out-tsc/jest",
    "tsBuildInfoFile": "./out-tsc/jest/tsconfig.spec.tsbuildinfo",
    "types": ["node"]
  },
  "include": ["src/**/*.spec.ts", "src/**/*.test.ts", "test/**/*.ts"],
  "references": [{ "path": "./$cfg" }]
}
JSON
cat >"$dir/jest.config.cjs" <<JS
/** @type {import('jest').Config} */
module.exports = {
  displayName: '$name',
  preset: '../../jest.preset.js',
  rootDir: __dirname,
};
JS
cat >"$dir/eslint.config.mjs" <<JS
import baseConfig from '../../eslint.config.mjs';

export default [...baseConfig];
JS
echo "created $dir (@kuik/$name, type:$kind, scope:$scope)"
