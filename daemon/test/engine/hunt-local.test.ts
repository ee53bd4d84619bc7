/** Awkward local trees and arguments (hunt-local, 2026-11-21): overlapping source and destination. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BlitError } from '../../src/engine/errors';
import { cleanupTemps, listTree, opts, run, tempDir, writeTree } from './helpers';

const overlap = (re: RegExp) => (e: unknown): boolean => e instanceof BlitError && e.code === 'SourceInsideDestination' && re.test(e.message);

describe('engine: a source inside its destination', function () {
  this.timeout(60_000);
  afterEach(cleanupTemps);

  it('mirror x/a/ x/ is refused before anything is touched (it would delete its own source), also through a symlinked spelling', async () => {
    const x = tempDir();
    writeTree(x, { 'a/f': 'one', 'a/sub/g': 'two', 't': 'top' });
    fs.symlinkSync('.', path.join(x, 'self'));
    const before = listTree(x);
    for (const [s, d] of [[path.join(x, 'a') + '/', x], [path.join(x, 'a') + '/', path.join(x, 'self') + '/'], [path.join(x, 'self', 'a', 'sub') + '/', path.join(x, 'a', '..')]]) {
      await assert.rejects(run(s!, d!, opts({ mode: 'mirror', deleteConfirmed: true })), overlap(/inside the destination .*delete its own source/));
    }
    assert.deepEqual(listTree(x), before);
  });

  it('copy and move x/a/ x/ are refused when the source holds the path back to itself (x/a/a/f would overwrite x/a/f), allowed otherwise', async () => {
    const x = tempDir();
    writeTree(x, { 'a/f': 'one', 'a/a/f': 'inner' });
    const before = listTree(x);
    for (const mode of ['copy', 'move'] as const) {
      await assert.rejects(run(path.join(x, 'a') + '/', x, opts({ mode })), overlap(/holds a: the (copy|move) would write over its own source/));
    }
    assert.deepEqual(listTree(x), before);
    assert.equal(fs.readFileSync(path.join(x, 'a', 'f'), 'utf8'), 'one');
    // No path back into the source: moving a directory's contents up one level is fine.
    fs.rmSync(path.join(x, 'a', 'a'), { recursive: true });
    const r = await run(path.join(x, 'a') + '/', x, opts({ mode: 'move' }));
    assert.deepEqual(r.summary.failures, []);
    assert.deepEqual(listTree(x), ['a/', 'f']);
    assert.equal(fs.readFileSync(path.join(x, 'f'), 'utf8'), 'one');
  });
});

describe('engine: a type conflict in a plain copy', function () {
  this.timeout(60_000);
  afterEach(cleanupTemps);

  it('a dry run refuses the non-empty directory the real run refuses (it listed delete + create), and itemizes an empty one it replaces', async () => {
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'x': 'file', 'e': 'file' });
    writeTree(dst, { 'x/keep': 'k', 'e/': null });
    for (const dryRun of [true, false]) {
      const r = await run(src + '/', dst, opts({ dryRun, deleteConfirmed: dryRun }));
      assert.deepEqual(r.summary.failures.map((f) => `${f.path} ${f.code}`), ['x NotADirectory'], `dryRun ${dryRun}`);
      assert.deepEqual(r.items('delete'), ['e'], `dryRun ${dryRun}`);
      assert.deepEqual(r.items('create'), ['e'], `dryRun ${dryRun}`);
      assert.equal(r.summary.entriesDeleted, 1);
    }
    assert.deepEqual(listTree(dst), ['e', 'x/', 'x/keep']);
  });
});
