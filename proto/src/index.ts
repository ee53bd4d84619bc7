/**
 * Builds blit.proto's gRPC definitions at run time (as @grpc/proto-loader does, see definitions.ts,
 * from the descriptor that `npm run gen` parsed from blit.proto, see generated/descriptor.ts) and re-exports the generated TypeScript types
 * (proto-loader-gen-types, see `npm run gen -w proto`). Nothing else in the repository declares a
 * wire type.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/blit';
import { BLIT_DESCRIPTOR } from './generated/descriptor';
import { packageDefinition } from './definitions';

export * from './generated';

/** Bumped on any incompatible change to blit.proto or the data-plane framing. */
export const PROTOCOL_VERSION = 4;

/** Options shared by every loader of blit.proto, so server and clients agree on shapes. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Path of blit.proto: next to package.json in the repository, or beside a bundle that copied it. */
export function protoPath(): string {
  const candidates = [
    path.join(__dirname, '..', '..', 'blit.proto'),
    path.join(__dirname, 'blit.proto'),
    path.join(__dirname, '..', 'blit.proto'),
  ];
  for (const c of candidates) if (fs.existsSync(c)) return c;
  throw new Error(`blit.proto not found (looked in ${candidates.join(', ')})`);
}

let loaded: grpc.GrpcObject | undefined;

/**
 * blit.proto's definitions built once per process: every connectDaemon and the server share the
 * result, which is immutable. Built from the pre-parsed descriptor: parsing the .proto text
 * (loadSync) cost 25-40 ms of every CLI run, the descriptor about half (DEVLOG 2026-11-21, h5), and
 * packageDefinition() instead of proto-loader's fromJSON another ~15 ms (h17).
 */
export function loadBlitPackage(): grpc.GrpcObject {
  loaded ??= grpc.loadPackageDefinition(packageDefinition(BLIT_DESCRIPTOR, LOADER_OPTIONS));
  return loaded;
}

/** The service definition and client constructor for blit.v1.Blit. */
export function blitService(): grpc.ServiceClientConstructor {
  const pkg = loadBlitPackage() as unknown as { blit: { v1: { Blit: grpc.ServiceClientConstructor } } };
  return pkg.blit.v1.Blit;
}

/** The typed client constructor (with `.service`, the server's service definition). */
export type BlitClientConstructor = ProtoGrpcType['blit']['v1']['Blit'];

/** Same as blitService(), typed with the generated client interface. */
export function blitClientConstructor(): BlitClientConstructor {
  return (loadBlitPackage() as unknown as ProtoGrpcType).blit.v1.Blit;
}

export { blitRequestType, blitResponseType, blitType, wireCost, type WireCost } from './wire-cost';
