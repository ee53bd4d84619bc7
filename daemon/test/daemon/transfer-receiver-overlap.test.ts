/**
 * The receiver keeps reading a data stream while a file write is in flight (bounded), instead of
 * alternating read and write: a real DataReceiver reads real frames from a loopback socket into a
 * real temp file; the file sink holds its first write until the test has seen the receiver read
 * far ahead of it. Before the fix the socket was paused at 16 MiB queued until the one big write
 * of everything queued returned, so the receiver never got 32 MiB ahead of a held write.
 */
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Entry } from '../../src/engine/types';
import { FrameType, frameHeader, streamEndFrame } from '../../src/remote/dataplane';
import { DataReceiver, HIGH_WATER, WRITE_BATCH, type FileSink } from '../../src/remote/data-receiver';
import { tcpReceiveQueue, tempDir, waitFor } from './harness';

const MIB = 1024 * 1024;


describe('data receiver: reading continues while writes are in flight', function () {
  this.timeout(30_000);

  it('reads up to the high-water mark ahead of a held write, never beyond it, writes <= WRITE_BATCH at a time, and the file is exact', async () => {
    const tmp = tempDir('blit-rx-overlap-');
    const server = net.createServer();
    const sockets: net.Socket[] = [];
    try {
      const content = crypto.randomBytes(48 * MIB);
      const target = path.join(tmp.dir, 'big.bin');
      const fd = fs.openSync(target, 'w');
      const batches: number[] = [];
      let written = 0;
      let releaseFirst!: () => void;
      const firstHeld = new Promise<void>((r) => (releaseFirst = r));
      let committed = false;
      const sink: FileSink = {
        writev: async (chunks, position) => {
          const n = chunks.reduce((t, c) => t + c.length, 0);
          batches.push(n);
          if (batches.length === 1) await firstHeld;
          fs.writevSync(fd, chunks, position);
          written += n;
        },
        commit: async () => {
          fs.closeSync(fd);
          committed = true;
        },
        abort: async () => undefined,
      };
      const entry = { rel: Buffer.from('big.bin'), size: content.length } as unknown as Entry;
      const rx = new DataReceiver({
        openSink: async () => sink,
        committed: () => undefined,
        failed: (_f, failure) => assert.fail(`failed: ${failure.reason}`),
      });
      rx.expect({ index: 0, entry });

      server.listen(0, '127.0.0.1');
      await new Promise((r) => server.once('listening', r));
      const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
      const client = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
      const socket = await accepted;
      sockets.push(client, socket);
      const received = rx.receiveStream(socket, 0, Buffer.alloc(0));
      client.write(frameHeader(FrameType.FileStart, 0, 0));
      for (let off = 0; off < content.length; off += MIB) {
        client.write(frameHeader(FrameType.Data, 0, MIB));
        client.write(content.subarray(off, off + MIB));
      }
      client.write(frameHeader(FrameType.FileEnd, 0, 0));
      client.end(streamEndFrame(false));

      await waitFor(() => rx.bytesReceived >= HIGH_WATER, 15_000, 'the receiver to read 32 MiB ahead of the held first write');
      // Paused at the mark: the sender's next bytes wait, unread, in the kernel's receive queue of
      // the socket (or, when Node reads with its own buffers, in the socket's stream buffer until
      // it is full); the receiver must not take them. (Not a sleep: this is the moment more was
      // on offer, under any load.)
      const bounded = (): void => assert.ok(rx.bytesReceived <= HIGH_WATER + 1 * MIB, `bounded: ${rx.bytesReceived} bytes taken while nothing was written`);
      await waitFor(
        () => (bounded(), socket.isPaused() && (socket.readableLength >= socket.readableHighWaterMark || tcpReceiveQueue(socket.localPort!, socket.remotePort) > 0)),
        15_000,
        'more bytes to arrive and wait, unread, in the paused socket',
      );
      assert.equal(written, 0, 'the first write is still held');
      bounded();

      releaseFirst();
      await received;
      assert.ok(committed, 'committed');
      assert.ok(batches.length >= content.length / WRITE_BATCH, `${batches.length} writes`);
      for (const b of batches) assert.ok(b <= WRITE_BATCH, `a write of ${b} bytes (max ${WRITE_BATCH})`);
      assert.ok(fs.readFileSync(target).equals(content), 'file content is exact');
    } finally {
      // On failure too: an open socket would keep the test process alive.
      for (const s of sockets) s.destroy();
      server.close();
      tmp.cleanup();
    }
  });
});
