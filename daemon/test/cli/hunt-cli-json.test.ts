/**
 * `--json` on a transfer verb answers with exactly one object on stdout, usage errors included
 * (hunt-cli): conflicting flags and a bad remote path exited 64 with an empty stdout, while a
 * fatal error and every admin verb's usage error gave `{ok:false,error}`.
 */
import assert from 'node:assert/strict';
import { blit, cleanupTemp, describeRun, parseJsonStdout, tempDir, writeTree } from './harness';

describe('cli: --json usage errors of copy, mirror and move (hunt-cli)', function () {
  this.timeout(60_000);
  afterEach(cleanupTemp);

  it('conflicting flags and a remote path with .. answer {ok:false, error:{code:Usage}} on stdout, exit 64', () => {
    const src = tempDir('json-src');
    writeTree(src, { f: 'x' });
    const dst = tempDir('json-dst');
    for (const verb of ['copy', 'mirror', 'move']) {
      for (const args of [['--checksum', '--size-only', `${src}/`, dst], [`${src}/`, '127.0.0.1:1:/mod/../x']]) {
        const r = blit([verb, '--json', ...args]);
        assert.equal(r.code, 64, describeRun(r));
        const o = parseJsonStdout(r) as { mode: string; ok: boolean; error: { code: string; message: string } };
        assert.equal(o.mode, verb, describeRun(r));
        assert.equal(o.ok, false);
        assert.equal(o.error.code, 'Usage');
        assert.match(r.stderr, /\[Usage\]/);
      }
    }
  });
});
