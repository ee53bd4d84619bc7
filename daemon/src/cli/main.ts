/**
 * `blit` entry point. Each family of verbs registers itself from its own module so the transfer,
 * admin (remote) and diagnostics commands can be read and changed independently.
 */
import { Command, CommanderError } from 'commander';
import { registerTransferCommands } from './commands/transfer';
import { registerAdminCommands } from './commands/admin';
import { registerDiagnosticsCommands } from './commands/diagnostics';
import { BlitError } from '../engine/errors';
import { EXIT_FATAL, EXIT_USAGE } from './exit-codes';
import { processStdio } from './stdio';
import { printable } from './output';

/** commander's "error: missing required argument 'dst'" → "blit: error: ... [Usage]". */
export function usageLine(commanderMessage: string): string {
  const text = commanderMessage.trim().replace(/^error:\s*/, '');
  return `blit: error: ${text} [Usage]\n`;
}

export function buildProgram(): Command {
  const program = new Command('blit')
    .description('Fast, trustworthy file copy and mirror between folders and machines')
    .version(require('../../../package.json').version)
    .exitOverride()
    // Usage errors from commander look like every other blit error; subcommands inherit this.
    .configureOutput({ outputError: (str, write) => write(usageLine(str)) })
    .showHelpAfterError("(add --help for usage)");
  registerTransferCommands(program);
  registerAdminCommands(program);
  registerDiagnosticsCommands(program);
  return program;
}

/** Runs the CLI and resolves to the process exit code (never calls process.exit itself). */
export async function main(argv: string[]): Promise<number> {
  // First: every write below (commander's help and usage errors included) is covered.
  const stdio = processStdio();
  return stdio.finish(await run(argv));
}

async function run(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return err.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (err instanceof BlitError) {
      process.stderr.write(`blit: error: ${printable(err.message)} [${err.code}]\n`);
      return err.code === 'Usage' ? EXIT_USAGE : EXIT_FATAL;
    }
    process.stderr.write(`blit: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
    return EXIT_FATAL;
  }
}
