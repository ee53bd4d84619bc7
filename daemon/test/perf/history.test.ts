import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  PerfHistory, defaultPerfHistoryDir, perfHistoryOptionsFromEnv, PERF_HISTORY_FILE,
} from '../../src/engine/perf/history';
import { record, tempDir } from './helpers';

describe('perf history (JSONL on disk)', () => {
  let dir: string;
  beforeEach(() => { dir = tempDir('hist'); });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('lives in $XDG_CONFIG_HOME/blit, else ~/.config/blit', () => {
    assert.equal(defaultPerfHistoryDir({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/home/u' }), '/x/cfg/blit');
    assert.equal(defaultPerfHistoryDir({ HOME: '/home/u' }), '/home/u/.config/blit');
    // A relative XDG_CONFIG_HOME is invalid per the spec and ignored.
    assert.equal(defaultPerfHistoryDir({ XDG_CONFIG_HOME: 'rel', HOME: '/home/u' }), '/home/u/.config/blit');
  });

  it('appends records to $XDG_CONFIG_HOME/blit/perf_local.jsonl and reads them back', async () => {
    const h = PerfHistory.open(perfHistoryOptionsFromEnv({ XDG_CONFIG_HOME: dir }));
    assert.equal(h.file, path.join(dir, 'blit', PERF_HISTORY_FILE));
    assert.deepEqual(h.recent(), []);
    assert.equal(await h.append(record({ files: 1 })), true);
    assert.equal(await h.append(record({ files: 2 })), true);
    const lines = fs.readFileSync(h.file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 2);
    assert.equal(JSON.parse(lines[1]!).files, 2);
    // A fresh handle (another process) sees the same records, oldest first.
    const again = PerfHistory.open({ dir: path.join(dir, 'blit') });
    assert.deepEqual(again.recent().map((r) => r.files), [1, 2]);
    assert.deepEqual(again.recent(1).map((r) => r.files), [2]);
  });

  it('BLIT_DISABLE_PERF_HISTORY=1 turns recording off (nothing written)', async () => {
    const opts = perfHistoryOptionsFromEnv({ XDG_CONFIG_HOME: dir, BLIT_DISABLE_PERF_HISTORY: '1' });
    assert.equal(opts.disabled, true);
    const h = PerfHistory.open(opts);
    assert.equal(await h.append(record()), false);
    assert.equal(fs.existsSync(path.join(dir, 'blit')), false);
    assert.equal(perfHistoryOptionsFromEnv({ XDG_CONFIG_HOME: dir }).disabled, false);
  });

  it('caps the file at maxRecords (+ a quarter of slack), keeping the newest, rewritten atomically and not on every append', async () => {
    const h = PerfHistory.open({ dir, maxRecords: 10 });
    let rewrites = 0;
    let ino = -1;
    for (let i = 1; i <= 25; i++) {
      await h.append(record({ files: i }));
      const st = fs.statSync(h.file);
      if (ino !== -1 && st.ino !== ino) rewrites++; // a rewrite renames a new file over the old
      ino = st.ino;
      const n = fs.readFileSync(h.file, 'utf8').trim().split('\n').length;
      assert.ok(n <= 12, `append ${i}: ${n} lines, cap 10 + slack 2`);
    }
    // over 10 + 2 at appends 13, 16, 19, 22, 25 (was: every append from the 11th, 15 rewrites)
    assert.equal(rewrites, 5);
    const lines = fs.readFileSync(h.file, 'utf8').trim().split('\n');
    assert.equal(lines.length, 10);
    assert.deepEqual(lines.map((l) => JSON.parse(l).files), [16, 17, 18, 19, 20, 21, 22, 23, 24, 25]);
    assert.deepEqual(fs.readdirSync(dir), [PERF_HISTORY_FILE], 'no temp file left behind');
  });

  it('a run reads once, appends once: what another process appended in between is kept, caps still hold', async () => {
    // maxRecords 4, slack 1: rewritten when an append leaves more than 5 by the appender's count
    const run = PerfHistory.open({ dir, maxRecords: 4 });
    const other = PerfHistory.open({ dir, maxRecords: 4 });
    assert.deepEqual(run.recent(), []); // the run's warm-start read
    for (const files of [1, 2, 3, 4]) await run.append(record({ files }));
    await other.append(record({ files: 100 }));
    await run.append(record({ files: 5 }));
    assert.deepEqual(PerfHistory.open({ dir }).recent().map((r) => r.files), [1, 2, 3, 4, 100, 5]);
    // over the cap by the run's own count: the rewrite re-reads the file, so 100 is kept in order
    await run.append(record({ files: 6 }));
    assert.deepEqual(PerfHistory.open({ dir }).recent().map((r) => r.files), [4, 100, 5, 6]);
  });

  it('caps the file at maxBytes', async () => {
    const h = PerfHistory.open({ dir, maxBytes: 4096 });
    for (let i = 1; i <= 40; i++) await h.append(record({ files: i }));
    const size = fs.statSync(h.file).size;
    assert.ok(size <= 4096, `file is ${size} bytes`);
    const files = h.recent().map((r) => r.files);
    assert.equal(files[files.length - 1], 40);
    assert.ok(files.length >= 5);
  });

  it('skips corrupt lines without crashing, and drops them on the next rewrite', async () => {
    const good = JSON.stringify(record({ files: 7 }));
    fs.writeFileSync(path.join(dir, PERF_HISTORY_FILE),
      `${good}\n{not json\n\u0000\u0001garbage\n{"v":99,"time":"x"}\n[1,2]\n${good.slice(0, 40)}\n${good}\n`);
    const h = PerfHistory.open({ dir });
    assert.deepEqual(h.recent().map((r) => r.files), [7, 7]);
    assert.equal(h.skippedLines, 5);
    assert.equal(await h.append(record({ files: 8 })), true);
    const lines = fs.readFileSync(h.file, 'utf8').trim().split('\n');
    assert.deepEqual(lines.map((l) => JSON.parse(l).files), [7, 7, 8]);
    assert.equal(PerfHistory.open({ dir }).skippedLines, 0);
  });

  it('append never throws when the history cannot be written', async () => {
    const blocker = path.join(dir, 'not-a-dir');
    fs.writeFileSync(blocker, 'x');
    const h = PerfHistory.open({ dir: blocker });
    assert.equal(await h.append(record()), false);
    assert.deepEqual(h.recent(), []);
  });

  it('clear() empties the history', async () => {
    const h = PerfHistory.open({ dir });
    await h.append(record());
    await h.clear();
    assert.deepEqual(h.recent(), []);
    assert.equal(fs.existsSync(h.file), false);
    assert.deepEqual(PerfHistory.open({ dir }).recent(), []);
    await h.clear(); // clearing an empty history is fine
  });
});
