/**
 * Compare modes (default, --checksum, --size-only, --ignore-times, --ignore-existing) and filters
 * (--exclude/--include, --files-from, --gitignore with nested files) through the real binary.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { blit, cleanupTemp, describeRun, listTree, parseJsonStdout, read, tempDir, writeTree } from './harness';

const T_OLD = '1600000000.000000000';
const T_SAME = '1650000000.123456789';
const T_NEW = '1700000000.000000000';

describe('cli: compare modes', function () {
  this.timeout(60_000);
  afterEach(cleanupTemp);

  /** src/f and dst/f with the given contents and mtimes. */
  function pair(srcContent: string, srcTime: string, dstContent: string, dstTime: string): { src: string; dst: string } {
    const src = tempDir('cmp-src');
    const dst = tempDir('cmp-dst');
    writeTree(src, { f: { content: srcContent, mtime: srcTime } });
    writeTree(dst, { f: { content: dstContent, mtime: dstTime } });
    return { src, dst };
  }

  function copy(flags: string[], src: string, dst: string): Record<string, unknown> {
    const r = blit(['copy', '--json', ...flags, `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    return parseJsonStdout(r);
  }

  it('default (size + mtime) skips a same-size same-mtime file even when its content differs', () => {
    const { src, dst } = pair('AAAA', T_SAME, 'BBBB', T_SAME);
    assert.equal(copy([], src, dst)['filesTransferred'], 0);
    assert.equal(read(dst, 'f'), 'BBBB');
  });

  it('default updates a file whose source is newer, or whose size differs', () => {
    let p = pair('new!', T_NEW, 'old!', T_OLD);
    assert.equal(copy([], p.src, p.dst)['filesTransferred'], 1);
    assert.equal(read(p.dst, 'f'), 'new!');
    p = pair('longer', T_OLD, 'short', T_NEW);
    assert.equal(copy([], p.src, p.dst)['filesTransferred'], 1);
    assert.equal(read(p.dst, 'f'), 'longer');
  });

  it('--checksum catches a same-size same-mtime file with different content', () => {
    const { src, dst } = pair('AAAA', T_SAME, 'BBBB', T_SAME);
    assert.equal(copy(['--checksum'], src, dst)['filesTransferred'], 1);
    assert.equal(read(dst, 'f'), 'AAAA');
    // and leaves an identical file alone
    assert.equal(copy(['-c'], src, dst)['filesTransferred'], 0);
  });

  it('--size-only skips a same-size file with a newer source, updates a different size', () => {
    let p = pair('new!', T_NEW, 'old!', T_OLD);
    assert.equal(copy(['--size-only'], p.src, p.dst)['filesTransferred'], 0);
    assert.equal(read(p.dst, 'f'), 'old!');
    p = pair('longer', T_OLD, 'short', T_NEW);
    assert.equal(copy(['--size-only'], p.src, p.dst)['filesTransferred'], 1);
    assert.equal(read(p.dst, 'f'), 'longer');
  });

  it('--ignore-times rewrites a file even when size and mtime match', () => {
    const { src, dst } = pair('AAAA', T_SAME, 'BBBB', T_SAME);
    assert.equal(copy(['--ignore-times'], src, dst)['filesTransferred'], 1);
    assert.equal(read(dst, 'f'), 'AAAA');
  });

  it('--ignore-existing never touches an existing file but creates missing ones', () => {
    const { src, dst } = pair('new content', T_NEW, 'old', T_OLD);
    writeTree(src, { 'fresh.txt': 'fresh' });
    const j = copy(['--ignore-existing'], src, dst);
    assert.equal(j['filesTransferred'], 1);
    assert.equal(read(dst, 'f'), 'old');
    assert.equal(read(dst, 'fresh.txt'), 'fresh');
  });
});

describe('cli: filters', function () {
  this.timeout(60_000);
  afterEach(cleanupTemp);

  function tree(): string {
    const src = tempDir('flt-src');
    writeTree(src, {
      'keep.txt': 'k',
      'debug.log': 'l',
      'important.log': 'i',
      'build/out.o': 'o',
      'src/main.c': 'c',
      'src/tmp/scratch.c': 's',
      'docs/guide.md': 'g',
    });
    return src;
  }

  it('--exclude (repeatable) drops matches at any depth; --include rescues a match', () => {
    const src = tree();
    const dst = tempDir('flt-dst');
    const r = blit(['copy', '--exclude', '*.log', '--exclude', 'build/', '--include', 'important.log', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(listTree(dst), [
      'docs/', 'docs/guide.md', 'important.log', 'keep.txt', 'src/', 'src/main.c', 'src/tmp/', 'src/tmp/scratch.c',
    ]);
  });

  it('--files-from copies only the listed paths (a listed directory brings its contents)', () => {
    const src = tree();
    const dst = tempDir('flt-dst');
    const list = path.join(tempDir('flt-list'), 'list.txt');
    fs.writeFileSync(list, 'keep.txt\nsrc/tmp\n');
    const r = blit(['copy', '--files-from', list, `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(listTree(dst), ['keep.txt', 'src/', 'src/tmp/', 'src/tmp/scratch.c']);
  });

  it('--files-from naming a missing file is a usage error that names the file', () => {
    const src = tree();
    const dst = tempDir('flt-dst');
    const missing = path.join(dst, 'no-such-list.txt');
    const r = blit(['copy', '--files-from', missing, `${src}/`, dst]);
    assert.equal(r.code, 64, describeRun(r));
    assert.ok(r.stderr.includes(missing), r.stderr);
    assert.deepEqual(listTree(dst), []);
  });

  it('--gitignore honours every .gitignore, deeper files override, negation works; plain copy copies all', () => {
    const src = tempDir('git-src');
    writeTree(src, {
      '.gitignore': '*.log\nnode_modules/\n',
      'app.js': 'a',
      'err.log': 'e',
      'node_modules/x/index.js': 'x',
      'pkg/.gitignore': '!keep.log\ngen/\n',
      'pkg/keep.log': 'kl',
      'pkg/other.log': 'ol',
      'pkg/gen/code.js': 'g',
      'pkg/lib.js': 'l',
      '.git/HEAD': 'ref: refs/heads/main\n',
    });
    const dst = tempDir('git-dst');
    let r = blit(['copy', '--gitignore', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(listTree(dst), ['.gitignore', 'app.js', 'pkg/', 'pkg/.gitignore', 'pkg/keep.log', 'pkg/lib.js']);

    const all = tempDir('git-all');
    r = blit(['copy', `${src}/`, all]);
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(listTree(all), listTree(src));
  });

  it('mirror never deletes destination files that the filters exclude', () => {
    const src = tempDir('mflt-src');
    const dst = tempDir('mflt-dst');
    writeTree(src, { 'a.txt': 'a' });
    writeTree(dst, { 'a.txt': 'a', 'stale.txt': 's', 'local.log': 'mine', 'cache/blob': 'b' });
    const r = blit(['mirror', '--yes', '--exclude', '*.log', '--exclude', 'cache/', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(listTree(dst), ['a.txt', 'cache/', 'cache/blob', 'local.log']);
  });
});

describe('cli: --dry-run and --json', function () {
  this.timeout(60_000);
  afterEach(cleanupTemp);

  function scene(): { src: string; dst: string } {
    const src = tempDir('dry-src');
    const dst = tempDir('dry-dst');
    writeTree(src, { 'new.txt': 'new', 'changed.txt': { content: 'v2 longer', mtime: T_NEW }, 'same.txt': { content: 's', mtime: T_SAME }, 'newdir/inner.txt': 'i' });
    writeTree(dst, { 'changed.txt': { content: 'v1', mtime: T_OLD }, 'same.txt': { content: 's', mtime: T_SAME }, 'gone.txt': 'bye' });
    return { src, dst };
  }

  function snapshot(root: string): string {
    return listTree(root)
      .map((p) => {
        const st = fs.lstatSync(path.join(root, p));
        return `${p} ${st.size} ${st.mtimeMs} ${p.endsWith('/') ? '' : fs.readFileSync(path.join(root, p), 'hex')}`;
      })
      .join('\n');
  }

  it('mirror --dry-run itemizes creates, updates, mkdirs and deletions, prints a total, and changes nothing', () => {
    const { src, dst } = scene();
    const before = snapshot(dst);
    const beforeSrc = snapshot(src);
    const r = blit(['mirror', '--dry-run', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    const lines = r.stdout.trimEnd().split('\n');
    assert.ok(lines.includes('create  new.txt'), r.stdout);
    assert.ok(lines.includes('update  changed.txt'), r.stdout);
    assert.ok(lines.includes('mkdir   newdir/'), r.stdout);
    assert.ok(lines.includes('create  newdir/inner.txt'), r.stdout);
    assert.ok(lines.includes('delete  gone.txt'), r.stdout);
    assert.ok(!lines.some((l) => l.endsWith('same.txt')), 'unchanged files are not listed');
    assert.match(lines[lines.length - 1]!, /^dry run: 2 to create, 1 to update, 1 directory to make, .*1 to delete/);
    assert.equal(snapshot(dst), before, 'destination unchanged');
    assert.equal(snapshot(src), beforeSrc, 'source unchanged');
  });

  it('move --dry-run removes no source', () => {
    const { src, dst } = scene();
    const beforeSrc = snapshot(src);
    const r = blit(['move', '-n', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(snapshot(src), beforeSrc);
  });

  it('--json prints one summary object with the documented fields and nothing else on stdout', () => {
    const { src, dst } = scene();
    const r = blit(['mirror', '--json', '--yes', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    const j = parseJsonStdout(r);
    assert.equal(j['filesTransferred'], 3);
    assert.equal(j['bytesTransferred'], 3 + 9 + 1);
    assert.equal(j['entriesDeleted'], 1);
    assert.equal(j['deletionsSkipped'], 0);
    assert.deepEqual(j['failures'], []);
    assert.equal(typeof j['durationMs'], 'number');
    assert.equal(typeof j['firstByteMs'], 'number');
    assert.equal(j['dryRun'], false);
    assert.equal(j['ok'], true);
  });

  it('--json with --dry-run says dryRun and still prints only the object', () => {
    const { src, dst } = scene();
    const r = blit(['copy', '--json', '-n', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    const j = parseJsonStdout(r);
    assert.equal(j['dryRun'], true);
    assert.ok(!fs.existsSync(path.join(dst, 'new.txt')));
  });

  it('-v lists each change while running', () => {
    const { src, dst } = scene();
    const r = blit(['copy', '-v', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout, /^create  new\.txt$/m);
    assert.match(r.stdout, /^update  changed\.txt$/m);
    assert.match(r.stdout, /^copied 3 files/m);
    assert.equal(read(dst, 'new.txt'), 'new');
  });

  it('-v with --json lists the changes on stderr; stdout keeps only the object', () => {
    const { src, dst } = scene();
    const r = blit(['mirror', '-v', '--json', '--yes', `${src}/`, dst]);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(parseJsonStdout(r)['filesTransferred'], 3);
    assert.match(r.stderr, /^create  new\.txt$/m);
    assert.match(r.stderr, /^delete  gone\.txt$/m);
  });
});

describe('cli: mirror filters as rsync --delete reads them (twelfth session)', function () {
  this.timeout(60_000);
  afterEach(cleanupTemp);

  // Each pattern set, mirrored by blit and by rsync -a --delete into equal destinations, leaves
  // equal trees: above all, what a pattern protects on the destination is not deleted.
  const cases: string[][] = [
    ['--exclude', 'deep/x'],
    ['--exclude', '/deep/x'],
    ['--exclude', 'sub/**'],
    ['--exclude', 'only/**'],
    ['--exclude', 'd*/x'],
    ['--exclude', 'keep/'],
  ];
  for (const flags of cases) {
    it(`mirror ${flags.join(' ')} leaves the tree rsync -a --delete leaves`, () => {
      const src = tempDir('flt-src');
      writeTree(src, { 'a.txt': 'a', 'sub/f': 'f', 'sub/deep/y': 'y', 'deep/y': 'y', 'only/z': 'z' });
      const old = { 'deep/x': 'old', 'sub/deep/x': 'old', 'sub/old': 'old', 'keep/k': 'old', 'sub/keep/k': 'old', 'sub/sub': 'old', 'stale': 'old' };
      const viaBlit = tempDir('flt-blit');
      const viaRsync = tempDir('flt-rsync');
      writeTree(viaBlit, old);
      writeTree(viaRsync, old);
      const r = blit(['mirror', '--yes', ...flags, `${src}/`, viaBlit]);
      assert.equal(r.code, 0, describeRun(r));
      const rs = spawnSync('rsync', ['-a', '--delete', ...flags, `${src}/`, `${viaRsync}/`], { encoding: 'utf8' });
      assert.equal(rs.status, 0, rs.stderr);
      assert.deepEqual(listTree(viaBlit), listTree(viaRsync));
    });
  }
});
