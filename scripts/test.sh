#!/usr/bin/env bash
# The one command that runs every test suite (README: `npm test`). Installs what the tests need:
# Debian packages through apt-get when missing (CI runs as root), npm packages through npm ci.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-deps.sh

echo "== build"
npx tsc -b
# The one-file CLI that daemon/bin/blit.js loads when fresh: every CLI test below runs through it.
node scripts/bundle-cli.js

# Both suites always run, so one failure does not hide the state of the other; the command fails
# if either did.
failed=()

echo "== unit and integration tests (mocha: native, engine, CLI, daemon, extension models)"
npx mocha || failed+=("mocha (exit $?)")

echo "== engine tests again without the native batch library (its per-file fallback path)"
BLIT_NATIVE_BATCH=0 npx mocha --no-config --timeout 60000 'daemon/dist/test/engine/**/*.test.js'

echo "== VS Code extension tests in a real workbench (code-server + headless Chromium)"
if [ -f extension/scripts/test-e2e.sh ]; then
  bash extension/scripts/test-e2e.sh || failed+=("extension e2e (exit $?)")
else
  failed+=("extension e2e suite missing")
fi

if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "== all suites passed"
