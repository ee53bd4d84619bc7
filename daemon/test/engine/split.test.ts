/** A huge file split into ranges copied by several workers (thresholds lowered via debug). */
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cleanupTemps, listTree, mtimeNs, opts, run, tempDir, tempsUnder } from './helpers';

const MiB = 1024 * 1024;
const splitDebug = { workers: 2, hugeFileSplitBytes: 2 * MiB };

describe('engine: huge file split across workers', function () {
  this.timeout(60_000);
  afterEach(cleanupTemps);

  it('copies the file byte for byte with its ns mtime and mode, no temp left', async () => {
    const src = tempDir();
    const dst = tempDir();
    const data = crypto.randomBytes(9 * MiB + 123);
    fs.writeFileSync(path.join(src, 'huge.bin'), data, { mode: 0o640 });
    fs.chmodSync(path.join(src, 'huge.bin'), 0o640);
    const r = await run(src + '/', dst, opts({ debug: splitDebug }));
    assert.deepEqual(r.summary.failures, []);
    assert.equal(r.summary.filesTransferred, 1);
    assert.equal(r.summary.bytesTransferred, data.length);
    assert.ok(fs.readFileSync(path.join(dst, 'huge.bin')).equals(data));
    assert.equal(mtimeNs(path.join(dst, 'huge.bin')), mtimeNs(path.join(src, 'huge.bin')));
    assert.equal(fs.statSync(path.join(dst, 'huge.bin')).mode & 0o7777, 0o640);
    assert.deepEqual(listTree(dst), ['huge.bin']);
    const named = r.events.flatMap((e) => (e.type === 'fileStart' || e.type === 'fileDone' ? [`${e.type}:${e.rel.toString()}`] : []));
    assert.deepEqual(named, ['fileStart:huge.bin', 'fileDone:huge.bin'], 'a big file is named while in flight');
  });

  it('a huge file that changes during the copy fails as SourceChanged; the old destination stays', async () => {
    const src = tempDir();
    const dst = tempDir();
    fs.writeFileSync(path.join(src, 'huge.bin'), Buffer.alloc(6 * MiB, 1));
    fs.writeFileSync(path.join(dst, 'huge.bin'), 'old');
    const r = await run(src + '/', dst, opts({ debug: splitDebug }), (e) => {
      if (e.type === 'item' && e.rel.toString() === 'huge.bin') fs.appendFileSync(path.join(src, 'huge.bin'), 'more');
    });
    assert.deepEqual(r.summary.failures.map((f) => [f.path, f.code]), [['huge.bin', 'SourceChanged']]);
    assert.equal(fs.readFileSync(path.join(dst, 'huge.bin'), 'utf8'), 'old');
    assert.deepEqual(tempsUnder(dst), []);
  });

  it('move of a split file removes the source only after the commit', async () => {
    const src = tempDir();
    const dst = tempDir();
    const data = crypto.randomBytes(5 * MiB);
    fs.writeFileSync(path.join(src, 'huge.bin'), data);
    const r = await run(src + '/', dst, opts({ mode: 'move', debug: splitDebug }));
    assert.deepEqual(r.summary.failures, []);
    assert.ok(fs.readFileSync(path.join(dst, 'huge.bin')).equals(data));
    assert.deepEqual(listTree(src), []);
  });
});
