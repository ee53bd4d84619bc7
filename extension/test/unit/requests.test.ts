import * as assert from 'node:assert/strict';
import { DaemonCallError, displayBytes, toJobUpdate, toWireOptions } from '../../src/daemon-client';
import { DaemonStartError } from '../../src/daemon-manager';
import { messageForError, messageForJob } from '../../src/messages';
import { buildRequest, countDeletions, formatPreview } from '../../src/requests';
import type { Target } from '../../src/targets';

const target: Target = { name: 'prod', host: 'srv', port: 9031, module: 'www', remotePath: 'site', excludes: ['*.log'], uploadOnSave: true };

describe('transfer requests per command', () => {
  it('push sends the folder contents (trailing slash) to the target, .gitignore honoured, .git excluded', () => {
    const r = buildRequest({ kind: 'push', target, folder: '/home/me/proj', gitignore: true });
    assert.deepEqual(r, { source: '/home/me/proj/', destination: 'srv:9031:/www/site', mode: 'copy', label: 'Push to prod', excludes: ['.git', '*.log'], gitignore: true, deleteConfirmed: false, dryRun: false });
  });

  it('pull brings the remote contents into the folder', () => {
    const r = buildRequest({ kind: 'pull', target, folder: '/p', gitignore: false });
    assert.equal(r.source, 'srv:9031:/www/site/');
    assert.equal(r.destination, '/p');
    assert.deepEqual(r.excludes, ['*.log']);
  });

  it('mirror is a mirror only with confirmation; previews are dry runs', () => {
    assert.equal(buildRequest({ kind: 'mirror', target, folder: '/p', gitignore: true, deleteConfirmed: true }).deleteConfirmed, true);
    assert.equal(buildRequest({ kind: 'mirror', target, folder: '/p', gitignore: true }).deleteConfirmed, false);
    const pm = buildRequest({ kind: 'preview-mirror', target, folder: '/p', gitignore: true });
    assert.equal(pm.mode, 'mirror');
    assert.equal(pm.dryRun, true);
    assert.equal(pm.deleteConfirmed, false);
  });

  it('upload on save sends the saved files as files_from, in copy mode (never deletes)', () => {
    const r = buildRequest({ kind: 'upload', target, folder: '/p', gitignore: true, files: ['src/a.ts', '../escape', 'b.md'] });
    assert.equal(r.mode, 'copy');
    assert.equal(r.source, '/p/');
    assert.equal(r.destination, 'srv:9031:/www/site');
    assert.deepEqual(r.filesFrom, ['src/a.ts', 'b.md'], 'outside the folder never sent');
    assert.equal(r.includes, undefined, 'no include globs any more');
    assert.deepEqual(r.excludes, ['.git', '*.log'], 'only the target excludes, no catch-all *');
    assert.throws(() => buildRequest({ kind: 'upload', target, folder: '/p', gitignore: true, files: [] }), /no files/);
    const wire = toWireOptions(r);
    assert.equal(wire.mode, 'MODE_COPY');
    assert.equal(wire.deleteConfirmed, false);
    assert.equal(wire.mkpath, true, 'a remotePath is created with its missing parents (blit --mkpath)');
    assert.deepEqual(wire.filter?.includes, []);
    assert.deepEqual(wire.filter?.filesFrom, [Buffer.from('src/a.ts'), Buffer.from('b.md')]);
  });

  it('a saved name with glob characters is sent literally, byte for byte', () => {
    const names = ['[a].txt', '*', 'dir?/x{1,2}.md', 'caf\u00e9 (1)!.txt', 'back\\slash'];
    const r = buildRequest({ kind: 'upload', target, folder: '/p', gitignore: false, files: names });
    assert.deepEqual(r.filesFrom, names);
    const wire = toWireOptions(r);
    assert.deepEqual(wire.filter?.filesFrom, names.map((n) => Buffer.from(n, 'utf8')));
    assert.deepEqual(wire.filter?.includes, []);
  });

  it('names a text list could not carry (comment-like, white space, line breaks) go byte-exact', () => {
    const names = ['#notes.md', ' lead.txt', 'a/#b', 'trail ', 'two\nlines', 'cr\r', './dot'];
    const r = buildRequest({ kind: 'upload', target, folder: '/p', gitignore: true, files: names });
    assert.deepEqual(r.filesFrom, names);
    const wire = toWireOptions(r);
    assert.deepEqual(wire.filter?.filesFrom, names.map((n) => Buffer.from(n, 'utf8')));
    assert.equal(wire.filter?.hasFilesFrom, true);
    assert.equal(toWireOptions(buildRequest({ kind: 'push', target, folder: '/p', gitignore: true })).filter?.hasFilesFrom, false);
  });

  it('counts mirror deletions and formats the preview', () => {
    const items = [
      { action: 'create', path: 'new.txt', size: 5 },
      { action: 'delete', path: 'old.txt', size: 0 },
      { action: 'skip', path: 'same.txt', size: 1 },
    ];
    assert.equal(countDeletions(items, null), 1);
    assert.equal(countDeletions([], { entriesDeleted: 0, deletionsSkipped: 3 }), 3);
    assert.deepEqual(formatPreview(items), ['+ new.txt (5 B)', '- old.txt']);
  });
});

describe('wire translation (daemon-client boundary)', () => {
  it('turns a JobEvent into domain types, raw path bytes into display text', () => {
    const u = toJobUpdate({
      job: {
        id: 'j', label: 'L', kind: 'push', state: 'JOB_RUNNING', bytesPerSecond: 10, etaSeconds: -1, startedAtMs: 5, finishedAtMs: 0,
        progress: { filesDone: 1, bytesDone: 2, filesPlanned: 3, bytesPlanned: 4, scanComplete: true }, summary: null, error: null,
        inFlight: [Buffer.from([0x61, 0xff, 0x62])],
      },
      item: { action: 'ITEM_DELETE', path: Buffer.from('caf\u00e9'), kind: 'ENTRY_KIND_FILE', size: 0 },
      failure: null,
    });
    assert.ok(u);
    assert.equal(u.job.state, 'running');
    assert.equal(u.job.etaSeconds, null);
    assert.deepEqual(u.job.inFlight, ['a\\xffb']);
    assert.deepEqual(u.item, { action: 'delete', path: 'café', kind: 'file', size: 0 });
    assert.equal(displayBytes(Buffer.from('plain')), 'plain');
  });
});

describe('user-facing error messages', () => {
  it('one clear sentence for unreachable host, refused module, protocol mismatch, daemon start failure', () => {
    assert.match(messageForError(new DaemonCallError('Unreachable', 'connect ECONNREFUSED'), target), /^Blit cannot reach srv:9031: connect ECONNREFUSED/);
    assert.match(messageForError(new DaemonCallError('ModuleNotFound', 'no module www'), target), /^srv:9031 refused module 'www'/);
    assert.match(messageForError(new DaemonCallError('ProtocolMismatch', 'server speaks 2'), target), /protocol mismatch with srv:9031/);
    assert.match(messageForError(new DaemonStartError('The Blit daemon did not start: it exited (code 1).', 'boom')), /did not start/);
  });

  it('a finished job: null on clean success, the fatal error otherwise', () => {
    const job = { id: 'j', label: 'Push to prod', kind: 'push', state: 'failed' as const, filesDone: 0, bytesDone: 0, filesPlanned: 0, bytesPlanned: 0, scanComplete: false, bytesPerSecond: 0, etaSeconds: null, startedAtMs: 0, finishedAtMs: 0, summary: null, error: { code: 'Unreachable', message: 'ECONNREFUSED', path: '' }, inFlight: [] };
    assert.match(messageForJob(job, target)!, /cannot reach srv:9031/);
    assert.equal(messageForJob({ ...job, state: 'succeeded', error: null }), null);
    assert.match(messageForJob({ ...job, state: 'cancelled', error: null })!, /cancelled/);
  });
});
