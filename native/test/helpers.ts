import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** A fresh directory under os.tmpdir(); `remove()` deletes it. */
export function makeTempDir(label: string): { dir: string; file: (name: string) => string; remove: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `blit-native-${label}-`));
  return { dir, file: (name) => path.join(dir, name), remove: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function randomBytes(n: number): Buffer {
  return crypto.randomBytes(n);
}

/** The OS file descriptor behind a net.Socket (Node keeps it on the internal handle). */
export function socketFd(socket: net.Socket): number {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('socket has no fd');
  return fd;
}

/**
 * A connected loopback TCP pair. The server side is created with pauseOnConnect so Node never
 * reads from it: the test owns its fd exclusively (for splice).
 */
export async function tcpPair(): Promise<{ client: net.Socket; server: net.Socket; close: () => void }> {
  const listener = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const { port } = listener.address() as net.AddressInfo;
  const accepted = new Promise<net.Socket>((resolve) => listener.once('connection', resolve));
  const client = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  const server = await accepted;
  return {
    client,
    server,
    close: () => {
      client.destroy();
      server.destroy();
      listener.close();
    },
  };
}

export const tick = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
