import { strict as assert } from 'node:assert';
import { parseEndpoint, parseHostPort, formatRemote } from '../../src/remote/endpoint';
import { BlitError } from '../../src/engine/errors';

function usageError(fn: () => unknown, mention: string): void {
  assert.throws(fn, (e: unknown) => e instanceof BlitError && e.code === 'Usage' && e.message.includes(mention));
}

describe('endpoint parsing', () => {
  it('parses HOST:/MODULE as the module root on the default port', () => {
    assert.deepEqual(parseEndpoint('server:/data'), { kind: 'remote', host: 'server', port: 9031, module: 'data', path: '', trailingSlash: false });
  });
  it('parses HOST:PORT:/MODULE/PATH', () => {
    assert.deepEqual(parseEndpoint('10.0.0.2:9100:/data/a/b.txt'), {
      kind: 'remote', host: '10.0.0.2', port: 9100, module: 'data', path: 'a/b.txt', trailingSlash: false,
    });
  });
  it('parses bracketed IPv6 with and without a port', () => {
    assert.deepEqual(parseEndpoint('[::1]:9031:/mod/path'), { kind: 'remote', host: '::1', port: 9031, module: 'mod', path: 'path', trailingSlash: false });
    assert.deepEqual(parseEndpoint('[::1]:/mod'), { kind: 'remote', host: '::1', port: 9031, module: 'mod', path: '', trailingSlash: false });
  });
  it('normalises duplicate and trailing slashes', () => {
    assert.deepEqual(parseEndpoint('h:/mod//x/./y/'), { kind: 'remote', host: 'h', port: 9031, module: 'mod', path: 'x/y', trailingSlash: true });
  });
  it('keeps whether the remote path ended in a slash (rsync: contents of the source)', () => {
    const slash = (arg: string): boolean => {
      const ep = parseEndpoint(arg);
      assert.equal(ep.kind, 'remote');
      return ep.kind === 'remote' && ep.trailingSlash;
    };
    assert.equal(slash('h:/mod/dir'), false);
    assert.equal(slash('h:/mod/dir/'), true);
    assert.equal(slash('h:/mod/dir/.'), true);
    assert.equal(slash('h:/mod/'), true);
    assert.equal(slash('h:/mod'), false);
  });
  it('keeps local paths local, even with a colon', () => {
    for (const p of ['./a:b', 'a:b', '/abs/x:/y', 'dir/file', '../up:/x', 'plain', '~/x:/y']) {
      assert.deepEqual(parseEndpoint(p), { kind: 'local', path: p }, p);
    }
  });
  it('refuses malformed remote specs naming the argument', () => {
    usageError(() => parseEndpoint('host:/'), "'host:/'");
    usageError(() => parseEndpoint('host:70000:/m'), 'port 70000');
    usageError(() => parseEndpoint('host:0:/m'), 'port 0');
    usageError(() => parseEndpoint('host:abc:/m'), 'numeric port');
    usageError(() => parseEndpoint('host:/m/../x'), "'..'");
    usageError(() => parseEndpoint('[zz]:/m'), 'IPv6');
    usageError(() => parseEndpoint(''), 'empty');
  });
  it('parses HOST[:PORT] for admin verbs', () => {
    assert.deepEqual(parseHostPort('localhost'), { host: 'localhost', port: 9031 });
    assert.deepEqual(parseHostPort('127.0.0.1:1234'), { host: '127.0.0.1', port: 1234 });
    assert.deepEqual(parseHostPort('[::1]:5'), { host: '::1', port: 5 });
    usageError(() => parseHostPort('host:/mod'), "'host:/mod'");
    usageError(() => parseHostPort('host:99999'), 'port 99999');
  });
  it('formats a remote the way it parses', () => {
    assert.equal(formatRemote({ host: '::1', port: 9031, module: 'm', path: 'a/b' }), '[::1]:9031:/m/a/b');
    assert.equal(formatRemote({ host: 'h', port: 1, module: 'm', path: '' }), 'h:1:/m');
  });
});
