/**
 * `blit copy | mirror | move SRC DST`: flag parsing, dispatch (local engine or remote client),
 * itemized/JSON/total output, the terminal progress display and the mirror deletion prompt.
 */
import { Command, Option } from 'commander';
import type { TransferMode } from '../../engine/types';
import { parsePrimitive, parseWorkers, type TransferFlags } from '../options';
import { runTransferCommand, type TransferIo } from '../run-transfer';
import { defaultRunners, type TransferRunners } from '../runners';
import { EXIT_OK } from '../exit-codes';

const DESCRIPTIONS: Record<TransferMode, string> = {
  copy: 'copy SRC to DST (nothing in DST is deleted)',
  mirror: 'make DST an exact copy of SRC: copy, then delete what is in DST but not in SRC',
  move: 'copy SRC to DST, then remove each source file once its copy is complete and verified',
};

const HELP_AFTER: Record<TransferMode, string> = {
  copy: '',
  mirror: `
Deletions (mirror):
  Only entries inside the filtered set are deleted; excluded files in DST are never deleted, and
  nothing is deleted when the source could not be read completely.
  --yes deletes without asking. Without --yes on a terminal, blit copies first, then asks
  "Delete N entries in DST? [y/N]" and deletes only if you answer y. Without --yes and without a
  terminal (scripts, pipes), nothing is deleted and blit says how many entries were kept.
`,
  move: `
Sources are removed only after their copies are complete, verified and synced to disk (local
and remote); a source whose copy failed is kept.
`,
};

const HELP_COMMON = `
Paths:
  SRC/ (trailing slash) copies the contents of SRC into DST; SRC without a slash lands as DST/SRC
  when DST is an existing directory (as in rsync).
  A remote side is written HOST[:PORT]:/MODULE[/PATH] (IPv6: [::1]:9031:/mod/path); it needs blitd
  on HOST (default port 9031).

Output:
  A progress display (files, bytes, rate, ETA) is drawn on stderr when stderr is a terminal.
  --json prints one summary object on stdout and nothing else there.

Exit codes:
  0 everything done; 2 some files failed (each named on stderr; the rest were copied);
  1 fatal error; 64 usage error; 74 blit's own output could not be written (full disk, I/O
  error; not a reader that stops early like | head).

Advanced (debugging only; blit picks these itself):
  --debug-workers N       number of copy worker threads
  --debug-primitive NAME  force one copy primitive: reflink, copy_file_range, sendfile, readwrite
  BLIT_FORCE_GRPC_DATA=1  same as --force-grpc-data
  BLIT_NATIVE_BATCH=0     no native batch calls (small-file copy, directory scan): node:fs path
  BLIT_RECV_SPLICE=0      receiving big files: read + write instead of splice
  BLIT_RECV_WORKER=0      receiving big files on the main thread, not a worker thread
  BLIT_RECEIVE_WORKERS=N  threads writing received small files (0 = main thread)
  BLIT_NO_BUNDLE=1        run the CLI from its compiled files, not the one-file bundle
  (The receiving side reads these from its own environment: blit for a pull, blitd for a push.)
`;

/** Repeatable flag: keeps every value in the order given (no default, so help shows none). */
function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

function addTransferFlags(cmd: Command): Command {
  return cmd
    .option('-c, --checksum', 'compare by content hash, not size and modification time')
    .option('--size-only', 'compare by size only')
    .option('--ignore-times', 'transfer every file, even when size and time match')
    .option('--ignore-existing', 'skip files that already exist in DST')
    .option('--mkpath', "create DST's missing parent directories (as rsync --mkpath)")
    .option('--exclude <glob>', 'exclude paths matching GLOB (repeatable)', collect)
    .option('--include <glob>', 'include paths matching GLOB even if excluded (repeatable)', collect)
    .option('--files-from <file>', 'transfer only the relative paths listed in FILE (one per line)')
    .option('--gitignore', 'honour every .gitignore in the source tree (git semantics)')
    .option('-n, --dry-run', 'change nothing; list what would be created, updated and deleted')
    .option('--json', 'print one JSON summary object on stdout')
    .option('-y, --yes', 'mirror: delete without asking')
    .option('--no-progress', 'no progress display, even on a terminal')
    .option('--force-grpc-data', 'remote: send file data over gRPC instead of the TCP data plane')
    .option('-v, --verbose', 'list each created, updated and deleted path while running')
    .addOption(new Option('--debug-workers <n>', 'copy worker threads').argParser(parseWorkers).hideHelp())
    .addOption(new Option('--debug-primitive <name>', 'copy primitive').argParser(parsePrimitive).hideHelp());
}

export function processIo(): TransferIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    env: process.env,
    stdinIsTTY: process.stdin.isTTY === true,
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
  };
}

/** copy | mirror | move: owned by the CLI work (issue 2). */
export function registerTransferCommands(program: Command, runners: TransferRunners = defaultRunners()): void {
  for (const mode of ['copy', 'mirror', 'move'] as const) {
    const cmd = program
      .command(mode)
      .description(DESCRIPTIONS[mode])
      .argument('<src>', 'source: a local path or HOST[:PORT]:/MODULE[/PATH]')
      .argument('<dst>', 'destination: a local path or HOST[:PORT]:/MODULE[/PATH]');
    addTransferFlags(cmd)
      .addHelpText('after', HELP_AFTER[mode] + HELP_COMMON)
      .action(async (src: string, dst: string, flags: TransferFlags) => {
        const code = await runTransferCommand(mode, src, dst, flags, processIo(), runners);
        if (code !== EXIT_OK) process.exitCode = code;
      });
  }
}
