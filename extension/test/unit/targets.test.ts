import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Filter } from '@blit/daemon/dist/src/engine/filter';
import { walk } from '@blit/daemon/dist/src/engine/walk';
import { GitignoreFiles } from '../../src/gitignore-files';
import { chooseTarget, DEFAULT_EXCLUDES, excludedByFilter, parseTargets, remoteSpec, targetToSetting, TargetConfigError, type Target } from '../../src/targets';

const t = (over: Partial<Target> = {}): Target => ({ name: 'a', host: 'h', port: 9031, module: 'm', remotePath: '', excludes: [], uploadOnSave: false, ...over });

describe('blit.targets parsing', () => {
  it('accepts a full entry and fills defaults for a minimal one', () => {
    const { targets, errors } = parseTargets([
      { name: 'prod', host: 'srv.example', port: 9100, module: 'www', remotePath: '/site/current/', excludes: ['*.log'], uploadOnSave: true },
      { name: 'min', host: '10.0.0.5', module: 'data' },
    ]);
    assert.deepEqual(errors, []);
    assert.deepEqual(targets[0], { name: 'prod', host: 'srv.example', port: 9100, module: 'www', remotePath: 'site/current', excludes: ['*.log'], uploadOnSave: true });
    assert.deepEqual(targets[1], { name: 'min', host: '10.0.0.5', port: 9031, module: 'data', remotePath: '', excludes: ['.vscode', '.git', '.DS_Store'], uploadOnSave: false });
  });

  it('a target without excludes leaves out .vscode, .git and .DS_Store (the SFTP default); one with excludes, even [], gets exactly its list', () => {
    const { targets } = parseTargets([
      { name: 'none', host: 'h', module: 'm' },
      { name: 'nulled', host: 'h', module: 'm', excludes: null },
      { name: 'empty', host: 'h', module: 'm', excludes: [] },
      { name: 'own', host: 'h', module: 'm', excludes: ['*.log'] },
    ]);
    assert.deepEqual(targets.map((x) => x.excludes), [['.vscode', '.git', '.DS_Store'], ['.vscode', '.git', '.DS_Store'], [], ['*.log']]);
    // the wizard's entry (no excludes) is written without the key, an explicit [] with it
    assert.equal('excludes' in targetToSetting(targets[0]!), false);
    assert.deepEqual(targetToSetting(targets[2]!).excludes, []);
    assert.deepEqual(parseTargets([targetToSetting(targets[2]!)]).targets[0]!.excludes, []);
  });

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
      const reader = new GitignoreFiles();
      const ours = new Set(files.filter((f) => !excludedByFilter(f, ['.git'], (dir) => reader.read(path.join(ws, dir)))));
      assert.deepEqual([...ours].sort(), ['link/x.txt', 'other/build', 'src/a.ts', 'sub/anchored.txt', 'sub/deep/keep.log', 'sub/keep.log', 'sub/secret.txt'].sort());
      // the engine's own walk over the same tree (what a push of the folder sends) agrees file by file
      const walked = new Set<string>();
      for (const l of walk(ws, { filter: new Filter({ excludes: ['.git'], includes: [], gitignore: true }) })) {
        for (const e of l.entries) if (e.kind === 'file') walked.add(e.rel.toString());
      }
      assert.deepEqual(files.filter((f) => ours.has(f) !== walked.has(f)), [], 'decided unlike the engine\'s walk');
      // without the .gitignore files (blit.gitignore off) only the excludes count
      assert.equal(excludedByFilter('top.log', ['.git']), false);
      // an edit of a .gitignore is read on the next save (its size and mtime changed)
      fs.writeFileSync(path.join(ws, 'sub', 'deep', '.gitignore'), 'secret.txt\nkeep.log\n');
      assert.equal(excludedByFilter('sub/deep/keep.log', [], (dir) => reader.read(path.join(ws, dir))), true);
    } finally {
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });

  it('names the entry and the field at fault, and keeps the valid entries', () => {
    const { targets, errors } = parseTargets([
      { name: 'ok', host: 'h', module: 'm' },
      { name: 'badport', host: 'h', module: 'm', port: 70000 },
      { host: 'h', module: 'm' },
      { name: 'esc', host: 'h', module: 'm', remotePath: 'a/../../etc' },
      { name: 'mod', host: 'h', module: 'has space' },
      { name: 'ex', host: 'h', module: 'm', excludes: 'notalist' },
      { name: 'save', host: 'h', module: 'm', uploadOnSave: 'yes' },
      'string entry',
      { name: 'ok', host: 'h2', module: 'm' },
    ]);
    assert.deepEqual(targets.map((x) => x.name), ['ok']);
    assert.deepEqual(
      errors.map((e) => e.field),
      ['blit.targets[1].port', 'blit.targets[2].name', 'blit.targets[3].remotePath', 'blit.targets[4].module', 'blit.targets[5].excludes', 'blit.targets[6].uploadOnSave', 'blit.targets[7]', 'blit.targets[8].name'],
    );
    assert.match(errors[0]!.message, /blit\.targets\[1\]\.port: must be an integer from 1 to 65535 \(got 70000\)/);
    assert.match(errors[7]!.message, /duplicate target name "ok"/);
    assert.ok(errors.every((e) => e instanceof TargetConfigError));
  });

  it('refuses an unknown or misspelt key (a misspelt remotePath would push to the module root) and a port written into host', () => {
    const { targets, errors } = parseTargets([
      { name: 'typo', host: 'h', module: 'm', remotepath: 'site' },
      { name: 'typo2', host: 'h', module: 'm', remotPath: 'site' },
      { name: 'other', host: 'h', module: 'm', colour: 'red' },
      { name: 'hp', host: 'srv:9031', module: 'm' },
      { name: 'v6', host: '::1', module: 'm' },
      { name: 'v6b', host: '[fe80::1]', module: 'm' },
    ]);
    assert.deepEqual(targets.map((x) => x.name), ['v6', 'v6b']);
    assert.deepEqual(errors.map((e) => e.field), ['blit.targets[0].remotepath', 'blit.targets[1].remotPath', 'blit.targets[2].colour', 'blit.targets[3].host']);
    assert.match(errors[0]!.message, /is not a target setting \(did you mean "remotePath"\?\)/);
    assert.match(errors[1]!.message, /did you mean "remotePath"/);
    assert.doesNotMatch(errors[2]!.message, /did you mean/);
    assert.match(errors[3]!.message, /without a port; put the port in "port" \(got "srv:9031"\)/);
  });

  it('accepts a numeric port string and rejects a non-array setting', () => {
    assert.equal(parseTargets([{ name: 'a', host: 'h', module: 'm', port: '9200' }]).targets[0]!.port, 9200);
    const { targets, errors } = parseTargets({ name: 'x' });
    assert.equal(targets.length, 0);
    assert.match(errors[0]!.message, /^blit\.targets: must be an array/);
    assert.deepEqual(parseTargets(undefined), { targets: [], errors: [] });
  });

  it('formats the remote spec blitd takes, with IPv6 in brackets', () => {
    assert.equal(remoteSpec(t({ host: 'srv', port: 9031, module: 'www', remotePath: 'site' })), 'srv:9031:/www/site');
    assert.equal(remoteSpec(t({ host: 'srv', module: 'www' }), true), 'srv:9031:/www/');
    const v6 = parseTargets([{ name: 'v6', host: '[::1]', module: 'm', port: 9 }]).targets[0]!;
    assert.equal(v6.host, '::1');
    assert.equal(remoteSpec(v6), '[::1]:9:/m');
  });

  it('round-trips through the settings form written by Add Remote Target', () => {
    const orig = t({ name: 'x', excludes: ['node_modules'], uploadOnSave: true, remotePath: 'p/q' });
    assert.deepEqual(parseTargets([targetToSetting(orig)]).targets[0], orig);
  });
});

describe('target selection', () => {
  const a = t({ name: 'a' });
  const b = t({ name: 'b', uploadOnSave: true });
  it('uses the only target, asks when there are several, explains when there is none', () => {
    assert.deepEqual(chooseTarget([a]), { kind: 'one', target: a });
    assert.deepEqual(chooseTarget([a, b]), { kind: 'ask', candidates: [a, b] });
    const none = chooseTarget([]);
    assert.equal(none.kind, 'none');
    assert.match((none as { message: string }).message, /Add Remote Target/);
  });
  it('honours a requested name and a filter', () => {
    assert.deepEqual(chooseTarget([a, b], 'b'), { kind: 'one', target: b });
    assert.equal(chooseTarget([a, b], 'zzz').kind, 'none');
    assert.deepEqual(chooseTarget([a, b], undefined, (x) => x.uploadOnSave), { kind: 'one', target: b });
  });
});
