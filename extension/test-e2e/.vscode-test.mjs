// @vscode/test-cli configuration for the extension's real-workbench suite. There is no Electron VS
// Code on these machines: the shim runs the suite in code-server's Node extension host, driven by
// headless Chromium. scripts/test-e2e.sh sets BLIT_E2E_WORKSPACE (a fresh copy of the fixture).
import { defineConfig } from '@vscode/test-cli';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const workspace = process.env.BLIT_E2E_WORKSPACE;
const multiRoot = process.env.BLIT_E2E_MULTI_ROOT; // a .code-workspace file with two folders
if (!workspace || !multiRoot) throw new Error('BLIT_E2E_WORKSPACE / BLIT_E2E_MULTI_ROOT are not set: run extension/scripts/test-e2e.sh');

// The suites in name order on every machine: the glob listed them in the directory's on-disk
// order (here upload-and-errors, sync, activation), which another checkout need not share, and the
// suites share one workspace (sync.test pushes and pulls into it). multi-root.test.js needs the
// multi-root window, so it runs in its own (second) workbench.
const suites = readdirSync(here('../dist/test/e2e')).filter((f) => f.endsWith('.test.js')).sort();
const common = {
  extensionDevelopmentPath: here('..'),
  useInstallation: { fromPath: here('./lib/code-server-test-shim.js') },
  mocha: { ui: 'bdd', timeout: 60000, color: false },
};

export default defineConfig([
  { ...common, label: 'blit-e2e', workspaceFolder: workspace, files: suites.filter((f) => f !== 'multi-root.test.js').map((f) => here(`../dist/test/e2e/${f}`)) },
  { ...common, label: 'multi-root', workspaceFolder: multiRoot, files: [here('../dist/test/e2e/multi-root.test.js')] },
]);
