/**
 * The receiver reads each data stream into one reused buffer (readIntoReusedBuffer) and collects
 * files over 256 KiB in pooled buffers: whatever must outlive a read is copied. A real
 * DataReceiver reads real frames from a loopback socket; the sender stops at chosen offsets and
 * waits until the receiver has read everything so far, so reads end inside a small file's data,
 * inside a frame header, inside a FILE_ERROR payload and inside medium files. Every file must come
 * out exact (a small file's first part kept as a view of the read buffer would be overwritten by
 * the next read), the FILE_ERROR's reason intact, and nothing may be left over.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import type { Entry, Failure } from '../../src/engine/types';
import { FrameType, frameHeader, streamEndFrame } from '../../src/remote/dataplane';
import { DataReceiver, type FileSink } from '../../src/remote/data-receiver';
import { waitFor } from './harness';

const KIB = 1024;

describe('data receiver: reads into one reused buffer', function () {
  this.timeout(60_000);

  for (const smallPath of [true, false]) {
    it(`keeps what outlives a read (small files ${smallPath ? 'by writeSmall' : 'through sinks too'}, medium files collected): every file exact`, async () => {
      // Sizes: many small ones, a few over 256 KiB (collected), one over 4 MiB (several buffers).
      const sizes: number[] = [];
      for (let i = 0; i < 400; i++) sizes.push(1 + crypto.randomInt(12 * KIB));
      sizes.splice(50, 0, 300 * KIB, 700 * KIB);
      sizes.splice(200, 0, 2 * 1024 * KIB + 5, 5 * 1024 * KIB + 3);
      sizes.splice(300, 0, 256 * KIB, 200 * KIB);
      const contents = sizes.map((n) => crypto.randomBytes(n));
      const errorIndex = sizes.length; // one more file, which the sender cannot read
      const reason = 'unreadable: ' + 'x'.repeat(30 * KIB);

      const got = new Map<number, Buffer>();
      const failures = new Map<number, Failure>();
      const sinkData = new Map<number, Buffer>();
      const rx = new DataReceiver({
        openSink: async (f): Promise<FileSink> => {
          const b = Buffer.alloc(f.entry.size);
          sinkData.set(f.index, b);
          return {
            writev: async (chunks, position) => {
              let at = position;
              for (const c of chunks) at += c.copy(b, at);
            },
            commit: async () => void got.set(f.index, Buffer.from(b)),
            abort: async () => undefined,
          };
        },
        ...(smallPath
          ? {
              writeSmall: (f, chunks, done) => {
                const copy = Buffer.concat(chunks);
                setImmediate(() => {
                  got.set(f.index, copy);
                  done();
                });
              },
            }
          : {}),
        committed: () => undefined,
        failed: (f, failure) => void failures.set(f.index, failure),
      });
      for (let i = 0; i <= errorIndex; i++) rx.expect({ index: i, entry: { rel: Buffer.from(`f${i}`), size: i === errorIndex ? 10 : sizes[i]! } as unknown as Entry });

      // The whole stream, and the offsets where the sender stops until the receiver read it all.
      const parts: Buffer[] = [];
      const cuts: number[] = [];
      let at = 0;
      const put = (b: Buffer): void => {
        parts.push(b);
        at += b.length;
      };
      contents.forEach((c, i) => {
        put(frameHeader(FrameType.FileStart, i, 0));
        if (i % 37 === 5) cuts.push(at + 7); // inside a DATA header
        put(frameHeader(FrameType.Data, i, c.length));
        cuts.push(at + Math.floor(c.length / 2)); // inside the data of every file
        if (c.length > 1000) cuts.push(at + 999);
        put(c);
        put(frameHeader(FrameType.FileEnd, i, 0));
      });
      const payload = Buffer.from(JSON.stringify({ code: 'EACCES', reason }), 'utf8');
      put(frameHeader(FrameType.FileStart, errorIndex, 0));
      put(frameHeader(FrameType.FileError, errorIndex, payload.length));
      cuts.push(at + 100, at + 10 * KIB); // inside the FILE_ERROR payload, twice
      put(payload);
      put(streamEndFrame(false));
      const stream = Buffer.concat(parts);
      cuts.push(stream.length);

      const server = net.createServer({ pauseOnConnect: true });
      const sockets: net.Socket[] = [];
      try {
        server.listen(0, '127.0.0.1');
        await new Promise((r) => server.once('listening', r));
        const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
        const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
        const socket = await accepted;
        sockets.push(client, socket);
        const received = rx.receiveStream(socket, 0, Buffer.alloc(0));
        let sent = 0;
        for (const cut of cuts) {
          if (cut <= sent) continue;
          client.write(stream.subarray(sent, cut));
          sent = cut;
          await waitFor(() => socket.bytesRead >= sent, 15_000, `the receiver to read ${sent} bytes`);
        }
        client.end();
        await received;
        await rx.finish();
        assert.equal(rx.streamsReadReused, 1, 'the stream was read into a reused buffer');
        assert.equal(failures.size, 1, [...failures.values()].map((f) => f.reason).join('; '));
        assert.equal(failures.get(errorIndex)?.reason, `sender: ${reason}`);
        assert.equal(failures.get(errorIndex)?.code, 'EACCES');
        for (let i = 0; i < contents.length; i++) assert.ok(got.get(i)?.equals(contents[i]!), `file ${i} (${sizes[i]} bytes) exact`);
      } finally {
        for (const s of sockets) s.destroy();
        server.close();
      }
    });
  }
});
