/**
 * blit on a real pseudo-terminal (util-linux `script`): the progress display appears, and mirror
 * without --yes asks "Delete N entries in DST? [y/N]" and deletes only on "y".
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blit, blitOnTerminal, cleanupTemp, describeRun, exists, read, tempDir, writeTree } from './harness';

function scene(): { src: string; dst: string } {
  const src = tempDir('tty-src');
  const dst = tempDir('tty-dst');
  writeTree(src, { 'a.txt': 'a', 'sub/b.txt': 'b' });
  writeTree(dst, { 'stale.txt': 's', 'old/x.txt': 'x' });
  return { src, dst };
}

describe('cli: on a terminal', function () {
  this.timeout(60_000);
  afterEach(cleanupTemp);

  it('draws the progress display (files, bytes, rate, ETA) on a terminal', () => {
    const src = tempDir('tty-prog-src');
    const dst = tempDir('tty-prog-dst');
    writeTree(src, { 'one.bin': Buffer.alloc(256 * 1024, 1), 'two.txt': 'two' });
    const r = blitOnTerminal(['copy', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout, /\[#+\] 2\/2 files +256 KiB\/256 KiB +[\d.]+ [KMG]?i?B\/s +ETA \d+s/, describeRun(r));
    assert.match(r.stdout, /copied 2 files/);
    assert.equal(read(dst, 'two.txt'), 'two');
  });

  it('--no-progress and --json keep the terminal free of the display', () => {
    let { src, dst } = scene();
    let r = blitOnTerminal(['copy', '--no-progress', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    assert.doesNotMatch(r.stdout, /ETA|\x1b\[/);
    assert.match(r.stdout, /copied 2 files/);

    ({ src, dst } = scene());
    r = blitOnTerminal(['copy', '--json', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    assert.doesNotMatch(r.stdout, /ETA|\x1b\[/);
    assert.equal(JSON.parse(r.stdout.trim())['filesTransferred'], 2);
  });

  it('mirror without --yes lists and asks "Delete N entries in DST? [y/N]", deletes on "y", and N deleted', () => {
    const { src, dst } = scene();
    const r = blitOnTerminal(['mirror', `${src}/`, dst], { answer: 'y' });
    assert.equal(r.code, 0, describeRun(r));
    // stale.txt, old and old/x.txt: every entry, as the deletion counts them
    assert.match(r.stdout, new RegExp(`Delete 3 entries in ${dst.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\? \\[y/N\\]`));
    for (const p of ['stale.txt', 'old', 'old/x.txt']) assert.match(r.stdout, new RegExp(`  delete  ${p.replace('.', '\\.')}\r?\n`));
    assert.equal(read(dst, 'a.txt'), 'a');
    assert.ok(!exists(dst, 'stale.txt'), 'deleted after "y"');
    assert.ok(!exists(dst, 'old'), 'directory deleted after "y"');
    assert.match(r.stdout, /copied 2 files .*3 deleted/);
  });

  it('mirror without --yes keeps everything on "n", just Enter, or Ctrl-C at the prompt', () => {
    for (const answer of ['n', '', '\x03']) {
      const { src, dst } = scene();
      const r = blitOnTerminal(['mirror', `${src}/`, dst], { answer });
      assert.equal(r.code, 0, describeRun(r));
      assert.match(r.stdout, /\[y\/N\]/);
      assert.match(r.stdout, /nothing deleted/);
      if (answer === '\x03') assert.match(r.stdout, /cancelling/, 'Ctrl-C reached blit as SIGINT');
      assert.equal(read(dst, 'sub/b.txt'), 'b', 'copy part done');
      assert.ok(exists(dst, 'stale.txt') && fs.existsSync(path.join(dst, 'old/x.txt')), `kept after "${answer}"`);
    }
  });

  it('cli-progress is loaded only when a display is drawn (not with --no-progress, --json or a pipe)', () => {
    // A preload hook in the real blit process writes, at exit, which cli-progress modules it loaded.
    const hookDir = tempDir('tty-hook');
    const hook = path.join(hookDir, 'hook.js');
    fs.writeFileSync(hook, `process.on('exit', () => require('fs').writeFileSync(process.env.BLIT_TEST_LOADED, Object.keys(require.cache).filter((k) => k.includes('cli-progress')).join('\\n')));\n`);
    const loaded = (run: (env: Record<string, string>) => { code: number }, what: string): boolean => {
      const out = path.join(hookDir, `${what}.loaded`);
      const r = run({ NODE_OPTIONS: `--require ${hook}`, BLIT_TEST_LOADED: out });
      assert.equal(r.code, 0, what);
      return fs.readFileSync(out, 'utf8') !== '';
    };
    const copy = (extra: string[]) => {
      const { src, dst } = scene();
      return ['copy', ...extra, `${src}/`, dst];
    };
    assert.equal(loaded((env) => blitOnTerminal(copy([]), { env }), 'terminal'), true, 'the display needs it');
    assert.equal(loaded((env) => blitOnTerminal(copy(['--no-progress']), { env }), 'no-progress'), false);
    assert.equal(loaded((env) => blitOnTerminal(copy(['--json']), { env }), 'json'), false);
    assert.equal(loaded((env) => blit(copy([]), { env }), 'pipe'), false);
  });

  it('mirror --yes on a terminal does not ask', () => {
    const { src, dst } = scene();
    const r = blitOnTerminal(['mirror', '--yes', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    assert.doesNotMatch(r.stdout, /\[y\/N\]/);
    assert.ok(!exists(dst, 'stale.txt'));
  });
});
