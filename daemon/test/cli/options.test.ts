/**
 * The transfer flags as declared to commander, mapped to engine TransferOptions, and the conflict
 * rules. Parses real argv through the real command definitions (the action is swapped for a
 * recorder so nothing is transferred).
 */
import assert from 'node:assert/strict';
import { Command, CommanderError } from 'commander';
import { registerTransferCommands } from '../../src/cli/commands/transfer';
import { usageLine } from '../../src/cli/main';
import { forceGrpcData, toTransferOptions, type TransferFlags } from '../../src/cli/options';
import { BlitError } from '../../src/engine/errors';
import type { TransferMode, TransferOptions } from '../../src/engine/types';

function parse(argv: string[]): { mode: TransferMode; src: string; dst: string; flags: TransferFlags } {
  const program = new Command('blit').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  registerTransferCommands(program, {
    local: () => Promise.reject(new Error('not used')),
    remote: () => Promise.reject(new Error('not used')),
  });
  let got: { mode: TransferMode; src: string; dst: string; flags: TransferFlags } | undefined;
  for (const cmd of program.commands) {
    cmd.exitOverride().action((src: string, dst: string, flags: TransferFlags) => {
      got = { mode: cmd.name() as TransferMode, src, dst, flags };
    });
  }
  program.parse(argv, { from: 'user' });
  assert.ok(got, 'action ran');
  return got;
}

function optionsFor(argv: string[]): TransferOptions {
  const { mode, flags } = parse(argv);
  return toTransferOptions(mode, flags);
}

function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof BlitError, `expected BlitError, got ${String(err)}`);
    assert.equal(err.code, 'Usage');
    return err.message;
  }
  assert.fail('expected a usage error');
}

describe('cli transfer options', () => {
  it('plain copy: default compare, no filters, nothing deleted, not a dry run', () => {
    const o = optionsFor(['copy', 'a/', 'b']);
    assert.deepEqual(o, {
      mode: 'copy',
      compare: { mode: 'default', ignoreExisting: false },
      filter: { excludes: [], includes: [], gitignore: false },
      dryRun: false,
      deleteConfirmed: false,
    });
  });

  it('keeps SRC and DST exactly as typed (trailing slash matters)', () => {
    const p = parse(['mirror', 'src/', 'dst']);
    assert.equal(p.src, 'src/');
    assert.equal(p.dst, 'dst');
    assert.equal(p.mode, 'mirror');
  });

  it('maps each compare flag to its mode, short forms included', () => {
    assert.equal(optionsFor(['copy', '-c', 'a', 'b']).compare.mode, 'checksum');
    assert.equal(optionsFor(['copy', '--checksum', 'a', 'b']).compare.mode, 'checksum');
    assert.equal(optionsFor(['copy', '--size-only', 'a', 'b']).compare.mode, 'size-only');
    assert.equal(optionsFor(['copy', '--ignore-times', 'a', 'b']).compare.mode, 'ignore-times');
    const ie = optionsFor(['copy', '--ignore-existing', 'a', 'b']).compare;
    assert.deepEqual(ie, { mode: 'default', ignoreExisting: true });
  });

  it('repeated --exclude/--include keep their order; --files-from and --gitignore pass through', () => {
    const o = optionsFor([
      'copy', '--exclude', '*.log', '--include', 'keep.log', '--exclude', 'tmp/', '--include', 'a/**',
      '--files-from', 'list.txt', '--gitignore', 'a', 'b',
    ]);
    assert.deepEqual(o.filter, {
      excludes: ['*.log', 'tmp/'],
      includes: ['keep.log', 'a/**'],
      filesFrom: 'list.txt',
      gitignore: true,
    });
  });

  it('--yes confirms deletions; a dry run itemizes deletions without needing --yes', () => {
    assert.equal(optionsFor(['mirror', 'a', 'b']).deleteConfirmed, false);
    assert.equal(optionsFor(['mirror', '-y', 'a', 'b']).deleteConfirmed, true);
    const dry = optionsFor(['mirror', '-n', 'a', 'b']);
    assert.equal(dry.dryRun, true);
    assert.equal(dry.deleteConfirmed, true);
  });

  it('--json, --no-progress, -v, --force-grpc-data are CLI-only flags', () => {
    const { flags } = parse(['copy', '--json', '--no-progress', '-v', '--force-grpc-data', 'a', 'b']);
    assert.equal(flags.json, true);
    assert.equal(flags.progress, false);
    assert.equal(flags.verbose, true);
    assert.equal(forceGrpcData(flags, {}), true);
    assert.equal(parse(['copy', 'a', 'b']).flags.progress, true);
  });

  it('BLIT_FORCE_GRPC_DATA=1 forces gRPC data like the flag', () => {
    const { flags } = parse(['copy', 'a', 'b']);
    assert.equal(forceGrpcData(flags, {}), false);
    assert.equal(forceGrpcData(flags, { BLIT_FORCE_GRPC_DATA: '1' }), true);
    assert.equal(forceGrpcData(flags, { BLIT_FORCE_GRPC_DATA: '0' }), false);
  });

  it('hidden debug overrides parse and validate', () => {
    const o = optionsFor(['copy', '--debug-workers', '3', '--debug-primitive', 'sendfile', 'a', 'b']);
    assert.deepEqual(o.debug, { workers: 3, primitive: 'sendfile' });
    assert.match(usageMessage(() => parse(['copy', '--debug-workers', '0', 'a', 'b'])), /--debug-workers.*'0'/);
    assert.match(usageMessage(() => parse(['copy', '--debug-primitive', 'dd', 'a', 'b'])), /--debug-primitive.*'dd'/);
  });

  it('conflicting flags are a usage error naming both flags', () => {
    const pairs: Array<[string, string]> = [
      ['--checksum', '--size-only'],
      ['--checksum', '--ignore-times'],
      ['--size-only', '--ignore-times'],
      ['--ignore-existing', '--ignore-times'],
    ];
    for (const [a, b] of pairs) {
      const msg = usageMessage(() => optionsFor(['copy', a, b, 'x', 'y']));
      assert.ok(msg.includes(a) && msg.includes(b), `${msg} names ${a} and ${b}`);
    }
  });

  it('debug flags are hidden from the option list but described under Advanced', () => {
    const program = new Command('blit');
    registerTransferCommands(program);
    const copy = program.commands.find((c) => c.name() === 'copy')!;
    let help = '';
    copy.configureOutput({ writeOut: (s) => (help += s) });
    copy.outputHelp();
    const [options, after] = help.split('Advanced');
    assert.ok(after, 'help has an Advanced section');
    assert.doesNotMatch(options!, /--debug-workers/);
    assert.match(after, /--debug-workers N/);
    assert.match(after, /--debug-primitive NAME/);
  });

  it('mirror help documents the deletion confirmation rules', () => {
    const program = new Command('blit');
    registerTransferCommands(program);
    let help = '';
    const mirror = program.commands.find((c) => c.name() === 'mirror')!;
    mirror.configureOutput({ writeOut: (s) => (help += s) });
    mirror.outputHelp();
    assert.match(help, /--yes deletes without asking/);
    assert.match(help, /Delete N entries in DST\? \[y\/N\]/);
    assert.match(help, /nothing is deleted/);
  });

  it('missing arguments are commander errors, printed in blit form', () => {
    assert.throws(() => parse(['copy', 'only-one']), (e: unknown) => e instanceof CommanderError && e.exitCode !== 0);
    assert.equal(usageLine("error: missing required argument 'dst'\n"), "blit: error: missing required argument 'dst' [Usage]\n");
  });
});
