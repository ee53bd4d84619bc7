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
      assert.equal(source.entries.length, files + 8 + 1);
      assert.ok(seenAt !== undefined && seenAt < batches, `an immediate ran after batch ${seenAt} of ${batches}`);
    } finally {
      t.cleanup();
    }
  });
});
