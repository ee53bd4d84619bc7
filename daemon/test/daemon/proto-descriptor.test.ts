/**
 * @blit/proto builds its gRPC definitions from the descriptor generated from blit.proto
 * (proto/scripts/gen-descriptor.js → proto/src/generated/descriptor.ts) instead of parsing the
 * .proto at run time: the committed descriptor must be what blit.proto says today, and the
 * definitions built from it must equal the ones loadSync builds from the text.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS, protoPath } from '@blit/proto';
import { BLIT_DESCRIPTOR } from '@blit/proto/dist/src/generated/descriptor';
import { packageDefinition } from '@blit/proto/dist/src/definitions';

const GEN = path.resolve(__dirname, '../../../../proto/scripts/gen-descriptor.js');

describe('blit.proto descriptor (generated, loaded with fromJSON)', () => {
  it('is up to date with blit.proto (else: npm run gen -w proto)', () => {
    const { descriptorJson } = require(GEN) as { descriptorJson: (file: string) => unknown };
    // protobufjs builds some of its JSON with other prototypes: compare the JSON itself.
    assert.deepEqual(BLIT_DESCRIPTOR, JSON.parse(JSON.stringify(descriptorJson(protoPath()))), 'proto/src/generated/descriptor.ts is stale: run `npm run gen -w proto`');
  });

  it('gives the same services, methods and message types as parsing blit.proto', () => {
    const fromText = protoLoader.loadSync(protoPath(), LOADER_OPTIONS);
    const fromJson = protoLoader.fromJSON(BLIT_DESCRIPTOR, LOADER_OPTIONS);
    assert.deepEqual(Object.keys(fromJson).sort(), Object.keys(fromText).sort());
    for (const [name, def] of Object.entries(fromText)) {
      const other = fromJson[name]!;
      if ('format' in def) {
        assert.deepEqual((other as typeof def).type, def.type, name);
      } else {
        for (const [method, m] of Object.entries(def as protoLoader.ServiceDefinition)) {
          const o = (other as protoLoader.ServiceDefinition)[method]!;
          assert.equal(o.path, m.path, `${name}.${method}`);
          assert.equal(o.requestStream, m.requestStream);
          assert.equal(o.responseStream, m.responseStream);
          assert.deepEqual(o.requestType.type, m.requestType.type);
          assert.deepEqual(o.responseType.type, m.responseType.type);
        }
      }
    }
    // Bytes encoded by one are read back the same by the other (defaults, enums as strings).
    const hs = (fromText['blit.v1.Blit'] as protoLoader.ServiceDefinition)['Handshake']!;
    const hj = (fromJson['blit.v1.Blit'] as protoLoader.ServiceDefinition)['Handshake']!;
    const msg = { protocolVersion: 3, clientVersion: '0.1.0' };
    assert.deepEqual(hj.requestDeserialize(hs.requestSerialize(msg)), hs.requestDeserialize(hs.requestSerialize(msg)));
    assert.deepEqual(hs.requestDeserialize(hj.requestSerialize(msg)), hj.requestDeserialize(hj.requestSerialize(msg)));
  });

  it('packageDefinition() (what blit loads) gives every field fromJSON gives, reflection fields on first access', () => {
    const loader = protoLoader.fromJSON(BLIT_DESCRIPTOR, LOADER_OPTIONS);
    const ours = packageDefinition(BLIT_DESCRIPTOR as never, LOADER_OPTIONS);
    // grpc-js builds the client without reading a reflection field (they are built on first access).
    const touched: string[] = [];
    const probe = packageDefinition(BLIT_DESCRIPTOR as never, LOADER_OPTIONS);
    for (const [name, def] of Object.entries(probe)) {
      const targets = 'format' in def ? [def] : Object.values(def as protoLoader.ServiceDefinition);
      for (const t of targets) {
        for (const key of ['type', 'fileDescriptorProtos', 'requestType', 'responseType', 'options']) {
          const d = Object.getOwnPropertyDescriptor(t, key);
          if (d?.get) Object.defineProperty(t, key, { enumerable: false, get: () => { touched.push(`${name} ${key}`); return d.get!(); } });
        }
      }
    }
    const ctor = (grpc.loadPackageDefinition(probe) as unknown as { blit: { v1: { Blit: grpc.ServiceClientConstructor } } }).blit.v1.Blit;
    new grpc.Server().addService(ctor.service, {});
    assert.deepEqual(touched, []);
    assert.deepEqual(Object.keys(ours), Object.keys(loader));
    for (const [name, def] of Object.entries(loader)) {
      const other = ours[name]!;
      if ('format' in def) {
        assert.deepEqual([...Object.keys(other), 'type', 'fileDescriptorProtos'].sort(), Object.keys(def).sort(), name);
        assert.equal((other as typeof def).format, def.format, name);
        assert.deepEqual((other as typeof def).type, def.type, name);
        assert.deepEqual((other as typeof def).fileDescriptorProtos, def.fileDescriptorProtos, name);
      } else {
        const service = def as protoLoader.ServiceDefinition;
        assert.deepEqual(Object.keys(other), Object.keys(service), name);
        for (const [method, m] of Object.entries(service)) {
          const o = (other as protoLoader.ServiceDefinition)[method]!;
          const where = `${name}.${method}`;
          assert.deepEqual([...Object.keys(o), 'requestType', 'responseType', 'options'].sort(), Object.keys(m).sort(), where);
          for (const key of ['path', 'requestStream', 'responseStream', 'originalName'] as const) assert.equal(o[key], m[key], `${where} ${key}`);
          assert.deepEqual(o.options, m.options, where);
          assert.deepEqual(o.requestType.type, m.requestType.type, where);
          assert.deepEqual(o.responseType.type, m.responseType.type, where);
          assert.deepEqual(o.requestType.fileDescriptorProtos, m.requestType.fileDescriptorProtos, where);
        }
      }
    }
    // The serializers agree both ways, on a message with defaults, enums, oneofs and repeated fields.
    const push = (loader['blit.v1.Blit'] as protoLoader.ServiceDefinition)['Push']!;
    const ourPush = (ours['blit.v1.Blit'] as protoLoader.ServiceDefinition)['Push']!;
    const samples = [
      { header: { module: 'm', path: Buffer.from('a/b'), options: { dryRun: true, filter: { includes: ['*.c'] } }, singleFile: true } },
      { manifest: { entries: [{ path: Buffer.from('x'), kind: 'ENTRY_KIND_SYMLINK', size: 5, mtimeSec: 1_700_000_000, linkTarget: Buffer.from('y') }] } },
    ];
    for (const raw of samples) {
      const sample = push.requestDeserialize(push.requestSerialize(raw));
      assert.deepEqual(ourPush.requestDeserialize(push.requestSerialize(sample)), sample);
      assert.deepEqual(push.requestDeserialize(ourPush.requestSerialize(sample)), sample);
      assert.deepEqual(ourPush.requestSerialize(sample), push.requestSerialize(sample));
    }
    assert.throws(() => ourPush.requestSerialize([] as never), /expected object with PushClientMessage structure, got array/);
    const hs = (loader['blit.v1.HandshakeResponse'] as protoLoader.MessageTypeDefinition<object, object>);
    const ourHs = (ours['blit.v1.HandshakeResponse'] as protoLoader.MessageTypeDefinition<object, object>);
    assert.deepEqual(ourHs.deserialize(hs.serialize({ protocolVersion: 4 })), hs.deserialize(hs.serialize({ protocolVersion: 4 })));
  });
});
