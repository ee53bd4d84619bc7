import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TransferRequest } from '../../src/daemon-client';
import type { JobOutcome } from '../../src/messages';
import { SaveBatcher, type Clock } from '../../src/save-batcher';
import { parseTargets, type Target } from '../../src/targets';
import { UploadOnSave } from '../../src/upload-on-save';

/** A manual clock: timers fire only when the test advances time. */
class ManualClock implements Clock {
  now = 0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private next = 1;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.push({ at: this.now + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== h);
  }
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const t = this.timers[0];
      if (!t || t.at > end) break;
      this.timers.shift();
      this.now = t.at;
      t.fn();
      await new Promise((r) => setImmediate(r)); // let the flush promise settle
    }
    this.now = end;
  }
}

function setup(paused = () => false) {
  const clock = new ManualClock();
  const flushed: string[][] = [];
  let release: (() => void) | undefined;
  let hold = false;
  const b = new SaveBatcher({
    debounceMs: () => 300,
    pausePollMs: 500,
    isPaused: paused,
    clock,
    onError: (e) => assert.fail(String(e)),
    flush: async (paths) => {
      flushed.push(paths);
      if (hold) await new Promise<void>((r) => (release = r));
    },
  });
  return { clock, flushed, b, holdNext: () => (hold = true), release: () => { hold = false; release?.(); } };
}

describe('upload-on-save batcher', () => {
  it('debounces a burst of saves into one sorted, de-duplicated batch', async () => {
    const { clock, flushed, b } = setup();
    b.add('src/b.ts');
    await clock.advance(200);
    b.add('src/a.ts');
    b.add('src/b.ts');
    await clock.advance(299);
    assert.deepEqual(flushed, []);
    await clock.advance(1);
    assert.deepEqual(flushed, [['src/a.ts', 'src/b.ts']]);
  });

  it('waits while git is busy and flushes once it settles', async () => {
    let busy = true;
    const { clock, flushed, b } = setup(() => busy);
    b.add('x');
    await clock.advance(300 + 500 * 4);
    assert.deepEqual(flushed, []);
    assert.equal(b.pendingCount, 1);
    busy = false;
    await clock.advance(500);
    assert.deepEqual(flushed, [['x']]);
  });

  it('saves during a running flush become the next batch (one flush at a time)', async () => {
    const { clock, flushed, b, holdNext, release } = setup();
    holdNext();
    b.add('one');
    await clock.advance(300);
    b.add('two');
    await clock.advance(1000);
    assert.deepEqual(flushed, [['one']]);
    release();
    await new Promise((r) => setImmediate(r));
    await clock.advance(300);
    assert.deepEqual(flushed, [['one'], ['two']]);
  });

  it('dispose drops pending saves', async () => {
    const { clock, flushed, b } = setup();
    b.add('x');
    b.dispose();
    await clock.advance(1000);
    assert.deepEqual(flushed, []);
  });
});

describe('upload on save: from saved paths to one files_from request', () => {
  it('sends every saved name as files_from (copy), exactly as saved', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-ext-uos-'));
    const clock = new ManualClock();
    const sent: TransferRequest[] = [];
    const errors: string[] = [];
    const target: Target = { name: 't', host: 'h', port: 9031, module: 'm', remotePath: '', excludes: [], uploadOnSave: true };
    const u = new UploadOnSave({
      targets: () => [target, { ...target, name: 'manual', uploadOnSave: false }],
      gitignore: () => true,
      delayMs: () => 300,
      run: async (req) => (sent.push(req), { kind: 'ok' as const }),
      describeError: (e) => (e as Error).message,
      notify: (m) => errors.push(m),
      log: () => {},
      clock,
    });
    try {
      for (const rel of ['[a].txt', '#b*', 'sub/trail ']) assert.equal(u.onSaved(path.join(ws, rel), [ws]), 1);
      assert.equal(u.onSaved('/elsewhere/x', [ws]), 0, 'outside every folder');
      assert.equal(u.onSaved(path.join(ws, '.git', 'config'), [ws]), 0, 'git metadata never uploads');
      await clock.advance(300);
      assert.equal(sent.length, 1);
      assert.deepEqual([...(sent[0]!.filesFrom ?? [])].sort(), ['#b*', '[a].txt', 'sub/trail ']);
      assert.equal(sent[0]!.mode, 'copy');
      assert.equal(sent[0]!.deleteConfirmed, false);
      assert.equal(sent[0]!.includes, undefined);
      assert.deepEqual(errors, []);
    } finally {
      u.dispose();
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });

  it('saving a file the target excludes by name (.vscode/settings.json by default) starts no upload; an entry with excludes: [] uploads it', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-ext-uos-'));
    const clock = new ManualClock();
    const sent: TransferRequest[] = [];
    const byDefault = parseTargets([{ name: 'd', host: 'h', module: 'm', uploadOnSave: true }]).targets[0]!;
    const u = new UploadOnSave({
      targets: () => [byDefault, { ...byDefault, name: 'all', excludes: [] }],
      gitignore: () => false, delayMs: () => 300, run: async (req) => (sent.push(req), { kind: 'ok' as const }),
      describeError: String, notify: () => {}, log: () => {}, clock,
    });
    try {
      assert.equal(u.onSaved(path.join(ws, '.vscode', 'settings.json'), [ws]), 1, 'only the target with excludes: [] takes it');
      assert.equal(u.onSaved(path.join(ws, 'sub', '.DS_Store'), [ws]), 1);
      assert.equal(u.onSaved(path.join(ws, 'src', 'a.ts'), [ws]), 2);
      await clock.advance(300);
      const to = (name: string) => sent.filter((r) => r.label.endsWith(` to ${name}`)).map((r) => [...(r.filesFrom ?? [])].sort());
      assert.deepEqual(to('d'), [['src/a.ts']]);
      assert.deepEqual(to('all'), [['.vscode/settings.json', 'src/a.ts', 'sub/.DS_Store']]);
    } finally {
      u.dispose();
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });

  it('saving a file the target excludes by a glob (*.log, build/, /top.txt) starts no upload; a file the globs do not match does', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-ext-uos-'));
    const clock = new ManualClock();
    const sent: TransferRequest[] = [];
    const globs = parseTargets([{ name: 'g', host: 'h', module: 'm', uploadOnSave: true, excludes: ['*.log', 'build/', '/top.txt', 'docs/*/*.md'] }]).targets[0]!;
    const u = new UploadOnSave({
      targets: () => [globs],
      gitignore: () => true, delayMs: () => 300, run: async (req) => (sent.push(req), { kind: 'ok' as const }),
      describeError: String, notify: () => {}, log: () => {}, clock,
    });
    try {
      for (const rel of ['debug.log', 'sub/deep/x.log', 'build/out.js', 'a/build/b/c.js', 'top.txt', 'docs/drafts/n.md', 'vendor/.git/config']) {
        assert.equal(u.onSaved(path.join(ws, rel), [ws]), 0, `${rel} is excluded: no upload`);
      }
      await clock.advance(1000);
      assert.equal(sent.length, 0, 'a job was started for excluded files');
      for (const rel of ['build', 'sub/top.txt', 'docs/n.md', 'x.log.txt']) assert.equal(u.onSaved(path.join(ws, rel), [ws]), 1, `${rel} is not excluded`);
      await clock.advance(300);
      assert.deepEqual(sent.map((r) => [...(r.filesFrom ?? [])].sort()), [['build', 'docs/n.md', 'sub/top.txt', 'x.log.txt']]);
    } finally {
      u.dispose();
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });

  it('bad settings (reading the targets throws) start no upload and throw nothing; a fault past reading the settings is not swallowed', () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-ext-uos-'));
    const good = parseTargets([{ name: 'g', host: 'h', module: 'm', uploadOnSave: true }]).targets[0]!;
    const bad = parseTargets([{ name: 'b', host: 'h', module: 'm', port: 'x' }]).errors[0]!;
    let targets = (): Target[] => {
      throw bad; // as the extension's targets() does when no entry is valid
    };
    const u = new UploadOnSave({ targets: () => targets(), gitignore: () => true, delayMs: () => 300, run: async () => ({ kind: 'ok' as const }), describeError: String, notify: () => {}, log: () => {}, clock: new ManualClock() });
    try {
      assert.equal(u.onSaved(path.join(ws, 'a.ts'), [ws]), 0);
      // a target the parser never makes (excludes not a list) stands in for a bug in the filter step
      targets = () => [{ ...good, excludes: null as unknown as string[] }];
      assert.throws(() => u.onSaved(path.join(ws, 'a.ts'), [ws]), TypeError);
    } finally {
      u.dispose();
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });

  it('saving a file only a .gitignore on its path leaves out starts no upload (blit.gitignore on); an edit of the .gitignore counts from the next save', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-ext-uos-'));
    fs.mkdirSync(path.join(ws, 'sub', 'cache'), { recursive: true });
    fs.writeFileSync(path.join(ws, '.gitignore'), '*.log\ncache/\n');
    fs.writeFileSync(path.join(ws, 'sub', '.gitignore'), '!keep.log\n');
    const clock = new ManualClock();
    const sent: TransferRequest[] = [];
    let gitignore = true;
    const target: Target = { name: 't', host: 'h', port: 9031, module: 'm', remotePath: '', excludes: [], uploadOnSave: true };
    const u = new UploadOnSave({
      targets: () => [target], gitignore: () => gitignore, delayMs: () => 300,
      run: async (req) => (sent.push(req), { kind: 'ok' as const }), describeError: String, notify: () => {}, log: () => {}, clock,
    });
    try {
      for (const rel of ['debug.log', 'sub/other.log', 'sub/cache/x.bin']) assert.equal(u.onSaved(path.join(ws, rel), [ws]), 0, `${rel} is gitignored: no upload`);
      await clock.advance(1000);
      assert.equal(sent.length, 0, 'a job was started for gitignored files');
      for (const rel of ['sub/keep.log', 'src/a.ts']) assert.equal(u.onSaved(path.join(ws, rel), [ws]), 1, `${rel} is not gitignored`);
      await clock.advance(300);
      assert.deepEqual(sent.map((r) => [...(r.filesFrom ?? [])].sort()), [['src/a.ts', 'sub/keep.log']]);
      // the .gitignore edited (and saved) between two saves: the next save reads it again
      fs.writeFileSync(path.join(ws, 'sub', '.gitignore'), '!keep.log\n/a.ts\n');
      fs.writeFileSync(path.join(ws, '.gitignore'), '*.log\n');
      assert.equal(u.onSaved(path.join(ws, 'sub', 'a.ts'), [ws]), 0, 'sub/a.ts is gitignored now');
      assert.equal(u.onSaved(path.join(ws, 'sub', 'cache', 'x.bin'), [ws]), 1, 'cache/ is no longer ignored');
      // blit.gitignore off: blitd reads no .gitignore, so neither does the save
      gitignore = false;
      assert.equal(u.onSaved(path.join(ws, 'debug.log'), [ws]), 1);
      await clock.advance(300);
      assert.deepEqual(sent.map((r) => [...(r.filesFrom ?? [])].sort()).slice(1), [['debug.log', 'sub/cache/x.bin']]);
    } finally {
      u.dispose();
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });

  it('says once that it holds a batch back while git holds index.lock, and once when it goes on', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-ext-uos-'));
    fs.mkdirSync(path.join(ws, '.git'));
    fs.writeFileSync(path.join(ws, '.git', 'index.lock'), '');
    const clock = new ManualClock();
    const sent: TransferRequest[] = [];
    const lines: string[] = [];
    const target: Target = { name: 't', host: 'h', port: 9031, module: 'm', remotePath: '', excludes: [], uploadOnSave: true };
    // gitSettleMs 0: only the lock itself holds the batch (the settle period has its own test)
    const u = new UploadOnSave({ targets: () => [target], gitignore: () => true, delayMs: () => 300, run: async (req) => (sent.push(req), { kind: 'ok' as const }), describeError: String, notify: () => {}, log: (l) => lines.push(l), gitSettleMs: 0, clock });
    try {
      u.onSaved(path.join(ws, 'a.txt'), [ws]);
      u.onSaved(path.join(ws, 'b.txt'), [ws]);
      await clock.advance(300 + 10 * 500); // due, then ten polls while the lock stays
      assert.deepEqual(lines, ['upload on save to t: holding back 2 saved files: git operation in progress (index.lock)']);
      assert.equal(sent.length, 0);
      fs.rmSync(path.join(ws, '.git', 'index.lock'));
      await clock.advance(500);
      assert.deepEqual(lines.slice(1), ['upload on save to t: git is done, uploading 2 saved files']);
      assert.deepEqual(sent.map((r) => [...(r.filesFrom ?? [])].sort()), [['a.txt', 'b.txt']]);
      u.onSaved(path.join(ws, 'c.txt'), [ws]);
      await clock.advance(300);
      assert.equal(lines.length, 2, 'a batch that was never held back says nothing');
      assert.equal(sent.length, 2);
    } finally {
      u.dispose();
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });

  it('shows a failing target once until an upload to it succeeds; waits while a push of the folder runs; "..name" is inside', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-ext-uos-'));
    const clock = new ManualClock();
    const sent: string[][] = [];
    const shown: string[] = [];
    const lines: string[] = [];
    let failure: string | null = 'Blit cannot reach h:9031: connect ECONNREFUSED';
    let busy: string | null = null;
    const target: Target = { name: 't', host: 'h', port: 9031, module: 'm', remotePath: '', excludes: [], uploadOnSave: true };
    const u = new UploadOnSave({
      targets: () => [target],
      gitignore: () => true,
      delayMs: () => 300,
      run: async (req) => {
        sent.push([...(req.filesFrom ?? [])]);
        return failure === null ? { kind: 'ok' as const } : { kind: 'failed' as const, message: failure };
      },
      describeError: String,
      notify: (m) => shown.push(m),
      busy: (folder, t) => (folder === ws && t === 't' ? busy : null),
      log: (l) => lines.push(l),
      clock,
    });
    try {
      for (const name of ['a.txt', 'b.txt', 'c.txt']) {
        u.onSaved(path.join(ws, name), [ws]);
        await clock.advance(300);
      }
      assert.equal(sent.length, 3);
      assert.deepEqual(shown, [failure], 'one toast for three failed saves'); // before: three
      assert.equal(lines.filter((l) => l.includes('failed again')).length, 2);
      failure = null;
      u.onSaved(path.join(ws, 'd.txt'), [ws]);
      await clock.advance(300);
      failure = 'Blit cannot reach h:9031: connect ECONNREFUSED';
      u.onSaved(path.join(ws, 'e.txt'), [ws]);
      await clock.advance(300);
      assert.equal(shown.length, 2, 'shown again after a good upload in between');
      // a file named "..env" is in the folder (it was taken for a path outside it)
      failure = null;
      assert.equal(u.onSaved(path.join(ws, '..env'), [ws]), 1);
      assert.equal(u.onSaved(path.join(ws, '..', 'outside'), [ws]), 0);
      await clock.advance(300);
      assert.deepEqual(sent.at(-1), ['..env']);
      // a push of the same folder and target runs: the saved file waits for it, then goes
      busy = 'Push to t is running';
      u.onSaved(path.join(ws, 'f.txt'), [ws]);
      await clock.advance(300 + 3 * 500);
      assert.equal(sent.length, 6, 'uploaded while the push of the folder ran');
      assert.ok(lines.includes('upload on save to t: holding back 1 saved file: Push to t is running'), lines.join('\n'));
      busy = null;
      await clock.advance(500);
      assert.deepEqual(sent.at(-1), ['f.txt']);
    } finally {
      u.dispose();
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });

  it('a cancelled upload (Blit: Cancel Transfer) is logged, never shown, and keeps a shown failure from repeating', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-ext-uos-'));
    const clock = new ManualClock();
    const shown: string[] = [];
    const lines: string[] = [];
    const outcomes: JobOutcome[] = [
      { kind: 'failed', message: 'Blit cannot reach h:9031: connect ECONNREFUSED' },
      { kind: 'cancelled', message: 'Blit: Upload b.txt to t cancelled.' },
      { kind: 'failed', message: 'Blit cannot reach h:9031: connect ECONNREFUSED' },
    ];
    const target: Target = { name: 't', host: 'h', port: 9031, module: 'm', remotePath: '', excludes: [], uploadOnSave: true };
    const u = new UploadOnSave({
      targets: () => [target], gitignore: () => true, delayMs: () => 300,
      run: async () => outcomes.shift()!,
      describeError: String, notify: (m) => shown.push(m), log: (l) => lines.push(l), clock,
    });
    try {
      for (const name of ['a.txt', 'b.txt', 'c.txt']) {
        u.onSaved(path.join(ws, name), [ws]);
        await clock.advance(300);
      }
      assert.equal(outcomes.length, 0, 'three uploads ran');
      assert.deepEqual(shown, ['Blit cannot reach h:9031: connect ECONNREFUSED'], 'the cancel was shown, or reset the failure shown before it');
      assert.ok(lines.includes('upload on save to t: Blit: Upload b.txt to t cancelled.'), lines.join('\n'));
    } finally {
      u.dispose();
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });

  it('each folder of a multi-root workspace uploads to its own settings\' target, even when two share a name', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-ext-uos-'));
    const a = path.join(root, 'my proj', '\u00fcn\u00ef code');
    const b = path.join(root, 'second');
    const clock = new ManualClock();
    const sent: Array<[string, string, string[]]> = [];
    const shown: string[] = [];
    const site = (host: string): Target => ({ name: 'site', host, port: 9031, module: 'm', remotePath: '', excludes: [], uploadOnSave: true });
    const u = new UploadOnSave({
      targets: (folder) => [site(folder === a ? 'host-a' : 'host-b')],
      gitignore: () => true, delayMs: () => 300,
      folderLabel: (folder) => path.basename(folder),
      run: async (req, t) => {
        sent.push([req.source, t.host, [...(req.filesFrom ?? [])]]);
        // one message for both (say, one blitd serving both folders, down): still one toast per folder
        return { kind: 'failed', message: 'Blit cannot reach srv:9031: connect ECONNREFUSED' };
      },
      describeError: String, notify: (m) => shown.push(m), log: () => {}, clock,
    });
    try {
      assert.equal(u.onSaved(path.join(a, 'src', 'x.ts'), [a, b]), 1);
      assert.equal(u.onSaved(path.join(b, 'y.ts'), [a, b]), 1);
      await clock.advance(300);
      assert.deepEqual(sent.sort(), [[`${a}/`, 'host-a', ['src/x.ts']], [`${b}/`, 'host-b', ['y.ts']]]);
      assert.equal(shown.length, 2, 'one folder\'s failure hid the other\'s');
    } finally {
      u.dispose();
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('a change of the quiet-period setting applies from the next save (not after a reload); a target taken out of the settings is said in the log', async () => {
    const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-ext-uos-'));
    const clock = new ManualClock();
    const sent: string[][] = [];
    const lines: string[] = [];
    let delay = 300;
    let targets: Target[] = [{ name: 't', host: 'h', port: 9031, module: 'm', remotePath: '', excludes: [], uploadOnSave: true }];
    const u = new UploadOnSave({
      targets: () => targets, gitignore: () => true, delayMs: () => delay,
      run: async (req) => (sent.push([...(req.filesFrom ?? [])]), { kind: 'ok' as const }),
      describeError: String, notify: () => {}, log: (l) => lines.push(l), clock,
    });
    try {
      u.onSaved(path.join(ws, 'a.txt'), [ws]);
      await clock.advance(300);
      assert.equal(sent.length, 1);
      delay = 2000; // the user raised blit.uploadOnSaveDelayMs
      u.onSaved(path.join(ws, 'b.txt'), [ws]);
      await clock.advance(1000);
      assert.equal(sent.length, 1, 'uploaded after the old quiet period');
      await clock.advance(1000);
      assert.deepEqual(sent.at(-1), ['b.txt']);
      u.onSaved(path.join(ws, 'c.txt'), [ws]);
      targets = [];
      await clock.advance(2000);
      assert.equal(sent.length, 2);
      assert.deepEqual(lines, ['upload on save to t: not uploading 1 saved file(s): the target is no longer in blit.targets with uploadOnSave']);
    } finally {
      u.dispose();
      fs.rmSync(ws, { recursive: true, force: true });
    }
  });
});
