/**
 * The daemon's pull pins a needed file's directory when a sender takes the file from the send
 * queue (ManifestSource.take via SendQueue's take hook), not while it waits in the queue: an fd
 * per queued file's directory ran a pull of thousands of directories into EMFILE (2026-11-21; the
 * real-blitd test is fd-limit-remote.test.ts). Here, on real files and a real DirAnchor: queued
 * files hold no fd, a taken one holds its directory until released, and a directory swapped for a
 * symlink leading out between the need and the take fails that file alone (PathEscape), its path
 * never opened, the next file still sent.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as native from '@blit/native';
import { DirAnchor } from '../../src/daemon/beneath';
import { SendQueue, failureFor, type OutgoingFile } from '../../src/remote/data-sender';
import { ManifestSource } from '../../src/remote/source';
import { noFilter } from '../../src/engine/filter';
import type { Failure } from '../../src/engine/types';
import { tempDir } from './harness';

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

describe('send queue: a file\'s directory is pinned when a sender takes it', () => {
  before(function () {
    if (!native.loadOpenBeneath().open) assert.fail(`openat2 is not available here (${native.loadOpenBeneath().error?.message})`);
  });

  it('queued files hold no fd; a taken one holds its directory until released; a swap before the take fails that file only', async () => {
    const t = tempDir('blit-take-');
    const mod = path.join(t.dir, 'module');
    const outside = path.join(t.dir, 'outside');
    try {
      const DIRS = 200;
      for (let d = 0; d < DIRS; d++) {
        fs.mkdirSync(path.join(mod, `d${d}`), { recursive: true });
        fs.writeFileSync(path.join(mod, `d${d}`, 'f.txt'), `inside ${d}`);
      }
      fs.mkdirSync(outside);
      fs.writeFileSync(path.join(outside, 'f.txt'), 'SECRET');
      const source = new ManifestSource({
        abs: Buffer.from(mod),
        filter: noFilter(),
        checksum: false,
        onError: (f) => assert.fail(`scan failure ${JSON.stringify(f)}`),
        anchorAt: (abs) => new DirAnchor(mod, abs),
      });
      try {
        for await (const _ of source.batches()) void _;
        // Let the walk's deferred closes run (beneath.ts closes dropped fds after the turn).
        await new Promise((r) => setImmediate(r));
        const failures: Failure[] = [];
        const queue = new SendQueue((f) => {
          try {
            source.take(f);
            return true;
          } catch (err) {
            failures.push(failureFor(f, err));
            source.release(f);
            return false;
          }
        });
        const before = openFds();
        for (let i = 0; i < source.count; i++) {
          if (source.entryAt(i)!.kind === 'file') queue.push(source.fileFor(i));
        }
        queue.close();
        assert.equal(queue.totalFiles, DIRS);
        assert.ok(openFds() <= before + 1, `queueing ${DIRS} files opened ${openFds() - before} fds`);

        // d7 is swapped for a symlink leading out after its need, before its take.
        fs.renameSync(path.join(mod, 'd7'), path.join(t.dir, 'd7-away'));
        fs.symlinkSync(outside, path.join(mod, 'd7'));

        const got = new Map<string, string>();
        let held = 0;
        for (let f: OutgoingFile | undefined = await queue.next(); f; f = await queue.next()) {
          // Taken: its directory is pinned (an fd), the path goes through /proc/self/fd/N.
          assert.match(f.abs.toString(), /^\/proc\/self\/fd\/\d+\/f\.txt$/);
          got.set(f.entry.rel.toString(), fs.readFileSync(f.abs, 'utf8'));
          held++;
          if (held === 50) assert.ok(openFds() >= before + 40, `50 taken files hold their directories (${openFds() - before} fds)`);
        }
        assert.equal(got.size, DIRS - 1);
        assert.equal(got.has('d7/f.txt'), false);
        for (const [rel, content] of got) assert.equal(content, `inside ${rel.slice(1, rel.indexOf('/'))}`);
        assert.equal(failures.length, 1, JSON.stringify(failures));
        assert.equal(failures[0]!.path, 'd7/f.txt');
        assert.equal(failures[0]!.code, 'PathEscape');
        assert.match(failures[0]!.reason, /d7: .*symlink/);
      } finally {
        source.close();
      }
    } finally {
      t.cleanup();
    }
  });
});
