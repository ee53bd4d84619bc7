/** runLocalTransfer on real trees: contents, metadata, path semantics, second run, dry run, bad input. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BlitError } from '../../src/engine/errors';
import { cleanupTemps, listTree, mtimeNs, opts, run, tempDir, tempsUnder, writeTree } from './helpers';

const MiB = 1024 * 1024;

function makeSparse(p: string, size: number): void {
  const fd = fs.openSync(p, 'w');
  fs.writeSync(fd, Buffer.alloc(4096, 0x61), 0, 4096, 0);
  fs.writeSync(fd, Buffer.alloc(4096, 0x62), 0, 4096, size - 4096);
  fs.closeSync(fd);
}

describe('engine: runLocalTransfer copies contents and metadata', function () {
  this.timeout(60_000);
  afterEach(cleanupTemps);

  it('keeps bytes, ns mtimes, modes, symlink targets, empty dirs, dir mtimes, sparse files', async () => {
    const src = tempDir();
    const dst = path.join(tempDir(), 'out');
    writeTree(src, {
      'a/b/deep.txt': 'deep',
      'big.bin': Buffer.alloc(5 * MiB, 3),
      'empty/': null,
      'exec.sh': '#!/bin/sh\n',
      'link': { link: 'a/b/deep.txt' },
      'dangling': { link: '../nowhere/\u00e9' },
    });
    makeSparse(path.join(src, 'sparse.img'), 16 * MiB);
    fs.chmodSync(path.join(src, 'exec.sh'), 0o751);
    fs.chmodSync(path.join(src, 'a'), 0o710);
    // ns-precise mtimes set through the engine's own path would be circular; use touch -d with ns.
    for (const p of ['a/b/deep.txt', 'exec.sh', 'a/b', 'a', 'empty', '']) fs.utimesSync(path.join(src, p), 1_500_000_000.5, 1_500_000_000.5);
    const r = await run(src + '/', dst, opts());
    assert.deepEqual(r.summary.failures, []);
    assert.deepEqual(listTree(dst), listTree(src));
    for (const p of ['a/b/deep.txt', 'big.bin', 'exec.sh', 'sparse.img']) assert.ok(fs.readFileSync(path.join(dst, p)).equals(fs.readFileSync(path.join(src, p))), p);
    for (const p of ['a/b/deep.txt', 'big.bin', 'exec.sh', 'sparse.img', 'link', 'a', 'a/b', 'empty', '']) {
      assert.equal(mtimeNs(path.join(dst, p)), mtimeNs(path.join(src, p)), `mtime of ${p || '.'}`);
    }
    assert.equal(fs.statSync(path.join(dst, 'exec.sh')).mode & 0o7777, 0o751);
    assert.equal(fs.statSync(path.join(dst, 'a')).mode & 0o7777, 0o710);
    assert.equal(fs.readlinkSync(path.join(dst, 'link')), 'a/b/deep.txt');
    assert.equal(fs.readlinkSync(path.join(dst, 'dangling')), '../nowhere/\u00e9');
    assert.ok(fs.statSync(path.join(dst, 'empty')).isDirectory());
    const srcBlocks = fs.statSync(path.join(src, 'sparse.img')).blocks;
    const dstBlocks = fs.statSync(path.join(dst, 'sparse.img')).blocks;
    assert.ok(dstBlocks <= srcBlocks + 16, `sparse stays sparse: ${dstBlocks} blocks vs source ${srcBlocks}`);
    assert.equal(r.summary.filesTransferred, 4);
    assert.equal(r.summary.symlinksCreated, 2);
    assert.ok(r.summary.firstByteMs !== null);
    assert.deepEqual(tempsUnder(dst), []);
  });

  it('a deep tree of directories (created in the background) lands complete: empty, symlink-only and file dirs, modes, mtimes, count', async () => {
    const src = tempDir();
    const dst = path.join(tempDir(), 'out');
    const spec: Record<string, string | null | { link: string }> = {};
    for (let i = 0; i < 30; i++) {
      spec[`t${i}/a/b/c/d/file${i}`] = `data ${i}`; // files only at the bottom: parents hold only dirs
      spec[`t${i}/links/l`] = { link: '../a' }; // a directory holding only a symlink
      spec[`t${i}/empty/`] = null;
    }
    writeTree(src, spec);
    const dirs = listTree(src).filter((p) => fs.lstatSync(path.join(src, p)).isDirectory());
    for (const d of dirs) {
      fs.chmodSync(path.join(src, d), 0o750);
      fs.utimesSync(path.join(src, d), 1_400_000_000.25, 1_400_000_000.25);
    }
    const r = await run(src + '/', dst, opts());
    assert.deepEqual(r.summary.failures, []);
    assert.deepEqual(listTree(dst), listTree(src));
    assert.equal(r.summary.dirsCreated, dirs.length + 1); // + the destination root
    assert.equal(r.summary.symlinksCreated, 30);
    for (const d of dirs) {
      assert.equal(fs.statSync(path.join(dst, d)).mode & 0o7777, 0o750, d);
      assert.equal(mtimeNs(path.join(dst, d)), mtimeNs(path.join(src, d)), d);
    }
  });

  it('keeps owner and group when running as root', async function () {
    if (process.getuid?.() !== 0) this.skip(); // chown needs root; CI and this machine run as root
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'owned': 'o', 'd/inner': 'i', 'l': { link: 'owned' } });
    fs.chownSync(path.join(src, 'owned'), 1234, 5678);
    fs.chownSync(path.join(src, 'd'), 4321, 8765);
    fs.lchownSync(path.join(src, 'l'), 2222, 3333);
    fs.chmodSync(path.join(src, 'owned'), 0o4755); // setuid survives the chown
    await run(src + '/', dst, opts());
    const o = fs.statSync(path.join(dst, 'owned'));
    assert.deepEqual([o.uid, o.gid, o.mode & 0o7777], [1234, 5678, 0o4755]);
    const d = fs.statSync(path.join(dst, 'd'));
    assert.deepEqual([d.uid, d.gid], [4321, 8765]);
    const l = fs.lstatSync(path.join(dst, 'l'));
    assert.deepEqual([l.uid, l.gid], [2222, 3333]);
  });

  it('--checksum with identical bytes keeps the file and fixes its mtime and mode', async () => {
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'f': 'same' });
    writeTree(dst, { 'f': 'same' });
    fs.chmodSync(path.join(src, 'f'), 0o600);
    fs.utimesSync(path.join(dst, 'f'), 1_000_000_000, 1_000_000_000);
    const inode = fs.statSync(path.join(dst, 'f')).ino;
    const r = await run(src + '/', dst, opts({ compare: { mode: 'checksum', ignoreExisting: false } }));
    assert.equal(r.summary.filesTransferred, 0);
    assert.equal(r.summary.filesUnchanged, 1);
    assert.equal(fs.statSync(path.join(dst, 'f')).ino, inode, 'not rewritten');
    assert.equal(mtimeNs(path.join(dst, 'f')), mtimeNs(path.join(src, 'f')));
    assert.equal(fs.statSync(path.join(dst, 'f')).mode & 0o7777, 0o600);
    const again = await run(src + '/', dst, opts());
    assert.equal(again.summary.filesTransferred, 0, 'a quick-check run afterwards sees it unchanged');
  });

  it('keeps ns mtimes that float seconds cannot express', async () => {
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'f': 'x' });
    // The engine's own AtomicFile sets ns mtimes on a helper file; its mtime becomes the source's.
    const { AtomicFile } = await import('../../src/engine/atomic');
    const { defaultMetaOptions } = await import('../../src/engine/metadata');
    const a = new AtomicFile(Buffer.from(src), Buffer.from('f'));
    a.write(Buffer.from('ns'));
    a.commit({ mode: 0o644, uid: 0, gid: 0, mtimeNs: 1_234_567_890_987_654_321n }, defaultMetaOptions());
    await run(src + '/', dst, opts());
    assert.equal(mtimeNs(path.join(dst, 'f')), 1_234_567_890_987_654_321n);
  });

  it('leaves the source untouched, atime included', async () => {
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'f': 'content', 'big': Buffer.alloc(5 * MiB, 2) });
    // atime older than mtime: a plain read would update it under relatime.
    for (const p of ['f', 'big']) fs.utimesSync(path.join(src, p), 1_000_000_000, 1_600_000_000);
    await run(src + '/', dst, opts());
    for (const p of ['f', 'big']) assert.equal(fs.statSync(path.join(src, p)).atimeMs, 1_000_000_000_000, `atime of ${p}`);
  });

  it('keeps non-UTF-8 names byte-exact', async () => {
    const src = tempDir();
    const dst = tempDir();
    const name = Buffer.from([0x66, 0xff, 0x2e, 0x74]);
    const dirName = Buffer.from([0x64, 0xc3, 0x28]);
    fs.mkdirSync(Buffer.concat([Buffer.from(src + '/'), dirName]));
    fs.writeFileSync(Buffer.concat([Buffer.from(src + '/'), dirName, Buffer.from('/'), name]), 'bytes');
    const r = await run(src + '/', dst, opts());
    assert.deepEqual(r.summary.failures, []);
    assert.equal(fs.readFileSync(Buffer.concat([Buffer.from(dst + '/'), dirName, Buffer.from('/'), name]), 'utf8'), 'bytes');
    const shown = r.items('create');
    assert.equal(shown.length, 1);
  });

  it('a second run transfers nothing', async () => {
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'a/1': '1', 'a/2': '22', 'b/': null, 'l': { link: 'a/1' } });
    await run(src + '/', dst, opts());
    const r = await run(src + '/', dst, opts({ mode: 'mirror', deleteConfirmed: true }));
    assert.equal(r.summary.filesTransferred, 0);
    assert.equal(r.summary.symlinksCreated, 0);
    assert.equal(r.summary.dirsCreated, 0);
    assert.equal(r.summary.entriesDeleted, 0);
    assert.equal(r.summary.filesUnchanged, 2);
    assert.deepEqual(r.items(), []);
  });

  it('an incremental run keeps directory mtimes equal to the source (updates and deletions inside them)', async () => {
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'd/a': 'a', 'd/b': 'b', 'e/x': 'x', 'f/l': { link: 'x' } });
    await run(src + '/', dst, opts());
    fs.writeFileSync(path.join(src, 'd/a'), 'changed content');
    fs.writeFileSync(path.join(dst, 'e/stale'), 'only in dst');
    fs.unlinkSync(path.join(src, 'f/l'));
    fs.symlinkSync('y', path.join(src, 'f/l'));
    for (const p of ['d', 'e', 'f', '']) fs.utimesSync(path.join(src, p), 1_400_000_000.25, 1_400_000_000.25);
    await run(src + '/', dst, opts());
    for (const p of ['d', 'f', '']) assert.equal(mtimeNs(path.join(dst, p)), mtimeNs(path.join(src, p)), `dir ${p || '.'}`);
    const r = await run(src + '/', dst, opts({ mode: 'mirror', deleteConfirmed: true }));
    assert.deepEqual(r.items('delete'), ['e/stale']);
    assert.equal(mtimeNs(path.join(dst, 'e')), mtimeNs(path.join(src, 'e')), 'dir e after a deletion inside it');
  });

  it('a FIFO in the source is skipped with a warning; the scan stays complete', async () => {
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'a': 'a' });
    writeTree(dst, { 'stale': 's' });
    const { execFileSync } = await import('node:child_process');
    execFileSync('mkfifo', [path.join(src, 'pipe')]);
    const r = await run(src + '/', dst, opts({ mode: 'mirror', deleteConfirmed: true }));
    assert.ok(r.warnings().some((w) => /pipe: skipped/.test(w)));
    assert.deepEqual(listTree(dst), ['a'], 'copied, and the stale entry deleted: the scan was complete');
  });

  it('a symlink replaces a file and a file replaces a symlink (never writing through the link)', async () => {
    const src = tempDir();
    const dst = tempDir();
    const outside = tempDir();
    fs.writeFileSync(path.join(outside, 'target'), 'must not change');
    writeTree(src, { 'was-file': { link: 'somewhere' }, 'was-link': 'now a file' });
    writeTree(dst, { 'was-file': 'old file', 'was-link': { link: path.join(outside, 'target') } });
    const r = await run(src + '/', dst, opts());
    assert.deepEqual(r.summary.failures, []);
    assert.equal(fs.readlinkSync(path.join(dst, 'was-file')), 'somewhere');
    assert.equal(fs.lstatSync(path.join(dst, 'was-link')).isFile(), true);
    assert.equal(fs.readFileSync(path.join(dst, 'was-link'), 'utf8'), 'now a file');
    assert.equal(fs.readFileSync(path.join(outside, 'target'), 'utf8'), 'must not change');
  });

  it('rsync path semantics: SRC/ copies contents, SRC lands inside DST (created if missing), single files', async () => {
    const base = tempDir();
    const src = path.join(base, 'proj');
    writeTree(src, { 'f.txt': 'f' });
    const d1 = path.join(base, 'd1');
    await run(src + '/', d1, opts());
    assert.deepEqual(listTree(d1), ['f.txt']);
    const d2 = path.join(base, 'd2');
    fs.mkdirSync(d2);
    await run(src, d2, opts());
    assert.deepEqual(listTree(d2), ['proj/', 'proj/f.txt']);
    const d3 = path.join(base, 'd3');
    await run(src, d3, opts());
    assert.deepEqual(listTree(d3), ['proj/', 'proj/f.txt'], 'SRC without slash and a missing DST: DST is created, SRC lands inside (rsync)');
    const again = await run(src, d3, opts());
    assert.equal(again.summary.filesTransferred, 0, 'a second identical run transfers nothing');
    assert.deepEqual(listTree(d3), ['proj/', 'proj/f.txt'], 'and does not nest another copy');
    await run(path.join(src, 'f.txt'), path.join(base, 'renamed.txt'), opts());
    assert.equal(fs.readFileSync(path.join(base, 'renamed.txt'), 'utf8'), 'f');
    await run(path.join(src, 'f.txt'), d2, opts());
    assert.equal(fs.readFileSync(path.join(d2, 'f.txt'), 'utf8'), 'f');
  });

  it('dry run emits items and changes nothing', async () => {
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'new/x': 'x', 'upd': 'new', 'l': { link: 'x' } });
    writeTree(dst, { 'upd': 'old', 'extra': 'e' });
    // Same size as the source's 'upd': an older mtime makes it an update whatever the clock's
    // tick (both written within one coarse tick compared equal: the quick check skipped it).
    fs.utimesSync(path.join(dst, 'upd'), new Date(1_600_000_000_000), new Date(1_600_000_000_000));
    const before = listTree(dst);
    const r = await run(src + '/', dst, opts({ mode: 'mirror', dryRun: true, deleteConfirmed: true }));
    assert.deepEqual(listTree(dst), before);
    assert.equal(fs.readFileSync(path.join(dst, 'upd'), 'utf8'), 'old');
    assert.deepEqual(r.items('mkdir'), ['new']);
    assert.deepEqual(r.items('create'), ['new/x']);
    assert.deepEqual(r.items('update'), ['upd']);
    assert.deepEqual(r.items('symlink'), ['l']);
    assert.deepEqual(r.items('delete'), ['extra']);
    assert.equal(r.summary.dryRun, true);
  });

  it('records the run in the local perf history it is given, and warm-starts from it', async () => {
    const { PerfHistory } = await import('../../src/engine/perf/history');
    const { runLocalTransfer } = await import('../../src/engine/orchestrator');
    const history = PerfHistory.open({ dir: tempDir('hist') });
    const src = tempDir();
    writeTree(src, { 'a': 'aaaa', 'b/c': 'cc' });
    await runLocalTransfer(src + '/', tempDir(), opts(), () => undefined, { history });
    await runLocalTransfer(src + '/', tempDir(), opts(), () => undefined, { history });
    const recs = history.recent();
    assert.equal(recs.length, 2);
    assert.equal(recs[1]!.files, 2);
    assert.equal(recs[1]!.bytes, 6);
    assert.equal(recs[1]!.outcome, 'ok');
    assert.equal(recs[1]!.signature.mode, 'local');
    assert.ok(recs[1]!.settings.workers >= 1);
  });

  it('a history of small-file runs (labelled readwrite) does not move read/write ahead for big files', async () => {
    const { PerfHistory, makePerfRecord } = await import('../../src/engine/perf/history');
    const { primitiveOrderForRun } = await import('../../src/engine/perf/tuning');
    const { runLocalTransfer } = await import('../../src/engine/orchestrator');
    const history = PerfHistory.open({ dir: tempDir('hist') });
    const small = tempDir();
    const spec: Record<string, string> = {};
    for (let i = 0; i < 50; i++) spec[`f${i}`] = 'x'.repeat(4000);
    writeTree(small, spec);
    await runLocalTransfer(small + '/', tempDir(), opts(), () => undefined, { history });
    const first = history.recent()[0]!;
    // Small files always go through read/write, so such a run is labelled with it.
    assert.equal(first.primitive, 'readwrite');
    // The same run as the predictor learns it (a run this small may have finished within 1 ms,
    // which teaches nothing): fast, so its arm is the best one of its size class.
    const { v: _v, time: _t, ...fields } = first;
    await history.append(makePerfRecord({ ...fields, copyMs: 5 }));
    const big = tempDir();
    const bytes = Buffer.alloc(3 << 20, 7);
    writeTree(big, { 'big.bin': bytes });
    const dst = tempDir();
    await runLocalTransfer(big + '/', dst, opts(), () => undefined, { history });
    const recs = history.recent();
    const last = recs[recs.length - 1]!;
    assert.equal(last.files, 1);
    // The order the run copied its big file with: the kernel primitive first, not read/write.
    assert.deepEqual(last.settings.primitiveOrder, primitiveOrderForRun(last.signature));
    assert.notEqual(last.settings.primitiveOrder[0], 'readwrite');
    assert.ok(fs.readFileSync(path.join(dst, 'big.bin')).equals(bytes));
  });

  it('bad input: missing source, destination inside source, missing destination parent', async () => {
    const base = tempDir();
    writeTree(base, { 'src/a': 'a' });
    await assert.rejects(run(path.join(base, 'nope'), path.join(base, 'd'), opts()), (e: unknown) => e instanceof BlitError && e.code === 'SourceNotFound' && /nope/.test(e.message));
    await assert.rejects(run(path.join(base, 'src') + '/', path.join(base, 'src', 'inner'), opts()), (e: unknown) => e instanceof BlitError && e.code === 'DestinationInsideSource');
    fs.symlinkSync(path.join(base, 'src'), path.join(base, 'alias'));
    await assert.rejects(run(path.join(base, 'alias') + '/', path.join(base, 'src', 'x'), opts()), (e: unknown) => e instanceof BlitError && e.code === 'DestinationInsideSource');
    await assert.rejects(run(path.join(base, 'src') + '/', path.join(base, 'no', 'such', 'dst'), opts()), (e: unknown) => e instanceof BlitError && e.code === 'InvalidPath' && /no\/such/.test(e.message));
    assert.deepEqual(listTree(path.join(base, 'src')), ['a']);
  });
});
