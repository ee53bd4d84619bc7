#!/usr/bin/env bash
# The one command that runs every test suite (README: `npm test`). Installs what the tests need:
# Debian packages through apt-get when missing (CI runs as root), npm packages through npm ci.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-deps.sh

echo "== build"
npx tsc -b

echo "== unit and integration tests (mocha: native, engine, CLI, daemon, extension models)"
npx mocha

echo "== VS Code extension tests in a real workbench (code-server + headless Chromium)"
if [ -f extension/scripts/test-e2e.sh ]; then
  bash extension/scripts/test-e2e.sh
else
  echo "extension e2e suite missing" >&2
  exit 1
fi
