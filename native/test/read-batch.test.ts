/**
 * blit_read_batch (native/src/batch.ts readBatch) on real files: the frames it returns decoded
 * by hand and compared with fs.readFileSync, per-file failures with errno and step.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadNativeBatch, packReadRecords, posixFadvise, readRecordItem, readRecordLength, type NativeBatch, type ReadItem } from '../src/index';
import { makeTempDir, randomBytes } from './helpers';

function decode(frames: Buffer): [number, number, Buffer][] {
  const out: [number, number, Buffer][] = [];
  for (let o = 0; o < frames.length; ) {
    const type = frames[o]!;
    const index = Number(frames.readBigUInt64BE(o + 1));
    const len = Number(frames.readBigUInt64BE(o + 9));
    out.push([type, index, frames.subarray(o + 17, o + 17 + len)]);
    o += 17 + len;
  }
  return out;
}

describe('native: readBatch (the remote sender\'s small files)', () => {
  let batch: NativeBatch;
  let t: ReturnType<typeof makeTempDir>;
  before(() => {
    const b = loadNativeBatch();
    assert.ok(b, 'native batch library not loaded (built by npm ci)');
    batch = b;
  });
  beforeEach(() => (t = makeTempDir('readbatch')));
  afterEach(() => t.remove());

  const item = (p: string | Buffer, index: number, over: Partial<ReadItem> = {}): ReadItem => {
    const st = fs.lstatSync(p, { bigint: true });
    return { index, path: Buffer.from(p), size: Number(st.size), mtimeNs: st.mtimeNs, ...over };
  };

  it('frames every file as FILE_START, DATA, FILE_END with its exact bytes (empty: no DATA)', () => {
    const names = ['a', 'b', 'empty', 'c'];
    const sizes = [1, 8192, 0, 200 * 1024];
    names.forEach((n, i) => fs.writeFileSync(t.file(n), randomBytes(sizes[i]!)));
    const odd = Buffer.concat([Buffer.from(t.dir + '/'), Buffer.from([0xe9, 0xff])]);
    fs.writeFileSync(odd, 'odd');
    const items = [...names.map((n, i) => item(t.file(n), i * 1000)), item(odd, 2 ** 45)];
    const { frames, results } = batch.readBatch(items);
    assert.deepEqual(results.map((r) => [r.status, r.bytes]), [...sizes.map((s) => ['done', s]), ['done', 3]]);
    const expect: [number, number, Buffer][] = [];
    for (const it of items) {
      const body = fs.readFileSync(Buffer.from(it.path));
      expect.push([1, it.index, Buffer.alloc(0)]);
      if (body.length > 0) expect.push([2, it.index, body]);
      expect.push([3, it.index, Buffer.alloc(0)]);
    }
    assert.deepEqual(decode(frames), expect);
  });

  it('a file changed since the listing (size, ns mtime) is "changed"; failures name errno and step; others are framed', () => {
    for (const n of ['ok1', 'sz', 'mt', 'ok2']) fs.writeFileSync(t.file(n), n);
    fs.symlinkSync('ok1', t.file('link'));
    const items = [
      item(t.file('ok1'), 1),
      item(t.file('sz'), 2, { size: 3 }),
      { ...item(t.file('mt'), 3), mtimeNs: item(t.file('mt'), 3).mtimeNs - 1n },
      { index: 4, path: Buffer.from(t.file('missing')), size: 4, mtimeNs: 0n },
      { ...item(t.file('link'), 5), size: 3 },
      item(t.file('ok2'), 6),
    ];
    const { frames, results } = batch.readBatch(items);
    assert.deepEqual(results.map((r) => [r.status, r.errno === 0 ? '' : r.step]), [
      ['done', ''], ['changed', ''], ['changed', ''], ['failed', 'open'], ['failed', 'open'], ['done', ''],
    ]);
    assert.equal(results[3]!.errno, 2); // ENOENT
    assert.equal(results[4]!.errno, 40); // ELOOP: O_NOFOLLOW
    assert.deepEqual(decode(frames).map(([ty, i, b]) => [ty, i, b.toString()]), [
      [1, 1, ''], [2, 1, 'ok1'], [3, 1, ''], [1, 6, ''], [2, 6, 'ok2'], [3, 6, ''],
    ]);
  });

  it('a bigger batch reuses and grows its buffer (frames stay exact)', () => {
    const items: ReadItem[] = [];
    for (let i = 0; i < 300; i++) {
      fs.writeFileSync(t.file(`f${i}`), randomBytes(1 + ((i * 977) % 9000)));
      items.push(item(t.file(`f${i}`), i));
    }
    for (const part of [items.slice(0, 10), items, items.slice(5, 7)]) {
      const { frames, results } = batch.readBatch(part);
      assert.ok(results.every((r) => r.status === 'done'));
      const data = decode(frames).filter(([ty]) => ty === 2);
      assert.deepEqual(data.map(([, i, b]) => [i, b]), part.map((it) => [it.index, fs.readFileSync(Buffer.from(it.path))]));
    }
    assert.ok(path.isAbsolute(t.dir));
  });

  it('files of interleaved directories, named through /proc/self/fd/N/ or not, out of the page cache: exact frames; readRecords lists only the failures', () => {
    // blit_read_batch opens a file's directory once for a run of files in it (openat) and reads
    // ahead only after a read would block (RWF_NOWAIT): every way through must give the same bytes.
    fs.mkdirSync(t.file('d1'));
    fs.mkdirSync(t.file('d2'));
    const dirFd = fs.openSync(t.file('d2'), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      const items: ReadItem[] = [];
      const add = (p: string, shown: string, index: number, bytes: number): void => {
        fs.writeFileSync(p, randomBytes(bytes));
        const fd = fs.openSync(p, 'r');
        fs.fsyncSync(fd); // clean pages can be dropped: the read then misses the cache
        posixFadvise(fd, 0, 0, 4 /* POSIX_FADV_DONTNEED */);
        fs.closeSync(fd);
        items.push(item(shown, index));
      };
      for (let i = 0; i < 12; i++) {
        const size = 1 + ((i * 7919) % 60000);
        if (i % 3 === 0) add(t.file(`d1/f${i}`), t.file(`d1/f${i}`), i, size);
        else if (i % 3 === 1) add(t.file(`d2/f${i}`), `/proc/self/fd/${dirFd}/f${i}`, i, size);
        else add(t.file(`f${i}`), t.file(`f${i}`), i, size);
      }
      // Failures in the middle of a directory's run: a missing file, a missing directory.
      items.splice(4, 0, { index: 100, path: Buffer.from(t.file('d1/missing')), size: 1, mtimeNs: 0n });
      items.splice(8, 0, { index: 101, path: Buffer.from(t.file('gone/f')), size: 1, mtimeNs: 0n });
      const ok = items.filter((it) => it.index < 100);
      const { frames, results } = batch.readBatch(items);
      assert.deepEqual(results.map((r) => (r.status === 'done' ? 'done' : `${r.status} ${r.step} ${r.errno}`)), items.map((it) => (it.index < 100 ? 'done' : 'failed open 2')));
      const bodies = (f: Buffer): [number, Buffer][] => decode(f).filter(([ty]) => ty === 2).map(([, i, b]) => [i, Buffer.from(b)]);
      const expect = ok.map((it): [number, Buffer] => [it.index, fs.readFileSync(Buffer.from(it.path))]);
      assert.deepEqual(bodies(frames), expect);
      const packed = packReadRecords(items);
      const r = batch.readRecords(packed, items.length);
      assert.deepEqual(bodies(r.frames), expect);
      assert.equal(r.bytes, ok.reduce((n, it) => n + it.size, 0));
      assert.deepEqual(r.failed.map((f) => [f.at, f.result.status, f.result.errno]), [[4, 'failed', 2], [8, 'failed', 2]]);
      // The records decode back to the items.
      const back: ReadItem[] = [];
      for (let off = 0; off < packed.length; off += readRecordLength(packed, off)) back.push(readRecordItem(packed, off));
      assert.deepEqual(back.map((b) => [b.index, Buffer.from(b.path).toString(), b.size, b.mtimeNs]), items.map((it) => [it.index, Buffer.from(it.path).toString(), it.size, it.mtimeNs]));
    } finally {
      fs.closeSync(dirFd);
    }
  });
});
