/**
 * The blit client pulling from a hostile server (hostile-server.ts): file data that breaks the
 * manifest's promises, on the TCP data plane and on the gRPC fallback. The standard: the run
 * ends with BadFrame naming what was wrong (exit 1), nothing half-written under a real name and
 * no temp file left, the client's memory and disk bounded by what really arrived, not by what
 * the server announced.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as pb from '@blit/proto';
import { FrameType, MAX_DATA_PAYLOAD } from '../../src/remote/dataplane';
import { runBlit, startBlit, waitFor, type RunResult } from './harness';
import { currentRss } from './hostile-client';
import { FakeDataPlane, fileEntry, fileFrames, frame, hostilePullFixture, streamEnd, type PullSession } from './hostile-server';

const MB = 1024 * 1024;

describe('hunt-server: file data from a hostile server (real blit CLI)', function () {
  this.timeout(60_000);
  const fx = hostilePullFixture('blit-hunt-server-data-');

  const args = (extra: string[] = []): string[] => ['copy', fx.source, `${fx.dst}/`, '--no-progress', ...extra];
  const pull = (extra: string[] = []): Promise<RunResult> => runBlit(args(extra));

  /** Two files offered (a: 4 bytes, b: 3 bytes); `frames` are what the TCP stream then carries. */
  function overTcp(frames: (needs: number[]) => Buffer, entries: pb.FileEntry[] = [fileEntry('a', 4), fileEntry('b', 3)]) {
    return async (s: PullSession): Promise<void> => {
      const tcp = await FakeDataPlane.start();
      try {
        await s.offer(entries, { tcp });
        await s.untilNeedComplete();
        const sock = await tcp.stream();
        sock.end(Buffer.concat([frames(s.needs), streamEnd()]));
        await s.finish();
      } finally {
        tcp.close();
      }
    };
  }

  /** The same over gRPC FileData (the client runs with --force-grpc-data). */
  function overGrpc(messages: (needs: number[]) => pb.FileData[], entries: pb.FileEntry[] = [fileEntry('a', 4), fileEntry('b', 3)]) {
    return async (s: PullSession): Promise<void> => {
      await s.offer(entries);
      await s.untilNeedComplete();
      for (const fileData of messages(s.needs)) s.send({ fileData });
      await s.finish();
    };
  }

  /** Exit 1 with `code` and `why` on stderr; DST holds only `landed` (complete files), no temp file. */
  function refused(r: RunResult, why: RegExp, landed: string[] = [], code = /\[BadFrame\]/): void {
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, code);
    assert.match(r.stderr, why);
    assert.deepEqual(fs.readdirSync(fx.dst).filter((n) => !landed.includes(n)), [], `left in DST\n${r.stderr}`);
  }

  // The same file twice: its first copy was whole and landed; the second is refused.
  const tcpCases: Array<[string, (needs: number[]) => Buffer, RegExp, string[]?, RegExp?]> = [
    ['more bytes than the manifest size', () => fileFrames(0, Buffer.from('aaaaa')), /more bytes than the manifest size 4/],
    ['fewer bytes than the manifest size', () => fileFrames(0, Buffer.from('aa')), /a: .*(2 of 4|fewer|short|size)/],
    ['data for an index not in the need-list', () => fileFrames(5, Buffer.from('x')), /index 5/],
    // Named by index: once `a` is committed the receiver keeps only a mark for it, not its name
    // (data-receiver.ts COMMITTED), so whether `a:` leads the message depends on timing.
    ['the same file twice', () => Buffer.concat([fileFrames(0, Buffer.from('aaaa')), fileFrames(0, Buffer.from('aaaa'))]), /file index 0 sent twice/, ['a']],
    ['an index beyond any count (2^60)', () => frame(FrameType.FileStart, 2n ** 60n), /index 1152921504606846976 out of range/],
    ['a DATA frame announcing more than the frame limit', () => Buffer.concat([frame(FrameType.FileStart, 0), frame(FrameType.Data, 0, Buffer.alloc(0), MAX_DATA_PAYLOAD + 1)]), /length 16777217/],
    ['a DATA frame that announces 4 bytes and the stream ends after 2', () => Buffer.concat([frame(FrameType.FileStart, 0), frame(FrameType.Data, 0, Buffer.from('aa'), 4)]), /a: data stream 0 closed before its end/, [], /\[IoError\]/],
  ];
  for (const [what, frames, why, landed = [], code] of tcpCases) {
    it(`TCP data plane: ${what}`, async () => {
      fx.script = overTcp(frames);
      refused(await pull(), why, landed, code);
    });
  }

  const grpcCases: Array<[string, (needs: number[]) => pb.FileData[], RegExp, string[]?]> = [
    ['more bytes than the manifest size', () => [{ index: 0, offset: 0, data: Buffer.from('aaaaa'), last: true }], /more bytes than the manifest size 4/],
    ['an offset that skips bytes', () => [{ index: 0, offset: 2, data: Buffer.from('aa'), last: true }], /FileData offset 2, expected 0/],
    ['data for an index not in the need-list', () => [{ index: 7, offset: 0, data: Buffer.from('x'), last: true }], /index 7, which is not in the need-list/],
    // As on TCP: named by index (the committed `a` left only a mark; the run's other file, b, fails with it).
    ['the same file twice', () => [{ index: 0, offset: 0, data: Buffer.from('aaaa'), last: true }, { index: 0, offset: 0, data: Buffer.from('aaaa'), last: true }], /FileData for index 0, which is not open/, ['a']],
    ['an index beyond any count (2^52)', () => [{ index: 2 ** 52, offset: 0, data: Buffer.from('x'), last: true }], /index 4503599627370496/],
  ];
  for (const [what, messages, why, landed = []] of grpcCases) {
    it(`gRPC data: ${what}`, async () => {
      fx.script = overGrpc(messages);
      refused(await pull(['--force-grpc-data']), why, landed);
    });
  }

  it('gRPC data: fewer bytes than the manifest size (last after 2 of 4): the file fails by name, exit 2', async () => {
    fx.script = overGrpc((needs) => [{ index: 0, offset: 0, data: Buffer.from('aa'), last: true }, ...needs.filter((i) => i === 1).map((index) => ({ index, offset: 0, data: Buffer.from('bbb'), last: true }))]);
    const r = await pull(['--force-grpc-data']);
    assert.ok(r.code === 1 || r.code === 2, r.stderr);
    assert.match(r.stderr, /a: /);
    assert.ok(!fs.existsSync(path.join(fx.dst, 'a')), 'a was not left half-written under its name');
    assert.deepEqual(fs.readdirSync(fx.dst).filter((n) => n !== 'b'), []);
  });

  it('a file announced at 2^50 bytes: the client neither preallocates nor buffers it (memory and disk follow what arrived)', async () => {
    let measured: { rss: number; disk: number } | undefined;
    let pid = 0;
    fx.script = async (s) => {
      const tcp = await FakeDataPlane.start();
      try {
        await s.offer([fileEntry('huge', 2 ** 50)], { tcp });
        await s.untilNeedComplete();
        const sock = await tcp.stream();
        sock.write(frame(FrameType.FileStart, 0));
        for (let i = 0; i < 4; i++) sock.write(frame(FrameType.Data, 0, Buffer.alloc(MAX_DATA_PAYLOAD, i + 1)));
        // The client has the 64 MB when its temp file holds them (drained from the socket).
        const disk = (): number => fs.readdirSync(fx.dst).reduce((n, f) => n + fs.statSync(path.join(fx.dst, f)).blocks * 512, 0);
        await waitFor(() => disk() >= 64 * MB, 30_000, 'the client wrote the 64 MB it got');
        measured = { rss: currentRss(pid), disk: disk() };
        sock.destroy();
        await s.finish();
      } finally {
        tcp.close();
      }
    };
    const run = startBlit(args());
    pid = run.pid;
    const { code, stderr } = await run.done;
    assert.ok(measured, `the server measured the client mid-file\n${stderr}`);
    assert.ok(measured.rss < 400 * MB, `client RSS ${(measured.rss / MB).toFixed(0)} MB with 64 MB of a 2^50-byte file received`);
    assert.ok(measured.disk < 256 * MB, `temp file takes ${(measured.disk / MB).toFixed(0)} MB on disk`);
    assert.equal(code, 1, stderr);
    assert.match(stderr, /huge/);
    assert.deepEqual(fs.readdirSync(fx.dst), [], 'no temp file left, nothing under the real name');
  });
});
