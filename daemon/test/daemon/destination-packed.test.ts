/**
 * The remote destination's packed march (Destination.addPacked / differ PackedRecords): regular
 * files of a packed manifest batch are matched and quick-checked on the wire bytes, their Entry
 * built only when needed. In process: the same manifest fed record by record (add, the old path)
 * and packed (addPacked) into two identical destination trees gives the same needs, unchanged
 * files, items, failures and final tree; malformed records are refused before anything of their
 * batch is applied. Through real blitd processes: a mirror push and pull over every kind of
 * difference, with the native scanner and with BLIT_NATIVE_BATCH=0.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as native from '@blit/native';
import { Destination } from '../../src/remote/destination';
import { packEntries } from '../../src/remote/manifest-pack';
import { defaultMetaOptions } from '../../src/engine/metadata';
import { walk } from '../../src/engine/walk';
import { BlitError } from '../../src/engine/errors';
import type { Entry } from '../../src/engine/types';
import { cleanupTemps, opts, tempDir, writeTree } from '../engine/helpers';
import { runBlit, startDaemon, type Daemon } from './harness';
import { assertSameTree, jsonSummary, NON_UTF8, snapshot } from './transfer-helpers';

const T = 1_600_000_000_123_456_789n;
const nonUtf8 = (dir: string): Buffer => Buffer.concat([Buffer.from(dir + '/'), NON_UTF8]);

function setNs(p: string | Buffer, ns: bigint): void {
  native.utimensat(Buffer.from(p), ns, ns, { noFollow: true });
}

/** Source tree: same files, a changed one, an mtime-only change, type changes, a non-UTF-8 name. */
function makeSrc(root: string): void {
  writeTree(root, {
    'd/same1': 'one', 'd/same2': 'two', 'd/same3': 'three', 'd/changed': 'new content',
    'd/mtime': 'mtime', 'd/ns': 'ns', 'd/f2dir': 'file here', 'd/dir2f/c': 'child', 'd/f2link': 'file',
    'd/link2f': { link: 'same1' }, 'top': 'top', 'e/x': 'x', 'e/y': 'y',
  });
  fs.writeFileSync(nonUtf8(path.join(root, 'd')), 'bytes name');
  fs.writeFileSync(nonUtf8(path.join(root, 'e')), 'changed bytes');
  for (const rel of ['d/same1', 'd/same2', 'd/same3', 'd/changed', 'd/mtime', 'd/ns', 'd/f2dir', 'd/dir2f/c', 'd/f2link', 'top', 'e/x', 'e/y']) {
    setNs(path.join(root, rel), T);
  }
  setNs(nonUtf8(path.join(root, 'd')), T);
  setNs(nonUtf8(path.join(root, 'e')), T);
}

/** The destination: makeSrc's tree changed in every way a march must notice, plus extras. */
function makeDst(root: string, nsOff = true): void {
  makeSrc(root);
  fs.writeFileSync(path.join(root, 'd/changed'), 'old');
  setNs(path.join(root, 'd/changed'), T);
  setNs(path.join(root, 'd/mtime'), T + 5_000_000_000n); // same size, 5 s newer
  // 1 ns off: the same double ms, unchanged by the engine's rule (in process only: a real
  // mirror then keeps the 1 ns difference, and the trees are compared to the ns).
  if (nsOff) setNs(path.join(root, 'd/ns'), T + 1n);
  fs.rmSync(path.join(root, 'd/f2dir'));
  writeTree(root, { 'd/f2dir/inner': 'in a dir' });
  fs.rmSync(path.join(root, 'd/dir2f'), { recursive: true });
  fs.writeFileSync(path.join(root, 'd/dir2f'), 'a file');
  fs.rmSync(path.join(root, 'd/f2link'));
  fs.symlinkSync('same2', path.join(root, 'd/f2link'));
  fs.rmSync(path.join(root, 'd/link2f'));
  fs.writeFileSync(path.join(root, 'd/link2f'), 'was a link');
  fs.writeFileSync(nonUtf8(path.join(root, 'e')), 'old bytes!!!!');
  writeTree(root, { 'd/extra': 'x', 'x/extra-dir/y': 'y', 'e/zz-extra': 'z' });
}

function destination(root: string) {
  const seen = { need: [] as number[], unchanged: [] as number[], failures: [] as string[], items: [] as string[] };
  const dest = new Destination({
    rootAbs: Buffer.from(root),
    options: opts({ mode: 'mirror', deleteConfirmed: true }),
    filesFrom: undefined,
    meta: defaultMetaOptions(),
    reportSkips: false,
    smallWorkers: 0,
    hooks: {
      item: (a, rel, kind) => seen.items.push(`${a} ${rel.toString('latin1')} ${kind}`),
      need: (i) => seen.need.push(i),
      unchanged: (i) => seen.unchanged.push(i),
      failure: (f) => seen.failures.push(`${f.path}: ${f.code} ${f.reason}`),
      fatal: (err) => seen.failures.push(`fatal: ${err.message}`),
    },
  });
  dest.prepareRoot();
  return { dest, seen };
}

function manifestOf(src: string): Entry[] {
  const entries: Entry[] = [];
  for (const l of walk(src)) entries.push(...l.entries);
  return entries;
}

function sortedSeen(s: ReturnType<typeof destination>['seen']) {
  return { need: [...s.need].sort((a, b) => a - b), unchanged: [...s.unchanged].sort((a, b) => a - b), failures: [...s.failures].sort(), items: [...s.items].sort() };
}

/** Feeds `entries` both ways (record by record, then packed in batches of `per`) and compares. */
async function bothWays(entries: Entry[], per: number): Promise<ReturnType<typeof sortedSeen>> {
  const dstOld = tempDir();
  const dstNew = tempDir();
  makeDst(dstOld);
  makeDst(dstNew);
  const a = destination(dstOld);
  entries.forEach((e, i) => a.dest.add(i, e));
  a.dest.finalize(true);
  await a.dest.close();
  const b = destination(dstNew);
  let index = 0;
  for (let i = 0; i < entries.length; i += per) {
    const buf = packEntries(entries.slice(i, i + per).map((entry) => ({ entry, checksum: undefined })));
    index = b.dest.addPacked(buf, index);
  }
  assert.equal(index, entries.length);
  b.dest.finalize(true);
  await b.dest.close();
  assert.deepEqual(sortedSeen(b.seen), sortedSeen(a.seen));
  assert.deepEqual(b.dest.counts, a.dest.counts);
  const snapOld = snapshot(dstOld);
  const snapNew = snapshot(dstNew);
  assert.deepEqual([...snapNew.keys()].sort(), [...snapOld.keys()].sort());
  for (const [k, n] of snapOld) assert.equal(snapNew.get(k)!.kind, n.kind, k);
  return sortedSeen(b.seen);
}

describe('remote destination: packed manifest records', () => {
  afterEach(cleanupTemps);

  it('decides exactly as the record-by-record path: needs, unchanged files, items, deletions', async () => {
    const src = tempDir();
    makeSrc(src);
    const entries = manifestOf(src);
    const rel = (i: number): string => entries[i]!.rel.toString('latin1');
    for (const per of [1, 3, 1000]) {
      const seen = await bothWays(entries, per);
      assert.deepEqual(seen.need.map(rel).sort(), ['d/changed', 'd/dir2f/c', 'd/f2dir', 'd/f2link', 'd/mtime', `e/${NON_UTF8.toString('latin1')}`].sort());
      assert.ok(seen.unchanged.map(rel).includes('d/ns'), 'a 1 ns difference is the same double ms: unchanged');
      assert.ok(seen.unchanged.map(rel).includes(`d/${NON_UTF8.toString('latin1')}`));
      assert.ok(seen.items.includes('delete d/extra file'));
      assert.ok(seen.items.includes('delete x/extra-dir dir'));
      assert.ok(seen.items.includes('delete e/zz-extra file'));
      assert.ok(seen.items.includes('symlink d/link2f symlink'));
      assert.deepEqual(seen.failures, []);
    }
  });

  it('a listing whose names are not sorted takes the map march, same decisions', async () => {
    const src = tempDir();
    makeSrc(src);
    const entries = manifestOf(src);
    // Reverse each directory's run of entries: still grouped by directory, no longer sorted.
    const out: Entry[] = [];
    let run: Entry[] = [];
    const dirOf = (e: Entry): string => path.posix.dirname(e.rel.toString('latin1'));
    for (const e of entries) {
      if (run.length > 0 && dirOf(run[0]!) !== dirOf(e)) {
        out.push(...run.reverse());
        run = [];
      }
      run.push(e);
    }
    out.push(...run.reverse());
    await bothWays(out, 4);
  });

  it('refuses a malformed batch before any record of it is applied', () => {
    const dst = tempDir();
    const dirRec = packEntries([{ entry: { rel: Buffer.from('newdir'), kind: 'dir', size: 0, mtimeNs: T, mode: 0o755, uid: 0, gid: 0 }, checksum: undefined }]);
    const fileRec = packEntries([{ entry: { rel: Buffer.from('newdir/f'), kind: 'file', size: 3, mtimeNs: T, mode: 0o644, uid: 0, gid: 0 }, checksum: undefined }]);
    const truncated = fileRec.subarray(0, fileRec.length - 1);
    const hugeSize = Buffer.from(fileRec);
    hugeSize.writeUInt32LE(0x00400000, 6 + 'newdir/f'.length + 4); // size >= 2^54
    const longPath = Buffer.from(fileRec);
    longPath.writeUInt32LE(0x7fffffff, 2);
    const badFlags = Buffer.from(fileRec);
    badFlags[1] = 0x80;
    for (const bad of [truncated, hugeSize, longPath, badFlags]) {
      const { dest, seen } = destination(dst);
      // A file record first (kept packed), then the directory (flushes the root listing), then the bad one.
      const batch = Buffer.concat([packEntries([{ entry: { rel: Buffer.from('top'), kind: 'file', size: 1, mtimeNs: T, mode: 0o644, uid: 0, gid: 0 }, checksum: undefined }]), dirRec, bad]);
      assert.throws(() => dest.addPacked(batch, 0), (e: unknown) => e instanceof BlitError && e.code === 'BadFrame');
      dest.flush();
      assert.deepEqual(seen.need, []);
      assert.deepEqual(seen.items, []);
      assert.equal(fs.existsSync(path.join(dst, 'newdir')), false);
    }
  });

  it('a packed file record with a path that is not normal fails as add() fails it', () => {
    const dst = tempDir();
    const bad = ['../escape', 'a/../b', 'a//b', './a', '/abs', ''];
    const entries: Entry[] = bad.map((p) => ({ rel: Buffer.from(p), kind: 'file' as const, size: 1, mtimeNs: T, mode: 0o644, uid: 0, gid: 0 }));
    const a = destination(dst);
    entries.forEach((e, i) => a.dest.add(i, e));
    a.dest.flush();
    const b = destination(dst);
    b.dest.addPacked(packEntries(entries.map((entry) => ({ entry, checksum: undefined }))), 0);
    b.dest.flush();
    assert.equal(b.seen.failures.length, bad.length);
    assert.deepEqual(b.seen.failures, a.seen.failures);
    assert.deepEqual(b.seen.need, []);
  });
});

describe('remote mirror over packed records (real blitd, native scanner and BLIT_NATIVE_BATCH=0)', function () {
  this.timeout(120_000);
  for (const nativeBatch of ['', '0']) {
    describe(nativeBatch === '0' ? 'BLIT_NATIVE_BATCH=0' : 'native scanner', () => {
      const env = { BLIT_DISABLE_PERF_HISTORY: '1', BLIT_NATIVE_BATCH: nativeBatch };
      let moduleDir: string;
      let daemon: Daemon;
      let src: string;
      before(async () => {
        moduleDir = tempDir('packed-mod');
        src = tempDir('packed-src');
        makeSrc(src);
        daemon = await startDaemon(['--port', '0', '--root', moduleDir], { env });
      });
      after(async () => {
        await daemon?.stop();
        cleanupTemps();
      });

      it('push: every difference is fixed, extras deleted, then a no-op', async () => {
        const dst = path.join(moduleDir, 'push');
        makeDst(dst, false);
        const remote = `127.0.0.1:${daemon.port}:/default/push/`;
        let r = await runBlit(['mirror', `${src}/`, remote, '--yes', '--json'], { env });
        assert.equal(r.code, 0, r.stderr);
        assertSameTree(src, dst);
        assert.ok((jsonSummary(r.stdout).entriesDeleted as number) >= 5, r.stdout);
        r = await runBlit(['mirror', `${src}/`, remote, '--yes', '--json'], { env });
        assert.equal(r.code, 0, r.stderr);
        const s = jsonSummary(r.stdout);
        assert.equal(s.filesTransferred, 0);
        assert.equal(s.filesUnchanged, 14);
      });

      it('pull: every difference is fixed, extras deleted, then a no-op', async () => {
        const msrc = path.join(moduleDir, 'pullsrc');
        makeSrc(msrc);
        const dst = tempDir('packed-pull');
        fs.rmSync(dst, { recursive: true });
        makeDst(dst, false);
        const remote = `127.0.0.1:${daemon.port}:/default/pullsrc/`;
        let r = await runBlit(['mirror', remote, dst, '--yes', '--json'], { env });
        assert.equal(r.code, 0, r.stderr);
        assertSameTree(msrc, dst);
        assert.ok((jsonSummary(r.stdout).entriesDeleted as number) >= 5, r.stdout);
        r = await runBlit(['mirror', remote, dst, '--yes', '--json'], { env });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(jsonSummary(r.stdout).filesTransferred, 0);
      });
    });
  }
});
