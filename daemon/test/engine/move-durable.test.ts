/**
 * move removes a source only once its copy is on disk (move-durable, 2026-11-21). A power cut
 * cannot be staged in a test, so this reads the order of the system calls under strace: every
 * unlink of a source must come after a syncfs of the destination filesystem (or an fdatasync of
 * that destination file) made after the destination got its name. And it syncs per ~1,024
 * sources, not per copy batch (move-batches, 2026-11-22).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { needStrace } from '../need-strace';
import { BLIT_BIN, cleanupTemp, listTree, tempDir, writeTree } from '../cli/harness';
import { SYNC_EVERY_FILES } from '../../src/engine/durable';

interface Call {
  name: string;
  args: string;
}

/** strace -f -y output → completed calls in completion order ("unfinished"/"resumed" joined). */
function parseTrace(text: string): Call[] {
  const open = new Map<string, string>();
  const calls: Call[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const [, pid, rest] = m as unknown as [string, string, string];
    const unfinished = /^(\w+)\((.*) <unfinished \.\.\.>$/.exec(rest);
    if (unfinished) {
      open.set(pid, `${unfinished[1]}(${unfinished[2]}`);
      continue;
    }
    const resumed = /^<\.\.\. (\w+) resumed>(.*)$/.exec(rest);
    const full = resumed ? `${open.get(pid) ?? `${resumed[1]}(`}${resumed[2]}` : rest;
    if (resumed) open.delete(pid);
    const call = /^(\w+)\((.*)\)\s+=\s+(-?\d+)/.exec(full);
    if (call && call[3] !== '-1') calls.push({ name: call[1]!, args: call[2]! });
  }
  return calls;
}

describe('engine: move makes each copy durable before removing its source', function () {
  this.timeout(60_000);
  afterEach(cleanupTemp);

  it('every source unlink follows a syncfs (or fdatasync) made after its destination was renamed into place', () => {
    needStrace();
    const root = tempDir('move-durable');
    const src = path.join(root, 'src');
    const dst = path.join(root, 'dst');
    const files: Record<string, string> = {};
    for (let d = 0; d < 3; d++) for (let f = 0; f < 40; f++) files[`d${d}/f${f}`] = `content ${d}/${f}\n`.repeat(f + 1);
    files['same'] = 'already there\n';
    writeTree(src, files);
    writeTree(dst, { same: 'already there\n' });
    const t = new Date('2020-01-01T00:00:00Z');
    fs.utimesSync(path.join(src, 'same'), t, t);
    fs.utimesSync(path.join(dst, 'same'), t, t);
    fs.symlinkSync('d0/f0', path.join(src, 'link'));
    const trace = path.join(root, 'trace');
    const r = spawnSync('strace', ['-f', '-qq', '-y', '-o', trace, '-e', 'trace=syncfs,fdatasync,fsync,rename,renameat,renameat2,unlink,unlinkat', '--', process.execPath, BLIT_BIN, 'move', src + '/', dst], {
      encoding: 'utf8',
      env: { ...process.env, BLIT_NO_BUNDLE: '1' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(listTree(src), []);
    assert.equal(listTree(dst).filter((p) => !p.endsWith('/')).length, 122);

    const calls = parseTrace(fs.readFileSync(trace, 'latin1'));
    const q = (p: string): string => JSON.stringify(p).slice(1, -1);
    let unlinks = 0;
    for (const rel of [...Object.keys(files), 'link']) {
      const srcPath = `"${q(path.join(src, rel))}"`;
      const dstName = q(path.join(dst, rel));
      const gone = calls.findIndex((c) => /^unlink/.test(c.name) && c.args.includes(srcPath));
      assert.ok(gone >= 0, `no unlink of ${rel}`);
      unlinks++;
      // The last time its destination got its name (none for `same`: it was there before).
      let named = -1;
      calls.forEach((c, i) => {
        if (i < gone && /^rename/.test(c.name) && c.args.includes(`"${dstName}"`)) named = i;
      });
      if (rel !== 'same') assert.ok(named >= 0, `no rename onto ${rel} before its source was unlinked`);
      const synced = calls.slice(named + 1, gone).some((c) =>
        (c.name === 'syncfs' && c.args.includes(`<${q(dst)}`)) || (c.name === 'fdatasync' && c.args.includes(`<${dstName}>`)));
      assert.ok(synced, `${rel}: source unlinked without a syncfs/fdatasync of its destination after it was renamed into place`);
    }
    assert.equal(unlinks, 122);
  });

  it('syncs once per ~1,024 sources, not once per copy batch, and still before each unlink', () => {
    needStrace();
    const root = tempDir('move-batches');
    const src = path.join(root, 'src');
    const dst = path.join(root, 'dst');
    const FILES = 5000;
    const WORKERS = 2;
    const files: Record<string, string> = {};
    for (let i = 0; i < FILES; i++) files[`d${i % 50}/f${i}`] = `file ${i}\n`.repeat(1 + (i % 7));
    writeTree(src, files);
    const trace = path.join(root, 'trace');
    const r = spawnSync('strace', ['-f', '-qq', '-y', '--seccomp-bpf', '-o', trace, '-e', 'trace=syncfs,rename,renameat,renameat2,unlink,unlinkat', '--', process.execPath, BLIT_BIN, 'move', '--debug-workers', String(WORKERS), src + '/', dst], {
      encoding: 'utf8',
      env: { ...process.env, BLIT_NO_BUNDLE: '1' },
      maxBuffer: 64 << 20,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(listTree(src), []);
    assert.equal(listTree(dst).filter((p) => !p.endsWith('/')).length, FILES);

    const calls = parseTrace(fs.readFileSync(trace, 'latin1'));
    // Each worker syncs when SYNC_EVERY_FILES of its sources wait, and once at the end. Before,
    // every copy batch (at most 512 files) paid one: at least 10 here, ~300 on a loaded machine.
    const syncs = calls.filter((c) => c.name === 'syncfs');
    const bound = Math.floor(FILES / SYNC_EVERY_FILES) + WORKERS;
    assert.ok(syncs.length <= bound, `${syncs.length} syncfs for ${FILES} files (at most ${bound} expected)`);

    // The order, per file: rename onto its name, then a syncfs of dst, then the source unlink.
    const q = (p: string): string => JSON.stringify(p).slice(1, -1);
    const quoted = (args: string): string[] => [...args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
    const renamedAt = new Map<string, number>();
    const unlinkedAt = new Map<string, number>();
    const nextSync: number[] = new Array(calls.length + 1).fill(Infinity);
    for (let i = calls.length - 1; i >= 0; i--) {
      const c = calls[i]!;
      nextSync[i] = c.name === 'syncfs' && c.args.includes(`<${q(dst)}`) ? i : nextSync[i + 1]!;
    }
    calls.forEach((c, i) => {
      if (/^rename/.test(c.name)) renamedAt.set(quoted(c.args).pop()!, i);
      else if (/^unlink/.test(c.name) && !unlinkedAt.has(quoted(c.args)[0]!)) unlinkedAt.set(quoted(c.args)[0]!, i);
    });
    for (const rel of Object.keys(files)) {
      const gone = unlinkedAt.get(q(path.join(src, rel)));
      const named = renamedAt.get(q(path.join(dst, rel)));
      assert.ok(gone !== undefined && named !== undefined && named < gone, `${rel}: no rename onto it before its source was unlinked`);
      assert.ok(nextSync[named]! < gone, `${rel}: source unlinked without a syncfs of the destination after it was renamed into place`);
    }
  });
});
