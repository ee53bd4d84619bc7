/**
 * A source tree holding files with blit's temp names (another transfer's partial files, or a
 * killed run's debris) copies without them, locally, on a push and on a pull: copying one would
 * put a partial file under a real name at the destination (walk.ts BLIT_TEMPS_ARE_NOT_SOURCE).
 * A directory with such a name, and names that only look close, are ordinary entries.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { listTree, writeTree } from './harness';
import { moduleFixture } from './module-fixture';

const TREE: Record<string, string> = {
  'a.txt': 'a',
  '.blit.a.txt.0123456789ab.tmp': 'partial',
  'sub/b.txt': 'b',
  'sub/.blit.b.txt.ba9876543210.tmp': 'partial',
  'sub/.blit.kept': 'not a temp name: no .tmp suffix',
  'sub/blit.x.0123456789ab.tmp': 'not a temp name: no leading dot',
  '.blit.dir.0123456789ab.tmp/c.txt': 'inside a directory that has a temp-like name',
};
const WANT = ['.blit.dir.0123456789ab.tmp', '.blit.dir.0123456789ab.tmp/c.txt', 'a.txt', 'sub', 'sub/.blit.kept', 'sub/b.txt', 'sub/blit.x.0123456789ab.tmp'];

describe('a source holding blit temp files copies without them', function () {
  this.timeout(60_000);
  const fx = moduleFixture('blit-source-temps-');

  it('local copy and mirror', async () => {
    const src = path.join(fx.dir, 'src');
    writeTree(src, TREE);
    for (const verb of ['copy', 'mirror']) {
      const dst = path.join(fx.dir, `dst-${verb}`);
      const r = await fx.blit([verb, '--yes', `${src}/`, dst]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(listTree(dst).sort(), WANT, verb);
    }
  });

  it('push and pull through blitd', async () => {
    const src = path.join(fx.dir, 'src');
    writeTree(src, TREE);
    writeTree(path.join(fx.moduleDir, 'remote-src'), TREE);
    await fx.start();
    const push = await fx.blit(['copy', `${src}/`, fx.remote('pushed/')]);
    assert.equal(push.code, 0, push.stderr);
    assert.deepEqual(listTree(path.join(fx.moduleDir, 'pushed')).sort(), WANT, 'push');
    const pulled = path.join(fx.dir, 'pulled');
    const pull = await fx.blit(['copy', fx.remote('remote-src/'), pulled]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.deepEqual(listTree(pulled).sort(), WANT, 'pull');
  });
});
