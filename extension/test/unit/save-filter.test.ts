import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Filter } from '@blit/daemon/dist/src/engine/filter';
import { walk } from '@blit/daemon/dist/src/engine/walk';
import { excludedByFilter } from '../../src/save-filter';
import { DEFAULT_EXCLUDES } from '../../src/targets';

describe('upload on save: which saved files blitd\'s filter leaves out', () => {
  it('a saved file a plain-name exclude names is recognised at any depth', () => {
    assert.equal(excludedByFilter('.vscode/settings.json', DEFAULT_EXCLUDES), true);
    assert.equal(excludedByFilter('sub/.DS_Store', DEFAULT_EXCLUDES), true);
    assert.equal(excludedByFilter('a/.vscode/x', DEFAULT_EXCLUDES), true);
    assert.equal(excludedByFilter('.vscodex/settings.json', DEFAULT_EXCLUDES), false);
    assert.equal(excludedByFilter('src/a.ts', DEFAULT_EXCLUDES), false);
    assert.equal(excludedByFilter('.vscode/settings.json', []), false);
  });

  it('a saved file a glob exclude matches is recognised with the engine\'s rsync rules', () => {
    const cases: Array<[string, string[], boolean]> = [
      // a pattern without '/' matches the last component at any depth (dotfiles too)
      ['x.log', ['*.log'], true],
      ['deep/er/x.log', ['*.log'], true],
      ['deep/.hidden.log', ['*.log'], true],
      ['x.log.txt', ['*.log'], false],
      ['logs/x.txt', ['log?'], true], // an excluded directory on the way leaves its files out
      ['a/[b].txt', ['\\[b\\].txt'], true],
      ['a/b.txt', ['[ab].txt'], true],
      // '/' inside: whole trailing components at any depth; a leading '/' anchors to the folder
      ['deep/x', ['deep/x'], true],
      ['sub/deep/x', ['deep/x'], true],
      ['sub/adeep/x', ['deep/x'], false],
      ['top.txt', ['/top.txt'], true],
      ['sub/top.txt', ['/top.txt'], false],
      ['docs/drafts/n.md', ['docs/*/*.md'], true],
      ['docs/n.md', ['docs/*/*.md'], false],
      // a trailing '/' matches directories only: a file of that name is sent, a file inside is not
      ['cache', ['cache/'], false],
      ['cache/x.bin', ['cache/'], true],
      ['a/cache/b/x.bin', ['cache/'], true],
      // `dir/**` is what is below dir; `**` crosses directories
      ['sub/x', ['sub/**'], true],
      ['sub/y/z', ['sub/**'], true],
      ['sub', ['sub/**'], false],
      ['a/b/c.tmp', ['**/*.tmp'], true],
      ['src/a.ts', ['*.log', 'cache/', '/top.txt'], false],
    ];
    const wrong = cases.filter(([rel, ex, want]) => excludedByFilter(rel, ex) !== want).map(([rel, ex, want]) => `${rel} with ${JSON.stringify(ex)}: want ${want}`);
    assert.deepEqual(wrong, []);
  });

  it('a saved file only a .gitignore on its path leaves out is recognised as blitd\'s walk decides (nested files, !negation, directory patterns)', () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-ext-gi-'));
    const put = (rel: string, text = '') => {
      fs.mkdirSync(path.dirname(path.join(ws, rel)), { recursive: true });
      fs.writeFileSync(path.join(ws, rel), text);
    };
    try {
      put('.gitignore', '*.log\nbuild/\n/anchored.txt\n');
      put('sub/.gitignore', '!keep.log\n'); // a deeper file overrides: re-includes one name below sub
      put('sub/deep/.gitignore', 'secret.txt\n');
      put('build/.gitignore', '!out.js\n'); // never read: the walk does not descend an ignored directory
      put('rules', '*.txt\n');
      fs.mkdirSync(path.join(ws, 'link'));
      fs.symlinkSync('../rules', path.join(ws, 'link', '.gitignore')); // not followed: no rules
      const files = ['top.log', 'keep.log', 'anchored.txt', 'sub/anchored.txt', 'sub/keep.log', 'sub/other.log', 'sub/deep/keep.log',
        'sub/deep/secret.txt', 'sub/secret.txt', 'build/out.js', 'a/build/b/c.js', 'other/build', 'link/x.txt', 'src/a.ts', '.git/config'];
      for (const f of files) put(f, 'x');
      const ours = new Set(files.filter((f) => !excludedByFilter(f, ['.git'], ws)));
      assert.deepEqual([...ours].sort(), ['link/x.txt', 'other/build', 'src/a.ts', 'sub/anchored.txt', 'sub/deep/keep.log', 'sub/keep.log', 'sub/secret.txt'].sort());
      // the engine's own walk over the same tree (what a push of the folder sends) agrees file by file
      const walked = new Set<string>();
      for (const l of walk(ws, { filter: new Filter({ excludes: ['.git'], includes: [], gitignore: true }) })) {
        for (const e of l.entries) if (e.kind === 'file') walked.add(e.rel.toString());
      }
      assert.deepEqual(files.filter((f) => ours.has(f) !== walked.has(f)), [], 'decided unlike the engine\'s walk');
      // without the .gitignore files (blit.gitignore off) only the excludes count
      assert.equal(excludedByFilter('top.log', ['.git']), false);
      // an edit of a .gitignore counts at once (read on every call, never cached)
      fs.writeFileSync(path.join(ws, 'sub', 'deep', '.gitignore'), 'secret.txt\nkeep.log\n');
      assert.equal(excludedByFilter('sub/deep/keep.log', [], ws), true);
    } finally {
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });
});
