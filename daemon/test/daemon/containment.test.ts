import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createResolver } from '../../src/daemon/containment';
import { silentLogger } from '../../src/daemon/logger';
import type { ModuleConfig } from '../../src/daemon/context';
import { BlitError } from '../../src/engine/errors';

describe('module containment (resolvePath on a real tree)', () => {
  let tmp: string;
  let root: string;
  let outside: string;
  let resolve: ReturnType<typeof createResolver>;

  before(() => {
    tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'blit-contain-')));
    root = path.join(tmp, 'mod');
    outside = path.join(tmp, 'outside');
    fs.mkdirSync(path.join(root, 'sub', 'deep'), { recursive: true });
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'secret'), 'x');
    fs.symlinkSync(outside, path.join(root, 'out-dir'));
    fs.symlinkSync(path.join(outside, 'nothing-yet'), path.join(root, 'dangling-out'));
    fs.symlinkSync('sub/new-file', path.join(root, 'dangling-in'));
    fs.symlinkSync('sub', path.join(root, 'in-dir'));
    const modules = new Map<string, ModuleConfig>([
      ['m', { name: 'm', path: root, readOnly: false, comment: '' }],
      ['ro', { name: 'ro', path: root, readOnly: true, comment: '' }],
    ]);
    resolve = createResolver({ modules, log: silentLogger });
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  async function refused(mod: string, rel: string | Buffer, code: string, forWrite = false): Promise<void> {
    await assert.rejects(resolve(mod, Buffer.isBuffer(rel) ? rel : Buffer.from(rel), { forWrite }), (e: unknown) => {
      assert.ok(e instanceof BlitError, String(e));
      assert.equal(e.code, code, e.message);
      return true;
    });
  }

  it('resolves existing and not-yet-existing paths inside the module', async () => {
    assert.equal((await resolve('m', Buffer.from(''), { forWrite: false })).abs.toString(), root);
    assert.equal((await resolve('m', Buffer.from('sub/deep/'), { forWrite: true })).abs.toString(), path.join(root, 'sub/deep'));
    assert.equal((await resolve('m', Buffer.from('./sub//new/x'), { forWrite: true })).abs.toString(), path.join(root, 'sub/new/x'));
  });
  it('follows symlinks that stay inside, to their real path', async () => {
    assert.equal((await resolve('m', Buffer.from('in-dir/deep'), { forWrite: false })).abs.toString(), path.join(root, 'sub/deep'));
    assert.equal((await resolve('m', Buffer.from('dangling-in'), { forWrite: true })).abs.toString(), path.join(root, 'dangling-in'));
  });
  it('refuses "..", absolute paths and NUL bytes before touching the disk', async () => {
    await refused('m', '../outside/secret', 'PathEscape');
    await refused('m', 'sub/../../outside', 'PathEscape');
    await refused('m', '/etc/passwd', 'PathEscape');
    await refused('m', Buffer.from([0x61, 0x00, 0x62]), 'InvalidPath');
  });
  it('refuses symlinks that lead outside, existing or dangling', async () => {
    await refused('m', 'out-dir', 'PathEscape');
    await refused('m', 'out-dir/secret', 'PathEscape');
    await refused('m', 'out-dir/new-file', 'PathEscape', true);
    await refused('m', 'dangling-out', 'PathEscape', true);
    assert.ok(!fs.existsSync(path.join(outside, 'nothing-yet')));
  });
  it('refuses unknown modules and writes to read-only modules', async () => {
    await refused('nope', 'x', 'ModuleNotFound');
    await refused('', 'x', 'ModuleNotFound');
    await refused('ro', 'sub', 'ReadOnlyModule', true);
    assert.equal((await resolve('ro', Buffer.from('sub'), { forWrite: false })).abs.toString(), path.join(root, 'sub'));
  });
});
