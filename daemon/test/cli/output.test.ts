/** Itemized lines, totals, the --json object and the progress line: pure formatting. */
import assert from 'node:assert/strict';
import {
  addToTally,
  dryRunTotal,
  emptyTally,
  formatBytes,
  itemLine,
  mergeSummaries,
  runTotal,
  summaryJson,
} from '../../src/cli/output';
import { progressLine } from '../../src/cli/progress';
import { isYes } from '../../src/cli/confirm';
import type { TransferSummary } from '../../src/engine/types';

function summary(over: Partial<TransferSummary> = {}): TransferSummary {
  return {
    filesTransferred: 0, bytesTransferred: 0, dirsCreated: 0, symlinksCreated: 0, entriesDeleted: 0,
    deletionsSkipped: 0, filesUnchanged: 0, failures: [], durationMs: 0, firstByteMs: null, dryRun: false,
    ...over,
  };
}

describe('cli output formats', () => {
  it('itemized lines are rsync-like, actions aligned, directories end in /', () => {
    assert.equal(itemLine('create', 'a/b.txt', 'file'), 'create  a/b.txt');
    assert.equal(itemLine('update', 'b', 'file'), 'update  b');
    assert.equal(itemLine('delete', 'old', 'file'), 'delete  old');
    assert.equal(itemLine('mkdir', 'd', 'dir'), 'mkdir   d/');
    assert.equal(itemLine('mkdir', '', 'dir'), 'mkdir   ./', 'the transfer root');
    assert.equal(itemLine('symlink', 'l', 'symlink'), 'symlink l');
    assert.equal(itemLine('skip', 'same', 'file'), null);
  });

  it('dry-run total counts each action and the bytes to send', () => {
    const t = emptyTally();
    addToTally(t, 'create', 'file', 1000);
    addToTally(t, 'update', 'file', 24);
    addToTally(t, 'mkdir', 'dir', 0);
    addToTally(t, 'delete', 'file', 5);
    addToTally(t, 'skip', 'file', 99);
    assert.deepEqual(t, { create: 1, update: 1, delete: 1, mkdir: 1, symlink: 0, bytes: 1024 });
    assert.equal(
      dryRunTotal(t, true),
      'dry run: 1 to create, 1 to update, 1 directory to make, 0 symlinks to make, 1 to delete (needs --yes); 1.00 KiB to send; nothing changed',
    );
  });

  it('run total names what was done', () => {
    const line = runTotal('mirror', summary({ filesTransferred: 2, bytesTransferred: 2048, entriesDeleted: 3, durationMs: 1500, dirsCreated: 2 }));
    assert.equal(line, 'copied 2 files (2.00 KiB), 2 directories created, 3 deleted in 1.5 s');
    assert.match(runTotal('move', summary({ filesTransferred: 1, failures: [{ path: 'x', code: 'IoError', reason: 'r' }] })), /^moved 1 file .*1 failed/);
  });

  it('--json object has every documented field and is one line', () => {
    const s = summary({ filesTransferred: 1, bytesTransferred: 5, failures: [{ path: 'p', code: 'NoSpace', reason: 'full' }], durationMs: 7, firstByteMs: 3 });
    const text = summaryJson('copy', 'a', 'b', s);
    assert.ok(!text.includes('\n'));
    const o = JSON.parse(text);
    for (const k of ['filesTransferred', 'bytesTransferred', 'entriesDeleted', 'deletionsSkipped', 'failures', 'durationMs', 'firstByteMs', 'dryRun']) {
      assert.ok(k in o, k);
    }
    assert.deepEqual(o.failures, [{ path: 'p', code: 'NoSpace', reason: 'full' }]);
    assert.equal(o.ok, false);
  });

  it('merging the copy pass and the confirmed deletion pass', () => {
    const m = mergeSummaries(
      summary({ filesTransferred: 2, deletionsSkipped: 4, durationMs: 10, firstByteMs: 2 }),
      summary({ entriesDeleted: 4, durationMs: 3 }),
    );
    assert.equal(m.filesTransferred, 2);
    assert.equal(m.entriesDeleted, 4);
    assert.equal(m.deletionsSkipped, 0);
    assert.equal(m.durationMs, 13);
    assert.equal(m.firstByteMs, 2);
  });

  it('bytes use binary units', () => {
    assert.equal(formatBytes(0), '0 B');
    assert.equal(formatBytes(1023), '1023 B');
    assert.equal(formatBytes(1536), '1.50 KiB');
    assert.equal(formatBytes(200 * 1024 * 1024), '200 MiB');
  });

  it('progress line: files, bytes, rate, and ETA only once the scan is complete', () => {
    const scanning = progressLine({ filesDone: 1, bytesDone: 1024, filesPlanned: 4, bytesPlanned: 4096, scanComplete: false }, 1000);
    assert.equal(scanning, '1/4+ files  1.00 KiB/4.00 KiB+  1.00 KiB/s  ETA --');
    const done = progressLine({ filesDone: 1, bytesDone: 1024, filesPlanned: 4, bytesPlanned: 4096, scanComplete: true }, 1000);
    assert.equal(done, '1/4 files  1.00 KiB/4.00 KiB  1.00 KiB/s  ETA 3s');
  });

  it('only y or yes confirms', () => {
    for (const a of ['y', 'Y', 'yes', ' YES ']) assert.equal(isYes(a), true, a);
    for (const a of ['', 'n', 'no', 'yess', 'ok']) assert.equal(isYes(a), false, a);
  });
});
