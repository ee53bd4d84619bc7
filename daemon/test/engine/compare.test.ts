import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decideFile } from '../../src/engine/compare';
import { fromErrno } from '../../src/engine/errors';
import { hashFile, HashQueue, initChecksum, openToHash } from '../../src/engine/checksum';
import type { CompareMode, Entry, TransferEvent } from '../../src/engine/types';
import { cleanupTemps, opts, run, tempDir, writeTree } from './helpers';

function e(size: number, mtimeNs: bigint): Entry {
  return { rel: Buffer.from('f'), kind: 'file', size, mtimeNs, mode: 0o644, uid: 0, gid: 0 };
}

describe('engine: compare modes', () => {
  afterEach(cleanupTemps);

  const cases: Array<[CompareMode, Entry, Entry, string]> = [
    ['default', e(1, 5n), e(1, 5n), 'skip'],
    ['default', e(1, 5n), e(2, 5n), 'transfer'],
    ['default', e(1, 6n), e(1, 5n), 'transfer'],
    ['default', e(1, 4n), e(1, 5n), 'transfer'],
    ['size-only', e(1, 9n), e(1, 5n), 'skip'],
    ['size-only', e(1, 5n), e(2, 5n), 'transfer'],
    ['ignore-times', e(1, 5n), e(1, 5n), 'transfer'],
    ['checksum', e(1, 5n), e(1, 5n), 'hash'],
    ['checksum', e(1, 5n), e(3, 5n), 'transfer'],
  ];
  for (const [mode, s, d, want] of cases) {
    it(`${mode}: size ${s.size}/${d.size} mtime ${s.mtimeNs}/${d.mtimeNs} → ${want}`, () => {
      assert.equal(decideFile(s, d, { mode, ignoreExisting: false }), want);
    });
  }
  it("HashQueue (the event loop's hashes) gives hashFile's digest, several files at once", async () => {
    await initChecksum();
    const root = tempDir();
    const sizes = [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, (3 << 20) + 5];
    const files = sizes.map((n, i) => {
      const p = path.join(root, `f${i}`);
      fs.writeFileSync(p, Buffer.alloc(n, i + 1).map((b, j) => (b + j * 7) & 0xff));
      return p;
    });
    const q = new HashQueue(3);
    const got = await Promise.all(files.map((p) => q.hash(() => openToHash(p))));
    assert.deepEqual(got, files.map((p) => hashFile(p)));
    assert.equal(new Set(got).size, files.length);
    assert.equal(q.pending, 0);
  });

  it('openToHash (what blitd hashes beneath a module) opens a regular file, never through a symlink, never blocking on a FIFO', async () => {
    await initChecksum();
    const root = tempDir();
    const outside = path.join(root, 'outside');
    fs.writeFileSync(outside, 'secret');
    fs.symlinkSync(outside, path.join(root, 'swapped'));
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    fs.writeFileSync(path.join(root, 'plain'), 'plain');
    const q = new HashQueue(2);
    assert.equal(await q.hash(() => openToHash(path.join(root, 'plain'))), hashFile(path.join(root, 'plain')));
    // A symlink swapped in since the listing: its target outside is not hashed (no oracle).
    // A FIFO with no writer: open(2) without O_NONBLOCK would hold the event loop forever.
    // Both named as what they are, not as an errno's words ("too many levels of symbolic links").
    for (const name of ['swapped', 'fifo']) {
      const err = await q.hash(() => openToHash(path.join(root, name))).then(() => assert.fail(`${name} was hashed`), (e: unknown) => e);
      assert.equal(fromErrno(err, name, 'cannot hash').message, `${name}: cannot hash: not a regular file any more (replaced since it was listed)`);
    }
    assert.equal(q.pending, 0);
  });

  it('ignore-existing skips any existing destination, copies missing ones', () => {
    assert.equal(decideFile(e(1, 5n), e(9, 1n), { mode: 'default', ignoreExisting: true }), 'skip');
    assert.equal(decideFile(e(1, 5n), undefined, { mode: 'default', ignoreExisting: true }), 'transfer');
  });

  /** Same size and mtime, different bytes: only --checksum and --ignore-times see it. */
  async function sameStatDifferentContent(mode: CompareMode): Promise<string> {
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'f.txt': 'AAAA', 'g.txt': 'same' });
    writeTree(dst, { 'f.txt': 'BBBB', 'g.txt': 'same' });
    for (const n of ['f.txt', 'g.txt']) fs.utimesSync(path.join(dst, n), 1_600_000_000, 1_600_000_000);
    for (const n of ['f.txt', 'g.txt']) fs.utimesSync(path.join(src, n), 1_600_000_000, 1_600_000_000);
    const r = await run(src + '/', dst, opts({ compare: { mode, ignoreExisting: false } }));
    if (mode === 'checksum') assert.equal(r.summary.filesUnchanged, 1, 'g.txt hashed equal');
    return fs.readFileSync(path.join(dst, 'f.txt'), 'utf8');
  }

  it('end to end: default and size-only keep a same-size same-mtime file', async () => {
    assert.equal(await sameStatDifferentContent('default'), 'BBBB');
    assert.equal(await sameStatDifferentContent('size-only'), 'BBBB');
  });
  it('end to end: --checksum and --ignore-times replace it', async () => {
    assert.equal(await sameStatDifferentContent('checksum'), 'AAAA');
    assert.equal(await sameStatDifferentContent('ignore-times'), 'AAAA');
  });
  it('dry run with --checksum hashes read-only: only really different files are itemized, nothing written', async () => {
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'diff.txt': 'AAAA', 'same.txt': 'same' });
    writeTree(dst, { 'diff.txt': 'BBBB', 'same.txt': 'same' });
    for (const n of ['diff.txt', 'same.txt']) {
      fs.utimesSync(path.join(src, n), 1_600_000_000, 1_600_000_000);
      fs.utimesSync(path.join(dst, n), 1_500_000_000, 1_500_000_000);
    }
    const r = await run(src + '/', dst, opts({ dryRun: true, compare: { mode: 'checksum', ignoreExisting: false } }));
    assert.deepEqual(r.items('update'), ['diff.txt']);
    assert.equal(r.summary.filesUnchanged, 1);
    assert.equal(fs.readFileSync(path.join(dst, 'diff.txt'), 'utf8'), 'BBBB');
    assert.equal(fs.statSync(path.join(dst, 'same.txt')).mtimeMs, 1_500_000_000_000, 'metadata untouched in a dry run');
  });

  // A big file is named while in flight (fileStart/fileDone: blitd's job view lists it until its
  // fileDone). One hashed equal (or, in a dry run, different) used to stay listed to the end.
  it('--checksum: a big file hashed equal or different is named done as a copied one is', async () => {
    const src = tempDir();
    const dst = tempDir();
    const big = Buffer.alloc(5 * 1024 * 1024, 7);
    writeTree(src, { 'same.bin': big, 'diff.bin': big });
    writeTree(dst, { 'same.bin': big, 'diff.bin': Buffer.alloc(big.length, 8) });
    const named = (r: { events: TransferEvent[] }): string[] => r.events.flatMap((e) => (e.type === 'fileStart' || e.type === 'fileDone' ? [`${e.type}:${e.rel.toString()}`] : [])).sort();
    const checksum = { mode: 'checksum' as const, ignoreExisting: false };
    const dry = await run(src + '/', dst, opts({ dryRun: true, compare: checksum }));
    assert.deepEqual(named(dry), ['fileDone:diff.bin', 'fileDone:same.bin', 'fileStart:diff.bin', 'fileStart:same.bin'], 'dry run');
    const real = await run(src + '/', dst, opts({ compare: checksum }));
    assert.deepEqual(named(real), ['fileDone:diff.bin', 'fileDone:same.bin', 'fileStart:diff.bin', 'fileStart:same.bin']);
    assert.equal(real.summary.filesUnchanged, 1);
  });

  it('end to end: --ignore-existing leaves an existing different file alone', async () => {
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'a': 'new content', 'b': 'fresh' });
    writeTree(dst, { 'a': 'old' });
    await run(src + '/', dst, opts({ compare: { mode: 'default', ignoreExisting: true } }));
    assert.equal(fs.readFileSync(path.join(dst, 'a'), 'utf8'), 'old');
    assert.equal(fs.readFileSync(path.join(dst, 'b'), 'utf8'), 'fresh');
  });
});
