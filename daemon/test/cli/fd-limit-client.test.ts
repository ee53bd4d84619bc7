/**
 * The client side under a low open-file limit (`prlimit --nofile=N:N blit ...`), on a tree of
 * many more directories than N: a local copy and mirror (native batches and the node:fs path), a
 * pull into a new tree, again with every directory's mode changed, a pull mirror deleting them
 * all, and a push (the client's sender reads). daemon/fd-limit-remote.test.ts is the blitd side.
 * Before the fix, every copy worker held one source fd per file of its batch open ahead (up to
 * 512): a local copy under `ulimit -n 100` failed files with EMFILE (the walk's scandir, a temp's
 * open). The read-ahead now holds at most a sixteenth of the limit per batch.
 */
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BLIT_BIN, cleanupTemp, tempDir } from './harness';
import { startDaemon, type Daemon } from '../daemon/harness';
import { assertSameTree } from '../daemon/transfer-helpers';

const LIMIT = 100;
const TOPS = 30;
const SUBS = 100; // 3,000 directories below the root, each with a file: far more than LIMIT

function makeWide(root: string): void {
  for (let t = 0; t < TOPS; t++) {
    for (let s = 0; s < SUBS; s++) {
      const d = path.join(root, `t${t}`, `s${s}`);
      fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(d, 'f.txt'), `${t}/${s}\n`);
      fs.chmodSync(d, 0o750);
    }
  }
}

function chmodDirs(root: string, mode: number): void {
  for (let t = 0; t < TOPS; t++) for (let s = 0; s < SUBS; s++) fs.chmodSync(path.join(root, `t${t}`, `s${s}`), mode);
}

/** blit under RLIMIT_NOFILE = LIMIT (soft and hard: Node cannot raise it). */
function limitedBlit(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('prlimit', [`--nofile=${LIMIT}:${LIMIT}`, process.execPath, BLIT_BIN, ...args], {
    env: { ...process.env, BLIT_DISABLE_PERF_HISTORY: '1', BLIT_FORCE_GRPC_DATA: '', ...env },
    input: '',
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.error) throw r.error;
  const res = { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  assert.equal(res.code, 0, `blit ${args.join(' ')} under nofile ${LIMIT}:\n${res.stdout}\n${res.stderr}`);
  assert.doesNotMatch(res.stderr, /EMFILE|too many open files/i);
  return res;
}

describe(`blit (client side) under a low open-file limit (${LIMIT}), trees of ${TOPS * SUBS} directories`, function () {
  this.timeout(300_000);
  let dir: string;
  let src: string;

  before(() => {
    dir = tempDir('blit-fdlimit-client-');
    src = path.join(dir, 'src');
    makeWide(src);
    // The limit really applies to what prlimit starts.
    const limits = spawnSync('prlimit', [`--nofile=${LIMIT}:${LIMIT}`, 'cat', '/proc/self/limits'], { encoding: 'utf8' }).stdout;
    assert.match(limits, new RegExp(`Max open files\\s+${LIMIT}\\s+${LIMIT}`));
  });

  after(() => cleanupTemp());

  for (const [what, env] of [
    ['native batches', {}],
    ['node:fs path (BLIT_NATIVE_BATCH=0)', { BLIT_NATIVE_BATCH: '0' }],
  ] as const) {
    it(`local copy, mirror with every directory's mode changed, mirror deleting all: ${what}`, () => {
      const dst = path.join(dir, `local-${env.BLIT_NATIVE_BATCH ?? 'native'}`);
      limitedBlit(['copy', `${src}/`, dst], env);
      assertSameTree(src, dst);
      chmodDirs(dst, 0o700);
      fs.writeFileSync(path.join(dst, 't3', 's4', 'extra.txt'), 'gone\n');
      limitedBlit(['mirror', '--yes', `${src}/`, dst], env);
      assertSameTree(src, dst);
      const empty = path.join(dir, `empty-${env.BLIT_NATIVE_BATCH ?? 'native'}`);
      fs.mkdirSync(empty);
      limitedBlit(['mirror', '--yes', `${empty}/`, dst], env);
      assert.deepEqual(fs.readdirSync(dst), []);
    });
  }

  describe('against blitd (not limited)', () => {
    let daemon: Daemon | undefined;
    let moduleDir: string;

    before(async () => {
      moduleDir = path.join(dir, 'module');
      fs.mkdirSync(moduleDir);
      daemon = await startDaemon(['--port', '0', '--root', moduleDir], { env: { BLIT_FORCE_GRPC_DATA: '' } });
    });

    after(async () => {
      const log = daemon?.stderr() ?? '';
      await daemon?.stop();
      daemon = undefined;
      assert.doesNotMatch(log, /unhandled error|uncaught|EMFILE/i);
    });

    it('push, pull, pull again with every directory mode changed, pull mirror deleting all', () => {
      const remote = (p: string): string => `127.0.0.1:${daemon!.port}:/default/${p}`;
      limitedBlit(['copy', `${src}/`, remote('wide')]);
      assertSameTree(src, path.join(moduleDir, 'wide'));
      const back = path.join(dir, 'pulled');
      limitedBlit(['copy', remote('wide/'), back]);
      assertSameTree(src, back);
      chmodDirs(path.join(moduleDir, 'wide'), 0o700);
      limitedBlit(['copy', remote('wide/'), back]);
      assertSameTree(path.join(moduleDir, 'wide'), back);
      fs.mkdirSync(path.join(moduleDir, 'empty'));
      limitedBlit(['mirror', '--yes', remote('empty/'), back]);
      assert.deepEqual(fs.readdirSync(back), []);
    });
  });
});
