/**
 * Bind every entry point of the native library (and so look each up: linux.ts lookUpNow). The main
 * thread does it when it loads @blit/native (index.ts), before it can start a worker. The imports
 * of the optional entries' modules register their loaders (batch.ts optionalEntry).
 */
import { loadNativeBatch, loadOptionalEntries } from './batch';
import { loadOpenBeneath } from './open-beneath';
import './dir-meta';
import './recv-small';
import './hash';

export function bindAllEntries(): void {
  if (!loadNativeBatch()) return;
  loadOpenBeneath();
  loadOptionalEntries();
}
