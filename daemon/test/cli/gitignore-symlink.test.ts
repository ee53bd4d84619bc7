/**
 * One rule for a `.gitignore` that is a symlink, as git >= 2.32 and blitd's pull
 * (containment-listing.test.ts): not followed, named as "cannot read .gitignore" (exit 2), its
 * rules not applied; a regular .gitignore beside it still applies. Here: the local engine and a
 * push (the client's walk), with real links to a rules file outside the source.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blit, cleanupTemp, listTree, tempDir, writeTree } from './harness';
import { startDaemon, type Daemon } from '../daemon/harness';

describe('--gitignore: a .gitignore that is a symlink is not followed (local and push)', function () {
  this.timeout(120_000);
  let dir: string;
  let src: string;
  let daemon: Daemon | undefined;

  before(() => {
    dir = tempDir('blit-gitignore-link-');
    // Outside the source: rules the walk must never read through the link.
    fs.writeFileSync(path.join(dir, 'rules'), 'hidden.txt\n');
    src = path.join(dir, 'src');
    writeTree(src, { 'sub/hidden.txt': 'h', 'sub/kept.txt': 'k', 'other/x.log': 'l', 'other/y.txt': 'y' });
    fs.symlinkSync(path.join(dir, 'rules'), path.join(src, 'sub/.gitignore'));
    fs.writeFileSync(path.join(src, 'other/.gitignore'), '*.log\n');
  });

  after(async () => {
    await daemon?.stop();
    cleanupTemp();
  });

  function check(r: { code: number | null; stdout: string; stderr: string }, dst: string): void {
    assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /sub\/\.gitignore: cannot read \.gitignore: it is a symlink \(not followed; its rules are not applied\)/);
    const got = listTree(dst);
    assert.ok(got.includes('sub/hidden.txt'), `the symlink's rules were applied: ${got.join(',')}`);
    assert.ok(got.includes('sub/kept.txt'));
    assert.ok(!got.includes('other/x.log'), `the regular .gitignore still applies: ${got.join(',')}`);
    assert.ok(got.includes('other/y.txt'));
  }

  it('local copy', () => {
    const dst = path.join(dir, 'local');
    check(blit(['copy', '--gitignore', `${src}/`, dst]), dst);
  });

  it('push to blitd', async () => {
    const moduleDir = path.join(dir, 'module');
    fs.mkdirSync(moduleDir);
    daemon = await startDaemon(['--port', '0', '--root', moduleDir], { env: { BLIT_FORCE_GRPC_DATA: '' } });
    check(blit(['copy', '--gitignore', `${src}/`, `127.0.0.1:${daemon.port}:/default/pushed`]), path.join(moduleDir, 'pushed'));
  });
});
