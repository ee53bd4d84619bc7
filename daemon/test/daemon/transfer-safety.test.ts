/**
 * Push safety against a REAL blitd: path escapes ('..', absolute paths, symlinks leading out of
 * the module, in the request and inside the manifest), read-only modules, and a client that
 * disappears mid-transfer (killed blit process, or a raw session cut off): nothing is written
 * outside the module, no partial file appears under a real name, and the daemon keeps serving.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BLIT, runBlit, startDaemon, tempDir, waitFor, writeConfig, type Daemon } from './harness';
import { fileEntry, frame, jsonSummary, makeSourceTree, openDataStream, rawPush, tempFilesIn } from './transfer-helpers';


describe('remote push safety (real blitd)', function () {
  this.timeout(60_000);
  let tmp: { dir: string; cleanup: () => void };
  let moduleDir: string;
  let roDir: string;
  let outside: string;
  let src: string;
  let daemon: Daemon;
  const env = { BLIT_DISABLE_PERF_HISTORY: '1', BLIT_FORCE_GRPC_DATA: '' };

  before(async () => {
    tmp = tempDir('blit-safety-');
    moduleDir = path.join(tmp.dir, 'module');
    roDir = path.join(tmp.dir, 'readonly');
    outside = path.join(tmp.dir, 'outside');
    src = path.join(tmp.dir, 'src');
    for (const d of [moduleDir, roDir, outside, src]) fs.mkdirSync(d);
    makeSourceTree(src);
    fs.writeFileSync(path.join(roDir, 'published.txt'), 'read me');
    fs.symlinkSync(outside, path.join(moduleDir, 'out'));
    const config = writeConfig(
      tmp.dir,
      `[[module]]\nname = "data"\npath = "${moduleDir}"\n\n[[module]]\nname = "ro"\npath = "${roDir}"\nread_only = true\n`,
    );
    daemon = await startDaemon(['--port', '0', '--config', config]);
  });

  after(async () => {
    const log = daemon?.stderr() ?? '';
    await daemon?.stop();
    tmp?.cleanup();
    // Every failure above must have been handled: no crash path, no stray rejection.
    assert.doesNotMatch(log, /unhandled error|uncaught/i);
  });

  const outsideIsEmpty = (): void => assert.deepEqual(fs.readdirSync(outside), [], 'nothing written outside the module');

  for (const [what, p] of [
    ["'..'", '../escape'],
    ['an absolute path', '/etc'],
    ['a symlink leading outside the module', 'out/inside'],
  ] as const) {
    it(`a push whose destination is ${what} is refused (PathEscape)`, async () => {
      const push = await rawPush(daemon.port, 'data', p);
      try {
        const err = await push.error();
        assert.equal(err?.code, 'PathEscape', JSON.stringify(err));
      } finally {
        push.close();
      }
      outsideIsEmpty();
      assert.ok(!fs.existsSync(path.join(tmp.dir, 'escape')));
    });
  }

  it('the CLI reports a push into a symlink leading out of the module as an error', async () => {
    const r = await runBlit(['copy', `${src}/`, `127.0.0.1:${daemon.port}:/data/out/x`], { env });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /outside the module/);
    outsideIsEmpty();
  });

  it('manifest entries that escape are refused one by one; the rest is written', async () => {
    const push = await rawPush(daemon.port, 'data', 'm1', { forceGrpcData: true });
    try {
      await push.until('negotiation');
      push.call.write({
        manifest: {
          entries: [
            fileEntry('../evil', 3),
            fileEntry('/tmp/evil-abs', 3),
            fileEntry('a/../../evil2', 3),
            { path: Buffer.from('out'), kind: 'ENTRY_KIND_SYMLINK', linkTarget: Buffer.from(outside), mtimeSec: 1, mode: 0o777 },
            fileEntry('out/through-link', 3),
            fileEntry('fine', 3),
          ],
        },
      });
      push.call.write({ manifestComplete: { complete: true, totalEntries: 6 } });
      const failures: string[] = [];
      let need: number[] = [];
      for (;;) {
        const m = await push.next();
        assert.ok(m, 'call ended early');
        if (m.fileFailure) failures.push(`${m.fileFailure.code} ${m.fileFailure.path.toString()}`);
        if (m.need) need = need.concat(m.need.indices);
        if (m.needComplete) break;
        assert.ok(!m.error, m.error?.message);
      }
      assert.deepEqual(need, [5], 'only the safe file is needed');
      assert.equal(failures.length, 4, failures.join('\n'));
      push.call.write({ fileData: { index: 5, offset: 0, data: Buffer.from('ok!'), last: true } });
      push.call.write({ dataComplete: true });
      const summary = (await push.until('summary')).summary!;
      assert.equal(summary.filesTransferred, 1);
      assert.equal(summary.failures.length, 4);
    } finally {
      push.close();
    }
    assert.equal(fs.readFileSync(path.join(moduleDir, 'm1', 'fine'), 'utf8'), 'ok!');
    // The symlink itself is legitimate content; nothing was written through it.
    assert.equal(fs.readlinkSync(path.join(moduleDir, 'm1', 'out')), outside);
    outsideIsEmpty();
    assert.ok(!fs.existsSync(path.join(tmp.dir, 'evil')));
    assert.ok(!fs.existsSync(path.join(tmp.dir, 'evil2')));
    assert.ok(!fs.existsSync('/tmp/evil-abs'));
  });

  it('a read-only module refuses a push and accepts a pull', async () => {
    const r = await runBlit(['copy', `${src}/`, `127.0.0.1:${daemon.port}:/ro/x`, '--json'], { env });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /ReadOnlyModule|read-only/);
    assert.deepEqual(fs.readdirSync(roDir), ['published.txt']);
    const back = path.join(tmp.dir, 'ro-back');
    const p = await runBlit(['copy', `127.0.0.1:${daemon.port}:/ro`, back], { env });
    assert.equal(p.code, 0, p.stderr);
    assert.equal(fs.readFileSync(path.join(back, 'published.txt'), 'utf8'), 'read me');
  });

  it('a client cut off mid-file: temp removed, no file under the real name, daemon keeps serving', async () => {
    const push = await rawPush(daemon.port, 'data', 'cut');
    const neg = (await push.until('negotiation')).negotiation!;
    push.call.write({ manifest: { entries: [fileEntry('big', 10_000_000)] } });
    push.call.write({ manifestComplete: { complete: true, totalEntries: 1 } });
    await push.until('needComplete');
    const s = await openDataStream(neg.tcpPort, neg.token.subarray(0, 32));
    s.write(Buffer.concat([frame(1, 0, 0), frame(2, 0, 4_000_000, Buffer.alloc(4_000_000, 3))]));
    await waitFor(() => tempFilesIn(path.join(moduleDir, 'cut')).length > 0, 10_000, 'the temp file');
    s.destroy();
    push.close();
    await waitFor(() => tempFilesIn(moduleDir).length === 0, 10_000, 'the temp file to be removed');
    assert.ok(!fs.existsSync(path.join(moduleDir, 'cut', 'big')));
    const r = await runBlit(['copy', `${src}/`, `127.0.0.1:${daemon.port}:/data/after-cut`, '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonSummary(r.stdout).filesTransferred, 7);
  });

  it('a blit client killed during a push of a big file leaves no partial file', async () => {
    const bigSrc = path.join(tmp.dir, 'bigsrc');
    fs.mkdirSync(bigSrc);
    const fd = fs.openSync(path.join(bigSrc, 'big.bin'), 'w');
    const chunk = Buffer.alloc(8 << 20, 0x5a);
    for (let i = 0; i < 48; i++) fs.writeSync(fd, chunk); // 384 MiB
    fs.closeSync(fd);
    const dest = path.join(moduleDir, 'killed');
    const child = spawn(process.execPath, [BLIT, 'copy', `${bigSrc}/`, `127.0.0.1:${daemon.port}:/data/killed`], { env: { ...process.env, ...env }, stdio: 'ignore' });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    try {
      await waitFor(() => fs.existsSync(dest) && tempFilesIn(dest).length > 0, 20_000, 'the push to start writing');
      child.kill('SIGKILL');
      await exited;
      await waitFor(() => tempFilesIn(moduleDir).length === 0, 10_000, 'the temp file to be removed');
      assert.ok(!fs.existsSync(path.join(dest, 'big.bin')), 'no partial file under the real name');
    } finally {
      child.kill('SIGKILL');
      fs.rmSync(bigSrc, { recursive: true, force: true });
      fs.rmSync(dest, { recursive: true, force: true });
    }
    const r = await runBlit(['copy', `${src}/`, `127.0.0.1:${daemon.port}:/data/after-kill`, '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(jsonSummary(r.stdout).filesTransferred, 7);
  });

  it('SIGTERM during a push: the daemon stops cleanly, no partial file, no temp', async () => {
    const mod = path.join(tmp.dir, 'term-module');
    fs.mkdirSync(mod);
    const d = await startDaemon(['--port', '0', '--root', mod]);
    const push = await rawPush(d.port, 'default', 'x');
    try {
      const neg = (await push.until('negotiation')).negotiation!;
      push.call.write({ manifest: { entries: [fileEntry('big', 10_000_000)] } });
      push.call.write({ manifestComplete: { complete: true, totalEntries: 1 } });
      await push.until('needComplete');
      const s = await openDataStream(neg.tcpPort, neg.token.subarray(0, 32));
      s.on('error', () => undefined);
      s.write(Buffer.concat([frame(1, 0, 0), frame(2, 0, 4_000_000, Buffer.alloc(4_000_000, 3))]));
      await waitFor(() => tempFilesIn(mod).length > 0, 10_000, 'the temp file');
      const code = await d.stop('SIGTERM');
      assert.equal(code, 0, d.stderr());
      s.destroy();
    } finally {
      push.close();
      await d.stop('SIGKILL');
    }
    assert.deepEqual(tempFilesIn(mod), []);
    assert.ok(!fs.existsSync(path.join(mod, 'x', 'big')));
  });

  it('a served push is a job: listed while it runs, CancelJob stops it and removes its temp file', async () => {
    const push = await rawPush(daemon.port, 'data', 'cancelled');
    try {
      const neg = (await push.until('negotiation')).negotiation!;
      push.call.write({ manifest: { entries: [fileEntry('big', 10_000_000)] } });
      push.call.write({ manifestComplete: { complete: true, totalEntries: 1 } });
      await push.until('needComplete');
      const s = await openDataStream(neg.tcpPort, neg.token.subarray(0, 32));
      s.on('error', () => undefined);
      s.write(Buffer.concat([frame(1, 0, 0), frame(2, 0, 4_000_000, Buffer.alloc(4_000_000, 3))]));
      await waitFor(() => tempFilesIn(path.join(moduleDir, 'cancelled')).length > 0, 10_000, 'the temp file');
      const conn = push.conn;
      const jobs = await conn.unary<{ jobs: { id: string; kind: string; state: string }[] }>((o, cb) => conn.client.ListJobs({ includeFinished: false }, o, cb as never));
      const job = jobs.jobs.find((j) => j.kind === 'served-push');
      assert.ok(job, `served-push job listed: ${JSON.stringify(jobs.jobs)}`);
      const res = await conn.unary<{ cancelled: boolean }>((o, cb) => conn.client.CancelJob({ jobId: job.id }, o, cb as never));
      assert.equal(res.cancelled, true);
      const err = await push.error();
      assert.equal(err?.code, 'Cancelled');
      s.destroy();
    } finally {
      push.close();
    }
    await waitFor(() => tempFilesIn(moduleDir).length === 0, 10_000, 'the temp file to be removed');
    assert.ok(!fs.existsSync(path.join(moduleDir, 'cancelled', 'big')));
  });
});
