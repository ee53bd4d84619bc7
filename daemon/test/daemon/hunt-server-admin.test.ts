/**
 * blit's admin verbs against a hostile server (hostile-server.ts): names with ESC, other control
 * characters and line breaks are shown escaped in text output (one line per entry, no terminal
 * sequence reaches the terminal), --json stays one valid JSON object carrying the names as they
 * are, and values no honest blitd sends (an mtime past year 275,760) end in a named error or a
 * shown value, never in a crash.
 */
import * as assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import type * as pb from '@blit/proto';
import { runBlit, type RunResult } from './harness';
import { dirEntry, fileEntry, startFakeServer, symlinkEntry, PROTOCOL_VERSION, type FakeServer } from './hostile-server';

const EVIL = 'ev\x1b[2Jil\nname\r\x07\x9b';
const unary = (reply: () => unknown): grpc.UntypedHandleCall => ((_: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, reply())) as grpc.UntypedHandleCall;

describe('hunt-server: admin verbs against a hostile server (real blit CLI)', function () {
  this.timeout(60_000);
  let server: FakeServer;
  let entries: pb.FileEntry[];
  let jobStartedAtMs: number;
  /** Loops the Find reply names besides its entries (none but in the test that sets them). */
  let findLoops: Array<{ path: Buffer; ancestor: Buffer }>;

  before(async () => {
    server = await startFakeServer({
      Handshake: unary(() => ({ protocolVersion: PROTOCOL_VERSION, serverVersion: 'fake', accepted: true })),
      ListModules: unary(() => ({ modules: [{ name: EVIL, comment: EVIL, readOnly: false }] })),
      List: unary(() => ({ entries })),
      Find: ((call: grpc.ServerWritableStream<unknown, unknown>) => {
        call.write({ entries, unreadable: [{ path: Buffer.from(EVIL), code: 'IoError', reason: EVIL }], loops: findLoops });
        call.end();
      }) as grpc.UntypedHandleCall,
      DiskUsage: unary(() => ({ bytes: 1, files: 1, loops: [{ path: Buffer.from(EVIL), ancestor: Buffer.from('') }] })),
      ListJobs: unary(() => ({ jobs: [{ id: 'j1', label: EVIL, kind: EVIL, state: 'JOB_FAILED', startedAtMs: jobStartedAtMs, error: { code: 'IoError', message: EVIL }, inFlight: [Buffer.from(EVIL)] }] })),
    });
  });
  after(async () => server?.close());
  beforeEach(() => {
    entries = [fileEntry(EVIL, 3), dirEntry(`d${EVIL}`), symlinkEntry('l', EVIL)];
    jobStartedAtMs = 1_700_000_000_000;
    findLoops = [];
  });

  const at = (p = ''): string => `127.0.0.1:${server.port}:/m${p}`;
  // Built at run time: the server's port is known only then.
  const verbs: Array<[string, () => string[]]> = [
    ['list-modules', () => ['list-modules', `127.0.0.1:${server.port}`]],
    ['ls', () => ['ls', at('/')]],
    ['find', () => ['find', at('/'), '--pattern', '*']],
    ['du', () => ['du', at('/')]],
    ['jobs list', () => ['jobs', 'list', `127.0.0.1:${server.port}`, '--all']],
  ];

  /** No raw control character (but tabs and line ends) on stdout or stderr; the ESC is shown as \x1b. */
  function escaped(r: RunResult): void {
    // eslint-disable-next-line no-control-regex
    for (const [name, text] of [['stdout', r.stdout], ['stderr', r.stderr]] as const) assert.doesNotMatch(text, /[\x00-\x08\x0b-\x1f\x7f-\x9f]/, `${name}: ${JSON.stringify(text)}`);
    assert.match(r.stdout + r.stderr, /ev\\x1b\[2Jil\\x0aname\\x0d\\x07\\u009b/);
  }

  for (const [what, argsOf] of verbs) {
    it(`${what}: names with ESC and line breaks shown escaped; --json is one valid object carrying them`, async () => {
      const args = argsOf();
      const r = await runBlit(args);
      assert.ok(r.code === 0 || r.code === 2, `${r.code}\n${r.stderr}`);
      escaped(r);
      const j = await runBlit([...args, '--json']);
      assert.ok(j.code === 0 || j.code === 2, `${j.code}\n${j.stderr}`);
      assert.equal(j.stdout.trim().split('\n').length, 1, j.stdout);
      assert.ok(JSON.stringify(JSON.parse(j.stdout)).includes(JSON.stringify(EVIL).slice(1, -1)), j.stdout);
    });
  }

  it('ls, find, jobs list: a time no honest server sends (2^60 s) is shown as unknown, not a crash', async () => {
    entries = [fileEntry('f', 1, { mtimeSec: 2 ** 60 })];
    jobStartedAtMs = 2 ** 62;
    for (const args of [['ls', at('/')], ['ls', at('/'), '--json'], ['find', at('/'), '--pattern', '*', '--json'], ['jobs', 'list', `127.0.0.1:${server.port}`, '--all', '--json']]) {
      const r = await runBlit(args);
      assert.doesNotMatch(r.stderr, /RangeError|at .*\.js:\d+|\[Internal\]/, `${args.join(' ')}\n${r.stderr}`);
      // find: 2 for the unreadable entry the fake server always reports.
      assert.equal(r.code, args[0] === 'find' ? 2 : 0, `${args.join(' ')}\n${r.stderr}`);
      if (args.includes('--json')) assert.doesNotThrow(() => JSON.parse(r.stdout), r.stdout);
      else assert.match(r.stdout, /\?\?\?\?-\?\?-\?\? \?\?:\?\? f/);
    }
  });

  it('find: a reply naming 300,000 loops (blitd names at most 1,000) is taken whole, not a RangeError', async () => {
    findLoops = Array.from({ length: 300_000 }, (_, i) => ({ path: Buffer.from(`l${i}`), ancestor: Buffer.from('') }));
    const r = await runBlit(['find', at('/'), '--pattern', '*', '--json']);
    assert.doesNotMatch(r.stderr, /RangeError|\[Internal\]/, r.stderr.slice(0, 2000));
    assert.equal(r.code, 2, r.stderr.slice(0, 2000));
    assert.equal((JSON.parse(r.stdout) as { loops: unknown[] }).loops.length, 300_000);
  });
});
