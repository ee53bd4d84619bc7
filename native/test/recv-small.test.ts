/**
 * blit_recv_small (native/src/batch.ts loadRecvSmall) fed frames as a lying peer sends them:
 * lengths and indices are the peer's, so the C scan must stop (RecvStop.Other, nothing claimed,
 * nothing written) or wait for bytes (Partial) instead of trusting them, and names it writes go
 * into their directory fd only. The daemon's tests (transfer-stream-small-push) cover the same
 * through a real blitd; these reach the C parser directly, one rule each.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BATCH_STEPS, loadRecvSmall, RECV_OUT, RECV_ROW, RecvStop, type RecvSmall } from '../src/index';
import { makeTempDir } from './helpers';

const START = 1;
const DATA = 2;
const END = 3;
const EINVAL = 22;
const OPTS = { preserveOwner: false, umask: 0o022, temp: { prefix: 0xabc, counter: 1 } };

function frame(type: number, index: bigint, payload: Buffer | number = 0): Buffer {
  const h = Buffer.alloc(17);
  h[0] = type;
  h.writeBigUInt64BE(index, 1);
  const len = typeof payload === 'number' ? BigInt(payload) : BigInt(payload.length);
  h.writeBigUInt64BE(len, 9);
  return typeof payload === 'number' ? h : Buffer.concat([h, payload]);
}

/** One expected file: index 0 -> row 0, `size` bytes, named `name` in dir id 0, claim slot 0. */
function table(name: string, size: number): { rowOf: Int32Array; rows: Uint8Array; names: Buffer } {
  const rows = new Uint8Array(RECV_ROW);
  const v = new DataView(rows.buffer);
  v.setBigInt64(0, BigInt(size), true);
  v.setBigInt64(8, 1_600_000_000_123_456_789n, true);
  v.setUint32(16, 0o640, true);
  v.setUint32(28, 0, true); // claim slot
  v.setUint32(32, 0, true); // dir id
  v.setUint32(36, 0, true); // name offset
  v.setUint32(40, Buffer.byteLength(name), true);
  return { rowOf: Int32Array.of(0), rows, names: Buffer.from(name) };
}

describe('native: blit_recv_small against frames from a lying peer', () => {
  let recv: RecvSmall;
  let t: ReturnType<typeof makeTempDir>;
  let dirFd: number;
  before(() => {
    const r = loadRecvSmall();
    assert.ok(r, 'blit_recv_small not loaded (native library built by npm ci)');
    recv = r;
  });
  beforeEach(() => {
    t = makeTempDir('recvsmall');
    fs.mkdirSync(path.join(t.dir, 'd'));
    dirFd = fs.openSync(path.join(t.dir, 'd'), fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  });
  afterEach(() => {
    fs.closeSync(dirFd);
    t.remove();
  });

  /** Scan `buf` for the one-file table; the answer, the claim cell and what is in the directory. */
  function scan(buf: Buffer, name = 'f', size = 5): { consumed: number; reason: number; files: { err: number; step: number }[]; claim: number; entries: string[] } {
    const tb = table(name, size);
    const claims = new Int32Array(new SharedArrayBuffer(4));
    const out = new Uint8Array(RECV_OUT.HEADER + 4 * RECV_OUT.FILE);
    recv(buf, tb.rowOf, tb.rows, 1, tb.names, tb.names.length, Int32Array.of(dirFd), claims, 0, out, OPTS);
    const o32 = new Int32Array(out.buffer);
    const files: { err: number; step: number }[] = [];
    for (let k = 0; k < o32[RECV_OUT.FILES]!; k++) {
      const at = (RECV_OUT.HEADER + k * RECV_OUT.FILE) / 4;
      files.push({ err: o32[at + 2]!, step: o32[at + 3]! });
    }
    return { consumed: o32[RECV_OUT.CONSUMED]!, reason: o32[RECV_OUT.REASON]!, files, claim: claims[0]!, entries: fs.readdirSync(path.join(t.dir, 'd')).sort() };
  }

  it('a well-formed file is written exactly, with its mode and ns mtime', () => {
    const buf = Buffer.concat([frame(START, 0n), frame(DATA, 0n, Buffer.from('he')), frame(DATA, 0n, Buffer.from('llo')), frame(END, 0n)]);
    const r = scan(buf);
    assert.deepEqual(r.files, [{ err: 0, step: 0 }]);
    assert.equal(r.consumed, buf.length);
    assert.equal(r.reason, RecvStop.Partial);
    assert.deepEqual(r.entries, ['f']);
    const st = fs.statSync(path.join(t.dir, 'd/f'), { bigint: true });
    assert.equal(fs.readFileSync(path.join(t.dir, 'd/f'), 'latin1'), 'hello');
    assert.equal(Number(st.mode & 0o777n), 0o640);
    assert.equal(st.mtimeNs, 1_600_000_000_123_456_789n);
  });

  const lies: { what: string; buf: Buffer; reason: number }[] = [
    { what: 'a DATA length of 2^64-1', buf: Buffer.concat([frame(START, 0n), frame(DATA, 0n, 0), Buffer.alloc(0)]).fill(0xff, 26, 34), reason: RecvStop.Other },
    { what: 'a DATA length past the buffer (waits, claims nothing)', buf: Buffer.concat([frame(START, 0n), frame(DATA, 0n, 5), Buffer.from('he')]), reason: RecvStop.Partial },
    { what: 'more bytes than the manifest size', buf: Buffer.concat([frame(START, 0n), frame(DATA, 0n, Buffer.from('hello!')), frame(END, 0n)]), reason: RecvStop.Other },
    { what: 'fewer bytes than the manifest size', buf: Buffer.concat([frame(START, 0n), frame(DATA, 0n, Buffer.from('hell')), frame(END, 0n)]), reason: RecvStop.Other },
    { what: 'a zero-length DATA', buf: Buffer.concat([frame(START, 0n), frame(DATA, 0n, 0), frame(DATA, 0n, Buffer.from('hello')), frame(END, 0n)]), reason: RecvStop.Other },
    { what: 'an index past the table (2^64-1)', buf: Buffer.concat([frame(START, 0xffffffffffffffffn), frame(END, 0xffffffffffffffffn)]), reason: RecvStop.Other },
    { what: 'DATA of another index', buf: Buffer.concat([frame(START, 0n), frame(DATA, 1n, Buffer.from('hello')), frame(END, 0n)]), reason: RecvStop.Other },
    { what: 'a FILE_START with a length', buf: Buffer.concat([frame(START, 0n, Buffer.from('x')), frame(DATA, 0n, Buffer.from('hello')), frame(END, 0n)]), reason: RecvStop.Other },
    { what: 'a FILE_END with a length', buf: Buffer.concat([frame(START, 0n), frame(DATA, 0n, Buffer.from('hello')), frame(END, 0n, Buffer.from('x'))]), reason: RecvStop.Other },
    { what: 'an unknown frame type', buf: Buffer.concat([frame(START, 0n), frame(9, 0n, Buffer.from('hello')), frame(END, 0n)]), reason: RecvStop.Other },
    { what: 'a header cut short', buf: frame(START, 0n).subarray(0, 10), reason: RecvStop.Partial },
  ];
  for (const l of lies) {
    it(`${l.what}: stops at the file's start, nothing claimed or written`, () => {
      const r = scan(l.buf);
      assert.equal(r.reason, l.reason);
      assert.equal(r.consumed, 0);
      assert.deepEqual(r.files, []);
      assert.equal(r.claim, 0, 'claim cell untouched: the decoder takes the file');
      assert.deepEqual(r.entries, []);
    });
  }

  for (const name of ['a/b', 'a\0b', '..', '.']) {
    it(`a name ${JSON.stringify(name)} fails that file, nothing outside its directory, no temp`, () => {
      fs.mkdirSync(path.join(t.dir, 'd/a'));
      const buf = Buffer.concat([frame(START, 0n), frame(DATA, 0n, Buffer.from('hello')), frame(END, 0n)]);
      const r = scan(buf, name);
      // refused by its name (EINVAL at step 'path'), not by whatever syscall it would reach
      assert.deepEqual(r.files, [{ err: EINVAL, step: BATCH_STEPS.indexOf('path') }]);
      assert.equal(r.claim, 1, 'claimed: the failure is this call\'s answer');
      assert.deepEqual(r.entries, ['a']);
      assert.deepEqual(fs.readdirSync(path.join(t.dir, 'd/a')), []);
      assert.deepEqual(fs.readdirSync(t.dir).sort(), ['d']);
    });
  }

  it('counts past the views are refused before the C side reads them (RangeError)', () => {
    const tb = table('f', 5);
    const claims = new Int32Array(new SharedArrayBuffer(4));
    const out = new Uint8Array(RECV_OUT.HEADER + RECV_OUT.FILE);
    const buf = Buffer.concat([frame(START, 0n), frame(DATA, 0n, Buffer.from('hello')), frame(END, 0n)]);
    assert.throws(() => recv(buf, tb.rowOf, tb.rows, 2, tb.names, tb.names.length, Int32Array.of(dirFd), claims, 0, out, OPTS), RangeError);
    assert.throws(() => recv(buf, tb.rowOf, tb.rows, 1, tb.names, tb.names.length + 1, Int32Array.of(dirFd), claims, 0, out, OPTS), RangeError);
    assert.throws(() => recv(buf, tb.rowOf, tb.rows, 1, tb.names, tb.names.length, Int32Array.of(dirFd), claims, 0, new Uint8Array(RECV_OUT.HEADER), OPTS), RangeError);
    assert.equal(claims[0], 0);
    assert.deepEqual(fs.readdirSync(path.join(t.dir, 'd')), []);
  });
});
