/**
 * The sending stream worker's small files through the native batch reader (small-reader.ts,
 * blit_read_batch) against its node:fs per-file path (BLIT_NATIVE_BATCH=0 in the worker): the
 * same frames on the wire, byte for byte, and the same per-file results, on real files: empty,
 * non-UTF-8 name, 256 KiB (the small limit) and a bigger file between small ones (sendfile path),
 * a file whose listing no longer matches (size or ns mtime: SourceChanged, nothing of it sent), a
 * missing file, a symlink (never followed) and a directory.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadNativeBatch } from '@blit/native';
import { FrameDecoder } from '../../src/remote/dataplane';
import type { FileJob, FileResult, FromWorker, ToWorker } from '../../src/remote/sendfile-worker';
import { packJobs } from '../../src/remote/small-reader';

const WORKER = path.join(__dirname, '..', '..', 'src', 'remote', 'sendfile-worker.js');

/** Per file, in order: sent, or the worker's failure. */
type PerFile = { index: number; ok: true } | FileResult;

interface Wire {
  frames: string[];
  results: PerFile[];
  /** Payload bytes the worker reported in all. */
  bytes: number;
}

async function sendThroughWorker(files: FileJob[], env: NodeJS.ProcessEnv): Promise<Wire> {
  const listener = net.createServer();
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => listener.once('connection', r));
  const client = net.connect((listener.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise<void>((r, j) => client.once('connect', r).once('error', j));
  const server = await accepted;
  const frames: string[] = [];
  let data: Buffer[] = [];
  const decoder = new FrameDecoder({
    fileStart: (i) => frames.push(`start ${i}`),
    data: (_i, chunk) => data.push(Buffer.from(chunk)),
    fileEnd: (i) => {
      const body = Buffer.concat(data);
      data = [];
      frames.push(`end ${i} ${body.length} ${crypto.createHash('sha256').update(body).digest('hex')}`);
    },
    fileError: (i, code) => frames.push(`error ${i} ${code}`),
    streamEnd: () => frames.push('stream end'),
  });
  const ended = new Promise<void>((resolve, reject) => {
    server.on('data', (c: Buffer) => {
      try {
        decoder.push(c);
      } catch (err) {
        reject(err as Error);
      }
      if (decoder.streamEnded) resolve();
    });
  });
  client.pause();
  const fd = (client as unknown as { _handle: { fd: number } })._handle.fd;
  const worker = new Worker(WORKER, { workerData: { fd }, env });
  const results: PerFile[] = [];
  let bytes = 0;
  let next = 0;
  const finished = new Promise<void>((resolve, reject) => {
    worker.on('message', (m: FromWorker) => {
      if (m.type === 'progress') bytes += m.bytes;
      if (m.type === 'results') {
        // The next m.n files, in order; the failed ones are listed.
        bytes += m.bytes;
        let k = 0;
        for (let n = 0; n < m.n; n++) {
          const f = files[next++]!;
          if (m.failed[k]?.index === f.index) results.push(m.failed[k++]!);
          else results.push({ index: f.index, ok: true });
        }
        assert.equal(k, m.failed.length, 'every failure is one of the files reported');
      }
      else if (m.type === 'finished') resolve();
      else if (m.type === 'broken') reject(new Error(m.message));
    });
    worker.on('error', reject);
  });
  // Two messages, as stream-worker.ts sends them (batches of files, then 'end').
  worker.postMessage({ type: 'files', ...packJobs(files.slice(0, 5)) } satisfies ToWorker);
  worker.postMessage({ type: 'files', ...packJobs(files.slice(5)) } satisfies ToWorker);
  worker.postMessage({ type: 'end' });
  await finished;
  await ended;
  await worker.terminate();
  client.destroy();
  server.destroy();
  listener.close();
  return { frames, results, bytes };
}

describe('remote sender: small files through the native batch reader', () => {
  let dir: string;
  before(function () {
    assert.ok(loadNativeBatch(), 'native batch library not loaded (built by npm ci)');
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-small-reader-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('sends the same frames and results as the node:fs path', async () => {
    const job = (name: string | Buffer, index: number, over: Partial<FileJob> = {}): FileJob => {
      const abs = Buffer.concat([Buffer.from(dir + '/'), Buffer.from(name)]);
      let size = 0;
      let mtimeNs = 1234n;
      try {
        const st = fs.lstatSync(abs, { bigint: true });
        size = Number(st.size);
        mtimeNs = st.mtimeNs;
      } catch {
        /* missing on purpose */
      }
      return { index, abs, size, mtimeNs, ...over };
    };
    const put = (name: string | Buffer, bytes: number): void => {
      const p = Buffer.concat([Buffer.from(dir + '/'), Buffer.from(name)]);
      fs.writeFileSync(p, crypto.randomBytes(bytes));
      fs.utimesSync(p, 1_600_000_000.123456789, 1_600_000_000.987654321);
    };
    const latin = Buffer.from([0x66, 0xe9, 0xff, 0x2e, 0x62]);
    put('a', 3000);
    put('empty', 0);
    put(latin, 77);
    put('edge', 256 * 1024);
    put('big', 300 * 1024);
    put('c', 8191);
    put('grown', 10);
    put('touched', 10);
    fs.symlinkSync('a', path.join(dir, 'link'));
    fs.mkdirSync(path.join(dir, 'sub'));
    const files = [
      job('a', 0),
      job('empty', 1),
      job(latin, 2),
      job('edge', 3),
      job('grown', 4, { size: 9 }),
      job('touched', 5, { mtimeNs: job('touched', 5).mtimeNs + 1n }),
      job('missing', 6, { size: 5 }),
      job('big', 7),
      job('c', 8),
      job('link', 9, { size: 1 }),
      job('sub', 10, { size: 0 }),
      job('a', 2 ** 40 + 11),
    ];
    const fallback = await sendThroughWorker(files, { ...process.env, BLIT_NATIVE_BATCH: '0' });
    const batched = await sendThroughWorker(files, { ...process.env });
    assert.deepEqual(batched.frames, fallback.frames);
    assert.deepEqual(batched.results, fallback.results);
    // Payload bytes reported: the files sent whole (a, empty, latin, edge, big, c, a again).
    assert.equal(batched.bytes, fallback.bytes);
    assert.equal(batched.bytes, 3000 + 0 + 77 + 256 * 1024 + 300 * 1024 + 8191 + 3000);
    // What the node:fs path says, spelled out (so both cannot be wrong the same way unnoticed).
    const ok = batched.results.filter((r) => r.ok).map((r) => r.index);
    assert.deepEqual(ok, [0, 1, 2, 3, 7, 8, 2 ** 40 + 11]);
    const failed = Object.fromEntries(batched.results.filter((r): r is FileResult => !r.ok).map((r) => [r.index, r.code]));
    // Codes and reasons as source-check readFailure gives them (ENOENT: SourceNotFound).
    assert.deepEqual(failed, { 4: 'SourceChanged', 5: 'SourceChanged', 6: 'SourceNotFound', 9: 'IoError', 10: 'SourceChanged' });
    assert.equal(batched.results.find((r): r is FileResult => r.index === 6 && !r.ok)?.reason, 'cannot read: no such file or directory (ENOENT)');
    // Other errnos read as the table's own do, the system's text and the code, no internal path.
    for (const r of batched.results) if (!r.ok && r.code === 'IoError') assert.match(r.reason, /^cannot read: [a-z][^/']* \(E[A-Z]+\)$/);
    assert.ok(!batched.frames.some((f) => /^(start|error) (4|5|6|9|10)$/.test(f)), 'nothing of a failed small file is sent');
    assert.equal(batched.frames.at(-1), 'stream end');
  });
});
