const NS_PER_SEC = 1_000_000_000n;

/**
 * A ns timestamp as whole seconds and nanoseconds in [0, 1e9): floor division, so a time before
 * 1970 keeps a non-negative nanosecond part (what timespec, the wire and Node's ms form expect).
 */
export function splitNs(ns: bigint): { sec: bigint; nsec: bigint } {
  let sec = ns / NS_PER_SEC;
  let nsec = ns % NS_PER_SEC;
  if (nsec < 0n) {
    nsec += NS_PER_SEC;
    sec -= 1n;
  }
  return { sec, nsec };
}
