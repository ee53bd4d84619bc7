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
import { unpackEntries, type PackedEntry } from '../../src/remote/manifest-pack';
import { noFilter } from '../../src/engine/filter';
import { tempDir } from './harness';

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
      assert.deepEqual(f.entry, sent[fileIdx]!.entry);
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
});
