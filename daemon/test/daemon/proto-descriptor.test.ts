/**
 * @blit/proto builds its gRPC definitions from the descriptor generated from blit.proto
 * (proto/scripts/gen-descriptor.js → proto/src/generated/descriptor.ts) instead of parsing the
 * .proto at run time: the committed descriptor must be what blit.proto says today, and the
 * definitions built from it must equal the ones loadSync builds from the text.
 */
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import { LOADER_OPTIONS, protoPath } from '@blit/proto';
import { BLIT_DESCRIPTOR } from '@blit/proto/dist/src/generated/descriptor';

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
});
