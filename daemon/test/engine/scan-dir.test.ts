import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import * as native from '@blit/native';
import { walk } from '../../src/engine/walk';
import { Filter } from '../../src/engine/filter';
import { nativeScanner, scanDir } from '../../src/engine/scan-dir';
import { Differ } from '../../src/engine/differ';
import { DestLister } from '../../src/engine/dest-lister';
import type { Entry } from '../../src/engine/types';
import { cleanupTemps, setOddMtime, tempDir, writeTree } from './helpers';

/**
 * The walk through blit_scan_dir (one native call per directory) must give exactly what the
 * node:fs path gives. Each case walks a real tree here and in a child process with
 * BLIT_NATIVE_BATCH=0 (the node:fs path) and compares everything the walk reports.
 */
const WALK = path.join(__dirname, '../../src/engine/walk.js');
const DIFFER = path.join(__dirname, '../../src/engine/differ.js');
const LISTER = path.join(__dirname, '../../src/engine/dest-lister.js');
const FILTER = path.join(__dirname, '../../src/engine/filter.js');

/** Walk `root` and serialize everything observable (entries, names, failures, skips). */
function dump(walkFn: typeof walk, FilterClass: typeof Filter, root: string, fastStat: boolean, gitignore: boolean): string {
  const out: unknown[] = [];
  const filter = gitignore ? new FilterClass({ excludes: ['*.log'], includes: [], gitignore: true }) : undefined;
  const w = walkFn(root, {
    fastStat,
    ...(filter ? { filter } : {}),
    onError: (f) => out.push(['error', f.path, f.code, f.reason]),
    onSkipped: (rel, why) => out.push(['skipped', rel.toString('hex'), why]),
  });
  for (const l of w) {
    out.push(['dir', l.dir.toString('hex'), l.names]);
    for (const e of l.entries) {
      out.push([e.rel.toString('hex'), e.kind, e.size, String(e.mtimeNs), e.mtimeMs, e.mode, e.uid, e.gid, e.linkTarget?.toString('hex'), e.blocks]);
    }
  }
  out.push(['complete', w.complete]);
  return JSON.stringify(out);
}

function dumpViaFs(root: string, fastStat: boolean, gitignore: boolean): string {
  const script = `const {walk}=require(${JSON.stringify(WALK)});const {Filter}=require(${JSON.stringify(FILTER)});
    process.stdout.write((${dump.toString()})(walk, Filter, ${JSON.stringify(root)}, ${fastStat}, ${gitignore}));`;
  const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, BLIT_NATIVE_BATCH: '0' }, encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

/**
 * Diff src against dst, the destination read by the Differ itself and by the DestLister thread;
 * serialize every callback with the destination entry's metadata. Self-contained (runs in a child).
 */
async function diffDump(walkFn: typeof walk, DifferClass: typeof Differ, Lister: typeof DestLister, src: string, dst: string): Promise<string> {
  const out: string[] = [];
  const show = (e: { rel: Buffer; kind: string; size: number; mtimeNs: bigint; mtimeMs?: number | undefined; mode: number; linkTarget?: Buffer | undefined; blocks?: number | undefined }): string =>
    [e.rel.toString('hex'), e.kind, e.size, String(e.mtimeNs), e.mtimeMs, e.mode, e.linkTarget?.toString('hex'), e.blocks].join(',');
  for (const via of ['differ', 'lister']) {
    const differ = new DifferClass(Buffer.from(dst), undefined, true);
    const lister = via === 'lister' ? new Lister(Buffer.from(dst), 'default') : null;
    while (lister && !lister.usable) await new Promise((r) => setTimeout(r, 5));
    const cb = {
      srcOnly: (e: Entry) => out.push(`${via} srcOnly ${e.rel.toString('hex')}`),
      dstOnly: (e: Entry) => out.push(`${via} dstOnly ${e.rel.toString('hex')} ${e.kind}`),
      both: (s: Entry, d: Entry) => out.push(`${via} both ${s.rel.toString('hex')} ${show(d)}`),
      tempFile: (rel: Buffer) => out.push(`${via} temp ${rel.toString('hex')}`),
    };
    for (const l of walkFn(src, { fastStat: true })) {
      let listed;
      try {
        listed = lister ? await lister.list(l) : undefined;
        differ.diff(l, cb, listed);
      } catch (err) {
        out.push(`${via} error ${(err as NodeJS.ErrnoException).code} ${(err as Error).message}`);
      }
    }
    await lister?.close();
  }
  return JSON.stringify(out);
}

/** Equal dumps; on a difference, show where (the dumps are large). */
function assertSame(a: string, b: string, what: string): void {
  if (a === b) return;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  assert.fail(`${what}: native and node:fs walks differ at ${i}:\n native  ...${a.slice(Math.max(0, i - 200), i + 200)}\n node:fs ...${b.slice(Math.max(0, i - 200), i + 200)}`);
}

describe('engine: walk through the native directory scan (blit_scan_dir)', function () {
  this.timeout(30000);
  afterEach(cleanupTemps);

  const haveNative = nativeScanner() !== undefined;

  it('the native scanner is used when the library is built (else this file checks the fallback against itself)', function () {
    if (process.env['BLIT_NATIVE_BATCH'] === '0') this.skip();
    assert.ok(haveNative, `native library not loaded: ${native.nativeBatchLoadError()?.message}`);
  });

  it('gives the same entries, names, metadata, skips and failures as the node:fs walk', function () {
    const root = tempDir();
    writeTree(root, {
      'a.txt': 'hello',
      'sub/b.bin': Buffer.alloc(3000, 1),
      'sub/deeper/c': 'c',
      'sub/link-to-dir': { link: '../sub' },
      'dangling': { link: 'nowhere/at/all' },
      'emptydir': null,
      'x.log': 'excluded by the filter',
      '.gitignore': 'ignored-dir/\n*.tmp\n',
      'ignored-dir/inside': 'never descended with --gitignore',
      'keep.tmp': 't',
    });
    setOddMtime(path.join(root, 'a.txt'), 1_700_000_123);
    fs.utimesSync(path.join(root, 'sub/b.bin'), -1_000_000.5, -1_000_000.25); // before 1970
    fs.chmodSync(path.join(root, 'sub/b.bin'), 0o4751);
    fs.writeFileSync(Buffer.concat([Buffer.from(root + '/sub/'), Buffer.from([0x66, 0xff, 0xfe, 0x2e])]), 'non-utf8');
    const sparse = path.join(root, 'sparse');
    fs.writeFileSync(sparse, '');
    fs.truncateSync(sparse, 64 << 20); // st_blocks 0 with a large size: sparse detection reads blocks
    spawnSync('mkfifo', [path.join(root, 'sub/fifo')]);
    // A directory bigger than the first scan buffer (256 KiB): the native side asks for more.
    fs.mkdirSync(path.join(root, 'big'));
    for (let i = 0; i < 4000; i++) fs.writeFileSync(path.join(root, 'big', `file-with-a-longish-name-${i}`), '');
    for (const fast of [false, true]) {
      for (const gitignore of [false, true]) {
        const here = dump(walk, Filter, root, fast, gitignore);
        assertSame(here, dumpViaFs(root, fast, gitignore), `fastStat ${fast}, gitignore ${gitignore}`);
        assert.match(here, /skipped/); // the FIFO, with the same warning
      }
    }
  });

  it('a walk root that is a symlink to a directory is read as before; a vanished root is the same failure', () => {
    const real = tempDir();
    writeTree(real, { 'f': 'x', 'd/g': 'y' });
    const holder = tempDir();
    const link = path.join(holder, 'root-link');
    fs.symlinkSync(real, link);
    assertSame(dump(walk, Filter, link, false, false), dumpViaFs(link, false, false), 'root symlink');
    const gone = path.join(holder, 'missing');
    const here = dump(walk, Filter, gone, false, false);
    assert.match(here, /"complete",false/);
    assertSame(here, dumpViaFs(gone, false, false), 'vanished root');
  });

  it('the differ and the destination lister give the same answer as with node:fs', async () => {
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'same.txt': 'a', 'changed.txt': 'new', 'new.txt': 'b', 'conflict': 'file-in-src', 'dirlink/x': 'a dir in the source', 'd2/y': 'y', 'd2/z': 'z', 'l': { link: 'same.txt' }, 'fifo-in-dst': 'f' });
    writeTree(dst, { 'same.txt': 'a', 'changed.txt': 'old!', 'old.txt': 'o', 'olddir/q': 'q', 'conflict/inner': 'dir-in-dst', 'dirlink': { link: '../' }, 'd2/z': 'z', 'd2/extra': 'e', 'l': { link: 'elsewhere' }, '.blit.same.txt.000001000002.tmp': 't' });
    spawnSync('mkfifo', [path.join(dst, 'fifo-in-dst')]);
    const t = fs.statSync(path.join(src, 'same.txt'));
    fs.utimesSync(path.join(dst, 'same.txt'), t.atime, t.mtime);
    const here = await diffDump(walk, Differ, DestLister, src, dst);
    const script = `const {walk}=require(${JSON.stringify(WALK)});const {Differ}=require(${JSON.stringify(DIFFER)});const {DestLister}=require(${JSON.stringify(LISTER)});
      (${diffDump.toString()})(walk, Differ, DestLister, ${JSON.stringify(src)}, ${JSON.stringify(dst)}).then((s) => process.stdout.write(s));`;
    const r = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, BLIT_NATIVE_BATCH: '0' }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assertSame(here, r.stdout, 'differ');
    assert.match(here, /lister both/);
  });

  it('names the directory and the cause like readdirSync when a directory cannot be opened', function () {
    if (!haveNative) this.skip();
    const root = tempDir();
    const file = path.join(root, 'plain');
    fs.writeFileSync(file, 'x');
    for (const p of [path.join(root, 'missing'), file]) {
      let fsErr: NodeJS.ErrnoException | undefined;
      try {
        fs.readdirSync(p);
      } catch (err) {
        fsErr = err as NodeJS.ErrnoException;
      }
      assert.throws(() => scanDir(nativeScanner()!, Buffer.from(p), false), (err: NodeJS.ErrnoException) => err.code === fsErr!.code && err.message === fsErr!.message);
    }
    // Below the root a directory is opened O_NOFOLLOW: a symlink swapped in is refused, not read.
    const target = tempDir();
    fs.symlinkSync(target, path.join(root, 'swapped'));
    assert.throws(() => scanDir(nativeScanner()!, Buffer.from(path.join(root, 'swapped')), false), /ELOOP|ENOTDIR/);
    assert.equal(scanDir(nativeScanner()!, Buffer.from(path.join(root, 'swapped')), true), 0);
  });
});
