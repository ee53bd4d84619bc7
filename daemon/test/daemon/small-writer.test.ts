/**
 * The small-file writer (remote receive path): files written by its worker threads (and by the
 * main thread, with 0 workers) are byte-exact with their mode and ns mtime, atomically placed
 * (no temp file left), each `done` is called exactly once, a file whose directory is missing
 * fails alone with its errno, and the caller's chunk buffers may be reused as soon as write()
 * returns.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SmallFileWriter } from '../../src/remote/small-writer';
import { defaultMetaOptions } from '../../src/engine/metadata';
import { EXIT_REQUEST } from '../../src/engine/worker-exit';
import type { Worker } from 'node:worker_threads';

interface Spec {
  dir: Buffer;
  name: Buffer;
  data: Buffer;
  mode: number;
  mtimeNs: bigint;
}

function specs(root: string, dirs: number, perDir: number): Spec[] {
  const out: Spec[] = [];
  let seed = 7;
  const rnd = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
  for (let d = 0; d < dirs; d++) {
    const dir = Buffer.from(path.join(root, `d${d}`));
    fs.mkdirSync(dir);
    for (let i = 0; i < perDir; i++) {
      const size = i === 0 ? 0 : rnd() % 9000;
      const data = Buffer.alloc(size);
      for (let k = 0; k < size; k++) data[k] = rnd() & 0xff;
      // A name that is not valid UTF-8 in every directory.
      const name = i === 1 ? Buffer.from([0x66, 0xff, 0xfe, 0x30 + (d % 10)]) : Buffer.from(`f${i}.bin`);
      const mtimeNs = i === 2 ? -1234567891n : 1_700_000_000_123_456_789n + BigInt(i * 1_000_003);
      out.push({ dir, name, data, mode: [0o644, 0o600, 0o755, 0o640][i % 4]!, mtimeNs });
    }
  }
  return out;
}

/** Split a file's bytes into 1-3 chunks, as a socket would deliver them. */
function chunksOf(data: Buffer): Buffer[] {
  if (data.length < 3) return [Buffer.from(data)];
  const a = Math.floor(data.length / 3);
  return [Buffer.from(data.subarray(0, a)), Buffer.from(data.subarray(a, 2 * a)), Buffer.from(data.subarray(2 * a))];
}

async function writeAll(w: SmallFileWriter, all: Spec[]): Promise<(Error | undefined | 'pending')[]> {
  const results: (Error | undefined | 'pending')[] = all.map(() => 'pending');
  all.forEach((s, i) => {
    const chunks = chunksOf(s.data);
    w.write(Number(s.dir[s.dir.length - 1]), s.dir, s.name, chunks, s.data.length, { mode: s.mode, uid: 0, gid: 0, mtimeNs: s.mtimeNs }, (err) => {
      assert.equal(results[i], 'pending', `done called twice for file ${i}`);
      results[i] = err;
    });
    // The caller may reuse its buffers at once (a receiver reading into one buffer does).
    for (const c of chunks) c.fill(0xaa);
  });
  await w.close();
  return results;
}

function check(all: Spec[]): void {
  for (const s of all) {
    const abs = Buffer.concat([s.dir, Buffer.from('/'), s.name]);
    assert.ok(fs.readFileSync(abs).equals(s.data), `content of ${abs.toString()}`);
    const st = fs.lstatSync(abs, { bigint: true });
    assert.equal(Number(st.mode) & 0o7777, s.mode, `mode of ${abs.toString()}`);
    assert.equal(st.mtimeNs, s.mtimeNs, `mtime of ${abs.toString()}`);
  }
  for (const dir of new Set(all.map((s) => s.dir.toString('latin1')))) {
    const names = fs.readdirSync(Buffer.from(dir, 'latin1'), { encoding: 'buffer' });
    assert.equal(names.filter((n) => n.toString('latin1').startsWith('.blit.')).length, 0, `temp files left in ${dir}`);
    assert.equal(names.length, all.filter((s) => s.dir.toString('latin1') === dir).length);
  }
}

describe('small-file writer (remote receive path)', function () {
  this.timeout(30_000);
  let root: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-small-writer-'));
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  for (const workers of [2, 0]) {
    it(`writes every file exactly, with mode and ns mtime, no temp left (${workers} worker threads)`, async () => {
      const all = specs(root, 7, 150); // more than one batch per directory
      const w = new SmallFileWriter(defaultMetaOptions(), workers);
      await w.started();
      const results = await writeAll(w, all);
      assert.deepEqual(results.filter((r) => r !== undefined), []);
      check(all);
      if (workers > 0) assert.ok(w.batchesOnWorkers >= 8, `only ${w.batchesOnWorkers} batches ran on the worker threads`);
      else assert.equal(w.batchesOnWorkers, 0);
    });
  }

  it('a handful of files is written on the calling thread without starting a thread; more start them', async () => {
    const few = specs(root, 2, 30); // 60 files: below the start threshold
    const w = new SmallFileWriter(defaultMetaOptions(), 2);
    const results = await writeAll(w, few);
    assert.deepEqual(results.filter((r) => r !== undefined), []);
    assert.equal(w.threadsStarted, false, 'no thread for 60 files');
    assert.equal(w.batchesOnWorkers, 0);
    check(few);

    const many = specs(fs.mkdtempSync(path.join(root, 'many-')), 2, 100);
    const w2 = new SmallFileWriter(defaultMetaOptions(), 2);
    const results2 = await writeAll(w2, many);
    assert.deepEqual(results2.filter((r) => r !== undefined), []);
    assert.equal(w2.threadsStarted, true, 'threads started for 200 files');
    check(many);
  });

  it('directories alone start the threads; batches queued while they start wait for them, in order', async () => {
    // A push whose small files all go to the stream workers queues only mkdir records here: they
    // ran on the calling thread for the whole transfer when only files started the threads.
    const w = new SmallFileWriter(defaultMetaOptions(), 2);
    const made: (Error | undefined | 'pending')[] = [];
    for (let d = 0; d < 300; d++) {
      const i = made.push('pending') - 1;
      w.mkdir(d, Buffer.from(root), Buffer.from(`m${d}/sub`), false, (err) => (made[i] = err));
    }
    // Each directory's file on its lane, queued right behind its mkdir while the threads start.
    const files = Array.from({ length: 300 }, (_, d): Spec => ({ dir: Buffer.from(path.join(root, `m${d}`, 'sub')), name: Buffer.from('f'), data: Buffer.from(`file ${d}`), mode: 0o640, mtimeNs: 1_700_000_000_000_000_007n + BigInt(d) }));
    const results: (Error | undefined | 'pending')[] = files.map(() => 'pending');
    files.forEach((s, i) => w.write(i, s.dir, s.name, [Buffer.from(s.data)], s.data.length, { mode: s.mode, uid: 0, gid: 0, mtimeNs: s.mtimeNs }, (err) => (results[i] = err)));
    await w.close();
    assert.deepEqual(made.filter((r) => r !== undefined), []);
    assert.deepEqual(results.filter((r) => r !== undefined), []);
    assert.equal(w.threadsStarted, true, 'threads started for 300 directories');
    assert.ok(w.batchesOnWorkers > 0, 'no batch ran on the worker threads');
    check(files);
  });

  it('a writer thread that exits unasked: its lane goes on on the calling thread, every file written, close() ends', async () => {
    const w = new SmallFileWriter(defaultMetaOptions(), 2);
    await w.started();
    // No worker script exits on its own today; this one is made to (the request close() would
    // send), so its lane's next batches would be posted to a thread that is gone and never
    // answer: every done and close() waited forever before the lane treated the exit as a crash.
    const lane0 = (w as unknown as { lanes: { worker: Worker }[] }).lanes[0]!.worker;
    const gone = new Promise((r) => lane0.once('exit', r));
    lane0.postMessage(EXIT_REQUEST);
    await gone;
    const all = specs(root, 4, 150);
    const results = await writeAll(w, all);
    assert.deepEqual(results.filter((r) => r !== undefined), []);
    check(all);
    assert.ok(w.batchesOnWorkers > 0, 'the other lane still ran on its thread');
  });

  it('a file whose directory is missing fails alone, with its errno; the rest is written', async () => {
    const all = specs(root, 2, 40);
    const gone = Buffer.from(path.join(root, 'missing'));
    const bad: Spec = { dir: gone, name: Buffer.from('x'), data: Buffer.from('lost'), mode: 0o644, mtimeNs: 5n };
    const withBad = [...all.slice(0, 20), bad, ...all.slice(20)];
    const w = new SmallFileWriter(defaultMetaOptions(), 2);
    await w.started();
    const results = await writeAll(w, withBad);
    assert.ok(w.batchesOnWorkers > 0);
    const err = results[20] as NodeJS.ErrnoException;
    assert.ok(err instanceof Error, 'the file in a missing directory must fail');
    assert.equal(err.code, 'ENOENT');
    assert.deepEqual(results.filter((r, i) => i !== 20 && r !== undefined), []);
    assert.equal(fs.existsSync(gone), false, 'no directory is created for it');
    check(all);
  });
});
