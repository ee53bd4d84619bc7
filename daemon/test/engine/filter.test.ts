import { execFileSync } from 'node:child_process';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Filter, parseFilesFrom, readFileNoFollow } from '../../src/engine/filter';
import { walk } from '../../src/engine/walk';
import { BlitError } from '../../src/engine/errors';
import { cleanupTemps, tempDir, writeTree } from './helpers';

function spec(over: Partial<{ excludes: string[]; includes: string[]; gitignore: boolean; filesFrom: string; filesFromPaths: Buffer[] }> = {}) {
  return { excludes: [], includes: [], gitignore: false, ...over };
}

function walkedFiles(root: string, filter: Filter): string[] {
  const out: string[] = [];
  for (const l of walk(root, { filter })) for (const e of l.entries) out.push(e.rel.toString() + (e.kind === 'dir' ? '/' : ''));
  return out.sort();
}

describe('engine: filter', () => {
  it('readFileNoFollow reads a regular file only: a symlink fails ELOOP, a FIFO is refused unread (it read as empty rules)', () => {
    const root = tempDir();
    fs.writeFileSync(path.join(root, 'plain'), 'a\n');
    fs.symlinkSync(path.join(root, 'plain'), path.join(root, 'link'));
    execFileSync('mkfifo', [path.join(root, 'fifo')]);
    assert.equal(readFileNoFollow(path.join(root, 'plain')).toString(), 'a\n');
    assert.throws(() => readFileNoFollow(path.join(root, 'link')), { code: 'ELOOP' });
    assert.throws(() => readFileNoFollow(path.join(root, 'fifo')), { message: 'not a regular file' });
  });

  afterEach(cleanupTemps);

  it('a pattern without / matches the name at any depth', () => {
    const f = new Filter(spec({ excludes: ['*.log'] }));
    assert.equal(f.excludes('a.log', false), true);
    assert.equal(f.excludes('x/y/z.log', false), true);
    assert.equal(f.excludes('x/y/z.txt', false), false);
  });

  it('a pattern with / inside matches whole trailing components at any depth, as rsync and rclone', () => {
    const f = new Filter(spec({ excludes: ['build/out'] }));
    assert.equal(f.excludes('build/out', true), true);
    assert.equal(f.excludes('src/build/out', true), true);
    assert.equal(f.excludes('src/xbuild/out', true), false);
    assert.equal(f.excludes('build/out/more', false), false);
    const deep = new Filter(spec({ excludes: ['a/*/c'] }));
    assert.equal(deep.excludes('x/a/b/c', false), true);
    assert.equal(deep.excludes('a/b/b/c', false), false);
  });

  it('a leading / anchors a pattern to the transfer root', () => {
    const g = new Filter(spec({ excludes: ['/top'] }));
    assert.equal(g.excludes('top', false), true);
    assert.equal(g.excludes('a/top', false), false);
    const h = new Filter(spec({ excludes: ['/build/out'] }));
    assert.equal(h.excludes('build/out', true), true);
    assert.equal(h.excludes('src/build/out', true), false);
  });

  it('dir/** matches what is below dir, not dir itself (rsync keeps dir, empty)', () => {
    const f = new Filter(spec({ excludes: ['sub/**'] }));
    assert.equal(f.excludes('sub', true), false);
    assert.equal(f.excludes('sub/f', false), true);
    assert.equal(f.excludes('sub/d/f', false), true);
    assert.equal(f.excludes('x/sub/f', false), true);
    // Below sub, a name that is sub again is still below it (`**/sub` alone would match it).
    assert.equal(f.excludes('sub/sub', false), true);
    assert.equal(f.excludes('sub/x/sub', false), true);
    assert.equal(f.excludes('sub/.hidden', false), true);
    assert.equal(f.excludes('subway/f', false), false);
    const r = new Filter(spec({ excludes: ['/sub/**'] }));
    assert.equal(r.excludes('sub', true), false);
    assert.equal(r.excludes('sub/f', false), true);
    assert.equal(r.excludes('x/sub/f', false), false);
  });

  it('a trailing / matches directories only', () => {
    const f = new Filter(spec({ excludes: ['cache/'] }));
    assert.equal(f.excludes('a/cache', true), true);
    assert.equal(f.excludes('a/cache', false), false);
  });

  it('includes are consulted before excludes', () => {
    const f = new Filter(spec({ includes: ['*.txt', '*/'], excludes: ['*'] }));
    assert.equal(f.excludes('a/b.txt', false), false);
    assert.equal(f.excludes('a/b.bin', false), true);
    assert.equal(f.excludes('a', true), false);
  });

  it('an empty pattern is a usage error naming the option', () => {
    assert.throws(() => new Filter(spec({ excludes: [' '] })), (e: unknown) => e instanceof BlitError && e.code === 'Usage' && /--exclude/.test(e.message));
  });

  it('--files-from keeps only listed paths, their parent dirs and what is under listed dirs', () => {
    const root = tempDir();
    writeTree(root, { 'a/keep.txt': 'k', 'a/drop.txt': 'd', 'b/x': 'x', 'b/y/z': 'z', 'c/other': 'o' });
    const list = path.join(tempDir(), 'list');
    fs.writeFileSync(list, './a/keep.txt\nb/\n\n# comment\n');
    const f = Filter.fromSpec(spec({ filesFrom: list }));
    assert.deepEqual(walkedFiles(root, f), ['a/', 'a/keep.txt', 'b/', 'b/x', 'b/y/', 'b/y/z']);
  });

  it('--files-from is read as bytes with rsync rules: trimmed, comments, ./ and / dropped, invalid UTF-8 kept', () => {
    const bad = Buffer.from([0x66, 0xff, 0x2e, 0x62]); // 'f\xff.b'
    const content = Buffer.concat([Buffer.from('  ./a/keep.txt \r\n#c\n\n/b/\n.\n././x\n'), bad, Buffer.from('\n')]);
    assert.deepEqual(parseFilesFrom(content).map((p) => p.toString('hex')), [Buffer.from('a/keep.txt'), Buffer.from('b'), Buffer.from('x'), bad].map((p) => p.toString('hex')));
    const root = tempDir();
    writeTree(root, { 'a/keep.txt': 'k', 'a/drop.txt': 'd', x: 'x', y: 'y' });
    fs.writeFileSync(Buffer.concat([Buffer.from(root + '/'), bad]), 'raw');
    const list = path.join(tempDir(), 'list');
    fs.writeFileSync(list, content);
    const got = walkedFiles(root, Filter.fromSpec(spec({ filesFrom: list })));
    assert.deepEqual(got, ['a/', 'a/keep.txt', bad.toString(), 'x'].sort());
  });

  it('filesFromPaths are byte-exact names: white space, line breaks, a leading # or ./ are part of the name', () => {
    const root = tempDir();
    const names = [' lead', 'trail ', 'two\nlines', '#hash', 'sub/cr\r'];
    const lookalikes = ['lead', 'trail', 'two', 'lines', 'sub/cr', 'hash'];
    writeTree(root, Object.fromEntries([...names, ...lookalikes].map((n) => [n, n])));
    const f = new Filter(spec(), names.map((n) => Buffer.from(n)));
    assert.deepEqual(walkedFiles(root, f), [...names, 'sub/'].sort());
    assert.deepEqual(walkedFiles(root, new Filter(spec(), [])), [], 'an empty list transfers nothing');
    assert.deepEqual(walkedFiles(root, Filter.fromSpec(spec({ filesFromPaths: [Buffer.from('trail ')] }))), ['trail ']);
  });

  it('--files-from that cannot be read is a usage error naming the file', () => {
    assert.throws(() => Filter.fromSpec(spec({ filesFrom: '/nonexistent/list' })), (e: unknown) => e instanceof BlitError && e.code === 'Usage' && e.path === '/nonexistent/list');
  });

  it('--gitignore: nested files, deeper overrides shallower, negation, .git skipped, excluded dirs not descended', () => {
    const root = tempDir();
    writeTree(root, {
      '.gitignore': '*.log\nbuild/\n',
      'a.log': '1',
      'keep.txt': '2',
      'build/out.o': '3',
      'sub/.gitignore': '!important.log\n*.tmp\n',
      'sub/important.log': '4',
      'sub/other.log': '5',
      'sub/x.tmp': '6',
      'sub/deeper/y.tmp': '7',
      'other/z.tmp': '8',
      '.git/HEAD': 'ref',
    });
    const f = new Filter(spec({ gitignore: true }));
    const seenDirs: string[] = [];
    for (const l of walk(root, { filter: f })) seenDirs.push(l.dir.toString());
    assert.deepEqual(walkedFiles(root, new Filter(spec({ gitignore: true }))), [
      '.gitignore',
      'keep.txt',
      'other/',
      'other/z.tmp',
      'sub/',
      'sub/.gitignore',
      'sub/deeper/',
      'sub/important.log',
    ]);
    assert.ok(!seenDirs.includes('build') && !seenDirs.includes('.git'), 'excluded directories are not read');
  });

  it('a filter with nothing to do is inactive', () => {
    assert.equal(new Filter(spec()).active, false);
    assert.equal(new Filter(spec()).excludes('anything', false), false);
  });
});
