#!/usr/bin/env bash
# Builds the .vsix: compile (tsc -b), bundle (extension + daemon + blit.proto + ffi-rs binary), then
# `vsce package`. @vscode/vsce 3.x (4.x needs Node 22) lives in extension/packaging so the root
# install stays light. Usage: package-vsix.sh [OUT.vsix]
set -euo pipefail
ext="$(cd "$(dirname "$0")/.." && pwd)"
repo="$(cd "$ext/.." && pwd)"
out="${1:-$ext/blit-vscode-$(node -p "require('$ext/package.json').version").vsix}"

if [ ! -x "$ext/packaging/node_modules/.bin/vsce" ] || [ "${CI:-}" = true ]; then
  echo "== npm ci (extension/packaging: @vscode/vsce)"
  (cd "$ext/packaging" && npm ci --no-audit --no-fund --workspaces=false --ignore-scripts)
fi
if [ "${BLIT_VSIX_SKIP_BUILD:-}" != 1 ]; then  # test-e2e.sh has just built and bundled
  (cd "$repo" && npx tsc -b)
  node "$ext/scripts/bundle.js"
fi
# --no-dependencies: everything the extension needs is in bundle/ (npm workspaces would confuse
# vsce's own dependency listing anyway).
(cd "$ext" && "$ext/packaging/node_modules/.bin/vsce" package --no-dependencies --allow-missing-repository --skip-license -o "$out")
echo "vsix: $out ($(du -h "$out" | cut -f1))"
