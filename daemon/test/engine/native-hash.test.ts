/**
 * --checksum's digests: the native XXH3-128 (native/csrc/blit_hash.c, the xxHash header) must give
 * hash-wasm's bytes exactly, on every size class XXH3 treats differently (0, 1-3, 4-16, 17-128,
 * 129-240, longer; stripes, blocks, HashQueue's one-chunk bound): client and blitd compare hashes
 * across the wire, and an older (WASM) peer or a build without cc must agree with a native one.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as native from '@blit/native';
import { createXXHash128 } from 'hash-wasm';
import { hashBuffer, hashFd, hashFdUntil, hashFile, HashQueue, initChecksum, openToHash } from '../../src/engine/checksum';
import { cleanupTemps, tempDir } from './helpers';

const MiB = 1 << 20;
const KiB = 1024;
// XXH3's size classes, then checksum.ts's NATIVE_MIN_BYTES (128 KiB) and one-chunk (1 MiB) bounds.
const SIZES = [0, 1, 3, 4, 16, 17, 128, 129, 240, 241, KiB, KiB + 1, 4 * KiB + 3, 128 * KiB - 1, 128 * KiB, 128 * KiB + 1, MiB - 1, MiB, MiB + 1, 9 * MiB + 7];

/** hash-wasm's XXH3-128 of `data`, as an older blit or a build without the native library sends it. */
async function wasmDigest(data: Uint8Array): Promise<string> {
  const h = await createXXHash128();
  h.init();
  h.update(data);
  return h.digest('hex');
}

describe('checksum digests (native XXH3-128 = hash-wasm XXH3-128)', () => {
  after(cleanupTemps);

  let root: string;
  const files: Array<{ file: string; data: Buffer; want: string }> = [];
  before(async () => {
    await initChecksum();
    root = tempDir('hash');
    for (const size of SIZES) {
      const data = randomBytes(size);
      const file = path.join(root, `f${size}`);
      fs.writeFileSync(file, data);
      files.push({ file, data, want: await wasmDigest(data) });
    }
  });

  it('known answers: XXH128 of "" and "abc" (xxhsum -H2), so both sides cannot drift together', () => {
    assert.equal(hashBuffer(Buffer.alloc(0)), '99aa06d3014798d86001c324468d497f');
    assert.equal(hashBuffer(Buffer.from('abc')), '06b05ab6733a618578af5f94892f3950');
  });

  it("every size: hashBuffer, hashFile, hashFdUntil with an odd read buffer, HashQueue (loop and thread) give hash-wasm's digest", async () => {
    const q = new HashQueue(2);
    const odd = Buffer.alloc(4097);
    for (const { file, data, want } of files) {
      const size = data.length;
      assert.equal(hashBuffer(data), want, `hashBuffer, ${size} bytes`);
      assert.equal(hashFile(file), want, `hashFile, ${size} bytes`);
      const fd = fs.openSync(file, 'r');
      try {
        assert.equal(hashFdUntil(fd, undefined, odd), want, `hashFdUntil (4097-byte reads), ${size} bytes`);
        // The copy workers' hashFd with the listed size, and with a listed size that is stale
        // both ways (the file changed since): the hint picks the way, the digest is the file's.
        for (const hint of [size, 0, size + 200 * KiB]) assert.equal(hashFd(fd, hint), want, `hashFd (listed ${hint}), ${size} bytes`);
      } finally {
        fs.closeSync(fd);
      }
      assert.equal(await q.hash(() => openToHash(file)), want, `HashQueue, ${size} bytes`);
    }
  });

  it('HashQueue: a file grown since its fstat is hashed whole (in the loop while it fits one chunk, else on a thread), one shrunk to its new end', async () => {
    const q = new HashQueue(2);
    const opened = (file: string, size: number) => () => ({ fd: fs.openSync(file, 'r'), size });
    for (const { file, data, want } of files) {
      const size = data.length;
      if (size > MiB) continue; // files above a chunk go to a thread by their fstat size anyway
      assert.equal(await q.hash(opened(file, Math.floor(size / 2))), want, `grown from ${Math.floor(size / 2)} to ${size} bytes`);
      assert.equal(await q.hash(opened(file, size + 1)), want, `shrunk from ${size + 1} to ${size} bytes`);
    }
    const big = files.find((f) => f.data.length > MiB)!;
    assert.equal(await q.hash(opened(big.file, 10)), big.want, `grown from 10 to ${big.data.length} bytes: on a thread`);
    await q.pendingAtMost(0); // every fd closed
  });

  it('a set stop cell ends the hash before its first read; a read error is named by its code', () => {
    const stop = new Int32Array(new SharedArrayBuffer(4));
    Atomics.store(stop, 0, 1);
    const fd = fs.openSync(files[files.length - 1]!.file, 'r');
    try {
      assert.equal(hashFdUntil(fd, stop), undefined);
    } finally {
      fs.closeSync(fd);
    }
    const dir = fs.openSync(root, 'r');
    try {
      assert.throws(() => hashFdUntil(dir, undefined), { code: 'EISDIR' });
    } finally {
      fs.closeSync(dir);
    }
  });

  /** The engine's hashFile of every file in a child blit process with `env` (its digests, in order). */
  function childDigests(env: NodeJS.ProcessEnv, wantNative: boolean): string[] {
    const checksum = require.resolve('../../src/engine/checksum');
    const script = `const c = require(${JSON.stringify(checksum)}); c.initChecksum().then(() => {
      if (!!require('@blit/native').loadNativeHash() !== ${wantNative}) throw new Error('native hash loaded: ' + !${wantNative});
      process.stdout.write(JSON.stringify(process.argv.slice(1).map((f) => c.hashFile(f))));
    });`;
    const run = spawnSync(process.execPath, ['-e', script, ...files.map((f) => f.file)], { encoding: 'utf8', env: { ...process.env, ...env } });
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout) as string[];
  }

  it('native: blit_hash_buf and blit_hash_fd (4097-byte reads) give hash-wasm\'s digest on every size; a blit without the library (BLIT_NATIVE_BATCH=0) and one built without the AVX2 dispatch agree', function () {
    if (process.env['BLIT_NATIVE_BATCH'] === '0') this.skip(); // this run IS the fallback; the native run compares all three
    const fast = native.loadNativeHash();
    assert.ok(fast, `native hash not loaded: ${native.nativeBatchLoadError()?.message ?? 'blit_hash_fd missing from the library'}`);
    assert.equal(fast.hashBuffer(Buffer.from('abc')), '06b05ab6733a618578af5f94892f3950');
    const odd = Buffer.alloc(4097);
    for (const { file, data, want } of files) {
      assert.equal(fast.hashBuffer(data), want, `blit_hash_buf, ${data.length} bytes`);
      const fd = fs.openSync(file, 'r');
      try {
        assert.equal(fast.hashFd(fd, odd), want, `blit_hash_fd, ${data.length} bytes`);
      } finally {
        fs.closeSync(fd);
      }
    }
    const want = files.map((f) => f.want);
    assert.deepEqual(files.map((f) => hashFile(f.file)), want);
    assert.deepEqual(childDigests({ BLIT_NATIVE_BATCH: '0' }, false), want);
    // The build's own vector code (SSE2 here; what an aarch64 or pre-AVX2 CPU runs), from the same sources.
    const csrc = path.resolve(__dirname, '../../../../native/csrc');
    const sources = fs.readdirSync(csrc).filter((f) => f.endsWith('.c')).map((f) => path.join(csrc, f));
    const lib = path.join(root, 'libgeneric.so');
    execFileSync(process.env['CC'] || 'cc', ['-O2', '-fPIC', '-shared', '-DBLIT_HASH_NO_DISPATCH', '-o', lib, ...sources]);
    assert.deepEqual(childDigests({ BLIT_NATIVE_LIB: lib }, true), want);
  });
});
