import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { lstatValues, mtimeMsOf, usesRawBinding, ST_BLOCKS, ST_GID, ST_MODE, ST_SIZE, ST_UID } from '../../src/engine/fast-lstat';
import { fastFileEntry } from '../../src/engine/walk';
import { cleanupTemps, setOddMtime, tempDir } from './helpers';

describe('engine: fast lstat (raw stat numbers, no Stats object)', () => {
  afterEach(cleanupTemps);

  it('gives the numbers fs.lstatSync gives for a file, a directory and a symlink, ns mtimes included', () => {
    const root = tempDir();
    const file = path.join(root, 'f');
    fs.writeFileSync(file, 'x'.repeat(5000));
    fs.chmodSync(file, 0o640);
    setOddMtime(file, 1_700_000_123); // an mtime with odd ns: the double-ms form must match Stats.mtimeMs bit for bit
    fs.mkdirSync(path.join(root, 'd'));
    fs.symlinkSync('f', path.join(root, 'l'));
    for (const p of [file, path.join(root, 'd'), path.join(root, 'l')]) {
      const st = fs.lstatSync(p);
      const v = lstatValues(Buffer.from(p));
      assert.deepEqual(
        [v[ST_MODE], v[ST_UID], v[ST_GID], v[ST_SIZE], v[ST_BLOCKS], mtimeMsOf(v)],
        [st.mode, st.uid, st.gid, st.size, st.blocks, st.mtimeMs],
        `${p} (raw binding used: ${usesRawBinding})`,
      );
    }
    const e = fastFileEntry(Buffer.from(file), Buffer.from('f'));
    assert.equal(e?.kind, 'file');
    assert.equal(e?.size, 5000);
    assert.equal(e?.mode, 0o640);
    assert.equal(e?.mtimeMs, fs.lstatSync(file).mtimeMs);
  });

  it('throws the errno errors fs.lstatSync throws (ENOENT, ENOTDIR) with code and path', () => {
    const root = tempDir();
    fs.writeFileSync(path.join(root, 'f'), '');
    for (const p of [path.join(root, 'missing'), path.join(root, 'f', 'below')]) {
      let expected: NodeJS.ErrnoException | undefined;
      try {
        fs.lstatSync(p);
      } catch (err) {
        expected = err as NodeJS.ErrnoException;
      }
      assert.throws(() => lstatValues(Buffer.from(p)), (err: NodeJS.ErrnoException) => err.code === expected!.code && err.message === expected!.message);
    }
  });

  it('a dirent that said "file" but is now a directory is stat-ed as a directory', () => {
    const root = tempDir();
    fs.mkdirSync(path.join(root, 'x'));
    assert.equal(fastFileEntry(Buffer.from(path.join(root, 'x')), Buffer.from('x'))?.kind, 'dir');
  });

  it('falls back to fs.lstatSync (same numbers, no deprecation warning) under --pending-deprecation', () => {
    const root = tempDir();
    const file = path.join(root, 'f');
    fs.writeFileSync(file, 'abc');
    setOddMtime(file, 1_600_000_001);
    const mod = path.join(__dirname, '../../src/engine/fast-lstat.js');
    const script = `const f = require(${JSON.stringify(mod)}); const v = f.lstatValues(Buffer.from(${JSON.stringify(file)}));
      console.log(JSON.stringify([f.usesRawBinding, v[f.ST_SIZE], v[f.ST_MODE], f.mtimeMsOf(v)]));`;
    const run = spawnSync(process.execPath, ['--pending-deprecation', '-e', script], { encoding: 'utf8' });
    assert.equal(run.stderr, '');
    const st = fs.lstatSync(file);
    assert.deepEqual(JSON.parse(run.stdout), [false, 3, st.mode, st.mtimeMs]);
  });
});
