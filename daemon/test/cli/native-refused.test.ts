/**
 * A native library that is present but refused (native/src/batch.ts): real libraries built from
 * the shim's source with another ABI number, without the version symbol, and a truncated file,
 * handed to real blit and blitd processes through BLIT_NATIVE_LIB (the loader's first
 * candidate). Each says so once (the file, the reason, the fix) and copies right on the node:fs
 * path; BLIT_NATIVE_BATCH=0 and a library that loads stay silent.
 */
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blit, cleanupTemp, tempDir } from './harness';
import { runBlit, startDaemon, type Daemon } from '../daemon/harness';
import { assertSameTree, makeSourceTree } from '../daemon/transfer-helpers';

/** dist/test/cli → native/csrc: blit_batch.c holds the ABI number; the other .c files build with it. */
const CSRC = path.resolve(__dirname, '../../../../native/csrc');
const SHIM = path.join(CSRC, 'blit_batch.c');
const OTHER_SOURCES = fs.readdirSync(CSRC).filter((f) => f.endsWith('.c') && f !== 'blit_batch.c').map((f) => path.join(CSRC, f));
const WARNING = /native library (\S+) refused \(([^)]*)\): .*node:fs path; rebuild it: npm ci \(or npm run build\)/g;

function warnings(text: string): Array<{ file: string; reason: string }> {
  return [...text.matchAll(WARNING)].map((m) => ({ file: m[1]!, reason: m[2]! }));
}

/** A source tree with enough small files for the copy workers, each of which loads the library too. */
function makeSource(root: string): void {
  makeSourceTree(root);
  for (let d = 0; d < 4; d++) {
    fs.mkdirSync(path.join(root, `many${d}`));
    for (let i = 0; i < 300; i++) fs.writeFileSync(path.join(root, `many${d}`, `f${i}.txt`), `${d}/${i}\n`);
  }
}

describe('a refused native library is named once, and the copy is right', function () {
  this.timeout(120_000);
  let dir: string;
  let src: string;
  let abi4: string;
  let noVersion: string;
  let truncated: string;

  before(() => {
    dir = tempDir('blit-native-refused-');
    const source = fs.readFileSync(SHIM, 'utf8');
    assert.match(source, /^#define ABI_VERSION \d+$/m);
    const other = path.join(dir, 'abi4.c');
    fs.writeFileSync(other, source.replace(/^#define ABI_VERSION \d+$/m, '#define ABI_VERSION 4'));
    abi4 = path.join(dir, 'libabi4.so');
    execFileSync(process.env['CC'] || 'cc', ['-O2', '-fPIC', '-shared', `-I${CSRC}`, '-o', abi4, other, ...OTHER_SOURCES]);
    // A library from before the version symbol: blit_batch_abi_version renamed away.
    const old = path.join(dir, 'old.c');
    fs.writeFileSync(old, source.replace(/\bblit_batch_abi_version\b/g, 'blit_batch_no_version'));
    noVersion = path.join(dir, 'libold.so');
    execFileSync(process.env['CC'] || 'cc', ['-O2', '-fPIC', '-shared', `-I${CSRC}`, '-o', noVersion, old, ...OTHER_SOURCES]);
    truncated = path.join(dir, 'libtruncated.so');
    fs.writeFileSync(truncated, fs.readFileSync(abi4).subarray(0, 40));
    src = path.join(dir, 'src');
    makeSource(src);
  });

  after(() => cleanupTemp());

  const CASES: Array<{ what: string; lib: () => string; reason: RegExp }> = [
    { what: 'another ABI version', lib: () => abi4, reason: /^ABI version 4, expected \d+$/ },
    { what: 'a missing symbol', lib: () => noVersion, reason: /blit_batch_abi_version/ },
    { what: 'a load error (truncated file)', lib: () => truncated, reason: /./ },
  ];

  CASES.forEach((c, i) => {
    it(`blit copy and mirror: ${c.what}`, () => {
      const lib = c.lib();
      const dst = path.join(dir, `dst${i}`);
      let r = blit(['copy', `${src}/`, dst], { env: { BLIT_NATIVE_LIB: lib } });
      assert.equal(r.code, 0, r.stderr);
      const said = warnings(r.stderr);
      assert.equal(said.length, 1, r.stderr);
      assert.equal(said[0]!.file, lib);
      assert.match(said[0]!.reason, c.reason);
      assertSameTree(src, dst);
      // A mirror's two passes (--yes: one) and its deletions: still once.
      fs.writeFileSync(path.join(dst, 'extra.txt'), 'gone\n');
      r = blit(['mirror', '--yes', `${src}/`, dst], { env: { BLIT_NATIVE_LIB: lib } });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(warnings(r.stderr).length, 1, r.stderr);
      assertSameTree(src, dst);
    });
  });

  it('BLIT_NATIVE_BATCH=0 with a refused library, and a library that loads: nothing said', () => {
    let r = blit(['copy', `${src}/`, path.join(dir, 'off')], { env: { BLIT_NATIVE_LIB: abi4, BLIT_NATIVE_BATCH: '0' } });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /native library/);
    assertSameTree(src, path.join(dir, 'off'));
    r = blit(['copy', `${src}/`, path.join(dir, 'loaded')]);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /native library/);
  });

  describe('blitd', () => {
    let daemon: Daemon | undefined;
    afterEach(async () => {
      await daemon?.stop();
      daemon = undefined;
    });

    it('logs a refused library once at start; a push and a pull through it are right', async () => {
      const moduleDir = path.join(dir, 'module');
      fs.mkdirSync(moduleDir);
      const env = { BLIT_NATIVE_LIB: abi4, BLIT_FORCE_GRPC_DATA: '' };
      daemon = await startDaemon(['--port', '0', '--root', moduleDir], { env });
      const remote = `127.0.0.1:${daemon.port}:/default/`;
      // The client loads the real library: only blitd refuses.
      let r = await runBlit(['copy', `${src}/`, `${remote}pushed`], { env: { BLIT_FORCE_GRPC_DATA: '' } });
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /native library/);
      assertSameTree(src, path.join(moduleDir, 'pushed'));
      r = await runBlit(['copy', `${remote}pushed/`, path.join(dir, 'pulled')], { env: { BLIT_FORCE_GRPC_DATA: '' } });
      assert.equal(r.code, 0, r.stderr);
      assertSameTree(src, path.join(dir, 'pulled'));
      const said = warnings(daemon.stderr());
      assert.equal(said.length, 1, daemon.stderr());
      assert.equal(said[0]!.file, abi4);
      assert.match(said[0]!.reason, /^ABI version 4, expected \d+$/);
    });
  });
});
