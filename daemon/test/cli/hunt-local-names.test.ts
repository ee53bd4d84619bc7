/**
 * Names with control characters in line-oriented output (hunt-local, 2026-11-21): a newline in a
 * file name split an itemized or failure line in two, and an ESC reached the terminal.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { blit, cleanupTemp, describeRun, parseJsonStdout, tempDir, writeTree } from './harness';

describe('cli: names with control characters', function () {
  this.timeout(60_000);
  afterEach(cleanupTemp);

  it('itemized, failure and error lines stay one line each, controls escaped; --json keeps the real name', () => {
    const src = tempDir('ctl-src');
    const dst = tempDir('ctl-dst');
    writeTree(src, { 'new\nline': 'a', 'esc\x1b[31m': 'b', 'tab\there': 'c', 'clash\nd': 'd' });
    // A non-empty directory where the source has the file: a named per-file failure in a copy.
    writeTree(dst, { 'clash\nd/keep': 'k' });
    const dry = blit(['copy', '-n', `${src}/`, dst]);
    assert.equal(dry.code, 2, describeRun(dry));
    assert.match(dry.stderr, /^blit: failed: clash\\x0ad: destination is a non-empty directory.*\[NotADirectory\]$/m);
    const lines = dry.stdout.trimEnd().split('\n');
    for (const l of lines) assert.match(l, /^(create |update |mkdir  |dry run:)/, `one line per item: ${JSON.stringify(l)}`);
    assert.ok(lines.includes('create  new\\x0aline'), dry.stdout);
    assert.ok(lines.includes('create  esc\\x1b[31m'), dry.stdout);
    assert.ok(lines.includes('create  tab\\x09here'), dry.stdout);

    const r = blit(['copy', '--json', `${src}/`, dst]);
    assert.equal(r.code, 2, describeRun(r));
    assert.ok(!r.stderr.includes('\x1b'), r.stderr);
    assert.match(r.stderr, /^blit: failed: clash\\x0ad: destination is a non-empty directory.*\[NotADirectory\]$/m);
    const j = parseJsonStdout(r) as { failures: { path: string }[] };
    assert.deepEqual(j.failures.map((f) => f.path), ['clash\nd']);
    assert.equal(fs.readFileSync(path.join(dst, 'new\nline'), 'utf8'), 'a');

    const e = blit(['copy', path.join(src, 'no\nsuch'), dst]);
    assert.equal(e.code, 1, describeRun(e));
    assert.equal(e.stderr.trimEnd().split('\n').length, 1, e.stderr);
    assert.match(e.stderr, /no\\x0asuch: source does not exist \[SourceNotFound\]/);
  });
});
