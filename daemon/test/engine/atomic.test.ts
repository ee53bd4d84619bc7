import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AtomicFile, removeStaleTemps } from '../../src/engine/atomic';
import { defaultMetaOptions } from '../../src/engine/metadata';
import { newCopyContext } from '../../src/engine/copy';
import { cleanupTemps, listTree, tempDir, tempsUnder } from './helpers';

describe('engine: AtomicFile', () => {
  afterEach(cleanupTemps);
  const meta = { mode: 0o640, uid: 0, gid: 0, mtimeNs: 1_600_000_000_123_456_789n };

  it('commit puts data, mode and ns mtime under the real name; nothing else is left', () => {
    const dir = tempDir();
    const f = new AtomicFile(Buffer.from(dir), Buffer.from('out.txt'));
    f.write(Buffer.from('hello '));
    f.write(Buffer.from('world'));
    assert.equal(fs.existsSync(path.join(dir, 'out.txt')), false, 'real name not visible before commit');
    f.commit(meta, defaultMetaOptions());
    assert.equal(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8'), 'hello world');
    const st = fs.statSync(path.join(dir, 'out.txt'), { bigint: true });
    assert.equal(Number(st.mode) & 0o7777, 0o640);
    assert.equal(st.mtimeNs, meta.mtimeNs);
    assert.deepEqual(listTree(dir), ['out.txt']);
  });

  it('abort removes the temp and leaves an existing real file untouched', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'keep.txt'), 'original');
    const f = new AtomicFile(Buffer.from(dir), Buffer.from('keep.txt'));
    f.write(Buffer.from('half-writ'));
    assert.equal(tempsUnder(dir).length, 1);
    f.abort();
    f.abort();
    assert.equal(fs.readFileSync(path.join(dir, 'keep.txt'), 'utf8'), 'original');
    assert.deepEqual(tempsUnder(dir), []);
  });

  it('copies from a source fd, and replaces an existing file atomically', () => {
    const dir = tempDir();
    const srcPath = path.join(dir, 'src.bin');
    const data = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
    fs.writeFileSync(srcPath, data);
    fs.writeFileSync(path.join(dir, 'dst.bin'), 'old');
    const fd = fs.openSync(srcPath, 'r');
    const f = new AtomicFile(Buffer.from(dir), Buffer.from('dst.bin'));
    const n = f.copyFromFd(fd, data.length, undefined, '', newCopyContext(['copy_file_range', 'readwrite']));
    fs.closeSync(fd);
    f.commit(meta, defaultMetaOptions());
    assert.equal(n, data.length);
    assert.ok(fs.readFileSync(path.join(dir, 'dst.bin')).equals(data));
  });

  it('long names get a temp name that still fits NAME_MAX', () => {
    const dir = tempDir();
    const name = Buffer.from('n'.repeat(255));
    const f = new AtomicFile(Buffer.from(dir), name);
    f.write(Buffer.from('x'));
    f.commit(meta, defaultMetaOptions());
    assert.deepEqual(listTree(dir), ['n'.repeat(255)]);
  });

  it('removeStaleTemps cleans temps left by a killed writer, and only those', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'real'), 'r');
    const f = new AtomicFile(Buffer.from(dir), Buffer.from('real'));
    fs.closeSync(f.fd); // simulate a writer that died without abort()
    assert.equal(removeStaleTemps(Buffer.from(dir), Buffer.from('real')), 1);
    assert.deepEqual(listTree(dir), ['real']);
  });
});
