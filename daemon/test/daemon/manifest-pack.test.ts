/**
 * Packed manifest records (ManifestBatch.packed): every field survives the round trip byte for
 * byte (non-UTF-8 names, pre-1970 and ns mtimes, symlink targets, checksums), and a record no
 * honest peer sends is a BadFrame, never a crash or a wrong entry.
 */
import { strict as assert } from 'node:assert';
import { packEntries, putNs, unpackEntries, type PackedEntry } from '../../src/remote/manifest-pack';
import { BlitError } from '../../src/engine/errors';
import type { Entry } from '../../src/engine/types';

const entries: PackedEntry[] = [
  { entry: { rel: Buffer.from('docs'), kind: 'dir', size: 0, mtimeNs: 981173106123456789n, mode: 0o755, uid: 0, gid: 0 }, checksum: undefined },
  { entry: { rel: Buffer.from([0x64, 0x2f, 0xff, 0xfe]), kind: 'file', size: 2 ** 40 + 3, mtimeNs: -1234567891n, mode: 0o600, uid: 1000, gid: 4294967295 }, checksum: Buffer.alloc(32, 9) },
  { entry: { rel: Buffer.from('l'), kind: 'symlink', size: 0, mtimeNs: 5n, mode: 0o777, uid: 1, gid: 2, linkTarget: Buffer.from('../x') }, checksum: undefined },
  { entry: { rel: Buffer.from('empty'), kind: 'file', size: 0, mtimeNs: 0n, mode: 0o644, uid: 0, gid: 0 }, checksum: undefined },
];

function badFrame(buf: Buffer, mention: RegExp): void {
  assert.throws(() => unpackEntries(buf), (e: unknown) => e instanceof BlitError && e.code === 'BadFrame' && mention.test(e.message));
}

describe('packed manifest records', () => {
  it('writes sec * 1e9 + nsec as the i64 BigInt arithmetic gives, without a BigInt, and refuses what an i64 cannot hold', () => {
    const dv = new DataView(new ArrayBuffer(8));
    const secs = [0, 1, -1, 2 ** 16 - 1, 2 ** 16, -(2 ** 16), 2 ** 31, -(2 ** 31), 2 ** 32 + 7, 1_700_000_000, -2_208_988_800, 9_223_372_035, -9_223_372_035, 9_223_372_036, -9_223_372_036, 9_223_372_037, -9_223_372_037, 2 ** 37, -(2 ** 37), 10_413_792_000];
    for (let i = 0; i < 2000; i++) secs.push(Math.floor((Math.random() - 0.5) * 2 ** (1 + (i % 38))));
    for (const sec of secs) {
      for (const nsec of [0, 1, 65535, 65536, 123_456_789, 999_999_999, Math.floor(Math.random() * 1e9)]) {
        const ns = BigInt(sec) * 1_000_000_000n + BigInt(nsec);
        dv.setBigInt64(0, 42n, true);
        const fits = ns === BigInt.asIntN(64, ns);
        assert.equal(putNs(dv, 0, sec, nsec), fits, `${sec} s ${nsec} ns fits: ${fits}`);
        assert.equal(dv.getBigInt64(0, true), fits ? ns : 42n, `${sec} s ${nsec} ns`);
      }
    }
  });

  it('round-trips every field', () => {
    const back = unpackEntries(packEntries(entries));
    assert.equal(back.length, entries.length);
    back.forEach((b, i) => {
      const want: Entry = entries[i]!.entry;
      assert.ok(b.entry.rel.equals(want.rel), `rel ${i}`);
      assert.equal(b.entry.kind, want.kind);
      assert.equal(b.entry.size, want.size);
      assert.equal(b.entry.mtimeNs, want.mtimeNs);
      assert.equal(b.entry.mode, want.mode);
      assert.equal(b.entry.uid, want.uid);
      assert.equal(b.entry.gid, want.gid);
      assert.deepEqual(b.entry.linkTarget, want.linkTarget);
      assert.deepEqual(b.checksum, entries[i]!.checksum);
    });
    assert.deepEqual(unpackEntries(Buffer.alloc(0)), []);
  });

  it('refuses truncated records, unknown kinds and flags, absurd sizes as BadFrame', () => {
    const one = packEntries([entries[1]!]);
    for (let cut = 1; cut < one.length; cut++) badFrame(one.subarray(0, cut), /truncated/);
    const kind = Buffer.from(one);
    kind[0] = 9;
    badFrame(kind, /unknown entry kind 9/);
    const flags = Buffer.from(one);
    flags[1] = 0x80;
    badFrame(flags, /unknown flags/);
    const size = Buffer.from(one);
    size.writeBigUInt64LE(1n << 60n, 6 + 4);
    badFrame(size, /invalid size/);
    // The boundary: 2^53 - 1 is the largest size taken (read as two u32 halves), 2^53 is refused.
    const largest = Buffer.from(one);
    largest.writeBigUInt64LE(BigInt(Number.MAX_SAFE_INTEGER), 6 + 4);
    assert.equal(unpackEntries(largest)[0]!.entry.size, Number.MAX_SAFE_INTEGER);
    size.writeBigUInt64LE(1n << 53n, 6 + 4);
    badFrame(size, /invalid size 9007199254740992/);
    const longName = Buffer.from(one);
    longName.writeUInt32LE(1 << 30, 2);
    badFrame(longName, /path of 1073741824 bytes/);
  });
});
