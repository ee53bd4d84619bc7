/**
 * The worker's batch runner (copy-task.ts): sources of a batch are opened and read ahead up front,
 * then copied in order. Real files; the runner runs in this thread, as it does while workers start.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createBatchRunner } from '../../src/engine/copy-task';
import { defaultMetaOptions } from '../../src/engine/metadata';
import { ErrorCodes } from '../../src/engine/errors';
import type { FileTask, WorkerInit } from '../../src/engine/worker-protocol';
import { cleanupTemps, listTree, tempDir } from './helpers';

function openFds(): number {
  return fs.readdirSync('/proc/self/fd').length;
}

function initFor(cancel = new SharedArrayBuffer(8)): WorkerInit {
  return { meta: defaultMetaOptions(), order: ['copy_file_range', 'readwrite'], cancel, needHash: false };
}

function taskFor(id: number, src: string, dstDir: string): FileTask {
  const st = fs.lstatSync(src, { bigint: true });
  return {
    id,
    src: Buffer.from(src).toString('latin1'),
    dstDir: Buffer.from(dstDir).toString('latin1'),
    name: Buffer.from(path.basename(src)).toString('latin1'),
    size: Number(st.size),
    mtimeNs: st.mtimeNs,
    mtimeMs: -1,
    mode: Number(st.mode) & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    blocks: Number(st.blocks),
    hashFirst: false,
    removeSource: false,
    verifyByHash: false,
  };
}

describe('engine: batch runner (prefetched sources)', () => {
  afterEach(cleanupTemps);

  it('copies every file of a batch exactly (bytes, ns mtime) and leaves no descriptor open', () => {
    const src = tempDir();
    const dst = tempDir();
    const tasks: FileTask[] = [];
    for (let i = 0; i < 40; i++) {
      const p = path.join(src, `f${i}`);
      fs.writeFileSync(p, Buffer.alloc(i * 997, i)); // includes an empty file
      fs.utimesSync(p, 1_600_000_000 + i, 1_600_000_000 + i);
      tasks.push(taskFor(i + 1, p, dst));
    }
    const before = openFds();
    const results = createBatchRunner(initFor())(tasks).results;
    assert.equal(openFds(), before);
    assert.deepEqual(results.map((r) => r.status), tasks.map(() => 'copied'));
    for (const t of tasks) {
      const name = t.name;
      assert.ok(fs.readFileSync(path.join(dst, name)).equals(fs.readFileSync(path.join(src, name))), name);
      assert.equal(fs.statSync(path.join(dst, name), { bigint: true }).mtimeNs, t.mtimeNs, name);
    }
  });

  it('a source changed after the batch opened it is SourceChanged and the destination is left alone', () => {
    const src = tempDir();
    const dst = tempDir();
    const p = path.join(src, 'a');
    fs.writeFileSync(p, 'version one');
    fs.writeFileSync(path.join(dst, 'a'), 'old destination');
    const task = taskFor(1, p, dst);
    fs.writeFileSync(p, 'version two, longer'); // after the scan, before the copy
    const [r] = createBatchRunner(initFor())([task]).results;
    assert.equal(r!.status, 'failed');
    assert.equal(r!.code, ErrorCodes.SourceChanged);
    assert.equal(fs.readFileSync(path.join(dst, 'a'), 'utf8'), 'old destination');
    assert.deepEqual(listTree(dst), ['a']);
  });

  it('a cancelled batch closes the sources it opened ahead and writes nothing', () => {
    const src = tempDir();
    const dst = tempDir();
    const tasks = [1, 2, 3].map((i) => {
      fs.writeFileSync(path.join(src, `f${i}`), `data ${i}`);
      return taskFor(i, path.join(src, `f${i}`), dst);
    });
    const cancel = new SharedArrayBuffer(8);
    new Int32Array(cancel)[0] = 1;
    const before = openFds();
    const results = createBatchRunner(initFor(cancel))(tasks).results;
    assert.equal(openFds(), before);
    assert.deepEqual(results.map((r) => r.status), ['cancelled', 'cancelled', 'cancelled']);
    assert.deepEqual(listTree(dst), []);
  });

  it('a source that vanished before the batch started fails as SourceNotFound; the rest copy', () => {
    const src = tempDir();
    const dst = tempDir();
    fs.writeFileSync(path.join(src, 'gone'), 'x');
    fs.writeFileSync(path.join(src, 'kept'), 'y');
    const tasks = [taskFor(1, path.join(src, 'gone'), dst), taskFor(2, path.join(src, 'kept'), dst)];
    fs.unlinkSync(path.join(src, 'gone'));
    const results = createBatchRunner(initFor())(tasks).results;
    assert.equal(results[0]!.status, 'failed');
    assert.equal(results[0]!.code, ErrorCodes.SourceNotFound);
    assert.equal(results[1]!.status, 'copied');
    assert.deepEqual(listTree(dst), ['kept']);
    assert.equal(results[0]!.reason, 'copy: no such file or directory (ENOENT)');
  });

  it('a destination path that is gone fails as IoError "cannot write", not SourceNotFound', () => {
    // A split file's range into its shared temp, removed meanwhile: a real destination ENOENT
    // after the source opened (the worker used to read every ENOENT as a missing source).
    const src = tempDir();
    const dst = tempDir();
    fs.writeFileSync(path.join(src, 'big'), Buffer.alloc(8192, 1));
    const t = taskFor(1, path.join(src, 'big'), dst);
    const range = { ...t, range: { temp: Buffer.from(path.join(dst, '.big.gone')).toString('latin1'), start: 0, end: 8192 } };
    const [r] = createBatchRunner(initFor())([range]).results;
    assert.deepEqual({ status: r!.status, code: r!.code, reason: r!.reason }, { status: 'failed', code: ErrorCodes.IoError, reason: 'cannot write: no such file or directory (ENOENT)' });
  });
});
