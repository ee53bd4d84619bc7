/**
 * A hostile gRPC client for blitd: raw protobuf bytes built by hand (no schema checks on our side,
 * so any field, count or size a buggy or malicious peer could send), over @grpc/grpc-js with
 * identity (de)serializers. Replies come back as raw bytes; tests look for the refusal text in them.
 */
import * as grpc from '@grpc/grpc-js';
import * as fs from 'node:fs';
import { PROTOCOL_VERSION } from '@blit/proto';

const raw = (b: Buffer): Buffer => b;

export function rawClient(port: number): grpc.Client {
  return new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.max_send_message_length': 128 * 1024 * 1024 });
}

export function varint(n: number | bigint): Buffer {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return Buffer.from(out);
}

/** A length-delimited field (bytes, string or sub-message) `no` holding `payload`. */
export function ld(no: number, payload: Buffer | string): Buffer {
  const p = Buffer.from(payload);
  return Buffer.concat([varint((no << 3) | 2), varint(p.length), p]);
}

/** A varint field. */
export function vi(no: number, n: number | bigint): Buffer {
  return Buffer.concat([varint(no << 3), varint(n)]);
}

/** `count` copies of `item` back to back. */
export function repeat(item: Buffer, count: number): Buffer {
  const out = Buffer.allocUnsafe(item.length * count);
  for (let i = 0; i < count; i++) item.copy(out, i * item.length);
  return out;
}

/** PushClientMessage{header} for module/path, copy mode. */
export function pushHeader(module: string, path: string): Buffer {
  return ld(1, Buffer.concat([vi(1, PROTOCOL_VERSION), ld(2, module), ld(3, path), ld(4, vi(1, 0))]));
}

/** PushClientMessage{manifest: ManifestBatch{entries: `count` empty FileEntry}} (2 bytes each). */
export function emptyEntriesBatch(count: number): Buffer {
  return ld(2, repeat(Buffer.from([0x0a, 0x00]), count));
}

export interface RawStatus {
  code: number;
  details: string;
  blitCode?: string;
}

export function rawUnary(c: grpc.Client, method: string, req: Buffer, timeoutMs = 30_000): Promise<{ ok?: Buffer; err?: RawStatus }> {
  return new Promise((resolve) => {
    c.makeUnaryRequest(`/blit.v1.Blit/${method}`, raw, raw, req, { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err) resolve({ err: { code: err.code, details: err.details, blitCode: err.metadata?.get('blit-code')[0] as string | undefined } });
      else resolve({ ok: res });
    });
  });
}

/** A bidi call sending `messages`, collecting the replies (raw) until the call ends or `timeoutMs`. */
export function rawBidi(c: grpc.Client, method: 'Push' | 'Pull', messages: Buffer[], timeoutMs = 30_000): Promise<{ replies: Buffer[]; err?: RawStatus; timedOut: boolean }> {
  return new Promise((resolve) => {
    const call = c.makeBidiStreamRequest(`/blit.v1.Blit/${method}`, raw, raw, { deadline: Date.now() + timeoutMs });
    const replies: Buffer[] = [];
    let err: RawStatus | undefined;
    call.on('data', (d: Buffer) => replies.push(d));
    call.on('error', (e: grpc.ServiceError) => (err = { code: e.code, details: e.details }));
    // 'status' marks the end of the call (our writable side is never ended: a hostile client need not).
    call.on('status', (st: grpc.StatusObject) => {
      if (st.code !== grpc.status.OK) err ??= { code: st.code, details: st.details };
      setImmediate(() => resolve({ replies, ...(err ? { err } : {}), timedOut: err?.code === grpc.status.DEADLINE_EXCEEDED }));
    });
    for (const m of messages) call.write(m);
  });
}

/** Peak resident memory of a process (VmHWM), bytes. */
export function peakRss(pid: number): number {
  return statusBytes(pid, 'VmHWM');
}

/** The resident memory of `pid` now (bytes, NaN when unknown). */
export function currentRss(pid: number): number {
  return statusBytes(pid, 'VmRSS');
}

function statusBytes(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}
