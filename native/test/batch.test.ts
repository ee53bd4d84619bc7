/**
 * The native batch library (native/csrc/blit_batch.c via native/src/batch.ts) on real files.
 * The library is built by `npm ci` (native/scripts/build-native.js); these tests require it, so
 * a machine whose build silently fell back is noticed here.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { batchError, loadNativeBatch, nativeBatchLoadError, type CopyItem, type NativeBatch } from '../src/index';
import { makeTempDir, randomBytes } from './helpers';

const TEMP_RE = /^\.blit\..*\.[0-9a-f]{12}\.tmp$/;
const UMASK = process.umask();
const SCRATCH = Buffer.alloc(256 * 1024);
let counter = 1;
const temp = (n: number): { prefix: number; counter: number } => ({ prefix: 0xb1b1b1, counter: (counter += n) - n });

function item(src: string, dstDir: string, name = path.basename(src), over: Partial<CopyItem> = {}): CopyItem {
  const st = fs.lstatSync(src, { bigint: true });
  return {
    src: Buffer.from(src).toString('latin1'),
    dstDir: Buffer.from(dstDir).toString('latin1'),
    name: Buffer.from(name).toString('latin1'),
    size: Number(st.size),
    mtimeNs: st.mtimeNs,
    mtimeMs: -1,
    mtimeExact: true,
    mode: Number(st.mode) & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    ...over,
  };
}

const opts = (over: Partial<Parameters<NativeBatch['copyBatch']>[1]> = {}): Parameters<NativeBatch['copyBatch']>[1] => ({
  preserveOwner: false,
  umask: UMASK,
  noAtime: true,
  scratch: SCRATCH,
  temp: temp(64),
  ...over,
});

describe('native: batch library (copyBatch / writeBatch)', () => {
  let batch: NativeBatch;
  let t: ReturnType<typeof makeTempDir>;
  before(function () {
    const b = loadNativeBatch();
    assert.ok(b, `native batch library not loaded: ${nativeBatchLoadError()?.message} (built by npm ci: node native/scripts/build-native.js)`);
    batch = b;
  });
  beforeEach(() => {
    t = makeTempDir('batch');
    fs.mkdirSync(t.file('src'));
    fs.mkdirSync(t.file('dst'));
  });
  afterEach(() => t.remove());

  it('copies a batch exactly: bytes, ns mtime (exact and Node-ms comparisons), mode; no temp left', () => {
    const items: CopyItem[] = [];
    for (let i = 0; i < 50; i++) {
      const p = t.file(`src/f${i}`);
      fs.writeFileSync(p, randomBytes(i * 1301)); // includes an empty file
      fs.chmodSync(p, i % 2 ? 0o640 : 0o755);
      fs.utimesSync(p, 1_500_000_000 + i, 1_500_000_000.123456 + i);
      const ms = fs.lstatSync(p).mtimeMs;
      items.push(item(p, t.file('dst'), `f${i}`, i % 3 === 0 ? { mtimeExact: false, mtimeNs: 0n, mtimeMs: ms } : {}));
    }
    const res = batch.copyBatch(items, opts());
    assert.deepEqual(res.map((r) => r.status), items.map(() => 'done'));
    for (let i = 0; i < 50; i++) {
      const a = fs.statSync(t.file(`src/f${i}`), { bigint: true });
      const b = fs.statSync(t.file(`dst/f${i}`), { bigint: true });
      assert.ok(fs.readFileSync(t.file(`dst/f${i}`)).equals(fs.readFileSync(t.file(`src/f${i}`))), `f${i}`);
      assert.equal(b.mtimeNs, a.mtimeNs, `f${i} mtime`);
      assert.equal(Number(b.mode) & 0o7777, Number(a.mode) & 0o7777, `f${i} mode`);
      assert.equal(res[i]!.bytes, i * 1301);
      assert.ok(res[i]!.doneMs > Date.now() - 60_000 && res[i]!.doneMs <= Date.now() + 1);
    }
    assert.equal(fs.readdirSync(t.file('dst')).filter((n) => TEMP_RE.test(n)).length, 0);
  });

  it('keeps non-UTF-8 and 255-byte names byte-exact (temp names stay under NAME_MAX)', () => {
    const odd = Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x74]);
    const long = Buffer.alloc(255, 0x61);
    const src = Buffer.from(t.file('src'));
    const items: CopyItem[] = [];
    for (const name of [odd, long]) {
      const p = Buffer.concat([src, Buffer.from('/'), name]);
      fs.writeFileSync(p, name);
      const st = fs.lstatSync(p, { bigint: true });
      items.push({ src: p.toString('latin1'), dstDir: Buffer.from(t.file('dst')).toString('latin1'), name: name.toString('latin1'), size: name.length, mtimeNs: st.mtimeNs, mtimeMs: -1, mtimeExact: true, mode: 0o644, uid: 0, gid: 0 });
    }
    assert.deepEqual(batch.copyBatch(items, opts()).map((r) => r.status), ['done', 'done']);
    const names = fs.readdirSync(t.file('dst'), { encoding: 'buffer' });
    assert.equal(names.length, 2);
    assert.ok(names.some((n) => n.equals(odd)) && names.some((n) => n.equals(long)));
  });

  it('reports each failure with errno and step, and leaves nothing behind; the rest of the batch copies', () => {
    fs.writeFileSync(t.file('src/ok'), 'fine');
    fs.writeFileSync(t.file('src/gone'), 'x');
    fs.writeFileSync(t.file('src/nodir'), 'y');
    fs.writeFileSync(t.file('src/isdir'), 'z');
    fs.mkdirSync(t.file('dst/isdir')); // rename of a file over a directory: EISDIR
    const items = [item(t.file('src/gone'), t.file('dst')), item(t.file('src/nodir'), t.file('dst/missing')), item(t.file('src/isdir'), t.file('dst')), item(t.file('src/ok'), t.file('dst'))];
    fs.unlinkSync(t.file('src/gone'));
    const res = batch.copyBatch(items, opts());
    assert.deepEqual(res.map((r) => [r.status, r.errno, r.step]), [
      ['failed', 2, 'open'],
      ['failed', 2, 'open'],
      ['failed', 21, 'rename'],
      ['done', 0, ''],
    ]);
    assert.match(batchError(res[2]!, t.file('dst/isdir')).message, /^EISDIR: .*, rename '.*isdir'$/);
    assert.deepEqual(fs.readdirSync(t.file('dst')).sort(), ['isdir', 'ok']);
    assert.deepEqual(fs.readdirSync(t.file('dst/isdir')), []);
  });

  it('a source that differs from the given size or mtime is "changed" and the destination is untouched', () => {
    fs.writeFileSync(t.file('src/a'), 'version one');
    fs.writeFileSync(t.file('src/b'), 'same size 1');
    fs.writeFileSync(t.file('dst/a'), 'old destination');
    const a = item(t.file('src/a'), t.file('dst'));
    const b = item(t.file('src/b'), t.file('dst'));
    fs.writeFileSync(t.file('src/a'), 'version two, longer');
    const res = batch.copyBatch([a, { ...b, mtimeNs: b.mtimeNs + 1n }, { ...b, mtimeExact: false, mtimeMs: 12345.678 }], opts());
    assert.deepEqual(res.map((r) => r.status), ['changed', 'changed', 'changed']);
    assert.equal(fs.readFileSync(t.file('dst/a'), 'utf8'), 'old destination');
    assert.deepEqual(fs.readdirSync(t.file('dst')), ['a']);
  });

  it('stops before the next file when cancelled, bumping the heartbeat per file it started', () => {
    for (const n of ['a', 'b']) fs.writeFileSync(t.file(`src/${n}`), n);
    const cancel = new Int32Array(new SharedArrayBuffer(8));
    cancel[0] = 1;
    const res = batch.copyBatch([item(t.file('src/a'), t.file('dst')), item(t.file('src/b'), t.file('dst'))], opts({ cancel }));
    assert.deepEqual(res.map((r) => r.status), ['not-run', 'not-run']);
    assert.deepEqual(fs.readdirSync(t.file('dst')), []);
    cancel[0] = 0;
    batch.copyBatch([item(t.file('src/a'), t.file('dst'))], opts({ cancel }));
    assert.equal(cancel[1], 1);
  });

  it('createParents makes a missing destination directory (and its parents) 0700; without it ENOENT', () => {
    fs.writeFileSync(t.file('src/a'), 'deep');
    const deep = t.file('dst/x/y/z');
    const without = batch.copyBatch([item(t.file('src/a'), deep)], opts());
    assert.deepEqual([without[0]!.status, without[0]!.errno, without[0]!.step], ['failed', 2, 'open']);
    assert.deepEqual(fs.readdirSync(t.file('dst')), []);
    const res = batch.copyBatch([item(t.file('src/a'), deep), item(t.file('src/a'), t.file('dst/x'), 'b')], opts({ createParents: true }));
    assert.deepEqual(res.map((r) => r.status), ['done', 'done']);
    assert.equal(fs.readFileSync(path.join(deep, 'a'), 'utf8'), 'deep');
    for (const d of ['dst/x', 'dst/x/y', 'dst/x/y/z']) assert.equal(fs.statSync(t.file(d)).mode & 0o777, 0o700, d);
    fs.writeFileSync(t.file('dst/file'), 'not a directory');
    const blocked = batch.copyBatch([item(t.file('src/a'), t.file('dst/file/sub'))], opts({ createParents: true }));
    assert.deepEqual([blocked[0]!.status, blocked[0]!.errno], ['failed', 20]); // ENOTDIR
  });

  it('does not follow a symlink given as the source', () => {
    fs.writeFileSync(t.file('target'), 'secret');
    fs.symlinkSync(t.file('target'), t.file('src/link'));
    const res = batch.copyBatch([{ ...item(t.file('target'), t.file('dst')), src: Buffer.from(t.file('src/link')).toString('latin1'), name: 'link' }], opts());
    assert.equal(res[0]!.status, 'failed');
    assert.equal(res[0]!.errno, 40); // ELOOP
    assert.deepEqual(fs.readdirSync(t.file('dst')), []);
  });

  it('writeBatch writes in-memory contents atomically with mode and ns mtime (pre-1970 too)', () => {
    const data = [randomBytes(5000), Buffer.alloc(0), Buffer.from('over')];
    fs.writeFileSync(t.file('dst/c'), 'previous');
    const times = [1_700_000_000_123_456_789n, -1_500_000_001n, 42n];
    const res = batch.writeBatch(
      ['a', 'b', 'c'].map((n, i) => ({ dir: Buffer.from(t.file('dst')), name: Buffer.from(n), data: data[i]!, mode: [0o600, 0o4755, 0o640][i]!, uid: 0, gid: 0, mtimeNs: times[i]! })),
      { preserveOwner: false, umask: UMASK, temp: temp(3) },
    );
    assert.deepEqual(res.map((r) => r.status), ['done', 'done', 'done']);
    ['a', 'b', 'c'].forEach((n, i) => {
      const st = fs.statSync(t.file(`dst/${n}`), { bigint: true });
      assert.ok(fs.readFileSync(t.file(`dst/${n}`)).equals(data[i]!), n);
      assert.equal(st.mtimeNs, times[i], `${n} mtime`);
      assert.equal(Number(st.mode) & 0o7777, [0o600, 0o4755, 0o640][i], `${n} mode`);
    });
    assert.deepEqual(fs.readdirSync(t.file('dst')).sort(), ['a', 'b', 'c']);
  });

  it('writeBatch reports a failure per file (missing directory) and writes the others', () => {
    const res = batch.writeBatch(
      [
        { dir: Buffer.from(t.file('dst/none')), name: Buffer.from('x'), data: Buffer.from('1'), mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n },
        { dir: Buffer.from(t.file('dst')), name: Buffer.from('y'), data: Buffer.from('2'), mode: 0o644, uid: 0, gid: 0, mtimeNs: 0n },
      ],
      { preserveOwner: false, umask: UMASK, temp: temp(2) },
    );
    assert.deepEqual(res.map((r) => [r.status, r.errno, r.step]), [
      ['failed', 2, 'open'],
      ['done', 0, ''],
    ]);
    assert.deepEqual(fs.readdirSync(t.file('dst')), ['y']);
  });

  it('writeBatch with a directory fd writes into the directory the fd names (not its old path) and refuses a name that is not one component', () => {
    const fd = fs.openSync(t.file('dst'), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      // The directory moves after it was opened and another takes its path: the files follow the fd.
      fs.renameSync(t.file('dst'), t.file('moved'));
      fs.mkdirSync(t.file('dst'));
      // Were "../escaped" addressed relative to the fd as given, its temp would be created in this
      // directory and renamed to ../escaped, out of the directory the fd pins.
      fs.mkdirSync(t.file('moved/.blit...'));
      const w = (name: string, data: string) => ({ dir: Buffer.from(t.file('dst')), dirFd: fd, name: Buffer.from(name), data: Buffer.from(data), mode: 0o640, uid: 0, gid: 0, mtimeNs: 1_600_000_000_000_000_001n });
      const res = batch.writeBatch([w('a', 'one'), w('../escaped', 'two'), w('sub/b', 'three'), w('c', '')], { preserveOwner: false, umask: UMASK, temp: temp(4) });
      assert.deepEqual(res.map((r) => [r.status, r.errno, r.step]), [
        ['done', 0, ''],
        ['failed', 22, 'path'],
        ['failed', 22, 'path'],
        ['done', 0, ''],
      ]);
      assert.deepEqual(fs.readdirSync(t.file('moved')).sort(), ['.blit...', 'a', 'c']);
      assert.deepEqual(fs.readdirSync(t.file('moved/.blit...')), []);
      assert.deepEqual(fs.readdirSync(t.file('dst')), []);
      assert.equal(fs.existsSync(t.file('escaped')), false);
      assert.equal(fs.readFileSync(t.file('moved/a'), 'utf8'), 'one');
      const st = fs.statSync(t.file('moved/a'), { bigint: true });
      assert.equal(st.mtimeNs, 1_600_000_000_000_000_001n);
      assert.equal(Number(st.mode) & 0o777, 0o640);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('writeBatch with a directory fd fails a name that is not one entry (\'.\', \'..\', \'\', a NUL, past NAME_MAX) at step path, creating nothing', () => {
    const fd = fs.openSync(t.file('dst'), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      const w = (name: Buffer) => ({ dir: Buffer.alloc(0), dirFd: fd, name, data: Buffer.from('x'), mode: 0o640, uid: 0, gid: 0, mtimeNs: 1_600_000_000_000_000_001n });
      const names = [Buffer.from('.'), Buffer.from('..'), Buffer.alloc(0), Buffer.from('a\0b'), Buffer.alloc(256, 0x78), Buffer.alloc(255, 0x79)];
      const res = batch.writeBatch(names.map(w), { preserveOwner: false, umask: UMASK, temp: temp(names.length) });
      // '.' and '..' would otherwise reach the rename (EBUSY) after a temp was created and written
      assert.deepEqual(res.map((r) => [r.status, r.errno, r.step]), [
        ['failed', 22, 'path'],
        ['failed', 22, 'path'],
        ['failed', 22, 'path'],
        ['failed', 22, 'path'],
        ['failed', 36, 'path'],
        ['done', 0, ''],
      ]);
      assert.deepEqual(fs.readdirSync(t.file('dst')), ['y'.repeat(255)]);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('BLIT_NATIVE_BATCH=0 disables the library (callers keep their per-file path)', () => {
    const code = `const n = require(${JSON.stringify(path.join(__dirname, '..', 'src', 'index.js'))}); process.stdout.write(String(n.loadNativeBatch() === undefined) + ' ' + n.nativeBatchLoadError().message)`;
    const r = spawnSync(process.execPath, ['-e', code], { env: { ...process.env, BLIT_NATIVE_BATCH: '0' }, encoding: 'utf8' });
    assert.equal(r.stdout, 'true disabled by BLIT_NATIVE_BATCH=0');
  });
});
