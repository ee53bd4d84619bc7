import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as pb from '@blit/proto';
import { connectDaemon, type DaemonConnection } from '../../src/remote/grpc-client';
import { BlitError } from '../../src/engine/errors';
import { blitOnTerminal } from '../cli/harness';
import { listTree, runBlit, startDaemon, tempDir, writeConfig, writeTree, type Daemon } from './harness';

describe('blitd admin verbs (real blitd + blit CLI)', function () {
  this.timeout(60000);
  let t: ReturnType<typeof tempDir>;
  let d: Daemon;
  let mod: string;
  let ro: string;
  let scratch: string;
  let outside: string;
  let outsideBefore: string[];
  let h: string;

  before(async () => {
    t = tempDir('blit-admin-');
    mod = path.join(t.dir, 'mod');
    ro = path.join(t.dir, 'ro');
    outside = path.join(t.dir, 'outside');
    writeTree(mod, { 'a.txt': 'hello', 'docs/b.log': 'log line\n', 'docs/deep/c.log': 'x'.repeat(5000), 'keep/k.txt': 'k' });
    writeTree(ro, { 'r.txt': 'read only' });
    scratch = path.join(t.dir, 'scratch');
    writeTree(scratch, { 's1.txt': '1', 'sd/s2.txt': '2' });
    writeTree(outside, { 'secret.txt': 'do not touch', 'sub/x.log': 'outside log' });
    fs.symlinkSync(outside, path.join(mod, 'escape'));
    fs.symlinkSync('a.txt', path.join(mod, 'link-to-a'));
    outsideBefore = listTree(outside);
    const cfg = writeConfig(t.dir, `[[module]]\nname = "m"\npath = "${mod}"\ncomment = "main module"\n\n[[module]]\nname = "ro"\npath = "${ro}"\nread_only = true\n\n[[module]]\nname = "scratch"\npath = "${scratch}"\n`);
    d = await startDaemon(['--port', '0', '--config', cfg]);
    h = `127.0.0.1:${d.port}`;
  });
  after(async () => {
    if (d) assert.equal(await d.stop(), 0);
    t.cleanup();
  });
  afterEach(() => {
    // Nothing outside the modules is ever touched.
    assert.deepEqual(listTree(outside), outsideBefore);
    assert.equal(fs.readFileSync(path.join(outside, 'secret.txt'), 'utf8'), 'do not touch');
  });

  it('list-modules prints every module, and --json', async () => {
    const r = await runBlit(['list-modules', h]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'm\trw\tmain module\nro\tro\t\nscratch\trw\t\n');
    const j = await runBlit(['list-modules', h, '--json']);
    assert.deepEqual(JSON.parse(j.stdout), { modules: [{ name: 'm', comment: 'main module', readOnly: false }, { name: 'ro', comment: '', readOnly: true }, { name: 'scratch', comment: '', readOnly: false }] });
  });

  it('ls lists one directory with kinds, sizes and link targets, and --json', async () => {
    const r = await runBlit(['ls', `${h}:/m`]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 5);
    assert.match(lines[0]!, /^-rw-r--r-- +5 .* a\.txt$/);
    assert.match(lines[1]!, /^drwx.* docs\/$/);
    assert.match(r.stdout, /link-to-a -> a\.txt/);
    const j = await runBlit(['ls', `${h}:/m/docs`, '--json']);
    const parsed = JSON.parse(j.stdout) as { entries: { path: string; kind: string; size: number }[] };
    assert.deepEqual(parsed.entries.map((e) => [e.path, e.kind, e.size]), [['b.log', 'file', 9], ['deep', 'dir', 0]]);
  });

  it('find streams glob matches below a path, and --json', async () => {
    const r = await runBlit(['find', `${h}:/m`, '--pattern', '*.log']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), ['docs/b.log', 'docs/deep/c.log']);
    const j = await runBlit(['find', `${h}:/m/docs`, '--pattern', 'deep/*', '--json']);
    assert.deepEqual((JSON.parse(j.stdout) as { entries: { path: string }[] }).entries.map((e) => e.path), ['deep/c.log']);
  });

  it('du sums sizes and counts, and --json', async () => {
    const j = await runBlit(['du', `${h}:/m/docs`, '--json']);
    assert.equal(j.code, 0, j.stderr);
    const du = JSON.parse(j.stdout) as Record<string, number>;
    assert.equal(du.bytes, 9 + 5000);
    assert.equal(du.files, 2);
    assert.equal(du.dirs, 2);
    assert.ok(du.allocatedBytes! >= 4096);
    const r = await runBlit(['du', `${h}:/m/docs`]);
    assert.match(r.stdout, /\(5009 bytes, .* on disk\) in 2 files, 2 dirs, 0 symlinks/);
  });

  it('df reports the module filesystem, and --json', async () => {
    const j = await runBlit(['df', `${h}:/m`, '--json']);
    assert.equal(j.code, 0, j.stderr);
    const df = JSON.parse(j.stdout) as Record<string, number | string>;
    const st = fs.statfsSync(mod);
    assert.equal(df.totalBytes, st.blocks * st.bsize);
    assert.ok(typeof df.fsType === 'string' && df.fsType.length > 0);
    const r = await runBlit(['df', `${h}:/m`]);
    assert.match(r.stdout, /^module m \(.+\): .* available of .* used\)/);
  });

  it('rm refuses without a terminal unless --yes, then deletes', async () => {
    writeTree(mod, { 'trash/1.txt': '1', 'trash/sub/2.txt': '2' });
    const no = await runBlit(['rm', `${h}:/m/trash`]);
    assert.equal(no.code, 1);
    assert.match(no.stderr, /stdin is not a terminal; pass --yes.*\[DeletionNotConfirmed\]/);
    assert.ok(fs.existsSync(path.join(mod, 'trash/sub/2.txt')));
    const yes = await runBlit(['rm', `${h}:/m/trash`, '--yes', '--json']);
    assert.equal(yes.code, 0, yes.stderr);
    assert.deepEqual(JSON.parse(yes.stdout), { remote: `${h}:/m/trash`, entriesDeleted: 4 });
    assert.ok(!fs.existsSync(path.join(mod, 'trash')));
  });

  it('rm on a terminal asks, and deletes only on "y"', async () => {
    writeTree(mod, { 'asked/1.txt': '1' });
    const no = blitOnTerminal(['rm', `${h}:/m/asked`], { answer: 'n' });
    assert.match(no.stdout, /Delete .*:\/m\/asked and everything below it\? \[y\/N\]/);
    assert.equal(no.code, 1);
    assert.ok(fs.existsSync(path.join(mod, 'asked/1.txt')));
    const yes = blitOnTerminal(['rm', `${h}:/m/asked`], { answer: 'y' });
    assert.equal(yes.code, 0, yes.stdout);
    assert.match(yes.stdout, /deleted 2 entries/);
    assert.ok(!fs.existsSync(path.join(mod, 'asked')));
  });

  it('rm refuses the module root unless --module-root, and read-only modules always', async () => {
    const root = await runBlit(['rm', `${h}:/m`, '--yes']);
    assert.equal(root.code, 64);
    assert.match(root.stderr, /root of module 'm'.*--module-root/);
    const r = await runBlit(['rm', `${h}:/ro/r.txt`, '--yes']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /module 'ro' is read-only \[ReadOnlyModule\]/);
    assert.equal(fs.readFileSync(path.join(ro, 'r.txt'), 'utf8'), 'read only');
    assert.match(d.stderr(), /WARN refused path code=ReadOnlyModule module=ro path=r\.txt/);
  });

  it('rm --module-root empties a module but keeps its root', async () => {
    const r = await runBlit(['rm', `${h}:/scratch`, '--module-root', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deleted 3 entries/);
    assert.deepEqual(fs.readdirSync(scratch), []);
  });

  it('find --limit stops after N matches', async () => {
    const r = await runBlit(['find', `${h}:/m`, '--pattern', '*', '--limit', '2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { entries: unknown[] }).entries.length, 2);
  });

  it('names the unknown module, and an unreachable daemon', async () => {
    const r = await runBlit(['ls', `${h}:/nope`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown module 'nope' \(available: m, ro, scratch\) \[ModuleNotFound\]/);
    const j = await runBlit(['du', `${h}:/nope/x`, '--json']);
    assert.equal(j.code, 1);
    assert.deepEqual(JSON.parse(j.stdout), { ok: false, error: { code: 'ModuleNotFound', message: "unknown module 'nope' (available: m, ro, scratch)", retryable: false } });
    const port = d.port === 1 ? 2 : 1;
    const u = await runBlit(['list-modules', `127.0.0.1:${port}`]);
    assert.equal(u.code, 1);
    assert.match(u.stderr, new RegExp(`cannot connect to 127\\.0\\.0\\.1:${port}: ECONNREFUSED \\[Unreachable\\]`));
  });

  describe('path escapes over the raw API', () => {
    let c: DaemonConnection;
    before(async () => {
      c = await connectDaemon({ host: '127.0.0.1', port: d.port });
    });
    after(() => c.close());

    // Paths are built lazily: `outside` is only known once before() ran.
    const attempts: [string, () => Buffer][] = [
      ['..', () => Buffer.from('../outside')],
      ['.. inside a path', () => Buffer.from('docs/../../outside/secret.txt')],
      ['absolute', () => Buffer.from(outside)],
      ['symlink pointing outside', () => Buffer.from('escape')],
      ['below a symlink pointing outside', () => Buffer.from('escape/sub')],
    ];

    async function refused(what: string, p: Promise<unknown>): Promise<void> {
      await assert.rejects(p, (e: unknown) => {
        assert.ok(e instanceof BlitError, `${what}: ${String(e)}`);
        assert.equal(e.code, 'PathEscape', `${what}: ${e.message}`);
        return true;
      });
    }

    for (const [what, p] of attempts) {
      it(`refuses ${what} for List, Find, DiskUsage and Purge`, async () => {
        const req = { module: 'm', path: p() };
        await refused('List', c.unary<pb.ListResponse__Output>((o, cb) => c.client.List(req, o, cb)));
        await refused('DiskUsage', c.unary<pb.DiskUsageResponse__Output>((o, cb) => c.client.DiskUsage(req, o, cb)));
        await refused('Purge', c.unary<pb.PurgeResponse__Output>((o, cb) => c.client.Purge({ ...req, recursive: true }, o, cb)));
        await refused('Find', (async () => {
          for await (const _ of c.stream<pb.FindResponse__Output>((o) => c.client.Find({ ...req, pattern: '*' }, o))) void _;
        })());
      });
    }

    it('does not follow a symlink found while walking (find, du, purge of its parent)', async () => {
      fs.mkdirSync(path.join(mod, 'holder'));
      fs.symlinkSync(outside, path.join(mod, 'holder/link-out'));
      const found: string[] = [];
      for await (const b of c.stream<pb.FindResponse__Output>((o) => c.client.Find({ module: 'm', path: Buffer.from('holder'), pattern: '*' }, o))) {
        for (const e of b.entries) found.push(e.path.toString());
      }
      assert.deepEqual(found, ['link-out']);
      const du = await c.unary<pb.DiskUsageResponse__Output>((o, cb) => c.client.DiskUsage({ module: 'm', path: Buffer.from('holder') }, o, cb));
      assert.equal(du.files, 0);
      assert.equal(du.symlinks, 1);
      const res = await c.unary<pb.PurgeResponse__Output>((o, cb) => c.client.Purge({ module: 'm', path: Buffer.from('holder'), recursive: true }, o, cb));
      assert.equal(res.entriesDeleted, 2);
      assert.ok(!fs.existsSync(path.join(mod, 'holder')));
    });

    it('logs every refusal', () => {
      assert.match(d.stderr(), /WARN refused path code=PathEscape module=m path=escape/);
      assert.match(d.stderr(), /WARN request failed method=Purge code=PathEscape/);
    });
  });
});
