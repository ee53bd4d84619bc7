#!/usr/bin/env bash
# The extension's suites in a real VS Code (code-server + headless Chromium):
#  1. @vscode/test-cli suites inside the extension host (dist/test/e2e/*.test.js) against real blitd,
#     in a one-folder window and in a multi-root window
#  2. the packaged .vsix installed into code-server, driven through the UI with playwright
# Installs its own test-only tools (extension/test-e2e) so the root `npm ci` stays light.
set -euo pipefail
ext="$(cd "$(dirname "$0")/.." && pwd)"
repo="$(cd "$ext/.." && pwd)"
cd "$repo"

bash "$ext/scripts/install-e2e-deps.sh"
t0=$(date +%s)
echo "== build + bundle"
npx tsc -b
node "$ext/scripts/bundle.js"

work="$(mktemp -d "${TMPDIR:-/tmp}/blit-e2e-XXXXXX")"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
cp -a "$ext/test/fixture-workspace" "$work/workspace"
export BLIT_E2E_WORKSPACE="$work/workspace"
# A multi-root workspace whose folder paths have spaces and non-ASCII letters (multi-root.test.ts
# writes each folder's own blit.targets into its .vscode/settings.json).
multi="$work/multi"
mkdir -p "$multi/my proj/ünï code/src" "$multi/second folder"
printf 'export const a = 1;\n' > "$multi/my proj/ünï code/src/a.ts"
printf 'ignored/\n' > "$multi/my proj/ünï code/.gitignore"
printf 'b\n' > "$multi/second folder/b.txt"
printf '{"folders": [{"path": "my proj/ünï code"}, {"path": "second folder"}], "settings": {}}\n' > "$multi/blit.code-workspace"
export BLIT_E2E_MULTI_ROOT="$multi/blit.code-workspace"
export BLIT_E2E_WORK="$work"
export BLIT_REPO="$repo"
# the local daemon's socket lives in a private runtime dir, never the user's real one
export XDG_RUNTIME_DIR="$work/run"
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"
# every blitd of the suites (the extension's, the remote ones) leaves the user's perf history alone
export BLIT_DISABLE_PERF_HISTORY=1

echo "== extension-host suites (code-server: one folder, then a multi-root workspace)"
# Arguments go to vscode-test: `--label multi-root` runs one workbench, `--grep TEXT` some tests;
# BLIT_E2E_UI=0 leaves out the .vsix UI suite (both for a quick run while working on one test).
(cd "$ext/test-e2e" && npx vscode-test --config .vscode-test.mjs "$@")
t1=$(date +%s)
echo "extension-host suite: $((t1 - t0)) s"
# the daemon the extension spawned must not outlive the workbench (read /proc: no procps needed).
# It gets up to 30 s to exit (a fixed 1 s was a guess that a loaded machine need not keep).
sock="$XDG_RUNTIME_DIR/blit/blitd.sock"
# One grep over every /proc/PID/cmdline for an argument equal to the socket path (unique to this
# run); "[/]..." so that grep's own argument, also in the list, does not match itself.
daemon_pids() { grep -lzx -- "[${sock:0:1}]${sock:1}" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3 | tr '\n' ' ' || true; }
gone_by=$((SECONDS + 30))
while [ -n "$(daemon_pids)" ] && [ $SECONDS -lt $gone_by ]; do sleep 0.2; done
left="$(daemon_pids)"
if [ -n "$left" ]; then
  echo "orphan blitd left 30 s after the workbench stopped: pid $left" >&2
  exit 1
fi

if [ -f "$ext/test-e2e/ui-vsix.test.js" ] && [ "${BLIT_E2E_UI:-1}" != 0 ]; then
  echo "== .vsix installed into code-server, driven through the UI"
  BLIT_VSIX_SKIP_BUILD=1 bash "$ext/scripts/package-vsix.sh" "$work/blit.vsix" | tail -n 2
  (cd "$ext/test-e2e" && node ui-vsix.test.js "$work/blit.vsix")
  echo "ui suite: $(($(date +%s) - t1)) s"
fi
