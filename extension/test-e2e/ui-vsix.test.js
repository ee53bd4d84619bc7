#!/usr/bin/env node
// The packaged extension as a user gets it: the .vsix installed into code-server with
// `--install-extension`, a workspace opened in headless Chromium, and the UI driven like a person:
// command palette (F1) -> "Blit: Push Workspace to Remote" -> the "Blit Transfers" tree shows the
// job finishing. Checks: the job row's DOM text, a screenshot of the tree view, the remote files
// byte for byte, a second window on the same folder attaching to the first one's daemon and
// keeping its push across a reload of that window, the bundled daemon running from the installed
// .vsix with its ffi-rs binary loaded, and no daemon left behind once code-server stops. Usage: node ui-vsix.test.js FILE.vsix
'use strict';
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { startCodeServer, launchBrowser, stopProcess, installExtension } = require('./lib/cs-lib');
// Shared with the extension-host suite; built by scripts/test-e2e.sh's `tsc -b` before this runs.
const { REPO, listFiles, startRemoteBlitd, tempDescriptors, until } = require('../dist/test/e2e/node-helpers');

const vsix = path.resolve(process.argv[2] || '');
const keep = process.env.BLIT_E2E_KEEP === '1';
const shotDir = process.env.BLIT_E2E_SCREENSHOTS || path.join(REPO, '.e2e');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
    s.on('error', reject);
  });
}

/** Processes whose command line mentions `needle` (pid + cmdline), read from /proc. */
function processesWith(needle) {
  const hits = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ');
      if (cmd.includes(needle)) hits.push({ pid: Number(d), cmd });
    } catch { /* exited */ }
  }
  return hits;
}

const sha = (p) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');

(async () => {
  assert.ok(fs.existsSync(vsix), `no .vsix at ${vsix}`);
  const t0 = Date.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-ui-e2e-'));
  const ud = path.join(tmp, 'ud');
  const extDir = path.join(tmp, 'ext');
  const ws = path.join(tmp, 'workspace');
  const run = path.join(tmp, 'run');
  fs.cpSync(path.join(REPO, 'extension', 'test', 'fixture-workspace'), ws, { recursive: true });
  fs.writeFileSync(path.join(ws, 'payload.bin'), crypto.randomBytes(2 * 1024 * 1024 + 3));
  fs.mkdirSync(run, { mode: 0o700 });
  let remote, cs, browser, page, page2, failed = false;
  try {
    const installed = installExtension({ vsix, userDataDir: ud, extensionsDir: extDir });
    assert.match(installed, /successfully installed/i, installed);
    const installDir = fs.readdirSync(extDir).find((d) => d.startsWith('blit.blit-vscode'));
    assert.ok(installDir, `not installed: ${fs.readdirSync(extDir)}`);
    console.log(`installed ${path.basename(vsix)} into ${installDir} (${Date.now() - t0} ms)`);

    remote = await startRemoteBlitd(path.join(tmp, 'remote'));
    const port = await freePort();
    cs = startCodeServer({
      port, userDataDir: ud, extensionsDir: extDir, folder: ws, logFile: path.join(tmp, 'code-server.log'),
      env: { XDG_RUNTIME_DIR: run },
      settings: { 'blit.targets': [{ name: 'ui', host: '127.0.0.1', port: remote.port, module: 'default', remotePath: 'site' }] },
    });
    await cs.ready;
    browser = await launchBrowser();
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`);
    await page.waitForSelector('.monaco-workbench .part.statusbar', { timeout: 60000 });
    await page.waitForSelector('.explorer-folders-view .monaco-list-row', { timeout: 60000 });

    // Open the "Blit Transfers" view in the Explorer (activates the extension: onView) and wait
    // until the workbench has finished activating extensions, as a person waits for the window.
    const header = page.locator('.pane-header', { hasText: 'Blit Transfers' });
    await header.waitFor({ timeout: 60000 });
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
    await page.locator('.pane', { has: header }).getByText('No transfers yet').waitFor({ timeout: 60000 });
    await page.locator('.statusbar', { hasText: 'Activating Extensions' }).waitFor({ state: 'detached', timeout: 60000 }).catch(() => {});

    // Command palette, as a person would.
    await page.locator('.monaco-workbench').click({ position: { x: 700, y: 450 } }).catch(() => {});
    await page.keyboard.press('F1');
    const input = page.locator('.quick-input-widget input');
    await input.waitFor({ timeout: 15000 });
    await input.type('Blit: Push Workspace to Remote');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Blit: Push Workspace to Remote' }).first().waitFor({ timeout: 30000 });
    await page.keyboard.press('Enter');

    // The tree view: wait for the job's row to finish.
    const pane = page.locator('.pane', { has: header });
    const row = pane.locator('.monaco-list-row', { hasText: 'Push to ui' });
    await row.first().waitFor({ timeout: 60000 });
    await pane.locator('.monaco-list-row', { hasText: 'succeeded' }).first().waitFor({ timeout: 60000 });
    const rowText = (await row.first().innerText()).replace(/\s+/g, ' ');
    console.log(`tree row: ${rowText}`);
    assert.match(rowText, /Push to ui/);
    assert.match(rowText, /succeeded · 100%/);
    fs.mkdirSync(shotDir, { recursive: true });
    const shot = path.join(shotDir, 'blit-transfers-tree.png');
    await pane.screenshot({ path: shot });
    await page.screenshot({ path: path.join(shotDir, 'blit-workbench.png') });
    assert.ok(fs.statSync(shot).size > 1000, 'empty screenshot');
    console.log(`screenshot: ${shot}`);

    // Remote files equal the workspace (minus .gitignore'd and .git).
    const expected = listFiles(ws, ['.git', 'build']);
    assert.deepEqual(listFiles(path.join(tmp, 'remote', 'site')), expected);
    for (const f of expected) assert.equal(sha(path.join(tmp, 'remote', 'site', f)), sha(path.join(ws, f)), f);

    // Mirror: the dry run's deletion count is shown in a modal before anything is deleted.
    fs.writeFileSync(path.join(tmp, 'remote', 'site', 'remote-only.txt'), 'not in the workspace');
    const paletteOf = (p) => async (title) => {
      const box = p.locator('.quick-input-widget input');
      await p.keyboard.press('F1');
      await box.waitFor({ timeout: 15000 });
      await box.type(title);
      await p.locator('.quick-input-list .monaco-list-row', { hasText: title }).first().waitFor({ timeout: 30000 });
      await p.keyboard.press('Enter');
    };
    const palette = paletteOf(page);
    await palette('Blit: Mirror Workspace to Remote');
    const dialog = page.locator('.monaco-dialog-box');
    await dialog.waitFor({ timeout: 30000 });
    const dialogText = (await dialog.innerText()).replace(/\s+/g, ' ');
    console.log(`mirror modal: ${dialogText}`);
    assert.match(dialogText, /will DELETE 1 remote file/);
    assert.ok(fs.existsSync(path.join(tmp, 'remote', 'site', 'remote-only.txt')), 'deleted before the user answered');
    await dialog.locator('.monaco-button', { hasText: 'Mirror' }).click();
    await pane.locator('.monaco-list-row', { hasText: /Mirror to ui/ }).filter({ hasText: 'succeeded' }).first().waitFor({ timeout: 30000 });
    assert.equal(fs.existsSync(path.join(tmp, 'remote', 'site', 'remote-only.txt')), false);

    // A big push, cancelled from its progress notification; the status bar shows it while it runs.
    // The remote blitd is stopped (SIGSTOP) the moment it holds huge.bin's temp file and continued
    // once the job shows cancelled: the push cannot finish before the click, however fast the
    // machine (it was a race against the click: 0-3% done by then).
    const fh = await fs.promises.open(path.join(ws, 'huge.bin'), 'w');
    const chunk = crypto.randomBytes(8 * 1024 * 1024);
    for (let i = 0; i < 96; i++) await fh.write(chunk); // 768 MiB, not sparse
    await fh.close();
    const rpid = remote.proc.pid;
    const stopped = until(() => tempDescriptors(rpid).some((t) => t.includes('/.blit.huge.bin.')), 60000, 'the remote blitd to open the temp file of huge.bin', 2)
      .then(() => process.kill(rpid, 'SIGSTOP'));
    stopped.catch(() => {}); // awaited below unless the steps before fail
    await palette('Blit: Push Workspace to Remote');
    const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'Blit: Push to ui' });
    await toast.waitFor({ timeout: 30000 });
    await stopped;
    const status = await page.locator('.statusbar-item', { hasText: /Blit \d+%|Blit …/ }).first().innerText({ timeout: 10000 }).catch(() => '(status bar item not seen)');
    console.log(`status bar while running: ${status.replace(/\s+/g, ' ')}`);
    await toast.hover();
    await toast.locator('.monaco-button', { hasText: 'Cancel' }).click({ timeout: 10000 });
    await pane.locator('.monaco-list-row', { hasText: 'cancelled' }).first().waitFor({ timeout: 30000 });
    process.kill(rpid, 'SIGCONT');
    const cancelledRow = (await pane.locator('.monaco-list-row', { hasText: 'cancelled' }).first().innerText()).replace(/\s+/g, ' ');
    console.log(`tree row after Cancel in the notification: ${cancelledRow}`);
    assert.match(cancelledRow, /Push to ui/);
    await pane.screenshot({ path: path.join(shotDir, 'blit-transfers-tree-cancelled.png') });
    // The remote's receiver aborts the file: every descriptor on the temp closed, the temp removed.
    await until(() => tempDescriptors(rpid).length === 0, 30000, 'the remote blitd to close the temp file of huge.bin');
    await until(() => !fs.readdirSync(path.join(tmp, 'remote', 'site')).some((n) => n.startsWith('.blit.')), 30000, 'the remote blitd to remove the temp file of huge.bin');
    assert.equal(fs.existsSync(path.join(tmp, 'remote', 'site', 'huge.bin')), false, 'cancelled file left under its real name');

    // A second window on the same folder attaches to the daemon the first one spawned (one daemon
    // per user), and a push it starts lives in that daemon, not in the window: reloading the
    // window mid-push (its extension host dies and a new one activates) leaves the daemon and
    // the job running, and the reloaded window's tree shows the job running, then finished. The
    // remote blitd is stopped while it holds huge.bin's temp, so the reload happens mid-push.
    const bundledDaemons = () => processesWith(path.join(extDir, installDir, 'bundle', 'blitd.js')).map((d) => d.pid);
    const daemonPids = bundledDaemons();
    assert.equal(daemonPids.length, 1, `bundled daemons before the second window: ${daemonPids}`);
    page2 = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const openTransfers = async (p) => {
      await p.waitForSelector('.monaco-workbench .part.statusbar', { timeout: 60000 });
      const h = p.locator('.pane-header', { hasText: 'Blit Transfers' });
      await h.waitFor({ timeout: 60000 });
      if ((await h.getAttribute('aria-expanded')) !== 'true') await h.click();
      await p.locator('.statusbar', { hasText: 'Activating Extensions' }).waitFor({ state: 'detached', timeout: 60000 }).catch(() => {});
      return p.locator('.pane', { has: h });
    };
    await page2.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(ws)}`);
    let pane2 = await openTransfers(page2);
    // WatchJobs lists unfinished jobs only: the first window's are all finished.
    await pane2.getByText('No transfers yet').waitFor({ timeout: 60000 });
    assert.deepEqual(bundledDaemons(), daemonPids, 'the second window started a daemon of its own');
    const stopped2 = until(() => tempDescriptors(rpid).some((t) => t.includes('/.blit.huge.bin.')), 60000, 'the remote blitd to open the temp file of huge.bin (second window)', 2)
      .then(() => process.kill(rpid, 'SIGSTOP'));
    stopped2.catch(() => {});
    await page2.locator('.monaco-workbench').click({ position: { x: 700, y: 450 } }).catch(() => {});
    await paletteOf(page2)('Blit: Push Workspace to Remote');
    await stopped2;
    await pane2.locator('.monaco-list-row', { hasText: 'running' }).first().waitFor({ timeout: 30000 });
    await page2.reload();
    pane2 = await openTransfers(page2);
    const running = pane2.locator('.monaco-list-row', { hasText: 'running' }).first();
    await running.waitFor({ timeout: 60000 });
    const runningRow = (await running.innerText()).replace(/\s+/g, ' ');
    console.log(`second window's tree row after its reload: ${runningRow}`);
    assert.match(runningRow, /Push to ui/);
    assert.deepEqual(bundledDaemons(), daemonPids, 'the daemon changed across the reload');
    assert.equal(fs.existsSync(path.join(tmp, 'remote', 'site', 'huge.bin')), false, 'the push finished before the reload');
    process.kill(rpid, 'SIGCONT');
    await running.waitFor({ state: 'detached', timeout: 120000 });
    await until(() => fs.existsSync(path.join(tmp, 'remote', 'site', 'huge.bin')), 30000, 'huge.bin on the remote');
    const pushRows = (await pane2.locator('.monaco-list-row', { hasText: 'Push to ui' }).allInnerTexts()).map((t) => t.replace(/\s+/g, ' '));
    console.log(`second window's push rows: ${JSON.stringify(pushRows)}`);
    // The reloaded window knows only the job that was running when it attached.
    assert.equal(pushRows.length, 1, 'rows in the reloaded window');
    assert.match(pushRows[0], /succeeded · 100%/, 'the push across the reload');
    assert.equal(sha(path.join(tmp, 'remote', 'site', 'huge.bin')), sha(path.join(ws, 'huge.bin')), 'huge.bin on the remote');
    await page2.screenshot({ path: path.join(shotDir, 'blit-second-window-after-reload.png') });
    await page2.close();

    // Add Remote Target: the quick-input wizard, answered from the keyboard.
    await palette('Blit: Add Remote Target');
    // Each step waits for its own prompt, and for the typed answer in the box, before Enter: fixed
    // 150 ms pauses could type into the previous step on a loaded machine.
    const widget = page.locator('.quick-input-widget');
    const steps = [
      ['Name for this target', 'wizard'], ['Host of the remote blitd', 'backup.example'], ['Port', '9100'],
      ['Module on the remote blitd', 'www'], ['Path inside the module', 'site/current'], ['Upload files to this target when they are saved?', 'Yes'],
    ];
    for (const [prompt, answer] of steps) {
      await widget.filter({ hasText: prompt }).waitFor({ timeout: 30000 });
      await input.press('Control+a');
      await input.type(answer);
      for (let i = 0; i < 300 && (await input.inputValue()) !== answer; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await input.inputValue(), answer, `wizard step "${prompt}"`);
      if (answer === 'Yes') await widget.locator('.monaco-list-row', { hasText: 'Yes' }).first().waitFor({ timeout: 30000 });
      await page.keyboard.press('Enter');
    }
    const wsSettings = path.join(ws, '.vscode', 'settings.json');
    const readTargets = () => { try { return JSON.parse(fs.readFileSync(wsSettings, 'utf8'))['blit.targets']; } catch { return undefined; } };
    for (let i = 0; i < 300 && !readTargets(); i++) await new Promise((r) => setTimeout(r, 100));
    const written = readTargets();
    assert.ok(written, `the wizard wrote no blit.targets to ${wsSettings}`);
    assert.deepEqual(written.find((t) => t.name === 'wizard'), { name: 'wizard', host: 'backup.example', port: 9100, module: 'www', remotePath: 'site/current', uploadOnSave: true });
    console.log('Add Remote Target wizard wrote the workspace setting');

    // The daemon that did it is the one from the installed .vsix, with its ffi-rs binary mapped.
    const daemons = processesWith(path.join(extDir, installDir, 'bundle', 'blitd.js'));
    assert.equal(daemons.length, 1, `bundled daemons: ${JSON.stringify(daemons)}`);
    const maps = fs.readFileSync(`/proc/${daemons[0].pid}/maps`, 'utf8');
    assert.ok(maps.includes(path.join(extDir, installDir, 'bundle', 'node_modules', '@yuuang')), 'the bundled ffi-rs binary is not loaded in the daemon');
    console.log(`bundled blitd pid ${daemons[0].pid} runs from the .vsix with ffi-rs loaded`);

    // Quitting VS Code leaves no daemon behind.
    await browser.close();
    browser = undefined;
    await stopProcess(cs.proc);
    const deadline = Date.now() + 30000;
    while (processesWith(path.join(extDir, installDir, 'bundle', 'blitd.js')).length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(processesWith(path.join(extDir, installDir, 'bundle', 'blitd.js')), [], 'orphan blitd after code-server stopped');
    console.log(`UI suite passed in ${Date.now() - t0} ms`);
  } catch (e) {
    failed = true;
    console.error('UI suite FAILED:', e);
    if (page) {
      fs.mkdirSync(shotDir, { recursive: true });
      await page.screenshot({ path: path.join(shotDir, 'blit-ui-failure.png') }).catch(() => {});
      console.error(`failure screenshot: ${path.join(shotDir, 'blit-ui-failure.png')}`);
    }
    if (page2) await page2.screenshot({ path: path.join(shotDir, 'blit-ui-failure-window2.png') }).catch(() => {});
    console.error(`code-server log: ${path.join(tmp, 'code-server.log')}`);
  } finally {
    if (browser) await browser.close().catch(() => {});
    if (cs) await stopProcess(cs.proc);
    if (remote) remote.proc.kill('SIGKILL'); // stopped (SIGSTOP) or not
    if (!failed && !keep) fs.rmSync(tmp, { recursive: true, force: true });
    process.exit(failed ? 1 : 0);
  }
})();
