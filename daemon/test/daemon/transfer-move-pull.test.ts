/**
 * move from a remote source, daemon side, driven by a raw Pull session against a real blitd: the
 * daemon removes only what the client reports as committed, refuses read-only modules up front,
 * keeps (and reports) a source that changed after it was listed, and treats a malformed
 * `committed` as a protocol error without removing anything.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PullServerMessage__Output } from '@blit/proto';
import { manifestEntries } from '../../src/remote/convert';
import { startDaemon, tempDir, writeConfig, writeTree, type Daemon } from './harness';
import { rawPull, type RawPull } from './transfer-helpers';

/** Reads up to manifest_complete; returns manifest paths by index. */
async function readManifest(p: RawPull): Promise<string[]> {
  const paths: string[] = [];
  for (;;) {
    const m = await p.next();
    if (!m) throw new Error('call ended before the manifest completed');
    if (m.error) throw new Error(`daemon error ${m.error.code}: ${m.error.message}`);
    if (m.manifest) for (const e of manifestEntries(m.manifest)) paths.push(e.entry.rel.toString());
    if (m.manifestComplete) return paths;
  }
}

/** Sends `committed`, need_complete and `done`; asserts no error; returns the removal failures. */
async function commitAndFinish(p: RawPull, committed: { indices: number[]; symlinks?: number[]; dirs?: number[] }): Promise<Array<NonNullable<PullServerMessage__Output['removalFailure']>>> {
  p.send({ committed });
  p.send({ needComplete: { totalFiles: 0, totalBytes: 0 } });
  // The daemon removes as `committed` arrives, so a removal failure may come before
  // data_complete as well as after `done` (under load it did: the old test took it for an
  // error). Every message up to the end of the call counts.
  const msgs: PullServerMessage__Output[] = [];
  for (let m = await p.next(); m && !m.dataComplete; m = await p.next()) msgs.push(m);
  p.send({ done: true });
  msgs.push(...(await p.rest()));
  assert.deepEqual(msgs.filter((m) => m.error), [], 'no error');
  return msgs.filter((m) => m.removalFailure).map((m) => m.removalFailure!);
}

describe('move pull, daemon side (raw Pull against a real blitd)', function () {
  this.timeout(30_000);
  let tmp: { dir: string; cleanup: () => void };
  let dataDir: string;
  let roDir: string;
  let daemon: Daemon;

  before(async () => {
    tmp = tempDir('blit-movepull-');
    dataDir = path.join(tmp.dir, 'data');
    roDir = path.join(tmp.dir, 'ro');
    writeTree(roDir, { 'keep.txt': 'ro' });
    fs.mkdirSync(dataDir);
    const cfg = writeConfig(tmp.dir, `[[module]]\nname = "data"\npath = "${dataDir}"\n\n[[module]]\nname = "ro"\npath = "${roDir}"\nread_only = true\n`);
    daemon = await startDaemon(['--port', '0', '--config', cfg]);
  });

  after(async () => {
    const log = daemon?.stderr() ?? '';
    await daemon?.stop();
    tmp?.cleanup();
    assert.doesNotMatch(log, /unhandled error|uncaught/i);
  });

  it('a read-only module refuses a move pull before anything is listed', async () => {
    const p = await rawPull(daemon.port, 'ro', '', 'MODE_MOVE');
    try {
      const msgs = await p.rest();
      const err = msgs.find((m) => m.error)?.error;
      assert.equal(err?.code, 'ReadOnlyModule');
      assert.ok(!msgs.some((m) => m.manifest), 'no manifest sent');
      assert.equal(fs.readFileSync(path.join(roDir, 'keep.txt'), 'utf8'), 'ro');
    } finally {
      p.close();
    }
  });

  it('removes only the committed files; a source changed since it was listed is kept and reported', async () => {
    writeTree(path.join(dataDir, 'm1'), { 'a': 'a', 'b': 'b', 'c': 'c' });
    const p = await rawPull(daemon.port, 'data', 'm1', 'MODE_MOVE');
    try {
      const paths = await readManifest(p);
      const idx = (name: string): number => paths.indexOf(name);
      // 'b' changes after it was listed; 'c' is never reported as committed.
      fs.writeFileSync(path.join(dataDir, 'm1', 'b'), 'changed');
      const failures = await commitAndFinish(p, { indices: [idx('a'), idx('b')] });
      assert.deepEqual(failures.map((f) => [Buffer.from(f.path).toString(), f.code]), [['b', 'SourceChanged']]);
      assert.doesNotMatch(failures[0]!.reason, new RegExp(dataDir), 'no daemon paths revealed');
      assert.ok(!fs.existsSync(path.join(dataDir, 'm1', 'a')));
      assert.equal(fs.readFileSync(path.join(dataDir, 'm1', 'b'), 'utf8'), 'changed');
      assert.ok(fs.existsSync(path.join(dataDir, 'm1', 'c')));
    } finally {
      p.close();
    }
  });

  it('symlinks reported in place go unless re-pointed since they were listed (SourceChanged, kept); the emptied directories reported in place go', async () => {
    writeTree(path.join(dataDir, 'm3'), { 'sub/f': 'f' });
    fs.symlinkSync('f', path.join(dataDir, 'm3', 'sub', 'l1'));
    fs.symlinkSync('f', path.join(dataDir, 'm3', 'l2'));
    const p = await rawPull(daemon.port, 'data', 'm3', 'MODE_MOVE');
    try {
      const paths = await readManifest(p);
      const idx = (name: string): number => paths.indexOf(name);
      fs.unlinkSync(path.join(dataDir, 'm3', 'l2'));
      fs.symlinkSync('elsewhere', path.join(dataDir, 'm3', 'l2'));
      const failures = await commitAndFinish(p, { indices: [idx('sub/f')], symlinks: [idx('sub/l1'), idx('l2')], dirs: [idx(''), idx('sub')] });
      assert.deepEqual(failures.map((f) => [Buffer.from(f.path).toString(), f.code]), [['l2', 'SourceChanged']]);
      // sub/ emptied: gone; the root holds l2 (and is `m3` without remove_emptied_root: kept).
      assert.deepEqual(fs.readdirSync(path.join(dataDir, 'm3')), ['l2']);
      assert.equal(fs.readlinkSync(path.join(dataDir, 'm3', 'l2')), 'elsewhere');
    } finally {
      p.close();
    }
  });

  // The emptied directories go by name beneath their parent opened beneath the module root
  // (ManifestSource.rmdir): a directory on the way swapped for a symlink leading out of the module
  // is not followed, so an empty directory of the same name out there stays.
  it('the emptied directories are removed inside the module only: a directory swapped for a symlink leading out is not followed', async () => {
    const outside = path.join(tmp.dir, 'outside');
    fs.mkdirSync(path.join(outside, 'd', 'e'), { recursive: true });
    writeTree(path.join(dataDir, 'm5'), { 'x': 'x' });
    fs.mkdirSync(path.join(dataDir, 'm5', 'd', 'e'), { recursive: true });
    let p = await rawPull(daemon.port, 'data', 'm5', 'MODE_MOVE');
    try {
      const paths = await readManifest(p);
      fs.renameSync(path.join(dataDir, 'm5', 'd'), path.join(dataDir, 'm5', 'd.moved'));
      fs.symlinkSync(path.join(outside, 'd'), path.join(dataDir, 'm5', 'd'));
      assert.deepEqual(await commitAndFinish(p, { indices: [paths.indexOf('x')], dirs: ['', 'd', 'd/e'].map((d) => paths.indexOf(d)) }), []);
      assert.ok(fs.existsSync(path.join(outside, 'd', 'e')), 'the directory outside the module stays');
      assert.deepEqual(fs.readdirSync(path.join(dataDir, 'm5')).sort(), ['d', 'd.moved']);
    } finally {
      p.close();
    }

    // The root (remove_emptied_root: `SRC` without '/'), its parent swapped once the root's own
    // file was removed (the module check of the root's directory was made for that file).
    fs.mkdirSync(path.join(outside, 'p6', 'r'), { recursive: true });
    writeTree(path.join(dataDir, 'p6', 'r'), { 'y': 'y' });
    p = await rawPull(daemon.port, 'data', 'p6/r', 'MODE_MOVE', { removeEmptiedRoot: true });
    try {
      const paths = await readManifest(p);
      p.send({ committed: { indices: [paths.indexOf('y')] } });
      while (fs.existsSync(path.join(dataDir, 'p6', 'r', 'y'))) await new Promise((r) => setTimeout(r, 10));
      fs.renameSync(path.join(dataDir, 'p6'), path.join(dataDir, 'p6.moved'));
      fs.symlinkSync(path.join(outside, 'p6'), path.join(dataDir, 'p6'));
      assert.deepEqual(await commitAndFinish(p, { indices: [], dirs: [paths.indexOf('')] }), []);
      assert.ok(fs.existsSync(path.join(outside, 'p6', 'r')), 'the directory outside the module stays');
      assert.ok(fs.existsSync(path.join(dataDir, 'p6.moved', 'r')), 'the root, emptied but behind a swapped parent, stays');
    } finally {
      p.close();
    }
  });

  it('a committed symlink index that is a file ends the pull with BadFrame and removes nothing', async () => {
    writeTree(path.join(dataDir, 'm4'), { 'x': 'x' });
    const p = await rawPull(daemon.port, 'data', 'm4', 'MODE_MOVE');
    try {
      const paths = await readManifest(p);
      p.send({ committed: { indices: [], symlinks: [paths.indexOf('x')] } });
      const err = (await p.rest()).find((m) => m.error)?.error;
      assert.equal(err?.code, 'BadFrame');
      assert.ok(fs.existsSync(path.join(dataDir, 'm4', 'x')));
    } finally {
      p.close();
    }
  });

  // The client names the directories it has in place (Committed.dirs); one it could not create
  // stays on the source, and so does every directory of a client that names none (older ones).
  it('removes only the emptied directories reported in place: none when the client names none', async () => {
    fs.mkdirSync(path.join(dataDir, 'm6', 'in', 'deep'), { recursive: true });
    fs.mkdirSync(path.join(dataDir, 'm6', 'out'));
    writeTree(path.join(dataDir, 'm6'), { 'x': 'x' });
    let p = await rawPull(daemon.port, 'data', 'm6', 'MODE_MOVE');
    try {
      const paths = await readManifest(p);
      assert.deepEqual(await commitAndFinish(p, { indices: [paths.indexOf('x')] }), []);
      assert.deepEqual(fs.readdirSync(path.join(dataDir, 'm6')).sort(), ['in', 'out']);
    } finally {
      p.close();
    }
    p = await rawPull(daemon.port, 'data', 'm6', 'MODE_MOVE');
    try {
      const paths = await readManifest(p);
      assert.deepEqual(await commitAndFinish(p, { indices: [], dirs: [paths.indexOf('in'), paths.indexOf('in/deep')] }), []);
      assert.deepEqual(fs.readdirSync(path.join(dataDir, 'm6')), ['out']);
    } finally {
      p.close();
    }
  });

  it('a committed directory index out of range, not a directory, or repeated ends the pull with BadFrame naming it and removes nothing', async () => {
    writeTree(path.join(dataDir, 'm7'), { 'x': 'x' });
    fs.mkdirSync(path.join(dataDir, 'm7', 'd'));
    for (const bad of ['range', 'file', 'twice'] as const) {
      const p = await rawPull(daemon.port, 'data', 'm7', 'MODE_MOVE');
      try {
        const paths = await readManifest(p);
        const d = paths.indexOf('d');
        const dirs = { range: [d, paths.length], file: [paths.indexOf('x')], twice: [d, d] }[bad];
        p.send({ committed: { indices: [paths.indexOf('x')], dirs } });
        p.send({ done: true });
        const err = (await p.rest()).find((m) => m.error)?.error;
        assert.equal(err?.code, 'BadFrame', bad);
        assert.match(err!.message, new RegExp(`index ${dirs.at(-1)} `), bad);
        assert.deepEqual(fs.readdirSync(path.join(dataDir, 'm7')).sort(), ['d', 'x'], bad);
      } finally {
        p.close();
      }
    }
  });

  it('a committed index that is not a file, or a committed in a copy, ends the pull with BadFrame and removes nothing', async () => {
    writeTree(path.join(dataDir, 'm2'), { 'sub/x': 'x' });
    for (const [mode, pick] of [['MODE_MOVE', 'sub'], ['MODE_COPY', 'sub/x']] as const) {
      const p = await rawPull(daemon.port, 'data', 'm2', mode);
      try {
        const paths = await readManifest(p);
        p.send({ committed: { indices: [paths.indexOf(pick)] } });
        const err = (await p.rest()).find((m) => m.error)?.error;
        assert.equal(err?.code, 'BadFrame', mode);
        assert.ok(fs.existsSync(path.join(dataDir, 'm2', 'sub', 'x')));
      } finally {
        p.close();
      }
    }
  });
});
