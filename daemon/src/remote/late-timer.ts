/**
 * A deadline for a wait on the network that a starved or stopped process does not misjudge: when
 * such a process runs again, Node runs its expired timers BEFORE it reads the I/O that arrived
 * meanwhile, so a bare timer gives up on an answer already received (200 `blit` processes on 2
 * cores, DEVLOG hunt-load). The check runs one pass of the event loop's I/O later.
 */
export function lateCheckedTimeout(ms: number, settled: () => boolean, fire: () => void): NodeJS.Timeout {
  return setTimeout(() => setImmediate(() => {
    if (!settled()) fire();
  }), ms);
}
