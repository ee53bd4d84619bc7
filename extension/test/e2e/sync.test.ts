/**
 * Inside the real extension host: the commands drive the bundled blitd (spawned by the extension on
 * a private socket) which pushes to / pulls from a real remote blitd on loopback.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BlitApi, CommandResult } from '../../src/extension';
import { listFiles, setTargets, sleep, startRemoteBlitd, stopped, tempDescriptors, until, workspaceDir, type RemoteDaemon } from './helpers';

const sha = (p: string) => crypto.createHash('sha256').update(fs.readFileSync(p)).digest('hex');

describe('Blit commands against a real blitd on loopback', function () {
  this.timeout(120000);
  let remote: RemoteDaemon;
  let ws: string;
  let remoteRoot: string;
  const dst = () => path.join(remoteRoot, 'site');

  before(async () => {
    ws = workspaceDir();
    remoteRoot = path.join(process.env.BLIT_E2E_WORK ?? path.dirname(ws), 'remote');
    remote = await startRemoteBlitd(remoteRoot);
    await setTargets([
      { name: 'e2e', host: '127.0.0.1', port: remote.port, module: 'default', remotePath: 'site', excludes: ['*.tmp'] },
      { name: 'e2e-cancel', host: '127.0.0.1', port: remote.port, module: 'default', remotePath: 'cancel' },
      { name: 'nomodule', host: '127.0.0.1', port: remote.port, module: 'nosuchmodule' },
    ]);
    await vscode.extensions.getExtension('blit.blit-vscode')!.activate();
  });

  after(async () => {
    await remote?.stop();
  });

  it('pushes the workspace: remote files equal byte for byte, .gitignore and excludes honoured', async () => {
    fs.mkdirSync(path.join(ws, 'build'), { recursive: true });
    fs.writeFileSync(path.join(ws, 'build', 'out.js'), 'ignored by .gitignore');
    fs.writeFileSync(path.join(ws, 'scratch.tmp'), 'excluded by the target');
    fs.writeFileSync(path.join(ws, 'data.bin'), crypto.randomBytes(3 * 1024 * 1024 + 17));
    const r = await vscode.commands.executeCommand<CommandResult>('blit.push', { target: 'e2e' });
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.state, 'succeeded');
    const expected = listFiles(ws, ['.git', 'build']).filter((f) => !f.endsWith('.tmp'));
    assert.deepEqual(listFiles(dst()), expected);
    for (const f of expected) assert.equal(sha(path.join(dst(), f)), sha(path.join(ws, f)), `content of ${f}`);
    assert.ok(r.summary && r.summary.filesTransferred === expected.length, JSON.stringify(r.summary));
  });

  it('previews a sync (dry run): lists the change file by file, changes nothing remotely', async () => {
    fs.writeFileSync(path.join(ws, 'src', 'new-file.ts'), 'export const n = 1;\n');
    const before = listFiles(dst());
    const r = await vscode.commands.executeCommand<CommandResult>('blit.preview', { target: 'e2e' });
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.state, 'succeeded');
    assert.ok(r.lines?.some((l) => l.startsWith('+ src/new-file.ts')), `preview lines: ${JSON.stringify(r.lines)}`);
    assert.deepEqual(listFiles(dst()), before, 'a dry run changed the remote');
  });

  it('mirror: dry run counts the remote deletions, then deletes them', async () => {
    fs.writeFileSync(path.join(dst(), 'stale-remote-only.txt'), 'old');
    const r = await vscode.commands.executeCommand<CommandResult>('blit.mirror', { target: 'e2e', assumeYes: true });
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.deletions, 1);
    assert.equal(r.state, 'succeeded');
    assert.equal(fs.existsSync(path.join(dst(), 'stale-remote-only.txt')), false);
    assert.equal(fs.readFileSync(path.join(dst(), 'src', 'new-file.ts'), 'utf8'), 'export const n = 1;\n');
  });

  it('pulls remote changes into the workspace', async () => {
    fs.mkdirSync(path.join(dst(), 'from-remote'), { recursive: true });
    const payload = crypto.randomBytes(100_000);
    fs.writeFileSync(path.join(dst(), 'from-remote', 'r.bin'), payload);
    const r = await vscode.commands.executeCommand<CommandResult>('blit.pull', { target: 'e2e' });
    assert.equal(r.error, undefined, r.error);
    assert.equal(r.state, 'succeeded');
    assert.ok(fs.readFileSync(path.join(ws, 'from-remote', 'r.bin')).equals(payload));
  });

  it('a target without excludes leaves out .vscode/ and .DS_Store (push, preview; a mirror keeps them remotely); one with excludes: [] sends them', async () => {
    await setTargets([...(vscode.workspace.getConfiguration('blit').get<unknown[]>('targets') ?? []).filter((t) => !['e2e-defaults', 'e2e-all'].includes((t as { name: string }).name)),
      { name: 'e2e-defaults', host: '127.0.0.1', port: remote.port, module: 'default', remotePath: 'defaults' },
      { name: 'e2e-all', host: '127.0.0.1', port: remote.port, module: 'default', remotePath: 'all', excludes: [] }]);
    const litter = ['.vscode/extra.json', '.DS_Store', 'docs/.DS_Store'];
    fs.mkdirSync(path.join(ws, '.vscode'), { recursive: true });
    for (const f of litter) fs.writeFileSync(path.join(ws, f), `local ${f}`);
    const remoteDir = path.join(remoteRoot, 'defaults');
    try {
      const preview = await vscode.commands.executeCommand<CommandResult>('blit.preview', { target: 'e2e-defaults' });
      assert.equal(preview.error, undefined, preview.error);
      assert.ok(preview.lines?.some((l) => l.startsWith('+ README.md')), `preview lines: ${JSON.stringify(preview.lines)}`);
      assert.deepEqual(preview.lines?.filter((l) => /\.vscode|\.DS_Store/.test(l)), []);
      const pushed = await vscode.commands.executeCommand<CommandResult>('blit.push', { target: 'e2e-defaults' });
      assert.equal(pushed.error, undefined, pushed.error);
      assert.ok(fs.existsSync(path.join(remoteDir, 'README.md')));
      assert.deepEqual(listFiles(remoteDir).filter((f) => /\.vscode|\.DS_Store/.test(f)), [], 'a default exclude was pushed');
      // the remote's own excluded files survive a mirror (rsync without --delete-excluded)
      fs.mkdirSync(path.join(remoteDir, '.vscode'), { recursive: true });
      fs.writeFileSync(path.join(remoteDir, '.vscode', 'remote.json'), 'remote');
      fs.writeFileSync(path.join(remoteDir, '.DS_Store'), 'remote');
      fs.writeFileSync(path.join(remoteDir, 'stale.txt'), 'remote only');
      const mirrored = await vscode.commands.executeCommand<CommandResult>('blit.mirror', { target: 'e2e-defaults', assumeYes: true });
      assert.equal(mirrored.error, undefined, mirrored.error);
      assert.equal(mirrored.deletions, 1);
      assert.equal(fs.existsSync(path.join(remoteDir, 'stale.txt')), false);
      assert.equal(fs.readFileSync(path.join(remoteDir, '.vscode', 'remote.json'), 'utf8'), 'remote');
      assert.equal(fs.readFileSync(path.join(remoteDir, '.DS_Store'), 'utf8'), 'remote');
      assert.equal(fs.existsSync(path.join(remoteDir, '.vscode', 'extra.json')), false);
      const all = await vscode.commands.executeCommand<CommandResult>('blit.push', { target: 'e2e-all' });
      assert.equal(all.error, undefined, all.error);
      for (const f of litter) assert.equal(fs.readFileSync(path.join(remoteRoot, 'all', f), 'utf8'), `local ${f}`, `${f} with excludes: []`);
    } finally {
      for (const f of litter) fs.rmSync(path.join(ws, f), { force: true });
    }
  });

  it('a remote path that does not exist yet: a push creates it (as rsync), a pull fails naming it', async () => {
    await setTargets([...(vscode.workspace.getConfiguration('blit').get<unknown[]>('targets') ?? []).filter((t) => !['e2e-new', 'e2e-missing'].includes((t as { name: string }).name)),
      { name: 'e2e-new', host: '127.0.0.1', port: remote.port, module: 'default', remotePath: 'new site' },
      { name: 'e2e-missing', host: '127.0.0.1', port: remote.port, module: 'default', remotePath: 'no such/dir' }]);
    const pushed = await vscode.commands.executeCommand<CommandResult>('blit.push', { target: 'e2e-new' });
    assert.equal(pushed.error, undefined, pushed.error);
    assert.ok(fs.existsSync(path.join(remoteRoot, 'new site', 'src', 'index.ts')));
    // missing parents too (--mkpath, as SFTP extensions and rclone): a push and a mirror
    await setTargets([...(vscode.workspace.getConfiguration('blit').get<unknown[]>('targets') ?? []).filter((t) => !['e2e-deep', 'e2e-deep-mirror'].includes((t as { name: string }).name)),
      { name: 'e2e-deep', host: '127.0.0.1', port: remote.port, module: 'default', remotePath: 'deep/er/push' },
      { name: 'e2e-deep-mirror', host: '127.0.0.1', port: remote.port, module: 'default', remotePath: 'deep mirror/ü/x' }]);
    const deep = await vscode.commands.executeCommand<CommandResult>('blit.push', { target: 'e2e-deep' });
    assert.equal(deep.error, undefined, deep.error);
    assert.ok(fs.existsSync(path.join(remoteRoot, 'deep', 'er', 'push', 'src', 'index.ts')));
    const mirrored = await vscode.commands.executeCommand<CommandResult>('blit.mirror', { target: 'e2e-deep-mirror', assumeYes: true });
    assert.equal(mirrored.error, undefined, mirrored.error);
    assert.ok(fs.existsSync(path.join(remoteRoot, 'deep mirror', 'ü', 'x', 'src', 'index.ts')));
    const pulled = await vscode.commands.executeCommand<CommandResult>('blit.pull', { target: 'e2e-missing' });
    assert.equal(pulled.state, 'failed');
    assert.match(pulled.error ?? '', /default\/no such\/dir: .*no such file or directory/);
  });

  it('a refused module gives one clear error naming the module', async () => {
    const r = await vscode.commands.executeCommand<CommandResult>('blit.push', { target: 'nomodule' });
    assert.match(r.error ?? '', /nosuchmodule/);
    assert.notEqual(r.state, 'succeeded');
  });

  it('a running push shows its big file in flight under its job in Blit Transfers; cancelling it: job cancelled, no file left under its real name', async () => {
    const big = path.join(ws, 'big');
    fs.mkdirSync(big, { recursive: true });
    const chunk = crypto.randomBytes(8 * 1024 * 1024);
    const fh = await fs.promises.open(path.join(big, 'huge.bin'), 'w');
    for (let i = 0; i < 64; i++) await fh.write(chunk); // 512 MiB, fully written (not sparse)
    await fh.close();
    await setTargets([...(vscode.workspace.getConfiguration('blit').get<unknown[]>('targets') ?? []).filter((t) => (t as { name: string }).name !== 'e2e-cancel'),
      { name: 'e2e-cancel', host: '127.0.0.1', port: remote.port, module: 'default', remotePath: 'cancel', excludes: [] }]);
    // The remote blitd is stopped (SIGSTOP) the moment it holds huge.bin's temp file: the push
    // then cannot finish before the cancel, however fast the machine (it was a 150 ms sleep).
    const pid = remote.proc.pid!;
    const writing = () => tempDescriptors(pid).some((t) => t.includes('/.blit.huge.bin.'));
    const held = until(writing, 60000, 'the remote blitd to open the temp file of huge.bin', 2).then(() => stopped(pid));
    held.catch(() => undefined); // awaited below unless the push did not start
    const started = await vscode.commands.executeCommand<CommandResult>('blit.push', { target: 'e2e-cancel', wait: false });
    let r: CommandResult;
    try {
      assert.ok(started.jobId, started.error);
      await held;
      // The push is held mid-file: the view's own provider shows the file as a child of the running
      // job (the jobs blitd names a push's big files in flight, as a local job's).
      const tree = (vscode.extensions.getExtension('blit.blit-vscode')!.exports as BlitApi).tree();
      const inFlight = () => {
        const job = tree.getChildren().find((n) => n.id === started.jobId);
        return job ? tree.getChildren(job).map((c) => tree.getTreeItem(c)).filter((i) => i.description === 'in flight') : [];
      };
      await until(() => inFlight().length > 0, 15000, 'big/huge.bin in flight under the running push in Blit Transfers');
      assert.deepEqual(inFlight().map((i) => [i.label, (i.iconPath as vscode.ThemeIcon).id]), [['big/huge.bin', 'file']]);
      const jobNode = tree.getChildren().find((n) => n.id === started.jobId)!;
      assert.equal(jobNode.icon, 'running');
      assert.equal(tree.getTreeItem(jobNode).collapsibleState, vscode.TreeItemCollapsibleState.Expanded, 'the running job opens on its file');
      r = await vscode.commands.executeCommand<CommandResult>('blit.cancel', { jobId: started.jobId });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    assert.equal(r.state, 'cancelled', JSON.stringify(r));
    // The remote's receiver aborts the file: every descriptor on the temp closed, the temp removed
    // (was a 500 ms sleep).
    const remoteDir = path.join(remoteRoot, 'cancel', 'big');
    await until(() => tempDescriptors(pid).length === 0, 30000, 'the remote blitd to close the temp file of huge.bin');
    await until(() => !fs.readdirSync(remoteDir).some((n) => n.startsWith('.blit.')), 30000, 'the remote blitd to remove the temp file of huge.bin');
    const remoteHuge = path.join(remoteDir, 'huge.bin');
    assert.ok(!fs.existsSync(remoteHuge) || fs.statSync(remoteHuge).size !== 512 * 1024 * 1024 || sha(remoteHuge) !== sha(path.join(big, 'huge.bin')),
      'the transfer finished before the cancel');
    assert.equal(fs.existsSync(remoteHuge), false, 'a partial file was left under the real name');
    fs.rmSync(big, { recursive: true, force: true });
  });

  it('cancelling a mirror\'s dry run or a preview says so as an information, not an error, and mirrors nothing', async () => {
    const api = vscode.extensions.getExtension('blit.blit-vscode')!.exports as BlitApi;
    const pid = remote.proc.pid!;
    const runs: Array<[string, Record<string, unknown>, string]> = [
      ['blit.mirror', { target: 'e2e', assumeYes: true }, 'Preview mirror to e2e'],
      ['blit.preview', { target: 'e2e' }, 'Preview push to e2e'],
    ];
    for (const [command, args, label] of runs) {
      const before = api.log().length;
      const known = new Set(api.jobs().keys());
      const fresh = () => [...api.jobs().values()].filter((r) => !known.has(r.job.id));
      // the remote blitd stopped: the dry run cannot end before the cancel, however fast the machine
      let r: CommandResult;
      try {
        await stopped(pid);
        const pending = Promise.resolve(vscode.commands.executeCommand<CommandResult>(command, args));
        await until(() => fresh().some((j) => j.job.label === label), 15000, `the ${label} job`);
        const jobId = fresh().find((j) => j.job.label === label)!.job.id;
        await vscode.commands.executeCommand<CommandResult>('blit.cancel', { jobId });
        r = await pending;
      } finally {
        process.kill(pid, 'SIGCONT');
      }
      assert.equal(r.state, 'cancelled', JSON.stringify(r));
      const lines = api.log().slice(before);
      assert.deepEqual(lines.filter((l) => /\] error: /.test(l)), [], `${command}: a cancel by the user shown as an error`);
      assert.ok(lines.some((l) => l.endsWith(`] info: Blit: ${label} cancelled.`)), `${command}: no information said it was cancelled:\n${lines.join('\n')}`);
      assert.deepEqual(fresh().map((j) => j.job.label), [label], 'the mirror went on after its dry run was cancelled');
    }
  });

  it('a file the remote cannot take shows under its job as a failed file, with the reason', async () => {
    // a non-empty remote directory where the workspace has a file: a plain push refuses that file
    fs.mkdirSync(path.join(remoteRoot, 'conflict', 'in-the-way.txt'), { recursive: true });
    fs.writeFileSync(path.join(remoteRoot, 'conflict', 'in-the-way.txt', 'keep'), 'remote data');
    fs.writeFileSync(path.join(ws, 'in-the-way.txt'), 'a file now');
    try {
      await setTargets([...(vscode.workspace.getConfiguration('blit').get<unknown[]>('targets') ?? []).filter((t) => (t as { name: string }).name !== 'e2e-conflict'),
        { name: 'e2e-conflict', host: '127.0.0.1', port: remote.port, module: 'default', remotePath: 'conflict', excludes: [] }]);
      const r = await vscode.commands.executeCommand<CommandResult>('blit.push', { target: 'e2e-conflict' });
      assert.equal(r.state, 'failed', JSON.stringify(r));
      assert.deepEqual(r.failures?.map((f) => f.path), ['in-the-way.txt']);
      assert.equal(fs.readFileSync(path.join(remoteRoot, 'conflict', 'in-the-way.txt', 'keep'), 'utf8'), 'remote data');
      // the view's own provider: the job node, expanded (it failed), with the file as a warning child
      const tree = (vscode.extensions.getExtension('blit.blit-vscode')!.exports as BlitApi).tree();
      let job = tree.getChildren().find((n) => n.id === r.jobId);
      for (let i = 0; i < 50 && !job?.children.length; i++) {
        await sleep(100);
        job = tree.getChildren().find((n) => n.id === r.jobId);
      }
      assert.ok(job, 'the job is in the Blit Transfers view');
      assert.equal(tree.getTreeItem(job).collapsibleState, vscode.TreeItemCollapsibleState.Expanded);
      const items = tree.getChildren(job).map((c) => tree.getTreeItem(c));
      assert.deepEqual(items.map((i) => [i.label, (i.iconPath as vscode.ThemeIcon).id]), [['in-the-way.txt', 'warning']]);
      assert.match(String(items[0]!.description), /^failed: .*directory is in the way/);
    } finally {
      fs.rmSync(path.join(ws, 'in-the-way.txt'), { force: true });
    }
  });
});
