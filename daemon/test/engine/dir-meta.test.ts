/**
 * Directory metadata at the end of a run: applyDirFixes (run-support.ts), which uses the native
 * blit_dir_meta_batch when the library is there and node:fs + applyDirMeta otherwise
 * (scripts/test.sh runs this suite again with BLIT_NATIVE_BATCH=0). Real directories throughout.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadDirMetaBatch } from '@blit/native';
import { applyDirFixes, type DirFix } from '../../src/engine/run-support';
import { applyDirMeta, defaultMetaOptions } from '../../src/engine/metadata';
import { ErrorCodes } from '../../src/engine/errors';
import type { Entry, Failure } from '../../src/engine/types';
import { cleanupTemps, tempDir } from './helpers';

const isRoot = process.getuid?.() === 0;

function dirEntry(rel: string, mode: number, mtimeNs: bigint, uid = 0, gid = 0): Entry {
  return { rel: Buffer.from(rel), kind: 'dir', size: 0, mtimeNs, mtimeMs: Number(mtimeNs / 1_000_000n), mode, uid, gid } as unknown as Entry;
}

function meta(p: string): { mode: number; uid: number; gid: number; mtimeNs: bigint } {
  const st = fs.statSync(p, { bigint: true });
  return { mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), mtimeNs: st.mtimeNs };
}

// Odd modes (setgid, sticky, no write, no search for others), ns mtimes incl. before 1970.
const SPECS: Array<[string, number, bigint]> = [
  ['a', 0o755, 1_700_000_000_123_456_789n],
  ['a/b', 0o2775, 1_600_000_000_000_000_001n],
  ['a/b/c', 0o1777, 999_999_999n],
  ['d', 0o500, -1_234_567_891n],
  ['e', 0o700, 1_800_000_000_987_654_321n],
];

describe('engine: directory metadata pass (applyDirFixes)', () => {
  after(cleanupTemps);

  it('applies mode, owner (as root) and ns mtime exactly as applyDirMeta does, deepest first', () => {
    const viaFixes = tempDir('dirmeta');
    const viaOne = tempDir('dirmeta');
    for (const root of [viaFixes, viaOne]) for (const [rel] of SPECS) fs.mkdirSync(path.join(root, rel), { recursive: true, mode: 0o700 });
    const opts = defaultMetaOptions();
    const owner = isRoot ? { uid: 1234, gid: 5678 } : { uid: process.getuid!(), gid: process.getgid!() };
    const fixes: DirFix[] = SPECS.map(([rel, mode, mt]) => ({ rel: Buffer.from(rel), entry: dirEntry(rel, mode, mt, owner.uid, owner.gid) }));
    const failures: Failure[] = [];
    applyDirFixes(fixes.slice().reverse(), Buffer.from(viaFixes), opts, (f) => failures.push(f));
    assert.deepEqual(failures, []);
    // The reference: one directory at a time through node:fs, deepest first.
    for (const f of fixes.slice().sort((x, y) => y.rel.length - x.rel.length)) applyDirMeta(Buffer.from(path.join(viaOne, f.rel.toString())), f.entry, opts);
    for (const [rel, mode, mt] of SPECS) {
      const got = meta(path.join(viaFixes, rel));
      assert.deepEqual(got, meta(path.join(viaOne, rel)), rel);
      assert.deepEqual(got, { mode, uid: owner.uid, gid: owner.gid, mtimeNs: mt }, rel);
    }
  });

  it('names every failure with its path; a directory that is gone (already reported) is skipped', () => {
    const root = tempDir('dirmeta');
    fs.mkdirSync(path.join(root, 'ok'));
    fs.writeFileSync(path.join(root, 'file'), 'x');
    const fixes: DirFix[] = [
      { rel: Buffer.from('gone'), entry: dirEntry('gone', 0o755, 1n) },
      { rel: Buffer.from('file/sub'), entry: dirEntry('file/sub', 0o755, 2n) },
      { rel: Buffer.from('ok'), entry: dirEntry('ok', 0o750, 3_000_000_007n) },
    ];
    const failures: Failure[] = [];
    applyDirFixes(fixes, Buffer.from(root), { ...defaultMetaOptions(), preserveOwner: false }, (f) => failures.push(f));
    assert.equal(failures.length, 1, JSON.stringify(failures));
    assert.equal(failures[0]!.path, 'file/sub');
    assert.equal(failures[0]!.code, ErrorCodes.NotADirectory);
    assert.match(failures[0]!.reason, /cannot set directory metadata/);
    // The failures before it did not stop the others.
    const ok = meta(path.join(root, 'ok'));
    assert.deepEqual([ok.mode, ok.mtimeNs], [0o750, 3_000_000_007n]);
  });

  it('the native batch reports errno and syscall per directory and runs the rest', function () {
    const batch = loadDirMetaBatch();
    if (process.env['BLIT_NATIVE_BATCH'] === '0') {
      assert.equal(batch, undefined, 'BLIT_NATIVE_BATCH=0 keeps the node:fs path');
      return;
    }
    assert.ok(batch, 'the native library is built by npm ci');
    const root = tempDir('dirmeta');
    fs.mkdirSync(path.join(root, 'x'));
    const long = Buffer.from(path.join(root, 'y'.repeat(5000)));
    const items = [
      { path: Buffer.from(path.join(root, 'missing')), mode: 0o755, uid: 0, gid: 0, mtimeNs: 5n },
      { path: long, mode: 0o755, uid: 0, gid: 0, mtimeNs: 5n },
      { path: Buffer.from(path.join(root, 'x')), mode: 0o711, uid: 0, gid: 0, mtimeNs: 42_000_000_001n },
    ];
    const failed = batch(items, false);
    assert.deepEqual(failed.map((f) => [f.at, f.error.code, f.error.syscall]), [[0, 'ENOENT', 'chmod'], [1, 'ENAMETOOLONG', 'path']]);
    assert.match(failed[0]!.error.message, /missing'/);
    assert.deepEqual([meta(path.join(root, 'x')).mode, meta(path.join(root, 'x')).mtimeNs], [0o711, 42_000_000_001n]);
    assert.deepEqual(batch([], false), []);
  });
});
