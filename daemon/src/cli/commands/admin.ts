import type { Command } from 'commander';
/** list-modules, ls, find, du, df, rm, jobs: owned by the daemon work (issue 4). */
export function registerAdminCommands(_program: Command): void {}
