/**
 * The server refuses, before decoding, a request message whose decoding would cost more than
 * WIRE_COST_LIMIT units (@blit/proto wireCost: ~60-100 bytes of memory each). A 2 MB ManifestBatch
 * of empty FileEntry records decoded into 2 GB and blocked the event loop for 4 s; one message
 * at the 64 MiB size limit would have exhausted the heap. Honest messages stay far below: blit
 * sends manifests packed (one bytes field per batch), needs and committed indices in batches of
 * 4096, and data in 1 MiB chunks; the largest is a header with --files-from paths (1 unit each).
 *
 * A refused message is not thrown from the deserializer (grpc-js would answer INTERNAL "Error
 * deserializing request", naming nothing): it is replaced by a marker the handlers turn into a
 * BadFrame naming the message, the field and the limit (refusalOf: server.ts for unary and
 * server-streaming calls, call-io's messageReader for push and pull).
 *
 * The client guards the server's messages the same way (side 'response': grpc-client.ts), so a
 * hostile or broken server cannot make blit decode a 16 MB manifest of empty entries into
 * gigabytes either (DEVLOG hunt-server).
 */
import type * as grpc from '@grpc/grpc-js';
import { blitRequestType, blitResponseType, wireCost } from '@blit/proto';
import { BlitError, ErrorCodes } from '../engine/errors';

/** 2^21 units: ~190,000 FileEntry records or 2 million --files-from paths in one message. */
export const WIRE_COST_LIMIT = 1 << 21;

const REFUSED = Symbol('blit.wire-refused');

/** The refusal standing in for a message that was not decoded, if `m` is one. */
export function refusalOf(m: unknown): BlitError | undefined {
  return m !== null && typeof m === 'object' ? (m as { [REFUSED]?: BlitError })[REFUSED] : undefined;
}

/**
 * `service` with every method's request deserializer (a server's) or response deserializer (a
 * client's) guarded by wireCost (limit for tests).
 */
export function guardService(service: grpc.ServiceDefinition, limit = WIRE_COST_LIMIT, side: 'request' | 'response' = 'request'): grpc.ServiceDefinition {
  const out: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const [name, def] of Object.entries(service)) {
    const decode = side === 'request' ? def.requestDeserialize : def.responseDeserialize;
    // Looked up at the first message: building the types costs a CLI run's start nothing then.
    let type: ReturnType<typeof blitRequestType> | undefined;
    const guarded = (buf: Buffer): unknown => {
      type ??= side === 'request' ? blitRequestType(name) : blitResponseType(name);
      const cost = wireCost(type, buf, limit);
      if (cost.units <= limit) return decode(buf);
      return {
        [REFUSED]: new BlitError({
          code: ErrorCodes.BadFrame,
          message:
            `${type.name} of ${buf.length} bytes refused undecoded: ${cost.field ?? 'its fields'} holds more values than one ` +
            `message may (decoding it would cost over ${limit} units of memory)${side === 'request' ? '; send smaller batches' : ''}`,
        }),
      };
    };
    // The lazy non-enumerable fields: grpc-js reads none.
    out[name] = side === 'request' ? { ...def, requestDeserialize: guarded } : { ...def, responseDeserialize: guarded };
  }
  return out as grpc.ServiceDefinition;
}
