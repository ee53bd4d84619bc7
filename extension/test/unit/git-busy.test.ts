import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findGitDir, GitBusyMonitor, presentMarkers } from '../../src/git-busy';
import { relativeToFolder } from '../../src/upload-on-save';

describe('git-busy detection (real directories)', () => {
  let tmp: string;
  beforeEach(() => (tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-gitbusy-'))));
  afterEach(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('finds .git as a directory or through a worktree .git file, and null without git', () => {
    assert.equal(findGitDir(tmp), null);
    fs.mkdirSync(path.join(tmp, '.git'));
    assert.equal(findGitDir(tmp), path.join(tmp, '.git'));
    const wt = path.join(tmp, 'wt');
    fs.mkdirSync(wt);
    fs.writeFileSync(path.join(wt, '.git'), 'gitdir: ../.git/worktrees/wt\n');
    assert.equal(findGitDir(wt), path.join(tmp, '.git', 'worktrees', 'wt'));
  });

  it('is busy while index.lock or a rebase directory exists, and for a settle period after HEAD changes', () => {
    const gitDir = path.join(tmp, '.git');
    fs.mkdirSync(gitDir);
    let now = 10_000;
    const m = new GitBusyMonitor(gitDir, 1500, () => now);
    assert.equal(m.busyReason(), null);
    fs.writeFileSync(path.join(gitDir, 'index.lock'), '');
    fs.mkdirSync(path.join(gitDir, 'rebase-merge'));
    assert.deepEqual(presentMarkers(gitDir), ['index.lock', 'rebase-merge']);
    assert.match(m.busyReason()!, /index\.lock, rebase-merge/);
    fs.rmSync(path.join(gitDir, 'index.lock'));
    fs.rmSync(path.join(gitDir, 'rebase-merge'), { recursive: true });
    m.noteChange();
    now += 1000;
    assert.match(m.busyReason()!, /HEAD\/index 1000 ms ago/);
    now += 600;
    assert.equal(m.busyReason(), null);
  });

  it('notices a real HEAD rewrite through its watcher', async () => {
    const gitDir = path.join(tmp, '.git');
    fs.mkdirSync(gitDir);
    fs.writeFileSync(path.join(gitDir, 'HEAD'), 'ref: refs/heads/main\n');
    const m = new GitBusyMonitor(gitDir, 60_000);
    m.start();
    try {
      fs.writeFileSync(path.join(gitDir, 'HEAD'), 'ref: refs/heads/feature\n');
      for (let i = 0; i < 1000 && m.busyReason() === null; i++) await new Promise((r) => setTimeout(r, 20));
      assert.match(m.busyReason() ?? '', /HEAD\/index/);
    } finally {
      m.stop();
    }
  });

  it('maps a saved file to its workspace folder (innermost wins), ignoring files outside', () => {
    assert.deepEqual(relativeToFolder('/w/a/src/x.ts', ['/w/a', '/w']), { folder: '/w/a', rel: 'src/x.ts' });
    assert.equal(relativeToFolder('/elsewhere/x.ts', ['/w']), null);
    assert.equal(relativeToFolder('/w', ['/w']), null);
  });
});
