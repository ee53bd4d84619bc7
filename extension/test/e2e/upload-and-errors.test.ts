/**
 * Inside the real extension host: upload on save (only the saved files, paused while git holds
 * the index lock, never deleting), Add Remote Target, and the errors a user sees.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { BlitApi, CommandResult } from '../../src/extension';
import { editAndSave, listFiles, setTargets, sleep, startRemoteBlitd, until, workspaceDir, type RemoteDaemon } from './helpers';

describe('upload on save, targets wizard and errors (real workbench)', function () {
  this.timeout(60000);
  let remote: RemoteDaemon;
  let ws: string;
  let saved: string;
  /** The suite's upload-on-save target (no excludes: the defaults). */
  const onsave = (over: Record<string, unknown> = {}) => ({ name: 'onsave', host: '127.0.0.1', port: remote.port, module: 'default', remotePath: 'saved', uploadOnSave: true, ...over });

  before(async () => {
    ws = workspaceDir();
    // an auto save would race editAndSave's own save (see editAndSave)
    assert.equal(vscode.workspace.getConfiguration('files').get('autoSave'), 'off', 'the test workbench must not auto save');
    const root = path.join(process.env.BLIT_E2E_WORK ?? path.dirname(ws), 'remote-save');
    remote = await startRemoteBlitd(root);
    saved = path.join(root, 'saved');
    fs.mkdirSync(saved, { recursive: true });
    fs.writeFileSync(path.join(saved, 'remote-only.txt'), 'must survive upload on save');
    await setTargets([onsave()]);
    await vscode.extensions.getExtension('blit.blit-vscode')!.activate();
  });

  after(async () => {
    await vscode.workspace.getConfiguration('blit').update('targets', undefined, vscode.ConfigurationTarget.Workspace);
    await remote?.stop();
  });

  it('pushes only the saved file after the quiet period, deleting nothing', async () => {
    await editAndSave(path.join(ws, 'src', 'index.ts'), 'export const answer = 43;\n');
    await until(() => fs.existsSync(path.join(saved, 'src', 'index.ts')), 15000, 'the saved file on the remote');
    assert.equal(fs.readFileSync(path.join(saved, 'src', 'index.ts'), 'utf8'), 'export const answer = 43;\n');
    assert.deepEqual(listFiles(saved), ['remote-only.txt', 'src/index.ts']);
  });

  it('a saved name with [ and * arrives literally, byte for byte, and no glob neighbour goes along', async () => {
    const name = 'we[ir]d*.txt';
    const neighbour = 'weid-not-saved.txt'; // what the name would match read as a glob
    fs.writeFileSync(path.join(ws, 'src', name), '');
    fs.writeFileSync(path.join(ws, 'src', neighbour), 'never saved\n');
    const text = 'bytes \u00e9\u2713 [*]\n';
    await editAndSave(path.join(ws, 'src', name), text);
    await until(() => fs.existsSync(path.join(saved, 'src', name)), 15000, `${name} on the remote`);
    assert.ok(fs.readFileSync(path.join(saved, 'src', name)).equals(fs.readFileSync(path.join(ws, 'src', name))), 'content differs');
    assert.ok(fs.readFileSync(path.join(saved, 'src', name)).equals(Buffer.from(text, 'utf8')));
    assert.deepEqual(fs.readdirSync(path.join(saved, 'src')).map((n) => Buffer.from(n)).sort(Buffer.compare), [Buffer.from('index.ts'), Buffer.from(name)].sort(Buffer.compare));
    assert.ok(fs.existsSync(path.join(saved, 'remote-only.txt')));
  });

  it('waits while git holds index.lock (checkout/rebase), then uploads', async () => {
    const gitDir = path.join(ws, '.git');
    fs.mkdirSync(gitDir, { recursive: true });
    fs.writeFileSync(path.join(gitDir, 'HEAD'), 'ref: refs/heads/main\n');
    fs.writeFileSync(path.join(gitDir, 'index.lock'), '');
    const api = vscode.extensions.getExtension('blit.blit-vscode')!.exports as BlitApi;
    const before = api.log().length;
    const said = (re: RegExp) => api.log().slice(before).some((l) => re.test(l));
    await editAndSave(path.join(ws, 'docs', 'notes.txt'), 'saved during a checkout\n');
    // The batch is due (quiet period over) and the extension says it holds it back: from here on,
    // only the lock stands between the save and the upload.
    await until(() => said(/upload on save to onsave: holding back 1 saved file: git operation in progress \(index\.lock\)/), 15000, 'the "holding back" line in the output channel');
    assert.equal(fs.existsSync(path.join(saved, 'docs', 'notes.txt')), false, 'uploaded while git was rewriting the tree');
    assert.equal(said(/git is done/), false, 'went on while index.lock was still there');
    fs.rmSync(path.join(gitDir, 'index.lock'));
    await until(() => said(/upload on save to onsave: git is done, uploading 1 saved file/), 15000, 'the "git is done" line in the output channel');
    await until(() => fs.existsSync(path.join(saved, 'docs', 'notes.txt')), 15000, 'the upload after git finished');
    assert.equal(fs.readFileSync(path.join(saved, 'docs', 'notes.txt'), 'utf8'), 'saved during a checkout\n');
    assert.ok(fs.existsSync(path.join(saved, 'remote-only.txt')));
    fs.rmSync(gitDir, { recursive: true, force: true });
  });

  it('with auto save on (a browser VS Code\'s default), typing alone uploads after the quiet period', async () => {
    // code-server users get files.autoSave afterDelay unless they change it: their edits reach the
    // remote through VS Code's own saves, with no explicit save by anyone.
    const files = vscode.workspace.getConfiguration('files');
    await files.update('autoSave', 'afterDelay', vscode.ConfigurationTarget.Workspace);
    try {
      const file = path.join(ws, 'docs', 'auto-saved.txt');
      fs.writeFileSync(file, '');
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
      const editor = await vscode.window.showTextDocument(doc);
      assert.ok(await editor.edit((e) => e.insert(new vscode.Position(0, 0), 'typed, never saved by hand\n')), 'the edit was refused');
      await until(() => fs.existsSync(path.join(saved, 'docs', 'auto-saved.txt')) &&
        fs.readFileSync(path.join(saved, 'docs', 'auto-saved.txt'), 'utf8') === 'typed, never saved by hand\n', 20000, 'the auto-saved file on the remote');
      assert.equal(doc.isDirty, false);
      assert.ok(fs.existsSync(path.join(saved, 'remote-only.txt')));
    } finally {
      await files.update('autoSave', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });

  it('saving .vscode/settings.json uploads nothing (a target without excludes leaves .vscode out); a file saved with it goes alone', async () => {
    const api = vscode.extensions.getExtension('blit.blit-vscode')!.exports as BlitApi;
    const settings = path.join(ws, '.vscode', 'settings.json');
    fs.mkdirSync(path.dirname(settings), { recursive: true });
    if (!fs.existsSync(settings)) fs.writeFileSync(settings, '{}\n');
    fs.writeFileSync(path.join(ws, 'docs', 'with-settings.txt'), '');
    const before = api.log().length;
    // a user's own edit (the previous test's settings writes are VS Code's): a harmless setting
    await editAndSave(settings, '{\n  "editor.tabSize": 4\n}\n');
    // saved within the same quiet period: were .vscode/settings.json taken, it would go in this batch
    await editAndSave(path.join(ws, 'docs', 'with-settings.txt'), 'saved after settings.json\n');
    await until(() => fs.existsSync(path.join(saved, 'docs', 'with-settings.txt')), 30000, 'the file saved after settings.json on the remote');
    assert.equal(fs.existsSync(path.join(saved, '.vscode')), false, '.vscode was uploaded');
    const uploads = api.log().slice(before).filter((l) => /\] job \S+: Upload /.test(l));
    assert.equal(uploads.length, 1, uploads.join('\n'));
    assert.match(uploads[0]!, /Upload docs\/with-settings\.txt to onsave/);
  });

  it('saving files the target excludes by a glob (*.log, drafts/) uploads nothing; a file saved with them goes alone', async () => {
    const api = vscode.extensions.getExtension('blit.blit-vscode')!.exports as BlitApi;
    const withGlobs = onsave({ excludes: ['*.log', 'drafts/'] });
    await setTargets([withGlobs]);
    const blit = () => vscode.workspace.getConfiguration('blit');
    await until(() => JSON.stringify(blit().get('targets')) === JSON.stringify([withGlobs]), 20000, 'VS Code to read the target with glob excludes');
    try {
      const files = ['docs/debug.log', 'docs/drafts/idea.md', 'docs/with-globs.txt'];
      fs.mkdirSync(path.join(ws, 'docs', 'drafts'), { recursive: true });
      for (const f of files) fs.writeFileSync(path.join(ws, f), '');
      const before = api.log().length;
      // saved in this order within one quiet period: were the excluded ones taken, they would
      // start a job of their own or ride in this one ("Upload 3 files")
      for (const f of files) await editAndSave(path.join(ws, f), `saved ${f}\n`);
      await until(() => fs.existsSync(path.join(saved, 'docs', 'with-globs.txt')), 30000, 'the file the globs do not match on the remote');
      assert.equal(fs.existsSync(path.join(saved, 'docs', 'debug.log')), false, 'debug.log was uploaded');
      assert.equal(fs.existsSync(path.join(saved, 'docs', 'drafts')), false, 'drafts/ was uploaded');
      const uploads = api.log().slice(before).filter((l) => /\] job \S+: Upload /.test(l));
      assert.equal(uploads.length, 1, uploads.join('\n'));
      assert.match(uploads[0]!, /Upload docs\/with-globs\.txt to onsave/);
    } finally {
      await setTargets([onsave()]);
      await until(() => JSON.stringify(blit().get('targets')) === JSON.stringify([onsave()]), 20000, 'VS Code to read the suite\'s target again');
    }
  });

  it('saving files only a .gitignore leaves out (the folder\'s *.log, a nested private/) uploads nothing; a !keep.log it re-includes goes alone', async () => {
    const api = vscode.extensions.getExtension('blit.blit-vscode')!.exports as BlitApi;
    const gi = path.join(ws, 'docs', 'gi');
    fs.mkdirSync(path.join(gi, 'private'), { recursive: true });
    // the fixture's own .gitignore has `*.log`; the nested one re-includes keep.log below docs/gi
    fs.writeFileSync(path.join(gi, '.gitignore'), '!keep.log\nprivate/\n');
    const files = ['docs/gi/debug.log', 'docs/gi/private/p.txt', 'docs/gi/keep.log'];
    for (const f of files) fs.writeFileSync(path.join(ws, f), '');
    const before = api.log().length;
    // saved in this order within one quiet period: were the ignored ones taken, they would start
    // a job of their own or ride in this one ("Upload 3 files")
    for (const f of files) await editAndSave(path.join(ws, f), `saved ${f}\n`);
    await until(() => fs.existsSync(path.join(saved, 'docs', 'gi', 'keep.log')), 30000, 'the re-included file on the remote');
    assert.equal(fs.existsSync(path.join(saved, 'docs', 'gi', 'debug.log')), false, 'debug.log was uploaded');
    assert.equal(fs.existsSync(path.join(saved, 'docs', 'gi', 'private')), false, 'private/ was uploaded');
    const uploads = api.log().slice(before).filter((l) => /\] job \S+: Upload /.test(l));
    assert.equal(uploads.length, 1, uploads.join('\n'));
    assert.match(uploads[0]!, /Upload docs\/gi\/keep\.log to onsave/);
  });

  it('50 edited files saved at once (Save All): one upload, no message', async () => {
    const api = vscode.extensions.getExtension('blit.blit-vscode')!.exports as BlitApi;
    const dir = path.join(ws, 'many');
    fs.mkdirSync(dir, { recursive: true });
    const names = Array.from({ length: 50 }, (_, i) => `f${String(i).padStart(2, '0')}.txt`);
    for (const n of names) fs.writeFileSync(path.join(dir, n), '');
    const edit = new vscode.WorkspaceEdit();
    for (const n of names) edit.insert(vscode.Uri.file(path.join(dir, n)), new vscode.Position(0, 0), `saved ${n}\n`);
    assert.ok(await vscode.workspace.applyEdit(edit), 'the edit was refused');
    const before = api.log().length;
    // Every document saved at once, as Save All does for open editors. Not workspace.saveAll():
    // it saves dirty *editors* only (VS Code's editorService.saveAll), and applyEdit opens none,
    // so it resolved true having saved nothing; the test passed while the previous test's auto
    // save setting was still in effect (its auto save did the saving) and timed out when the
    // reset had landed first: the one time-out seen (reproduced 2 of 2 once another test ran
    // between, 'dirty 50' and an empty log).
    const docs = await Promise.all(names.map((n) => vscode.workspace.openTextDocument(vscode.Uri.file(path.join(dir, n)))));
    const saved50 = await Promise.all(docs.map((d) => d.save()));
    assert.deepEqual(docs.filter((d, i) => !saved50[i] || d.isDirty).map((d) => d.fileName), [], 'saves refused');
    // The signals, in order: every save done (each resolved, none dirty), the upload job started (its log
    // line), the job finished (its state). Under load each step is slow but observed: no deadline
    // on a running job (the test's own timeout bounds it), and a stall names the step it is in.
    const started = () => api.log().slice(before).map((l) => /\] job (\S+): Upload 50 files to onsave/.exec(l)?.[1]).find((id) => id !== undefined);
    const stalled = (what: string) => `${what}; dirty ${vscode.workspace.textDocuments.filter((d) => d.isDirty).length}; log since Save All:\n${api.log().slice(before).join('\n')}`;
    await until(() => started() !== undefined, 30000, 'the upload job of the 50 saved files').catch((e) => assert.fail(stalled((e as Error).message)));
    const job = () => api.jobs().get(started()!)?.job;
    while (!['succeeded', 'failed', 'cancelled'].includes(job()?.state ?? '')) await sleep(100);
    assert.equal(job()!.state, 'succeeded', stalled(JSON.stringify(job())));
    for (const n of names) assert.equal(fs.readFileSync(path.join(saved, 'many', n), 'utf8'), `saved ${n}\n`, n);
    const lines = api.log().slice(before);
    const uploads = lines.filter((l) => /\] job \S+: Upload (many\/|\d+ files)/.test(l));
    // the saves reach the extension over some ms: the quiet period (400 ms) gathers them
    assert.equal(uploads.length, 1, `uploads:\n${uploads.join('\n')}`);
    assert.match(uploads[0]!, /Upload 50 files to onsave/);
    assert.deepEqual(lines.filter((l) => /\] (error|info): /.test(l)), []);
    // (the files stay: VS Code's local history copies them after the save)
  });

  it('an unreachable host gives one clear message', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    await setTargets([{ name: 'down', host: '127.0.0.1', port, module: 'default' }]);
    const r = await vscode.commands.executeCommand<CommandResult>('blit.push', { target: 'down' });
    assert.match(r.error ?? '', new RegExp(`cannot reach 127\\.0\\.0\\.1:${port}`));
  });

  it('Add Remote Target writes a validated entry to blit.targets, and refuses a bad one naming the field', async () => {
    const ok = await vscode.commands.executeCommand<CommandResult>('blit.addTarget', { values: { name: 'added', host: 'example.internal', port: 9100, module: 'www', remotePath: '/site/' } });
    assert.equal(ok.error, undefined);
    const targets = vscode.workspace.getConfiguration('blit').get<Array<Record<string, unknown>>>('targets') ?? [];
    assert.deepEqual(targets.find((t) => t.name === 'added'), { name: 'added', host: 'example.internal', port: 9100, module: 'www', remotePath: 'site' });
    const bad = await vscode.commands.executeCommand<CommandResult>('blit.addTarget', { values: { name: 'bad', host: 'h', module: 'm', port: 0 } });
    assert.match(bad.error ?? '', /new target\.port: must be an integer from 1 to 65535/);
  });
});
