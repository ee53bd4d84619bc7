import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Walker, walk } from '../../src/engine/walk';
import { compareBytes, Differ } from '../../src/engine/differ';
import { Filter } from '../../src/engine/filter';
import type { Entry, Failure } from '../../src/engine/types';
import { cleanupTemps, tempDir, writeTree } from './helpers';
import { nativeScanner } from '../../src/engine/scan-dir';

describe('engine: walk', () => {
  afterEach(cleanupTemps);

  it('yields the first listing before the rest of a few-thousand-file tree is read', () => {
    const root = tempDir();
    for (let d = 0; d < 40; d++) {
      fs.mkdirSync(path.join(root, `d${d}`));
      for (let f = 0; f < 75; f++) fs.writeFileSync(path.join(root, `d${d}`, `f${f}`), 'x');
    }
    const w = new Walker(Buffer.from(root));
    const it = w[Symbol.iterator]();
    const first = it.next();
    assert.equal(first.done, false);
    // Only the root has been read when the first listing is handed out: streaming, not collect-then-yield.
    assert.equal(w.dirsRead, 1);
    assert.equal(w.entriesSeen, 40);
    let dirs = 1;
    let files = 0;
    for (let r = it.next(); !r.done; r = it.next()) {
      dirs++;
      files += r.value.entries.length;
    }
    assert.equal(dirs, 41);
    assert.equal(files, 3000);
    assert.equal(w.complete, true);
  });

  it('never follows symlinks and keeps their target bytes; reads entry metadata', () => {
    const root = tempDir();
    const outside = tempDir();
    writeTree(outside, { 'secret/s.txt': 'no' });
    writeTree(root, { 'f.txt': 'hello', 'l': { link: outside + '/secret' } });
    fs.chmodSync(path.join(root, 'f.txt'), 0o640);
    const entries: Entry[] = [];
    for (const l of walk(root)) entries.push(...l.entries);
    assert.deepEqual(entries.map((e) => e.rel.toString()).sort(), ['f.txt', 'l']);
    const f = entries.find((e) => e.rel.toString() === 'f.txt')!;
    assert.equal(f.kind, 'file');
    assert.equal(f.size, 5);
    assert.equal(f.mode, 0o640);
    assert.equal(f.mtimeNs, fs.statSync(path.join(root, 'f.txt'), { bigint: true }).mtimeNs);
    const l = entries.find((e) => e.rel.toString() === 'l')!;
    assert.equal(l.kind, 'symlink');
    assert.equal(l.linkTarget!.toString(), outside + '/secret');
  });

  it('keeps non-UTF-8 names byte-exact', () => {
    const root = tempDir();
    const name = Buffer.from([0x66, 0xff, 0x2e, 0x74]);
    fs.writeFileSync(Buffer.concat([Buffer.from(root + '/'), name]), 'x');
    const [listing] = [...walk(root)];
    assert.ok(listing!.entries[0]!.rel.equals(name));
  });

  it('noNames: the same listings without the latin1 names', () => {
    const root = tempDir();
    writeTree(root, { 'a/x': '1', 'a/y': '22', 'b/z': '333', 'top': '4', 'l': { link: 'a/x' } });
    fs.writeFileSync(Buffer.concat([Buffer.from(root + '/a/'), Buffer.from([0x66, 0xff])]), 'x');
    const norm = (ls: ReturnType<typeof listings>): unknown => ls.map((l) => ({ dir: l.dir.toString('latin1'), entries: l.entries }));
    const listings = (noNames: boolean) => [...walk(root, noNames ? { noNames } : {})];
    const withNames = listings(false);
    const without = listings(true);
    assert.equal(withNames.length, 3);
    for (const l of withNames) assert.deepEqual(l.names, l.entries.map((e) => path.posix.basename(e.rel.toString('latin1'))));
    for (const l of without) assert.equal(l.names, undefined);
    assert.deepEqual(norm(without), norm(withNames));
  });

  it('an unreadable directory is reported and marks the scan incomplete', () => {
    // Tests run as root, where chmod 000 does not stop reads: the beforeReadDir hook throws EACCES instead.
    const root = tempDir();
    writeTree(root, { 'ok/a': '1', 'bad/b': '2' });
    const failures: Failure[] = [];
    const w = walk(root, {
      onError: (f) => failures.push(f),
      beforeReadDir: (_abs, rel) => {
        if (rel.toString() === 'bad') throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
      },
    });
    const dirs = [...w].map((l) => l.dir.toString());
    assert.deepEqual(dirs.sort(), ['', 'ok']);
    assert.equal(w.complete, false);
    assert.equal(failures.length, 1);
    assert.equal(failures[0]!.path, 'bad');
    assert.equal(failures[0]!.code, 'PermissionDenied');
  });

  it('reading directories ahead changes nothing in what the walk yields, and a vanished one is still reported', async () => {
    const root = tempDir();
    for (let d = 0; d < 12; d++) writeTree(root, { [`d${d}/sub/f`]: String(d), [`d${d}/g`]: 'g' });
    const shape = (w: Walker): string[] => [...w].map((l) => `${l.dir.toString()}:${l.entries.map((e) => e.rel.toString()).join(',')}`);
    assert.deepEqual(shape(walk(root, { readAheadDirs: 4, readAheadSlowUs: -1e9 })), shape(walk(root)));
    const failures: Failure[] = [];
    const w = walk(root, { readAheadDirs: 4, readAheadSlowUs: -1e9, onError: (f) => failures.push(f) });
    for (const l of w) if (l.dir.length === 0) fs.rmSync(path.join(root, 'd11'), { recursive: true });
    assert.equal(w.complete, false);
    assert.deepEqual(failures.map((f) => f.path), ['d11']);
    await new Promise((r) => setTimeout(r, 20)); // let the background reads finish before the tree is removed
  });

  it('a directory that disappears during the walk is reported, scan incomplete', () => {
    const root = tempDir();
    writeTree(root, { 'gone/a': '1', 'stay/b': '2' });
    const failures: Failure[] = [];
    const w = walk(root, { onError: (f) => failures.push(f) });
    for (const l of w) if (l.dir.length === 0) fs.rmSync(path.join(root, 'gone'), { recursive: true });
    assert.equal(w.complete, false);
    assert.equal(failures[0]!.path, 'gone');
  });
});

describe('engine: differ', () => {
  it('compareBytes orders byte ranges as Buffer.compare does (unsigned bytes, a prefix first)', () => {
    const pick = (): Buffer => Buffer.from(Array.from({ length: Math.floor(Math.random() * 6) }, () => [0x00, 0x2e, 0x41, 0x61, 0x7f, 0x80, 0xff][Math.floor(Math.random() * 7)]!));
    for (let i = 0; i < 5000; i++) {
      const pa = Buffer.concat([pick(), pick()]);
      const pb = Buffer.concat([pick(), pick()]);
      const as = Math.floor(Math.random() * (pa.length + 1));
      const bs = Math.floor(Math.random() * (pb.length + 1));
      const want = pa.compare(pb, bs, pb.length, as, pa.length);
      assert.equal(Math.sign(compareBytes(pa, as, pa.length, pb, bs, pb.length)), want, `${pa.toString('hex')}@${as} vs ${pb.toString('hex')}@${bs}`);
    }
  });

  afterEach(cleanupTemps);

  function march(src: string, dst: string, filter?: Filter) {
    const out = { srcOnly: [] as string[], dstOnly: [] as string[], both: [] as string[] };
    const differ = new Differ(Buffer.from(dst), filter);
    for (const l of walk(src, { filter })) {
      differ.diff(l, {
        srcOnly: (e) => out.srcOnly.push(e.rel.toString()),
        dstOnly: (e) => out.dstOnly.push(e.rel.toString() + (e.kind === 'dir' ? '/' : '')),
        both: (s, d) => out.both.push(`${s.rel}:${s.kind}/${d.kind}`),
      });
    }
    for (const k of Object.keys(out) as (keyof typeof out)[]) out[k].sort();
    return out;
  }

  it('puts every name in exactly one callback, including type conflicts', () => {
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'same.txt': 'a', 'new.txt': 'b', 'newdir/x': 'c', 'conflict': 'file-in-src', 'd2/y': 'y', 'd2/z': 'z' });
    writeTree(dst, { 'same.txt': 'a', 'old.txt': 'o', 'olddir/q': 'q', 'conflict/inner': 'dir-in-dst', 'd2/z': 'z', 'd2/extra': 'e' });
    const r = march(src, dst);
    assert.deepEqual(r.srcOnly, ['d2/y', 'new.txt', 'newdir', 'newdir/x']);
    assert.deepEqual(r.both, ['conflict:file/dir', 'd2/z:file/file', 'd2:dir/dir', 'same.txt:file/file']);
    assert.deepEqual(r.dstOnly, ['d2/extra', 'old.txt', 'olddir/']);
  });

  it('gives the same answer with the destination listed by the DestLister thread', async () => {
    const { DestLister } = await import('../../src/engine/dest-lister');
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'same.txt': 'a', 'new.txt': 'b', 'newdir/x': 'c', 'conflict': 'file-in-src', 'd2/y': 'y', 'd2/z': 'z', 'l': { link: 'same.txt' } });
    writeTree(dst, { 'same.txt': 'a', 'old.txt': 'o', 'olddir/q': 'q', 'conflict/inner': 'dir-in-dst', 'd2/z': 'z', 'd2/extra': 'e', 'l': { link: 'elsewhere' } });
    for (const p of ['same.txt', 'd2/z']) {
      fs.utimesSync(path.join(src, p), 1_600_000_000, 1_600_000_000);
      fs.utimesSync(path.join(dst, p), 1_600_000_000, 1_600_000_000);
    }
    const lister = new DestLister(Buffer.from(dst), 'default');
    try {
      const out = { srcOnly: [] as string[], dstOnly: [] as string[], both: [] as string[], same: [] as string[] };
      const differ = new Differ(Buffer.from(dst), undefined, true);
      for (const l of walk(src, { fastStat: true })) {
        differ.diff(
          l,
          {
            srcOnly: (e) => out.srcOnly.push(e.rel.toString()),
            dstOnly: (e) => out.dstOnly.push(e.rel.toString() + (e.kind === 'dir' ? '/' : '')),
            both: (s, d) => out.both.push(`${s.rel}:${s.kind}/${d.kind}${d.linkTarget ? '->' + d.linkTarget.toString() : ''}`),
            same: (s) => out.same.push(s.rel.toString()),
          },
          await lister.list(l),
        );
      }
      for (const k of Object.keys(out) as (keyof typeof out)[]) out[k].sort();
      assert.deepEqual(out.srcOnly, ['d2/y', 'new.txt', 'newdir', 'newdir/x']);
      assert.deepEqual(out.both, ['conflict:file/dir', 'd2:dir/dir', 'l:symlink/symlink->elsewhere']);
      assert.deepEqual(out.same, ['d2/z', 'same.txt'], 'quick check done on the lister thread');
      assert.deepEqual(out.dstOnly, ['d2/extra', 'old.txt', 'olddir/']);
    } finally {
      await lister.close();
    }
  });

  it("applies the quick check itself in a merged march (sorted names) and falls back to the map march for unsorted ones", function () {
    if (nativeScanner() === undefined) this.skip(); // the merged march runs on the native scan only
    const src = tempDir();
    const dst = tempDir();
    const spec = {
      'same.txt': 'a', 'B-upper': 'b', 'a.b': 'ab', 'new.txt': 'n', 'newdir/x': 'c', 'conflict': 'file-in-src',
      'd2/y': 'y', 'd2/z': 'z', 'older.txt': 'same size', 'size.txt': 'short', 'l': { link: 'same.txt' }, 'zz': 'last',
    };
    writeTree(src, spec);
    writeTree(dst, {
      'same.txt': 'a', 'B-upper': 'b', 'a.b': 'ab', 'old.txt': 'o', 'olddir/q': 'q', 'conflict/inner': 'dir-in-dst', 'd2/z': 'z',
      'd2/extra': 'e', 'older.txt': 'same SIZE', 'size.txt': 'longer', 'l': { link: 'elsewhere' }, 'zz': 'last', 'zzz-dst': 'only',
    });
    fs.writeFileSync(Buffer.concat([Buffer.from(src + '/'), Buffer.from([0x66, 0xff])]), 'latin');
    fs.writeFileSync(Buffer.concat([Buffer.from(dst + '/'), Buffer.from([0x66, 0xff])]), 'latin');
    for (const p of [...Object.keys(spec).filter((p) => p !== 'l' && p !== 'newdir/x'), '\x66\xff']) {
      const rel = p === '\x66\xff' ? Buffer.from([0x66, 0xff]) : Buffer.from(p);
      for (const root of [src, dst]) {
        const abs = Buffer.concat([Buffer.from(root + '/'), rel]);
        if (fs.existsSync(abs) && fs.lstatSync(abs).isFile()) fs.utimesSync(abs, 1_600_000_000.5, 1_600_000_000.5);
      }
    }
    fs.utimesSync(path.join(dst, 'older.txt'), 1_500_000_000, 1_500_000_000);
    const listings = [...walk(src)];
    const run = (quick: 'default' | null, reorder: boolean) => {
      const out = { srcOnly: [] as string[], dstOnly: [] as string[], both: [] as string[], same: [] as string[] };
      const differ = new Differ(Buffer.from(dst), undefined, true, quick);
      for (const l0 of listings) {
        const l = reorder ? { dir: l0.dir, entries: [...l0.entries].reverse() } : l0;
        const at = (e: Entry, i: number): void => assert.equal(l.entries[i], e, 'the position passed is the entry\'s in the listing');
        differ.diff(l, {
          srcOnly: (e, i) => (at(e, i), out.srcOnly.push(e.rel.toString('latin1'))),
          dstOnly: (e) => out.dstOnly.push(e.rel.toString('latin1') + (e.kind === 'dir' ? '/' : '')),
          both: (s, d, i) => (at(s, i), out.both.push(`${s.rel.toString('latin1')}:${s.kind}/${d.kind}${d.linkTarget ? '->' + d.linkTarget.toString() : ''}${d.kind === 'file' ? `:${d.size}` : ''}`)),
          same: (s, i) => (at(s, i), out.same.push(s.rel.toString('latin1'))),
        });
      }
      for (const k of Object.keys(out) as (keyof typeof out)[]) out[k].sort();
      return out;
    };
    const merged = run('default', false);
    assert.deepEqual(merged.same, ['B-upper', 'a.b', 'd2/z', 'f\xff', 'same.txt', 'zz']);
    assert.deepEqual(merged.both, ['conflict:file/dir', 'd2:dir/dir', 'l:symlink/symlink->elsewhere', 'older.txt:file/file:9', 'size.txt:file/file:6']);
    assert.deepEqual(merged.srcOnly, ['d2/y', 'new.txt', 'newdir', 'newdir/x']);
    assert.deepEqual(merged.dstOnly, ['d2/extra', 'old.txt', 'olddir/', 'zzz-dst']);
    // Without the quick check every matched name goes to both(); the partition is the same.
    const plain = run(null, false);
    assert.deepEqual(plain.same, []);
    assert.deepEqual(plain.both, [...merged.both, ...merged.same.map((p) => `${p}:file/file:${fs.lstatSync(Buffer.concat([Buffer.from(dst + '/'), Buffer.from(p, 'latin1')])).size}`)].sort());
    assert.deepEqual([plain.srcOnly, plain.dstOnly], [merged.srcOnly, merged.dstOnly]);
    // A listing not in ascending name order (a manifest is not trusted to be sorted): the map march.
    const unsorted = run('default', true);
    assert.deepEqual(unsorted, plain);
  });

  it('does not report destination entries the filter excludes, nor look inside excluded dest dirs', () => {
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'a.txt': 'a' });
    writeTree(dst, { 'a.txt': 'a', 'keep.log': 'excluded', 'cache/x': 'excluded dir', 'gone.txt': 'candidate' });
    const r = march(src, dst, new Filter({ excludes: ['*.log', 'cache/'], includes: [], gitignore: false }));
    assert.deepEqual(r.dstOnly, ['gone.txt']);
  });
});
