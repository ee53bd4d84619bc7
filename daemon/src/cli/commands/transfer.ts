import type { Command } from 'commander';
/** copy | mirror | move: owned by the CLI work (issue 2). */
export function registerTransferCommands(_program: Command): void {}
