/**
 * What decoding a message would cost, read from its wire bytes before it is decoded. Decoding
 * materialises every field of every sub-message (LOADER_OPTIONS.defaults): an empty FileEntry is
 * 2 bytes on the wire and ~700 bytes (and ~4 µs of a synchronous decode) in memory, so a 2 MB
 * ManifestBatch of empty entries grew blitd by 2 GB and blocked its event loop for 4 s, and one
 * 64 MiB message (the size limit) would exhaust its heap. A server checks this first (blitd:
 * daemon/src/daemon/wire-guard.ts) and refuses the message undecoded.
 *
 * Cost units, roughly 60-100 bytes of decoded memory each: every field occurrence 1; a sub-message
 * also the number of fields its type declares (each is materialised with its default); a packed
 * repeated number 1 per 4 wire bytes (one JS number each, >= 1 byte on the wire). The walk is one
 * pass over the bytes without allocation; it stops as soon as `limit` is passed. Malformed bytes
 * end the walk (the decoder then refuses them as it always did).
 */
import * as protobuf from 'protobufjs';
import { BLIT_DESCRIPTOR } from './generated/descriptor';

export interface WireCost {
  /** Units counted (more than `limit` when it was exceeded: the walk stopped there). */
  units: number;
  /** When over the limit: the field where it was exceeded, e.g. `manifest.entries`. */
  field?: string;
}

let root: protobuf.Root | undefined;

/** A message type of blit.proto by its short name, e.g. `PushClientMessage`. */
export function blitType(name: string): protobuf.Type {
  if (!root) {
    root = protobuf.Root.fromJSON(BLIT_DESCRIPTOR as protobuf.INamespace);
    root.resolveAll();
  }
  return root.lookupType(`blit.v1.${name}`);
}

/** The request type of an RPC of blit.v1.Blit, e.g. `Push` -> PushClientMessage. */
export function blitRequestType(method: string): protobuf.Type {
  blitType('FileEntry');
  return root!.lookupService('blit.v1.Blit').methods[method]!.resolvedRequestType!;
}

/** The response type of an RPC of blit.v1.Blit, e.g. `Pull` -> PullServerMessage (a client's guard). */
export function blitResponseType(method: string): protobuf.Type {
  blitType('FileEntry');
  return root!.lookupService('blit.v1.Blit').methods[method]!.resolvedResponseType!;
}

class Over extends Error {
  constructor(readonly field: string[]) {
    super('over');
  }
}

/** Cost of decoding `buf` as `type`, up to a bit past `limit`. */
export function wireCost(type: protobuf.Type, buf: Uint8Array, limit: number): WireCost {
  const state = { units: 0, limit };
  try {
    walk(type, buf, 0, buf.length, state);
  } catch (err) {
    if (err instanceof Over) return { units: state.units, field: err.field.reverse().join('.') };
    throw err;
  }
  return { units: state.units };
}

/** Reads a varint at `at.o` (advancing it); -1 when it runs past `end`. Up to 2^53 exactly enough. */
function varint(buf: Uint8Array, at: { o: number }, end: number): number {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (at.o >= end) return -1;
    const b = buf[at.o++]!;
    v += (b & 0x7f) * mul;
    if (b < 0x80) return v;
    mul *= 128;
  }
  return -1;
}

const PACKABLE = new Set(['double', 'float', 'int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'int64', 'uint64', 'sint64', 'fixed64', 'sfixed64', 'bool']);

function walk(type: protobuf.Type, buf: Uint8Array, start: number, end: number, state: { units: number; limit: number }): void {
  const at = { o: start };
  while (at.o < end) {
    const tag = varint(buf, at, end);
    if (tag < 0) return;
    const wt = tag % 8;
    const field = type.fieldsById[Math.floor(tag / 8)];
    state.units += 1;
    if (wt === 0) {
      if (varint(buf, at, end) < 0) return;
    } else if (wt === 1) {
      at.o += 8;
    } else if (wt === 5) {
      at.o += 4;
    } else if (wt === 2) {
      const len = varint(buf, at, end);
      if (len < 0 || at.o + len > end) return;
      const sub = field?.resolvedType;
      try {
        if (sub instanceof protobuf.Type) {
          state.units += sub.fieldsArray.length;
          walk(sub, buf, at.o, at.o + len, state);
        } else if (field?.repeated && (PACKABLE.has(field.type) || field.resolvedType instanceof protobuf.Enum)) {
          state.units += Math.ceil(len / 4);
        }
        if (state.units > state.limit) throw new Over([]);
      } catch (err) {
        if (err instanceof Over) err.field.push(field?.name ?? `#${Math.floor(tag / 8)}`);
        throw err;
      }
      at.o += len;
    } else {
      return; // groups (3, 4) and invalid wire types: the decoder refuses or skips them
    }
    if (state.units > state.limit) throw new Over(field ? [field.name] : []);
  }
}
