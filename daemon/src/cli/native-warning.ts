/**
 * The refused native library warning (native/src/batch.ts nativeBatchRefusedWarning): a
 * libblit_native.so that is present but refused (another ABI after a checkout updated without
 * `npm ci`, a missing symbol, a truncated file) used to make blit fall back to node:fs without a
 * word. Said once per process on stderr; an absent library (no compiler at install) and
 * BLIT_NATIVE_BATCH=0 stay silent.
 */
let said = false;

export function warnIfNativeRefused(stderr: NodeJS.WritableStream): void {
  if (said) return;
  said = true;
  const { nativeBatchRefusedWarning } = require('@blit/native') as typeof import('@blit/native');
  const warning = nativeBatchRefusedWarning();
  if (warning) stderr.write(`blit: warning: ${warning}\n`);
}
