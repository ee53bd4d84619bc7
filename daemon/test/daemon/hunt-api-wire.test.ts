/**
 * blitd against a hostile gRPC client (hostile-client.ts, raw protobuf bytes): counts that cost
 * far more to decode than to send, paths longer than any filesystem takes, names that make the
 * status too big for the HTTP/2 trailers. Each is refused by name, blitd's memory stays bounded,
 * nothing is written, and blitd serves the next client.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startDaemon, tempDir, writeConfig, type Daemon } from './harness';
import { emptyEntriesBatch, ld, peakRss, pushHeader, rawBidi, rawClient, rawUnary, repeat } from './hostile-client';
import { WIRE_COST_LIMIT } from '../../src/daemon/wire-guard';

const MB = 1024 * 1024;

describe('hunt-api: blitd against a hostile gRPC client (real blitd)', function () {
  this.timeout(60_000);
  let tmp: { dir: string; cleanup: () => void };
  let moduleDir: string;
  let daemon: Daemon;

  before(async () => {
    tmp = tempDir('blit-hunt-api-');
    moduleDir = path.join(tmp.dir, 'module');
    fs.mkdirSync(moduleDir);
    fs.writeFileSync(path.join(moduleDir, 'keep.txt'), 'keep');
    const cfg = writeConfig(tmp.dir, `[[module]]\nname = "m"\npath = "${moduleDir}"\n`);
    daemon = await startDaemon(['--config', cfg, '--port', '0']);
  });
  after(async () => {
    await daemon?.stop();
    tmp?.cleanup();
  });

  async function stillServes(): Promise<void> {
    const c = rawClient(daemon.port);
    try {
      const r = await rawUnary(c, 'ListModules', Buffer.alloc(0), 10_000);
      assert.ok(r.ok, `blitd still answers ListModules (${JSON.stringify(r.err)})`);
    } finally {
      c.close();
    }
  }

  const replyText = (replies: Buffer[]): string => Buffer.concat(replies).toString('latin1');

  it('a 16 MB manifest message of 8 million empty entries is refused undecoded (BadFrame naming manifest.entries); blitd stays small', async () => {
    // Before: decoded at ~700 bytes per entry, blitd died (V8 heap out of memory) after minutes.
    const c = rawClient(daemon.port);
    try {
      const r = await rawBidi(c, 'Push', [pushHeader('m', 'bomb'), emptyEntriesBatch(8_000_000)]);
      const text = replyText(r.replies);
      assert.match(text, /BadFrame/);
      assert.match(text, /PushClientMessage of \d+ bytes refused undecoded: manifest\.entries holds more values/);
    } finally {
      c.close();
    }
    assert.ok(peakRss(daemon.proc.pid!) < 512 * MB, `blitd peak RSS ${(peakRss(daemon.proc.pid!) / MB).toFixed(0)} MB`);
    assert.deepEqual(fs.readdirSync(moduleDir).filter((n) => n !== 'bomb'), ['keep.txt']);
    assert.deepEqual(fs.existsSync(path.join(moduleDir, 'bomb')) ? fs.readdirSync(path.join(moduleDir, 'bomb')) : [], []);
    await stillServes();
  });

  it('a unary request is guarded too: StartTransfer with 3 million files_from paths is BadFrame (INVALID_ARGUMENT), not decoded', async () => {
    const c = rawClient(daemon.port);
    try {
      // StartTransferRequest{options(3): TransferOptions{filter(4): FilterSpec{files_from(3) x 3M}}}
      const req = ld(3, ld(4, repeat(ld(3, 'a'), 3_000_000)));
      const r = await rawUnary(c, 'StartTransfer', req);
      assert.equal(r.err?.code, 3, JSON.stringify(r.err));
      assert.equal(r.err?.blitCode, 'BadFrame');
      assert.match(r.err!.details, /StartTransferRequest of \d+ bytes refused undecoded: options\.filter\.files_?[fF]rom holds more values/);
    } finally {
      c.close();
    }
    await stillServes();
  });

  it('manifest messages each under the decode limit, all entries invalid: the push stops with BadFrame after 1,000 refusals', async () => {
    // Before: every refused entry was a failure kept and reported (~1.3 KB each); 1.5 million
    // of them (3 MB sent) grew blitd by 2 GB, and the stream could go on.
    const per = Math.floor(WIRE_COST_LIMIT / 11) - 1000;
    const c = rawClient(daemon.port);
    try {
      const r = await rawBidi(c, 'Push', [pushHeader('m', 'bomb2'), emptyEntriesBatch(per), emptyEntriesBatch(per), emptyEntriesBatch(per)]);
      assert.match(replyText(r.replies), /more than 1000 manifest entries refused/);
    } finally {
      c.close();
    }
    assert.ok(peakRss(daemon.proc.pid!) < 512 * MB, `blitd peak RSS ${(peakRss(daemon.proc.pid!) / MB).toFixed(0)} MB`);
    await stillServes();
  });

  it('a 20 KB path and a 1 MB module name: named refusals that arrive (they overflowed the HTTP/2 trailers: client hung to its deadline)', async () => {
    const c = rawClient(daemon.port);
    try {
      const long = await rawUnary(c, 'List', Buffer.concat([ld(1, 'm'), ld(2, 'a/'.repeat(10_000))]), 20_000);
      assert.equal(long.err?.code, 3, JSON.stringify(long.err).slice(0, 300));
      assert.equal(long.err?.blitCode, 'InvalidPath');
      assert.match(long.err!.details, /path too long \(20000 bytes, at most 4095\)$/);
      assert.ok(long.err!.details.length <= 1100, `details capped (${long.err!.details.length})`);
      const mod = await rawUnary(c, 'List', ld(1, 'x'.repeat(MB)), 20_000);
      assert.equal(mod.err?.blitCode, 'ModuleNotFound', JSON.stringify(mod.err).slice(0, 300));
      assert.match(mod.err!.details, /characters left out.*\(available: m\)$/);
    } finally {
      c.close();
    }
    await stillServes();
  });
});
