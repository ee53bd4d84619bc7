/**
 * DaemonManager, DaemonClient and JobTracker against real blitd processes on this machine: a local
 * daemon on a Unix socket (spawned the way the extension spawns it) pushing to a "remote" blitd on
 * loopback. No VS Code needed.
 */
import * as assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { blitService } from '@blit/proto';
import { startRemoteBlitd, stopped, until, type RemoteDaemon } from '../e2e/node-helpers';
import { DaemonManager, defaultSocketPath } from '../../src/daemon-manager';
import { followDaemon, JobTracker } from '../../src/job-tracker';
import { isFinished } from '../../src/jobs';
import { messageForJob } from '../../src/messages';
import { buildRequest } from '../../src/requests';
import type { Target } from '../../src/targets';

const REPO = path.resolve(__dirname, '..', '..', '..', '..');
const ENTRY = path.join(REPO, 'extension', 'scripts', 'blitd-entry.js');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('daemon manager with real blitd processes', function () {
  this.timeout(30000);
  let tmp: string;
  let remote: RemoteDaemon | undefined;
  const managers: DaemonManager[] = [];
  const logs: string[] = [];

  const manager = (over: Partial<ConstructorParameters<typeof DaemonManager>[0]> = {}) => {
    const m = new DaemonManager({ nodePath: process.execPath, daemonScript: ENTRY, socketPath: path.join(tmp, 'run', 'blit', 'blitd.sock'), rootDir: path.join(tmp, 'droot'), log: (l) => logs.push(l), env: { BLIT_DISABLE_PERF_HISTORY: '1' }, ...over });
    managers.push(m);
    return m;
  };

  beforeEach(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'blit-ext-dm-'));
    logs.length = 0;
  });
  afterEach(async () => {
    for (const m of managers.splice(0)) await m.dispose();
    remote?.proc.kill('SIGKILL');
    remote = undefined;
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('defaults to a per-user socket path', () => {
    assert.equal(defaultSocketPath({ XDG_RUNTIME_DIR: '/run/user/7' }), '/run/user/7/blit/blitd.sock');
    assert.match(defaultSocketPath({ HOME: '/h', XDG_CACHE_HOME: '/h/.cache' }), /^\/h\/\.cache\/blit\/blitd\.sock$/);
  });

  it('spawns blitd on a private socket, pushes through it, and a second manager attaches instead of spawning', async () => {
    const m = manager();
    const client = await m.ensure();
    assert.equal(m.owned, true);
    const pid = m.pid!;
    assert.ok(alive(pid));
    const sock = path.join(tmp, 'run', 'blit', 'blitd.sock');
    assert.equal(fs.statSync(path.dirname(sock)).mode & 0o777, 0o700);
    assert.equal(fs.statSync(sock).mode & 0o777, 0o600);

    fs.mkdirSync(path.join(tmp, 'remote'));
    remote = await startRemoteBlitd(path.join(tmp, 'remote'));
    const ws = path.join(tmp, 'ws');
    fs.mkdirSync(path.join(ws, 'src'), { recursive: true });
    fs.writeFileSync(path.join(ws, 'src', 'a.txt'), 'alpha\n');
    fs.writeFileSync(path.join(ws, 'ignored.log'), 'x');
    fs.writeFileSync(path.join(ws, '.gitignore'), '*.log\n');
    const tracker = new JobTracker(() => {});
    try {
      await tracker.attach(client);
      const target = { name: 'r', host: '127.0.0.1', port: remote.port, module: 'default', remotePath: 'dst', excludes: [], uploadOnSave: false };
      const id = await client.startTransfer(buildRequest({ kind: 'push', target, folder: ws, gitignore: true }));
      const rec = await tracker.waitFor(id);
      assert.equal(rec.job.state, 'succeeded', JSON.stringify(rec.job.error));
      assert.equal(fs.readFileSync(path.join(tmp, 'remote', 'dst', 'src', 'a.txt'), 'utf8'), 'alpha\n');
      assert.equal(fs.existsSync(path.join(tmp, 'remote', 'dst', 'ignored.log')), false, '.gitignore honoured');
      assert.ok(rec.items.some((i) => i.path === 'src/a.txt' && i.action === 'create'), 'item events reached the tracker');
    } finally {
      tracker.dispose();
    }

    const m2 = manager();
    await m2.ensure();
    assert.equal(m2.owned, false, 'attached to the running daemon');
    assert.equal(m2.pid, undefined);
    const m3 = manager();
    assert.ok(await m3.attachIfRunning(), 'attachIfRunning finds the running daemon');
    const lonely = manager({ socketPath: path.join(tmp, 'run2', 'blit', 'blitd.sock') });
    assert.equal(await lonely.attachIfRunning(), null, 'attachIfRunning never spawns');
    assert.equal(lonely.pid, undefined);
  });

  it('upload on save sends saved names literally (glob characters, leading #, white space, line breaks) and touches nothing else', async () => {
    const client = await manager().ensure();
    const rroot = path.join(tmp, 'remote');
    fs.mkdirSync(path.join(rroot, 'dst'), { recursive: true });
    fs.writeFileSync(path.join(rroot, 'dst', 'remote-only.txt'), 'keep');
    remote = await startRemoteBlitd(rroot);
    const ws = path.join(tmp, 'ws');
    fs.mkdirSync(path.join(ws, 'sub'), { recursive: true });
    // the saved files, and neighbours a glob reading of their names would also match
    const saved: Record<string, string> = {
      '[a].txt': 'brackets\n',
      '*': 'star\n',
      'sub/#x?.md': 'hash\n',
      '#top.md': 'comment-like\n',
      ' lead.txt': 'space\n',
      'trail ': 'trailing space\n',
      'two\nlines.txt': 'line break\n',
      'sub/cr\r': 'carriage return\n',
    };
    // a text list would have read 'two\nlines.txt' as 'two' and 'lines.txt', 'trail ' as 'trail'
    const neighbours = ['a.txt', 'b', 'sub/#xy.md', 'sub/other.md', 'lead.txt', 'trail', 'two', 'lines.txt', 'sub/cr'];
    for (const [rel, text] of Object.entries(saved)) fs.writeFileSync(path.join(ws, rel), text);
    for (const rel of neighbours) fs.writeFileSync(path.join(ws, rel), 'not saved');
    const tracker = new JobTracker(() => {});
    try {
      await tracker.attach(client);
      const target: Target = { name: 'r', host: '127.0.0.1', port: remote.port, module: 'default', remotePath: 'dst', excludes: [], uploadOnSave: true };
      const id = await client.startTransfer(buildRequest({ kind: 'upload', target, folder: ws, gitignore: true, files: Object.keys(saved) }));
      const rec = await tracker.waitFor(id);
      assert.equal(rec.job.state, 'succeeded', JSON.stringify(rec.job.error));
      for (const [rel, text] of Object.entries(saved)) assert.equal(fs.readFileSync(path.join(rroot, 'dst', rel), 'utf8'), text, rel);
      const listed = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? listed(path.join(d, e.name)).map((x) => `${e.name}/${x}`) : [e.name]));
      assert.deepEqual(listed(path.join(rroot, 'dst')).sort(), [' lead.txt', '#top.md', '*', '[a].txt', 'remote-only.txt', 'sub/#x?.md', 'sub/cr\r', 'trail ', 'two\nlines.txt']);
    } finally {
      tracker.dispose();
    }
  });

  it('the daemon exits when its stdin pipe closes (extension host gone), and on dispose', async () => {
    const m = manager();
    await m.ensure();
    const pid = m.pid!;
    // simulate the extension host dying: only the pipe closes, nobody sends a signal
    (m as unknown as { child: ChildProcess }).child.stdin!.end();
    await until(() => !alive(pid), 8000, 'blitd to exit after stdin EOF');

    const m2 = manager({ maxRestarts: 0 });
    await m2.ensure();
    const pid2 = m2.pid!;
    await m2.dispose();
    assert.equal(alive(pid2), false);
  });

  it('restarts a daemon that died, with bounded retries', async () => {
    const m = manager({ maxRestarts: 2 });
    await m.ensure();
    const first = m.pid!;
    const restarted = new Promise<void>((r) => m.onRestart.add(() => r()));
    const exits: string[] = [];
    m.onExit.add((why) => exits.push(why));
    process.kill(first, 'SIGKILL');
    await restarted;
    assert.deepEqual(exits, ['the Blit daemon stopped (SIGKILL)']);
    assert.ok(m.pid && m.pid !== first && alive(m.pid));
    const hs = await (await m.ensure()).handshake();
    assert.equal(hs.accepted, true);
  });

  for (const how of ['its window closes', 'it is killed and its window starts another'] as const) {
    it(`a job on a daemon attached from another window ends, named, when ${how}; the next command gets a daemon`, async () => {
      // the remote is stopped: the push stays running on the first window's daemon
      fs.mkdirSync(path.join(tmp, 'remote'));
      remote = await startRemoteBlitd(path.join(tmp, 'remote'));
      await stopped(remote.proc.pid!);
      const ws = path.join(tmp, 'ws');
      fs.mkdirSync(ws);
      fs.writeFileSync(path.join(ws, 'f'), 'x');
      const first = manager();
      await first.ensure();
      const second = manager();
      const tracker = new JobTracker(() => {});
      followDaemon(tracker, second);
      try {
        const c = await second.ensure();
        assert.equal(second.owned, false);
        await tracker.attach(c);
        const target: Target = { name: 'stopped', host: '127.0.0.1', port: remote.port, module: 'default', remotePath: '', excludes: [], uploadOnSave: false };
        const id = await c.startTransfer(buildRequest({ kind: 'push', target, folder: ws, gitignore: true }));
        await until(() => tracker.get(id)?.job.state === 'running', 10000, 'the job to run');
        if (how === 'its window closes') await first.dispose();
        else process.kill(first.pid!, 'SIGKILL');
        const rec = await tracker.waitFor(id); // before the fix: never (a spinner forever)
        assert.ok(isFinished(rec.job.state) && rec.job.state !== 'succeeded', JSON.stringify(rec.job));
        assert.ok(rec.job.error, 'no error named');
        const next = await second.ensure();
        assert.equal((await next.handshake()).accepted, true);
      } finally {
        tracker.dispose();
        process.kill(remote.proc.pid!, 'SIGCONT');
      }
    });
  }

  it('reports a daemon that will not start with its last output', async () => {
    const bad = path.join(tmp, 'bad-blitd.js');
    fs.writeFileSync(bad, "process.stderr.write('blitd: cannot open config /nope.toml\\n'); process.exit(2);\n");
    const m = manager({ daemonScript: bad, maxRestarts: 0 });
    await assert.rejects(m.ensure(), (e: Error & { detail?: string }) => {
      assert.match(e.message, /The Blit daemon did not start: it exited \(code 2\)/);
      assert.match(e.detail ?? '', /cannot open config/);
      return true;
    });
  });

  it('unreachable host, refused module and protocol mismatch each end the job with one clear message', async () => {
    const m = manager();
    const client = await m.ensure();
    const tracker = new JobTracker(() => {});
    // a "remote" that speaks another protocol version
    const server = new grpc.Server();
    server.addService(blitService().service, {
      Handshake: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { protocolVersion: 999, serverVersion: '9.9.9', accepted: false, message: 'this server speaks protocol 999' }),
    });
    const oldPort = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    fs.mkdirSync(path.join(tmp, 'remote'));
    remote = await startRemoteBlitd(path.join(tmp, 'remote'));
    const ws = path.join(tmp, 'ws');
    fs.mkdirSync(ws);
    fs.writeFileSync(path.join(ws, 'f'), 'x');
    const closed = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => resolve(p));
      });
    });
    const t = (name: string, port: number, module = 'default'): Target => ({ name, host: '127.0.0.1', port, module, remotePath: '', excludes: [], uploadOnSave: false });
    const run = async (target: Target) => {
      const id = await client.startTransfer(buildRequest({ kind: 'push', target, folder: ws, gitignore: true }));
      const rec = await tracker.waitFor(id);
      assert.equal(rec.job.state, 'failed');
      return { code: rec.job.error?.code, message: messageForJob(rec.job, target) ?? '' };
    };
    try {
      await tracker.attach(client);
      const down = await run(t('down', closed));
      assert.equal(down.code, 'Unreachable');
      assert.match(down.message, new RegExp(`^Blit cannot reach 127\\.0\\.0\\.1:${closed}`));
      const nomod = await run(t('nomod', remote.port, 'nosuch'));
      assert.equal(nomod.code, 'ModuleNotFound');
      assert.match(nomod.message, /refused module 'nosuch'/);
      const old = await run(t('old', oldPort));
      assert.equal(old.code, 'ProtocolMismatch');
      assert.match(old.message, /protocol mismatch with 127\.0\.0\.1:\d+ .*protocol 999/);
    } finally {
      tracker.dispose();
      server.forceShutdown();
    }
  });
});
