/**
 * `blit copy FILE NEWDIR/` (hunt-cli): a file into a destination that ends in '/' and does not
 * exist yet creates that directory (its parent must exist) and lands the file in it, as rsync
 * does and a push did; locally and on pull it was refused as "destination parent directory does
 * not exist" [InvalidPath].
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listTree, writeTree } from './harness';
import { moduleFixture } from './module-fixture';

describe('hunt-cli: a file into a new DST/ lands as DST/FILE, locally, on push and on pull', function () {
  this.timeout(60_000);
  const fx = moduleFixture('blit-hunt-paths-');

  it('copy, mirror and move create DST and put the file in it; a missing parent is still refused', async () => {
    await fx.start();
    const src = path.join(fx.dir, 'src');
    const out = path.join(fx.dir, 'out');
    fs.mkdirSync(out);
    for (const verb of ['copy', 'mirror', 'move']) {
      writeTree(src, { 'f.txt': verb });
      writeTree(fx.moduleDir, { [`src/${verb}.txt`]: verb });
      const runs = [
        ['local', [verb, '--yes', path.join(src, 'f.txt'), path.join(out, `local-${verb}`) + '/']],
        ['push', [verb, '--yes', path.join(src, 'f.txt'), fx.remote(`push-${verb}/`)]],
        ['pull', [verb, '--yes', fx.remote(`src/${verb}.txt`), path.join(out, `pull-${verb}`) + '/']],
      ] as const;
      for (const [side, args] of runs) {
        if (side === 'push') writeTree(src, { 'f.txt': verb });
        const r = await fx.blit([...args]);
        assert.equal(r.code, 0, `${side} ${verb}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      }
      assert.deepEqual(listTree(path.join(out, `local-${verb}`)), ['f.txt'], verb);
      assert.deepEqual(listTree(path.join(fx.moduleDir, `push-${verb}`)), ['f.txt'], verb);
      assert.deepEqual(listTree(path.join(out, `pull-${verb}`)), [`${verb}.txt`], verb);
    }
    writeTree(src, { 'f.txt': 'x' });
    const missing = await fx.blit(['copy', path.join(src, 'f.txt'), path.join(out, 'no/such/') ]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, /no: destination parent directory does not exist \[InvalidPath\]/);
  });
});
