/**
 * Inside the real extension host, a multi-root workspace (scripts/test-e2e.sh makes it: folders
 * "my proj/ünï code" and "second folder"): each folder has its own blit.targets in its
 * .vscode/settings.json, written as a user does; both name their target "site". Push, pull,
 * mirror, upload on save and the Blit Transfers view per folder, against a real remote blitd.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BlitApi, CommandResult } from '../../src/extension';
import { editAndSave, listFiles, sleep, startRemoteBlitd, until, type RemoteDaemon } from './helpers';

describe('multi-root workspace, folder paths with spaces and unicode (real workbench)', function () {
  this.timeout(60000);
  let remote: RemoteDaemon;
  let a: vscode.WorkspaceFolder;
  let b: vscode.WorkspaceFolder;
  let api: BlitApi;
  const remoteDir = (folder: 'a' | 'b') => path.join(remote.root, folder === 'a' ? 'für A' : 'for b');
  const run = (command: string, folder: vscode.WorkspaceFolder, extra: Record<string, unknown> = {}) =>
    vscode.commands.executeCommand<CommandResult>(command, { target: 'site', folder: folder.uri.fsPath, ...extra });

  /** Writes the folder's own .vscode/settings.json (as a user does) and waits until VS Code reads it from that folder. */
  async function folderTargets(folder: vscode.WorkspaceFolder, remotePath: string): Promise<void> {
    const targets = [{ name: 'site', host: '127.0.0.1', port: remote.port, module: 'default', remotePath, uploadOnSave: true }];
    fs.mkdirSync(path.join(folder.uri.fsPath, '.vscode'), { recursive: true });
    fs.writeFileSync(path.join(folder.uri.fsPath, '.vscode', 'settings.json'), JSON.stringify({ 'blit.targets': targets }, null, 2));
    const seen = () => JSON.stringify(vscode.workspace.getConfiguration('blit', folder.uri).get('targets')) === JSON.stringify(targets);
    await until(seen, 20000, `VS Code to read blit.targets from ${folder.name}'s folder settings (a window-scoped setting is ignored there)`);
  }

  before(async () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.deepEqual(folders.map((f) => f.name), ['ünï code', 'second folder'], 'the multi-root workspace of scripts/test-e2e.sh');
    [a, b] = folders as [vscode.WorkspaceFolder, vscode.WorkspaceFolder];
    remote = await startRemoteBlitd(path.join(process.env.BLIT_E2E_WORK ?? path.dirname(a.uri.fsPath), 'remote-multi'));
    await folderTargets(a, 'für A');
    await folderTargets(b, 'for b');
    api = (await vscode.extensions.getExtension('blit.blit-vscode')!.activate()) as BlitApi;
  });

  after(async () => {
    await remote?.stop();
  });

  it('pushes each folder to its own folder settings\' target (.gitignore of that folder honoured)', async () => {
    fs.mkdirSync(path.join(a.uri.fsPath, 'ignored'), { recursive: true });
    fs.writeFileSync(path.join(a.uri.fsPath, 'ignored', 'x.txt'), 'ignored by the folder\'s .gitignore');
    for (const [folder, name] of [[a, 'a'], [b, 'b']] as const) {
      const r = await run('blit.push', folder);
      assert.equal(r.error, undefined, r.error);
      assert.equal(r.state, 'succeeded');
      // (.vscode, where each folder's settings live, is a target's default exclude)
      assert.deepEqual(listFiles(remoteDir(name)), listFiles(folder.uri.fsPath, ['ignored', '.vscode']), `${folder.name} on the remote`);
    }
    assert.ok(listFiles(remoteDir('a')).includes('src/a.ts'));
    assert.ok(listFiles(remoteDir('b')).includes('b.txt'));
  });

  it('the Blit Transfers view tells the two folders\' jobs apart', async () => {
    const labels = () => api.tree().getChildren().map((n) => n.label);
    await until(() => labels().includes('Push to site (ünï code)') && labels().includes('Push to site (second folder)'), 10000, `both push jobs in the view (have ${JSON.stringify(labels())})`);
  });

  it('pulls into the folder the command names, and only there', async () => {
    fs.writeFileSync(path.join(remoteDir('a'), 'from remote ✓.txt'), 'for A');
    const r = await run('blit.pull', a);
    assert.equal(r.error, undefined, r.error);
    assert.equal(fs.readFileSync(path.join(a.uri.fsPath, 'from remote ✓.txt'), 'utf8'), 'for A');
    assert.equal(fs.existsSync(path.join(b.uri.fsPath, 'from remote ✓.txt')), false);
  });

  it('mirrors one folder: deletes only in that folder\'s target', async () => {
    fs.writeFileSync(path.join(remoteDir('b'), 'stale.txt'), 'remote only');
    fs.writeFileSync(path.join(remoteDir('a'), 'stale.txt'), 'remote only');
    const r = await run('blit.mirror', b, { assumeYes: true });
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.deletions, 1);
    assert.equal(fs.existsSync(path.join(remoteDir('b'), 'stale.txt')), false);
    assert.ok(fs.existsSync(path.join(remoteDir('a'), 'stale.txt')), 'the other folder\'s target was touched');
  });

  it('uploads a file saved in either folder to that folder\'s target only', async () => {
    await editAndSave(path.join(a.uri.fsPath, 'src', 'a.ts'), 'export const a = 2; // ünï\n');
    await editAndSave(path.join(b.uri.fsPath, 'b.txt'), 'b saved\n');
    await until(() => fs.readFileSync(path.join(remoteDir('a'), 'src', 'a.ts'), 'utf8') === 'export const a = 2; // ünï\n', 15000, 'a.ts saved in ünï code on its remote');
    await until(() => fs.readFileSync(path.join(remoteDir('b'), 'b.txt'), 'utf8') === 'b saved\n', 15000, 'b.txt saved in second folder on its remote');
    assert.equal(fs.existsSync(path.join(remoteDir('b'), 'src')), false, 'a file of one folder went to the other\'s target');
  });

  it('Add Remote Target writes to the chosen folder\'s settings, where that folder reads it', async () => {
    const r = await vscode.commands.executeCommand<CommandResult>('blit.addTarget', { folder: b.uri.fsPath, values: { name: 'extra', host: 'example.internal', module: 'www' } });
    assert.equal(r.error, undefined, r.error);
    const names = (f: vscode.WorkspaceFolder) => (vscode.workspace.getConfiguration('blit', f.uri).get<Array<{ name: string }>>('targets') ?? []).map((t) => t.name);
    assert.deepEqual(names(b), ['site', 'extra']);
    assert.deepEqual(names(a), ['site']);
  });

  it('Add Remote Target asks for the folder in the workbench\'s quick pick: dismissed, nothing is written; the second folder picked, its settings get the target', async () => {
    const names = (f: vscode.WorkspaceFolder) => (vscode.workspace.getConfiguration('blit', f.uri).get<Array<{ name: string }>>('targets') ?? []).map((t) => t.name);
    const namesBefore = { a: names(a), b: names(b) };
    // No `folder`: the command shows the real folder pick (showWorkspaceFolderPick). Dismissed as
    // Escape does. A close that arrives before the pick is shown closes nothing, so it is repeated
    // until the command returns. This first pick also completes the workbench's one-time activation
    // step for the pick command, after which the workbench shows the pick as the request arrives.
    const dismissed = vscode.commands.executeCommand<CommandResult>('blit.addTarget', { values: { name: 'never', host: 'h.internal', module: 'www' } });
    let r: CommandResult | undefined;
    while ((r = await Promise.race([dismissed, sleep(200).then(() => undefined)])) === undefined) await vscode.commands.executeCommand('workbench.action.closeQuickOpen');
    assert.equal(r.error, 'cancelled by the user');
    assert.deepEqual({ a: names(a), b: names(b) }, namesBefore, 'a dismissed folder pick wrote a target');

    const picked = vscode.commands.executeCommand<CommandResult>('blit.addTarget', { values: { name: 'picked', host: 'pick.internal', module: 'www' } });
    // One round trip to the workbench after the command's pick request: the workbench handles
    // requests in order, so the pick is shown, with its items, before the keys below arrive.
    await vscode.commands.executeCommand('setContext', 'blit.e2eRoundTrip', true);
    // The keys a user presses: Down (from the first folder, the pick's active item, to the second), Enter.
    await vscode.commands.executeCommand('workbench.action.quickOpenSelectNext');
    await vscode.commands.executeCommand('workbench.action.acceptSelectedQuickOpenItem');
    r = await picked;
    assert.equal(r.error, undefined, r.error);
    assert.deepEqual(names(b), [...namesBefore.b, 'picked'], `${b.name}, the folder picked`);
    assert.deepEqual(names(a), namesBefore.a, `${a.name}, the folder not picked`);
    const written = JSON.parse(fs.readFileSync(path.join(b.uri.fsPath, '.vscode', 'settings.json'), 'utf8'))['blit.targets'] as Array<{ name: string }>;
    assert.ok(written.some((t) => t.name === 'picked'), `not in ${b.name}/.vscode/settings.json`);
  });
});
