/**
 * StartTransfer with files_from (the extension's upload on save sends the saved files' list
 * inline): only the listed files travel, local→local and pushed to another real blitd, and each
 * path is byte-exact end to end: names with a line break, surrounding white space, a leading '#'
 * or invalid UTF-8 name exactly themselves (never a neighbour a text list would have named).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as pb from '@blit/proto';
import { connectDaemon, type DaemonConnection } from '../../src/remote/grpc-client';
import { listTree, runBlit, startDaemon, tempDir, writeTree, type Daemon } from './harness';

async function startWithList(c: DaemonConnection, source: string, destination: string, files: Array<string | Buffer>): Promise<string> {
  const res = await c.unary<pb.StartTransferResponse__Output>((o, cb) =>
    c.client.StartTransfer(
      {
        source,
        destination,
        label: 'upload',
        options: { mode: 'MODE_COPY', compare: 'COMPARE_DEFAULT', filter: { excludes: [], includes: [], filesFrom: files.map((f) => Buffer.from(f)), hasFilesFrom: true } },
      },
      o,
      cb,
    ),
  );
  return res.jobId;
}

async function finalState(c: DaemonConnection, id: string): Promise<pb.JobInfo__Output> {
  let last: pb.JobInfo__Output | null = null;
  for await (const ev of c.stream<pb.JobEvent__Output>((o) => c.client.WatchJobs({ jobId: id }, o), 60000)) if (ev.job) last = ev.job;
  assert.ok(last, 'no event received');
  return last;
}

/** Names the old text list could not carry; 'bad' is not valid UTF-8. */
const BAD = Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe]);
const ODD = [' lead.txt', 'trail ', 'two\nlines', '#hash', 'sub/cr\r'];
/** What a text reading of ODD would have named instead. */
const LOOKALIKES = ['lead.txt', 'trail', 'two', 'lines', 'hash', 'sub/cr'];

/** Every path below root as raw bytes (hex), sorted: compares names that are not UTF-8. */
function listBytes(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: Buffer, rel: Buffer | null): void => {
    for (const name of fs.readdirSync(dir, { encoding: 'buffer' })) {
      const r = rel ? Buffer.concat([rel, Buffer.from('/'), name]) : name;
      out.push(r.toString('hex'));
      const abs = Buffer.concat([dir, Buffer.from('/'), name]);
      if (fs.lstatSync(abs).isDirectory()) walk(abs, r);
    }
  };
  walk(Buffer.from(root), null);
  return out.sort();
}
const hex = (names: Array<string | Buffer>): string[] => names.map((n) => Buffer.from(n).toString('hex')).sort();

describe('blitd jobs: StartTransfer with files_from', function () {
  this.timeout(60000);
  let t: ReturnType<typeof tempDir>;
  let d: Daemon;
  let remoteD: Daemon;
  let c: DaemonConnection;
  let src: string;

  before(async () => {
    t = tempDir('blit-jobs-ff-');
    src = path.join(t.dir, 'ws');
    writeTree(src, { 'a.txt': 'a', 'b.txt': 'b', 'sub/c.txt': 'c', 'sub/d.txt': 'd' });
    writeTree(src, Object.fromEntries([...ODD, ...LOOKALIKES].map((n) => [n, n])));
    fs.writeFileSync(Buffer.concat([Buffer.from(`${src}/`), BAD]), 'not utf-8');
    fs.mkdirSync(path.join(t.dir, 'mod'));
    fs.mkdirSync(path.join(t.dir, 'remote-mod'));
    const sock = path.join(t.dir, 'run', 'blitd.sock');
    d = await startDaemon(['--socket', sock, '--root', path.join(t.dir, 'mod')]);
    remoteD = await startDaemon(['--port', '0', '--root', path.join(t.dir, 'remote-mod')]);
    c = await connectDaemon({ socket: sock });
  });
  after(async () => {
    c?.close();
    if (d) assert.equal(await d.stop(), 0);
    await remoteD?.stop();
    t.cleanup();
  });

  it('local→local copies only the listed files', async () => {
    const dst = path.join(t.dir, 'dst-local');
    const id = await startWithList(c, `${src}/`, dst, ['a.txt', 'sub/d.txt']);
    const fin = await finalState(c, id);
    assert.equal(fin.state, 'JOB_SUCCEEDED', JSON.stringify(fin.error));
    assert.deepEqual(listTree(dst), ['a.txt', 'sub', 'sub/d.txt']);
  });

  it('local→local: odd names (line break, white space, #, invalid UTF-8) name exactly themselves', async () => {
    const dst = path.join(t.dir, 'dst-odd');
    const id = await startWithList(c, `${src}/`, dst, [...ODD, BAD]);
    const fin = await finalState(c, id);
    assert.equal(fin.state, 'JOB_SUCCEEDED', JSON.stringify(fin.error));
    assert.deepEqual(listBytes(dst), hex([...ODD, BAD, 'sub']));
  });

  it('an empty list transfers nothing', async () => {
    const dst = path.join(t.dir, 'dst-empty');
    const id = await startWithList(c, `${src}/`, dst, []);
    const fin = await finalState(c, id);
    assert.equal(fin.state, 'JOB_SUCCEEDED', JSON.stringify(fin.error));
    assert.equal(fin.summary?.filesTransferred, 0);
  });

  it('a push to another blitd sends only the listed files (upload on save)', async () => {
    const id = await startWithList(c, `${src}/`, `127.0.0.1:${remoteD.port}:/default/up`, ['sub/c.txt']);
    const fin = await finalState(c, id);
    assert.equal(fin.state, 'JOB_SUCCEEDED', JSON.stringify(fin.error));
    assert.equal(fin.summary?.filesTransferred, 1);
    assert.deepEqual(listTree(path.join(t.dir, 'remote-mod', 'up')), ['sub', 'sub/c.txt']);
  });

  it('a push of odd names to another blitd sends exactly those names', async () => {
    const id = await startWithList(c, `${src}/`, `127.0.0.1:${remoteD.port}:/default/up-odd`, [...ODD, BAD]);
    const fin = await finalState(c, id);
    assert.equal(fin.state, 'JOB_SUCCEEDED', JSON.stringify(fin.error));
    assert.equal(fin.summary?.filesTransferred, ODD.length + 1);
    assert.deepEqual(listBytes(path.join(t.dir, 'remote-mod', 'up-odd')), hex([...ODD, BAD, 'sub']));
  });

  it('a pull with blit --files-from (a name that is not UTF-8) gets only the listed files', async () => {
    const dst = path.join(t.dir, 'pulled');
    fs.mkdirSync(dst);
    fs.writeFileSync(Buffer.concat([Buffer.from(path.join(t.dir, 'remote-mod') + '/'), BAD]), 'remote not utf-8');
    fs.writeFileSync(path.join(t.dir, 'remote-mod', 'neighbour'), 'n');
    const list = path.join(t.dir, 'pull-list');
    fs.writeFileSync(list, Buffer.concat([Buffer.from('# saved\n  ./up/sub/c.txt \n'), BAD, Buffer.from('\n')]));
    const r = await runBlit(['copy', '--files-from', list, `127.0.0.1:${remoteD.port}:/default/`, `${dst}/`]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listBytes(dst), hex(['up', 'up/sub', 'up/sub/c.txt', BAD]));
  });
});
