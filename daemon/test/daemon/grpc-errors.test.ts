import { strict as assert } from 'node:assert';
import * as grpc from '@grpc/grpc-js';
import { fromGrpcError, toGrpcError } from '../../src/daemon/grpc-errors';
import { BlitError } from '../../src/engine/errors';

describe('BlitError <-> gRPC status', () => {
  it('round-trips code, path and message through status + metadata', () => {
    const err = new BlitError({ code: 'PathEscape', message: "'..' is not allowed", path: 'm/../x' });
    const wire = toGrpcError(err);
    assert.equal(wire.code, grpc.status.PERMISSION_DENIED);
    const back = fromGrpcError(wire, 'h:1');
    assert.equal(back.code, 'PathEscape');
    assert.equal(back.path, 'm/../x');
    assert.equal(back.message, err.message);
  });
  it('maps codes to fitting statuses', () => {
    const status = (code: BlitError['code']) => toGrpcError(new BlitError({ code, message: 'x' })).code;
    assert.equal(status('ModuleNotFound'), grpc.status.NOT_FOUND);
    assert.equal(status('ReadOnlyModule'), grpc.status.PERMISSION_DENIED);
    assert.equal(status('Usage'), grpc.status.INVALID_ARGUMENT);
    assert.equal(status('Cancelled'), grpc.status.CANCELLED);
    assert.equal(status('VerifyFailed'), grpc.status.UNKNOWN);
  });
  it('non-BlitErrors become Internal, never a silent success', () => {
    const back = fromGrpcError(toGrpcError(new TypeError('boom')), 'h:1');
    assert.equal(back.code, 'Internal');
    assert.match(back.message, /boom/);
  });
  it('turns transport failures into Unreachable naming the target and errno', () => {
    const refused = fromGrpcError({ code: grpc.status.UNAVAILABLE, details: 'No connection established. Last error: Error: connect ECONNREFUSED 10.0.0.1:9031' }, '10.0.0.1:9031');
    assert.equal(refused.code, 'Unreachable');
    assert.equal(refused.message, 'cannot connect to 10.0.0.1:9031: ECONNREFUSED');
    const late = fromGrpcError({ code: grpc.status.DEADLINE_EXCEEDED, details: 'Deadline exceeded' }, 'h:1');
    assert.equal(late.code, 'Unreachable');
    assert.match(late.message, /h:1 did not answer in time/);
  });
});
