/**
 * The manifest source (push client, pull server) lets the event loop turn between batches: the
 * walk is synchronous and a gRPC write only queues, so without that turn the whole manifest was
 * built before the call's header, the destination's needs or the data streams could move (a push
 * of the benchmark's `mixed` tree showed its first byte after 1.6-3.5 s instead of ~0.5 s).
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ManifestSource, MANIFEST_BATCH } from '../../src/remote/source';
import { packEntries, unpackEntries, type PackedEntry } from '../../src/remote/manifest-pack';
import { Filter, noFilter } from '../../src/engine/filter';
import { statEntry, walk } from '../../src/engine/walk';
import { nativeScanner } from '../../src/engine/scan-dir';
import { EMPTY } from '../../src/engine/paths';
import type { Entry } from '../../src/engine/types';
import { execFileSync } from 'node:child_process';
import { tempDir } from './harness';
import { DirAnchor } from '../../src/daemon/beneath';
import { removeEmptiedDirs } from '../../src/engine/move-finalise';
import { assertOpenBeneath } from './module-fixture';

/** This process's fds open on a directory (or file) under `root` that was removed since. */
function removedStillOpen(root: string): string[] {
  return fs.readdirSync('/proc/self/fd').flatMap((fd) => {
    try {
      const t = fs.readlinkSync(`/proc/self/fd/${fd}`);
      return t.startsWith(root) && t.endsWith(' (deleted)') ? [t] : [];
    } catch {
      return [];
    }
  });
}

/** Every batch of a ManifestSource over `dir`, concatenated, and the source's count. */
async function manifestOf(dir: string, checksum: boolean, filter = noFilter()): Promise<{ bytes: Buffer; count: number }> {
  const source = new ManifestSource({ abs: Buffer.from(dir), filter, checksum, onError: () => undefined });
  const parts: Buffer[] = [];
  for await (const b of source.batches()) parts.push(b);
  return { bytes: Buffer.concat(parts), count: source.count };
}

describe('manifest source', () => {
  it('lets other events run between manifest batches', async () => {
    const t = tempDir('blit-manifest-src-');
    try {
      const files = MANIFEST_BATCH * 3 + 10;
      for (let d = 0; d < 8; d++) fs.mkdirSync(path.join(t.dir, `d${d}`));
      for (let i = 0; i < files; i++) fs.writeFileSync(path.join(t.dir, `d${i % 8}`, `f${i}`), 'x');
      const source = new ManifestSource({ abs: Buffer.from(t.dir), filter: noFilter(), checksum: false, onError: () => undefined });
      let batches = 0;
      let seenAt: number | undefined;
      setImmediate(() => {
        seenAt = batches;
      });
      for await (const b of source.batches()) {
        assert.ok(b.length > 0);
        batches++;
      }
      assert.ok(batches >= 4, `${batches} batches`);
      assert.equal(source.count, files + 8 + 1);
      assert.ok(seenAt !== undefined && seenAt < batches, `an immediate ran after batch ${seenAt} of ${batches}`);
    } finally {
      t.cleanup();
    }
  });

  it('keeps only the packed batches: entryAt, fileFor and entryByRel decode the records that were sent', async () => {
    const t = tempDir('blit-manifest-src-');
    try {
      for (let d = 0; d < 3; d++) fs.mkdirSync(path.join(t.dir, `d${d}`));
      const n = MANIFEST_BATCH + 500;
      for (let i = 0; i < n; i++) fs.writeFileSync(path.join(t.dir, `d${i % 3}`, `f${i}`), 'x'.repeat(i % 7));
      fs.symlinkSync('d0/f0', path.join(t.dir, 'link'));
      fs.writeFileSync(Buffer.concat([Buffer.from(`${t.dir}/`), Buffer.from([0x6e, 0xff, 0x2e, 0x62])]), 'not UTF-8');
      const source = new ManifestSource({ abs: Buffer.from(t.dir), filter: noFilter(), checksum: true, onError: () => undefined });
      const sent: PackedEntry[] = [];
      for await (const b of source.batches()) sent.push(...unpackEntries(b));
      assert.equal(source.count, sent.length);
      assert.equal(sent.length, 1 + 3 + n + 2);
      for (let i = 0; i < sent.length; i++) assert.deepEqual(source.entryAt(i), sent[i]!.entry, `index ${i}`);
      for (const bad of [-1, sent.length, 1.5, NaN]) assert.equal(source.entryAt(bad), undefined);
      const fileIdx = sent.findIndex((p) => p.entry.kind === 'file' && p.entry.size === 5);
      const f = source.fileFor(fileIdx);
      const want = sent[fileIdx]!.entry;
      assert.deepEqual({ rel: Buffer.from(f.entry.rel), size: f.entry.size, mtimeNs: f.entry.mtimeNs }, { rel: want.rel, size: want.size, mtimeNs: want.mtimeNs });
      assert.equal(f.abs.toString(), path.join(t.dir, f.entry.rel.toString()));
      assert.equal(fs.readFileSync(f.abs).length, 5);
      assert.throws(() => source.fileFor(fileIdx), /sent twice/);
      assert.throws(() => source.fileFor(0), /not a file of the manifest/);
      assert.throws(() => source.fileFor(sent.findIndex((p) => p.entry.kind === 'symlink')), /not a file of the manifest/);
      assert.throws(() => source.fileFor(sent.length), /not a file of the manifest/);
      const last = sent[sent.length - 1]!.entry;
      assert.deepEqual(source.entryByRel(Buffer.from(last.rel)), last);
      const odd = sent.find((p) => p.entry.rel.includes(0xff))!.entry;
      assert.deepEqual(source.entryByRel(Buffer.from(odd.rel)), odd);
      assert.equal(source.entryByRel(Buffer.from('nope')), undefined);
    } finally {
      t.cleanup();
    }
  });

  it('packs straight from the native scan the bytes the node:fs fallback packs from Entries', async function () {
    if (nativeScanner() === undefined) this.skip();
    const t = tempDir('blit-manifest-scan-');
    try {
      const root = t.dir;
      fs.mkdirSync(path.join(root, 'a', 'deep', 'er'), { recursive: true });
      fs.mkdirSync(path.join(root, 'b'));
      for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(root, i % 2 ? 'a' : 'b', `f${i}`), 'y'.repeat(i * 13));
      fs.writeFileSync(path.join(root, 'a', 'deep', 'er', 'x'.repeat(200)), 'long name');
      fs.symlinkSync('../b/f0', path.join(root, 'a', 'link'));
      fs.symlinkSync('t'.repeat(300), path.join(root, 'dangling'));
      fs.writeFileSync(Buffer.concat([Buffer.from(`${root}/b/`), Buffer.from([0x6e, 0xff, 0x2e, 0x62])]), 'not UTF-8');
      execFileSync('mkfifo', [path.join(root, 'b', 'fifo')]); // not transferred: no record either way
      // mtimes: before 1970 with ns, ns precision, second 0, far future; a directory's and a symlink's too.
      execFileSync('touch', ['-h', '-d', '1960-02-03 04:05:06.123456789', path.join(root, 'b', 'f0')]);
      execFileSync('touch', ['-h', '-d', '1969-12-31 23:59:59.999999999', path.join(root, 'b', 'f2')]);
      execFileSync('touch', ['-h', '-d', '1970-01-01 00:00:00', path.join(root, 'a', 'f1')]);
      execFileSync('touch', ['-h', '-d', '2200-01-01 00:00:00.000000001', path.join(root, 'a', 'f3')]);
      execFileSync('touch', ['-h', '-d', '2001-09-09 01:46:40.5', path.join(root, 'a', 'link')]);
      execFileSync('touch', ['-h', '-d', '1950-06-01 12:00:00.000000007', path.join(root, 'a', 'deep')]);
      fs.chmodSync(path.join(root, 'a', 'f5'), 0o4751);
      const script = `const { ManifestSource } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'src', 'remote', 'source.js'))});
        const { noFilter } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'src', 'engine', 'filter.js'))});
        (async () => { const checksum = process.argv[2] === 'true'; {
          const s = new ManifestSource({ abs: Buffer.from(process.argv[1]), filter: noFilter(), checksum, onError: () => undefined });
          const parts = []; for await (const b of s.batches()) parts.push(b);
          process.stdout.write(Buffer.concat(parts).toString('hex') + ' ' + s.count + '\\n');
        } })();`;
      for (const checksum of [true, false]) {
        // Not hashed: a size with a high 32-bit half (an 8 GiB sparse file).
        if (!checksum) {
          const big = path.join(root, 'a', 'sparse');
          fs.closeSync(fs.openSync(big, 'w'));
          fs.truncateSync(big, 2 ** 33 + 5);
        }
        const fallback = execFileSync(process.execPath, ['-e', script, root, String(checksum)], { env: { ...process.env, BLIT_NATIVE_BATCH: '0' }, encoding: 'utf8' });
        const native = await manifestOf(root, checksum);
        const [hex, count] = fallback.trim().split(' ');
        assert.equal(native.count, Number(count), `records, checksum ${checksum}`);
        assert.equal(native.bytes.toString('hex'), hex, `bytes, checksum ${checksum}`);
        // And the same as packing the walk's own Entries in this process.
        const entries: Entry[] = [statEntry(Buffer.from(root), EMPTY)!];
        for (const l of walk(Buffer.from(root), { noNames: true })) entries.push(...l.entries);
        if (!checksum) assert.ok(packEntries(entries.map((entry) => ({ entry, checksum: undefined }))).equals(native.bytes));
        const back = unpackEntries(native.bytes);
        assert.equal(back.length, 1 + 4 + 40 + 1 + 2 + 1 + (checksum ? 0 : 1)); // root, dirs, files, long name, links, non-UTF-8, sparse
        const byName = (n: string): PackedEntry => back.find((p) => p.entry.rel.toString() === n)!;
        assert.equal(byName('b/f0').entry.mtimeNs, -312753293876543211n);
        assert.equal(byName('b/f2').entry.mtimeNs, -1n);
        assert.equal(byName('a/f3').entry.mtimeNs, 7258118400000000001n);
        if (!checksum) assert.equal(byName('a/sparse').entry.size, 2 ** 33 + 5);
        assert.equal(byName('a/f5').entry.mode, 0o4751);
        assert.equal(byName('dangling').entry.linkTarget!.toString(), 't'.repeat(300));
        assert.equal(byName('a/deep').entry.mtimeNs, -618062400n * 1_000_000_000n + 7n);
        assert.equal((byName('a/f1').checksum?.length ?? 0) > 0, checksum);
        assert.equal(byName('a/link').checksum, undefined);
      }
    } finally {
      t.cleanup();
    }
  });

  it('packs from the scan with a filter: excluded files and directories are left out, as by the walk', async function () {
    if (nativeScanner() === undefined) this.skip();
    const t = tempDir('blit-manifest-scan-');
    try {
      fs.mkdirSync(path.join(t.dir, 'keep'));
      fs.mkdirSync(path.join(t.dir, 'skip'));
      for (const n of ['keep/a.txt', 'keep/b.log', 'skip/c.txt', 'd.log', 'e.txt']) fs.writeFileSync(path.join(t.dir, n), n);
      const filter = new Filter({ excludes: ['*.log', 'skip/'], includes: [], gitignore: false });
      const got = unpackEntries((await manifestOf(t.dir, false, filter)).bytes).map((p) => p.entry.rel.toString());
      assert.deepEqual(got, ['', 'e.txt', 'keep', 'keep/a.txt']);
    } finally {
      t.cleanup();
    }
  });

  it('names an mtime the manifest cannot carry (past 2262), leaves that entry out and marks the scan incomplete, native and node:fs alike', async () => {
    const t = tempDir('blit-manifest-mtime-');
    try {
      for (const n of ['a', 'b', 'c']) fs.writeFileSync(path.join(t.dir, n), n);
      execFileSync('touch', ['-d', '2300-01-01 00:00:00', path.join(t.dir, 'b')]);
      const script = `const { ManifestSource } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'src', 'remote', 'source.js'))});
        const { noFilter } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'src', 'engine', 'filter.js'))});
        (async () => {
          const failures = [];
          const s = new ManifestSource({ abs: Buffer.from(process.argv[1]), filter: noFilter(), checksum: false, onError: (f) => failures.push(f) });
          const parts = []; for await (const b of s.batches()) parts.push(b);
          process.stdout.write(JSON.stringify({ hex: Buffer.concat(parts).toString('hex'), complete: s.complete, failures }));
        })();`;
      for (const env of [{}, { BLIT_NATIVE_BATCH: '0' }]) {
        const got = JSON.parse(execFileSync(process.execPath, ['-e', script, t.dir], { env: { ...process.env, ...env }, encoding: 'utf8' })) as { hex: string; complete: boolean; failures: Array<{ path: string; code: string; reason: string }> };
        const what = JSON.stringify(env);
        assert.deepEqual(unpackEntries(Buffer.from(got.hex, 'hex')).map((p) => p.entry.rel.toString()), ['', 'a', 'c'], what);
        assert.equal(got.complete, false, what);
        assert.equal(got.failures.length, 1, what);
        assert.equal(got.failures[0]!.path, 'b');
        assert.equal(got.failures[0]!.code, 'IoError');
        // The path once: the failure line already names it (was `b: b: modification time ...`).
        assert.equal(got.failures[0]!.reason, 'modification time outside what a manifest carries (the years 1677-2262)');
      }
    } finally {
      t.cleanup();
    }
  });

  it("a pull move's emptied-directory removal closes each removed directory's fd (the anchor forgets it)", async () => {
    assertOpenBeneath();
    const t = tempDir('blit-manifest-src-');
    try {
      // d<i>/sub: removing sub pins d<i> (its fd cached), then d<i> itself goes.
      const src = path.join(t.dir, 'src');
      const n = 200;
      for (let i = 0; i < n; i++) fs.mkdirSync(path.join(src, `d${i}`, 'sub'), { recursive: true });
      const source = new ManifestSource({ abs: Buffer.from(src), filter: noFilter(), checksum: false, onError: () => undefined, anchorAt: (root) => new DirAnchor(t.dir, root) });
      try {
        for await (const _ of source.batches());
        // As source-remover.ts removeEmptiedDirs, the transfer still open (before close()).
        await removeEmptiedDirs(source.dirRels(), true, (rel) => source.rmdir(rel));
        await new Promise((r) => setImmediate(r)); // the anchor's deferred closes
        assert.deepEqual(fs.readdirSync(src), []);
        const open = removedStillOpen(t.dir);
        assert.equal(open.length, 0, `removed directories still open: ${open.length} (${open.slice(0, 3).join(', ')} ...)`);
      } finally {
        source.close();
      }
    } finally {
      t.cleanup();
    }
  });
});
