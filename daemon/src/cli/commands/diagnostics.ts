import type { Command } from 'commander';
/** diagnostics perf: owned by the performance work (issue 3). */
export function registerDiagnosticsCommands(_program: Command): void {}
