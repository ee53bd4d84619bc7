/**
 * The remote destination (remote/destination.ts) on real trees: what it asks for and what a
 * confirmed mirror deletes, with the manifest fed in directly (as push-server / pull-client do).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Destination } from '../../src/remote/destination';
import { defaultMetaOptions } from '../../src/engine/metadata';
import { walk, statEntry } from '../../src/engine/walk';
import type { Entry } from '../../src/engine/types';
import { cleanupTemps, listTree, opts, tempDir, writeTree } from '../engine/helpers';

function destination(root: string, mode: 'mirror' | 'copy') {
  const seen = { need: [] as number[], unchanged: [] as number[], failures: [] as string[] };
  const dest = new Destination({
    rootAbs: Buffer.from(root),
    options: opts({ mode, deleteConfirmed: true }),
    filesFrom: undefined,
    meta: defaultMetaOptions(),
    reportSkips: false,
    smallWorkers: 0,
    hooks: {
      item: () => undefined,
      need: (i) => seen.need.push(i),
      unchanged: (i) => seen.unchanged.push(i),
      failure: (f) => seen.failures.push(`${f.path}: ${f.reason}`),
      fatal: (err) => seen.failures.push(`fatal: ${err.message}`),
    },
  });
  dest.prepareRoot();
  return { dest, seen };
}

describe('remote destination: manifest listings', () => {
  afterEach(cleanupTemps);

  it('needs exactly the changed files by manifest index, and reports the unchanged ones by index', async () => {
    const src = tempDir();
    const dst = tempDir();
    writeTree(src, { 'a/1': 'one', 'a/2': 'two', 'a/3': 'three', 'b/4': 'four', 'top': 'top' });
    writeTree(dst, { 'a/1': 'one', 'a/2': 'TWO!', 'b/4': 'four', 'top': 'top' });
    for (const p of ['a/1', 'a/2', 'a/3', 'b/4', 'top']) {
      fs.utimesSync(path.join(src, p), 1_600_000_000, 1_600_000_000);
      if (fs.existsSync(path.join(dst, p))) fs.utimesSync(path.join(dst, p), 1_600_000_000, 1_600_000_000);
    }
    const entries: Entry[] = [];
    for (const l of walk(src)) entries.push(...l.entries);
    const { dest, seen } = destination(dst, 'copy');
    entries.forEach((e, i) => dest.add(100 + i, e));
    dest.flush();
    const relOf = (i: number): string => entries[i - 100]!.rel.toString();
    assert.deepEqual(seen.need.map(relOf).sort(), ['a/2', 'a/3']);
    assert.deepEqual(seen.unchanged.map(relOf).sort(), ['a/1', 'b/4', 'top']);
    assert.deepEqual(seen.failures, []);
    await dest.close();
  });

  it('a directory whose entries come in two separate listings keeps them all in a confirmed mirror', async () => {
    const dst = tempDir();
    writeTree(dst, { 'd/a': 'a', 'd/b': 'b', 'd/extra': 'x', 'e/x': 'x' });
    const st = (rel: string): Entry => statEntry(Buffer.from(path.join(dst, rel)), Buffer.from(rel))!;
    const { dest, seen } = destination(dst, 'mirror');
    // d/a, then e, then d/b again: the second listing of d must not delete d/a (and the first not d/b).
    const manifest = [st('d'), st('e'), st('d/a'), st('e/x'), st('d/b')];
    manifest.forEach((e, i) => dest.add(i, e));
    dest.finalize(true);
    assert.deepEqual(seen.failures, []);
    assert.deepEqual(listTree(dst), ['d/', 'd/a', 'd/b', 'e/', 'e/x']);
    await dest.close();
  });
});
