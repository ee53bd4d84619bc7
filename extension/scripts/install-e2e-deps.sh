#!/usr/bin/env bash
# Installs the extension's test-only tools (code-server, playwright-core, @vscode/test-cli, mocha)
# into extension/test-e2e/node_modules, apart from the root install so `npm ci` stays light.
# Needs the Debian packages chromium and ripgrep (scripts/setup-deps.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/../test-e2e"

# @vscode/ripgrep (a dependency of code-server 4.100.3) downloads rg from GitHub in its
# postinstall; seed its download cache with Debian's rg so the install never goes online.
# The cache name depends on the @vscode/ripgrep version code-server pins: re-check on upgrade.
RG_CACHE="${TMPDIR:-/tmp}/vscode-ripgrep-cache-1.15.11"
RG_TARBALL="$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
if [ ! -s "$RG_TARBALL" ]; then
  command -v rg >/dev/null || { echo "ripgrep (rg) is missing: apt-get install ripgrep" >&2; exit 1; }
  mkdir -p "$RG_CACHE"
  tar czf "$RG_TARBALL" -C "$(dirname "$(command -v rg)")" rg
fi

stamp=node_modules/.blit-e2e-installed
if [ -f "$stamp" ] && [ "$stamp" -nt package-lock.json ] && [ "${CI:-}" != true ]; then
  exit 0
fi
echo "== npm ci (extension/test-e2e: code-server, playwright-core, @vscode/test-cli)"
if [ -f package-lock.json ]; then
  npm ci --no-audit --no-fund --workspaces=false
else
  npm install --no-audit --no-fund --workspaces=false
fi
touch "$stamp"
