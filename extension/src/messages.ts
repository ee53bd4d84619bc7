/**
 * Turns failures into the one clear sentence the user sees (with a "Show Log" action added by the
 * caller). Codes are BlitError codes (daemon/src/engine/errors.ts) as they arrive from blitd.
 * Pure: no `vscode` import.
 */
import { DaemonCallError } from './daemon-client';
import { DaemonStartError } from './daemon-manager';
import type { JobSnapshot } from './jobs';
import { remoteSpec, TargetConfigError, type Target } from './targets';

export function messageForCode(code: string, detail: string, target?: Target): string {
  const where = target ? `${target.host}:${target.port}` : 'the remote host';
  const mod = target ? `'${target.module}'` : 'the module';
  switch (code) {
    case 'Unreachable':
      return `Blit cannot reach ${where}: ${detail}`;
    case 'ModuleNotFound':
      return `${where} refused module ${mod}: ${detail}`;
    case 'ReadOnlyModule':
      return `Module ${mod} on ${where} is read-only: ${detail}`;
    case 'ProtocolMismatch':
      return `Blit protocol mismatch with ${where} (update Blit on one side): ${detail}`;
    case 'PathEscape':
      return `${where} refused the path ${target ? remoteSpec(target) : ''}: ${detail}`;
    case 'DaemonUnavailable':
      return `The local Blit daemon stopped answering: ${detail}`;
    case 'Cancelled':
      return 'Blit transfer cancelled.';
    case 'DeletionNotConfirmed':
      return `Blit did not delete remote files: ${detail}`;
    default:
      return `Blit failed (${code}): ${detail}`;
  }
}

/** The message for an exception thrown by a command. */
export function messageForError(err: unknown, target?: Target): string {
  if (err instanceof DaemonStartError) return err.message;
  if (err instanceof TargetConfigError) return `Blit settings: ${err.message}`;
  if (err instanceof DaemonCallError) return messageForCode(err.code, err.message, target);
  return `Blit failed: ${err instanceof Error ? err.message : String(err)}`;
}

/** The message for a job that ended without success, or null when it succeeded cleanly. */
export function messageForJob(job: JobSnapshot, target?: Target): string | null {
  if (job.state === 'succeeded') {
    const n = job.summary?.failures.length ?? 0;
    return n ? `Blit: ${job.label} finished with ${n} failed file(s); see the Blit Transfers view.` : null;
  }
  if (job.state === 'cancelled') return `Blit: ${job.label} cancelled.`;
  if (job.state === 'failed') {
    if (job.error) return messageForCode(job.error.code, job.error.message, target);
    const n = job.summary?.failures.length ?? 0;
    return `Blit: ${job.label} failed${n ? ` (${n} file(s))` : ''}; see the Blit Transfers view.`;
  }
  return null;
}

/**
 * How a finished job is reported: nothing, an information (a cancel is the user's own doing, not
 * an error: VS Code's git extension says nothing either), or an error with a "Show Log" action.
 */
export type JobOutcome = { kind: 'ok' } | { kind: 'cancelled'; message: string } | { kind: 'failed'; message: string };

export function outcomeOfJob(job: JobSnapshot, target?: Target): JobOutcome {
  const message = messageForJob(job, target);
  if (message === null) return { kind: 'ok' };
  return job.state === 'cancelled' ? { kind: 'cancelled', message } : { kind: 'failed', message };
}
