/**
 * blit's own output on a full disk (/dev/full answers every write with ENOSPC) or a reader that
 * stops early (EPIPE): no crash, no stack trace, the transfer goes to its end, and the documented
 * exit code (74 output lost, unless 1 or 2 already say worse; EPIPE keeps the usual code).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type StdioOptions } from 'node:child_process';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { BLIT_BIN, cleanupTemp, listTree, shellQuote, tempDir, tempLeftovers, writeTree } from './harness';
import { BLITD, waitFor } from '../daemon/harness';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs blit with stdout and/or stderr on /dev/full; the other one is a pipe read back. */
function blitFull(args: string[], full: { stdout?: boolean; stderr?: boolean }): Run {
  const fd = fs.openSync('/dev/full', 'w');
  try {
    const stdio: StdioOptions = ['ignore', full.stdout ? fd : 'pipe', full.stderr ? fd : 'pipe'];
    const r = spawnSync(process.execPath, [BLIT_BIN, ...args], {
      stdio, encoding: 'utf8', timeout: 60_000, env: { ...process.env, BLIT_DISABLE_PERF_HISTORY: '1' },
    });
    return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  } finally {
    fs.closeSync(fd);
  }
}

function tree(tag: string, n: number): string {
  const src = tempDir(tag);
  const files: Record<string, string> = {};
  for (let i = 0; i < n; i++) files[`d${i % 3}/file-${i}.txt`] = `content ${i}\n`.repeat(i % 7 + 1);
  writeTree(src, files);
  return src;
}

function assertCopied(src: string, dst: string, n: number): void {
  const files = listTree(dst).filter((p) => !p.endsWith('/'));
  assert.equal(files.length, n, 'every file copied');
  for (const f of files) assert.equal(fs.readFileSync(`${dst}/${f}`, 'utf8'), fs.readFileSync(`${src}/${f}`, 'utf8'), f);
  assert.deepEqual(tempLeftovers(dst), []);
}

const NO_CRASH = /node:events|Unhandled|\n\s+at /;

describe('cli: own output on a full disk or a closed pipe', function () {
  this.timeout(60_000);
  afterEach(cleanupTemp);

  it('copy -v >/dev/full: every file copied, the loss named on stderr, exit 74', () => {
    const src = tree('full-out', 300);
    const dst = `${tempDir('full-out-dst')}/d`;
    const r = blitFull(['copy', '-v', `${src}/`, dst], { stdout: true });
    assert.equal(r.code, 74, r.stderr);
    assert.match(r.stderr, /^blit: error: cannot write to stdout: ENOSPC: .* \[OutputLost\]$/m);
    assert.doesNotMatch(r.stderr, NO_CRASH);
    assertCopied(src, dst, 300);
  });

  it('copy --json >/dev/full: exit 74; a fatal error keeps exit 1 and still names both', () => {
    const src = tree('full-json', 20);
    const dst = `${tempDir('full-json-dst')}/d`;
    let r = blitFull(['copy', '--json', `${src}/`, dst], { stdout: true });
    assert.equal(r.code, 74, r.stderr);
    assert.doesNotMatch(r.stderr, NO_CRASH);
    assertCopied(src, dst, 20);
    r = blitFull(['copy', '--json', `${src}/`, `${dst}/no/such/parent`], { stdout: true });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /\[OutputLost\]/);
    assert.match(r.stderr, /^blit: error: .*\[InvalidPath\]$/m);
  });

  it('copy -v --json 2>/dev/full: the JSON on stdout is intact, exit 74 (itemized lines lost)', () => {
    const src = tree('full-err', 200);
    const dst = `${tempDir('full-err-dst')}/d`;
    const r = blitFull(['copy', '-v', '--json', `${src}/`, dst], { stderr: true });
    assert.equal(r.code, 74);
    const summary = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    assert.equal(summary['ok'], true);
    assert.equal(summary['filesTransferred'], 200);
    assertCopied(src, dst, 200);
  });

  it('stdout and stderr both full: the copy still completes, exit 74; nothing lost keeps exit 0', () => {
    const src = tree('full-both', 50);
    const dst = `${tempDir('full-both-dst')}/d`;
    let r = blitFull(['copy', '-v', `${src}/`, dst], { stdout: true, stderr: true });
    assert.equal(r.code, 74);
    assertCopied(src, dst, 50);
    // Nothing is written to stderr on a clean run: nothing lost, exit 0.
    const dst2 = `${tempDir('full-both-dst2')}/d`;
    r = blitFull(['copy', `${src}/`, dst2], { stderr: true });
    assert.equal(r.code, 0, r.stdout);
    assertCopied(src, dst2, 50);
  });

  it('other verbs: diagnostics perf and --help >/dev/full exit 74 without a stack trace; usage error 2>/dev/full stays 64', () => {
    let r = blitFull(['diagnostics', 'perf'], { stdout: true });
    assert.equal(r.code, 74, r.stderr);
    assert.doesNotMatch(r.stderr, NO_CRASH);
    r = blitFull(['--help'], { stdout: true });
    assert.equal(r.code, 74, r.stderr);
    assert.doesNotMatch(r.stderr, NO_CRASH);
    r = blitFull(['copy', '--frobnicate', 'a', 'b'], { stderr: true });
    assert.equal(r.code, 64);
  });

  it('a reader that closes stderr early (| head) is quiet: exit 0, every file copied', () => {
    const src = tree('pipe-err', 1500);
    const dst = `${tempDir('pipe-err-dst')}/d`;
    // Itemized lines go to stderr under --json; more than a pipe buffers, so blit writes into a closed pipe.
    const cmd = `${shellQuote(process.execPath)} ${shellQuote(BLIT_BIN)} copy -v --json ${shellQuote(`${src}/`)} ${shellQuote(dst)} 2>&1 >/dev/null | head -1; exit \${PIPESTATUS[0]}`;
    const r = spawnSync('bash', ['-c', cmd], { encoding: 'utf8', env: { ...process.env, BLIT_DISABLE_PERF_HISTORY: '1' } });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 1);
    assertCopied(src, dst, 1500);
  });

  it('blitd with stdout and stderr on /dev/full keeps serving (no unhandled error logged), exits 0 on SIGTERM', async () => {
    const root = tempDir('blitd-full-root');
    const logFile = path.join(tempDir('blitd-full-log'), 'blitd.log');
    const fd = fs.openSync('/dev/full', 'w');
    const child = spawn(process.execPath, [BLITD, '--root', root, '--port', '0', '--log', logFile, '--log-level', 'debug'], {
      stdio: ['ignore', fd, fd], env: { ...process.env, BLIT_DISABLE_PERF_HISTORY: '1' },
    });
    fs.closeSync(fd);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // A free port (a fixed one collides with a parallel run), read from the log: stdout is /dev/full.
      let port: string | undefined;
      const listening = (): string | undefined =>
        /INFO listening address=127\.0\.0\.1:(\d+)/.exec(fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '')?.[1];
      await waitFor(() => (port = listening()) !== undefined, 20_000, 'blitd to log listening');
      const src = tree('blitd-full-src', 30);
      const r = spawnSync(process.execPath, [BLIT_BIN, 'copy', `${src}/`, `127.0.0.1:${port}:/default/x`], {
        encoding: 'utf8', env: { ...process.env, BLIT_DISABLE_PERF_HISTORY: '1' },
      });
      assert.equal(r.status, 0, r.stderr);
      assertCopied(src, path.join(root, 'x'), 30);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
    // Before the guard, the readiness line's ENOSPC reached the daemon's uncaughtException handler.
    assert.doesNotMatch(fs.readFileSync(logFile, 'utf8'), /unhandled error/);
  });

  it('blitd that cannot start, stdout and stderr on /dev/full: exit 1 (64 for a usage error), not a crash or an abort', async () => {
    const dir = tempDir('blitd-full-start');
    const badToml = path.join(dir, 'bad.toml');
    fs.writeFileSync(badToml, '[[module]]\nname = "m"\npath = 42\n');
    const logFile = path.join(dir, 'blitd.log');
    // A port in use: the start fails after the logger is set up (its file gets the error).
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as net.AddressInfo).port;
    const run = (args: string[], stdio: StdioOptions): Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> => {
      const child = spawn(process.execPath, [BLITD, ...args], { stdio, env: { ...process.env, BLIT_DISABLE_PERF_HISTORY: '1' } });
      let out = '';
      child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d));
      return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out })));
    };
    try {
      const full = fs.openSync('/dev/full', 'w');
      try {
        const cases: [string, string[], number][] = [
          ['bad config', ['--config', badToml], 1],
          ['missing config', ['--config', path.join(dir, 'nope.toml')], 1],
          ['port in use', ['--root', dir, '--port', String(port), '--log', logFile], 1],
          ['unknown option', ['--no-such-flag'], 64],
        ];
        for (const [what, args, want] of cases) {
          // stdout on /dev/full too, then on a pipe (nothing may reach it: no readiness line, no stack).
          const onFull = await run(args, ['ignore', full, full]);
          assert.equal(onFull.signal, null, `${what}: killed by ${onFull.signal}`);
          assert.equal(onFull.code, want, `${what}: exit ${onFull.code}`);
          const onPipe = await run(args, ['ignore', 'pipe', full]);
          assert.equal(onPipe.code, want, `${what} (stdout on a pipe): exit ${onPipe.code}`);
          assert.equal(onPipe.out, '', `${what}: stdout`);
        }
      } finally {
        fs.closeSync(full);
      }
      const log = fs.readFileSync(logFile, 'utf8');
      assert.match(log, /cannot start/);
      assert.doesNotMatch(log, /unhandled error|uncaught|\n\s+at /);
      // The same failure with stderr readable: one line naming it, no stack trace.
      const seen = spawnSync(process.execPath, [BLITD, '--config', badToml], { encoding: 'utf8', env: { ...process.env, BLIT_DISABLE_PERF_HISTORY: '1' } });
      assert.equal(seen.status, 1);
      assert.match(seen.stderr, /^blitd: error: .*\[\w+\]\n$/);
    } finally {
      busy.close();
    }
  });
});
