/**
 * DirAnchor's fd cache (daemon/beneath.ts) with more directories held than it caches: a path
 * handed out by acquire() stays valid (it names the same directory) until release(), the fds
 * nobody holds stay bounded while many are held, and once released the cache shrinks again.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as native from '@blit/native';
import { DirAnchor, MAX_CACHED } from '../../src/daemon/beneath';
import { tempDir } from './harness';

/** Open fds of this process naming a directory below `dir`. */
function fdsBelow(dir: string): number {
  let n = 0;
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    try {
      const to = fs.readlinkSync(`/proc/self/fd/${fd}`);
      if (to === dir || to.startsWith(`${dir}/`)) n++;
    } catch {
      // closed meanwhile (the readdir's own fd)
    }
  }
  return n;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('DirAnchor fd cache: many directories held at once', function () {
  this.timeout(60_000);
  let tmp: { dir: string; cleanup: () => void };

  before(function () {
    if (!native.loadOpenBeneath().open) assert.fail(`openat2 is not available here (${native.loadOpenBeneath().error?.message})`);
    tmp = tempDir('blit-anchor-cache-');
  });
  after(() => tmp.cleanup());

  it('held paths stay valid, unheld fds stay bounded, the cache shrinks once released', async () => {
    const mod = fs.realpathSync(tmp.dir);
    const held = MAX_CACHED + 500;
    const extra = 3 * MAX_CACHED;
    for (let i = 0; i < held + extra; i++) fs.mkdirSync(path.join(mod, `d${i}`));
    const anchor = new DirAnchor(mod, Buffer.from(mod));
    assert.ok(anchor.anchored);
    const rel = (i: number): Buffer => Buffer.from(`d${i}`);
    const ino = (i: number): number => fs.statSync(path.join(mod, `d${i}`)).ino;
    const paths: Buffer[] = [];
    for (let i = 0; i < held; i++) paths.push(Buffer.from(anchor.acquire(rel(i))));
    // Directories nobody holds, used one synchronous turn each (evictions close after the turn).
    for (let i = held; i < held + extra; i++) {
      assert.equal(fs.statSync(anchor.dir(rel(i))).ino, ino(i), `d${i}`);
      if (i % 64 === 0) await tick();
    }
    await tick();
    for (let i = 0; i < held; i++) assert.equal(fs.statSync(paths[i]!).ino, ino(i), `held d${i} still names its directory`);
    const open = fdsBelow(mod);
    assert.ok(open >= held, `every held directory stays open (${open} < ${held})`);
    assert.ok(open <= held + MAX_CACHED + 1, `unheld fds bounded: ${open - held} beside ${held} held`);
    for (let i = 0; i < held; i++) anchor.release(rel(i));
    // New directories after the release: the cache falls back to at most MAX_CACHED (+1 for the module root).
    for (let i = 0; i < MAX_CACHED; i++) {
      assert.equal(fs.statSync(anchor.dir(rel(held + i))).ino, ino(held + i));
      if (i % 64 === 0) await tick();
    }
    await tick();
    const after = fdsBelow(mod);
    assert.ok(after <= MAX_CACHED + 1, `released directories closed: ${after} fds open`);
    anchor.close();
    await tick();
    assert.equal(fdsBelow(mod), 0);
  });
});
