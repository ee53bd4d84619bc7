/**
 * The data-plane frame decoder and token listener on their own (real sockets on loopback, no
 * daemon): frames split at every byte boundary decode the same, every limit is enforced, a token
 * is accepted once and only before it expires, and the client's connect reports refusal as
 * DataPlaneUnavailable (what triggers the gRPC fallback).
 */
import * as assert from 'node:assert/strict';
import * as net from 'node:net';
import { BlitError } from '../../src/engine/errors';
import type { Logger } from '../../src/daemon/context';
import {
  DataListener,
  FrameDecoder,
  FrameType,
  MAX_DATA_PAYLOAD,
  connectDataStream,
  dataConnectTiming,
  fileErrorFrame,
  frameHeader,
  streamEndFrame,
  type FrameHandler,
} from '../../src/remote/dataplane';
import { DEFAULT_BUSY_TIMEOUT_MS } from '../../src/remote/grpc-client';

const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function recorder(): { events: string[]; handler: FrameHandler } {
  const events: string[] = [];
  return {
    events,
    handler: {
      fileStart: (i) => events.push(`start ${i}`),
      data: (i, c) => events.push(`data ${i} ${c.toString('latin1')}`),
      fileEnd: (i) => events.push(`end ${i}`),
      fileError: (i, code, reason) => events.push(`error ${i} ${code} ${reason}`),
      streamEnd: (f) => events.push(`stream-end ${f}`),
    },
  };
}

function joinData(events: string[]): string[] {
  // DATA may arrive in pieces; merge consecutive pieces of one index for comparison.
  const out: string[] = [];
  for (const e of events) {
    const prev = out[out.length - 1];
    const m = /^data (\d+) (.*)$/s.exec(e);
    const pm = prev ? /^data (\d+) (.*)$/s.exec(prev) : null;
    if (m && pm && m[1] === pm[1]) out[out.length - 1] = `data ${m[1]} ${pm[2]}${m[2]}`;
    else out.push(e);
  }
  return out;
}

const stream = Buffer.concat([
  frameHeader(FrameType.FileStart, 3, 0),
  frameHeader(FrameType.Data, 3, 5),
  Buffer.from('hello'),
  frameHeader(FrameType.Data, 3, 6),
  Buffer.from(' world'),
  frameHeader(FrameType.FileEnd, 3, 0),
  frameHeader(FrameType.FileStart, 9, 0),
  fileErrorFrame(9, 'SourceChanged', 'changed'),
  streamEndFrame(true),
]);
const expected = ['start 3', 'data 3 hello world', 'end 3', 'start 9', 'error 9 SourceChanged changed', 'stream-end 1'];

describe('data plane framing and tokens', () => {
  it('decodes a stream fed in one piece or split at every possible boundary', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const r = recorder();
      const d = new FrameDecoder(r.handler);
      d.push(stream.subarray(0, cut));
      d.push(stream.subarray(cut));
      assert.deepEqual(joinData(r.events), expected, `cut at ${cut}`);
    }
    const r = recorder();
    const d = new FrameDecoder(r.handler);
    for (const b of stream) d.push(Buffer.from([b]));
    assert.deepEqual(joinData(r.events), expected, 'byte by byte');
    assert.equal(d.streamEnded, true);
  });

  it('frame headers carry u64 indices up to 2^53 - 1 exactly, both ways', () => {
    for (const index of [0, 1, 0xffffffff, 2 ** 32, 2 ** 40 + 7, Number.MAX_SAFE_INTEGER]) {
      const h = frameHeader(FrameType.Data, index, 3);
      assert.equal(h.readBigUInt64BE(1), BigInt(index));
      assert.equal(h.readBigUInt64BE(9), 3n);
      const r = recorder();
      new FrameDecoder(r.handler).push(Buffer.concat([frameHeader(FrameType.FileStart, index, 0), h, Buffer.from('abc')]));
      assert.deepEqual(joinData(r.events), [`start ${index}`, `data ${index} abc`]);
    }
  });

  const bad: [string, Buffer][] = [
    ['unknown type', frameHeader(42, 0, 0)],
    ['DATA above the maximum frame length', frameHeader(FrameType.Data, 0, MAX_DATA_PAYLOAD + 1)],
    ['empty DATA', frameHeader(FrameType.Data, 0, 0)],
    ['FILE_START with a payload', frameHeader(FrameType.FileStart, 0, 4)],
    ['huge FILE_ERROR', frameHeader(FrameType.FileError, 0, 1 << 20)],
    ['FILE_ERROR that is not JSON', Buffer.concat([frameHeader(FrameType.FileError, 0, 3), Buffer.from('abc')])],
    ['index beyond 2^53', Buffer.concat([Buffer.from([1]), Buffer.alloc(8, 0xff), Buffer.alloc(8, 0)])],
    ['index exactly 2^53', Buffer.concat([Buffer.from([1, 0, 0x20, 0, 0, 0, 0, 0, 0]), Buffer.alloc(8, 0)])],
    ['DATA length 2^32 + 5 (high half set)', Buffer.concat([Buffer.from([2]), Buffer.alloc(8, 0), Buffer.from([0, 0, 0, 1, 0, 0, 0, 5]), Buffer.alloc(5)])],
    ['bytes after STREAM_END', Buffer.concat([streamEndFrame(false), frameHeader(FrameType.FileStart, 0, 0)])],
  ];
  for (const [what, bytes] of bad) {
    it(`rejects ${what} as BadFrame`, () => {
      const d = new FrameDecoder(recorder().handler);
      assert.throws(() => d.push(bytes), (e: unknown) => e instanceof BlitError && e.code === 'BadFrame');
    });
  }

  it('accepts each token once, refuses wrong, reused and expired ones', async () => {
    const accepted: number[] = [];
    // The lifetime must cover the first connect even on a loaded box; the wait below is until
    // the listener's own expiry, not a guessed time.
    const l = await DataListener.open({ host: '127.0.0.1', streams: 2, tokenTtlMs: 2000, log: quiet, onStream: (s, i) => {
      accepted.push(i);
      s.on('error', () => undefined);
    } });
    try {
      assert.equal(l.tokens.length, 64);
      const t0 = l.tokens.subarray(0, 32);
      const t1 = l.tokens.subarray(32, 64);
      const s0 = await connectDataStream('127.0.0.1', l.port, t0);
      await assert.rejects(connectDataStream('127.0.0.1', l.port, t0), /DataPlaneUnavailable|closed/);
      await assert.rejects(connectDataStream('127.0.0.1', l.port, Buffer.alloc(32, 7)), (e: unknown) => e instanceof BlitError && e.code === 'DataPlaneUnavailable');
      await new Promise((r) => setTimeout(r, Math.max(0, l.expiresAt - Date.now()) + 50));
      await assert.rejects(connectDataStream('127.0.0.1', l.port, t1), (e: unknown) => e instanceof BlitError && e.code === 'DataPlaneUnavailable');
      assert.deepEqual(accepted, [0]);
      s0.destroy();
    } finally {
      l.close();
    }
  });

  // A configured TTL of 600 s made the client wait 601 s for an accept byte a middlebox dropped
  // before falling back to gRPC data.
  it('the wait for the accept byte follows the token TTL, but never beyond the busy deadline', () => {
    assert.equal(dataConnectTiming(0).answerMs, 6000, 'default TTL 5 s + 1 s');
    assert.equal(dataConnectTiming(20_000).answerMs, 21_000);
    assert.equal(dataConnectTiming(600_000).answerMs, DEFAULT_BUSY_TIMEOUT_MS);
    assert.equal(dataConnectTiming(10_000_000).answerMs, DEFAULT_BUSY_TIMEOUT_MS);
  });

  it('a refused port is DataPlaneUnavailable (the fallback trigger), quickly', async () => {
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
    const port = (srv.address() as net.AddressInfo).port;
    await new Promise<void>((r) => srv.close(() => r()));
    // Quickly = on the refusal itself, not after the connect timeout ("no answer within ..."); the
    // message says which (a wall-clock bound failed on a loaded box).
    await assert.rejects(connectDataStream('127.0.0.1', port, Buffer.alloc(32)), (e: unknown) => e instanceof BlitError && e.code === 'DataPlaneUnavailable' && /ECONNREFUSED/.test(e.message));
  });
});
