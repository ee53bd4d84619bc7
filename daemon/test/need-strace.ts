/**
 * The tests that run blit or blitd under strace (to stop it at a chosen system call, or to read
 * the calls it made) need strace and ptrace(2). A container may have strace installed and still
 * refuse ptrace (a seccomp profile without ptrace, no CAP_SYS_PTRACE on an old kernel, Yama
 * ptrace_scope 3): strace then exits 1 at once and the test would fail on a symptom far from the
 * cause ("blit never opened ...", "no frame drawn"). needStrace() traces `true` once per process
 * and throws an error naming what is missing, so such a test fails (never passes or skips
 * silently) and says why.
 */
import { spawnSync } from 'node:child_process';

let checked: string | undefined;

/** Throws unless strace is installed and can trace a child (ptrace allowed). */
export function needStrace(): void {
  if (checked === undefined) checked = probe();
  if (checked !== '') throw new Error(checked);
}

function probe(): string {
  const version = spawnSync('strace', ['-V'], { encoding: 'utf8' });
  if (version.error || version.status !== 0) {
    return `this test needs strace (scripts/setup-deps.sh installs it): ${version.error?.message ?? version.stderr}`;
  }
  const run = spawnSync('strace', ['-f', '-qq', '-o', '/dev/null', '--', 'true'], { encoding: 'utf8' });
  if (run.error || run.status !== 0) {
    return (
      'this test needs ptrace(2), which is refused here: strace cannot trace a child process. ' +
      'Run it where ptrace is allowed (a container needs CAP_SYS_PTRACE, e.g. `docker run --cap-add=SYS_PTRACE`, ' +
      'and a seccomp profile that allows ptrace; kernel.yama.ptrace_scope below 3). ' +
      `strace said (exit ${run.status ?? run.signal}): ${(run.error?.message ?? run.stderr).trim()}`
    );
  }
  return '';
}
