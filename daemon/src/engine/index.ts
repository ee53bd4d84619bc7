/** The engine's public API (CLI, daemon handlers and remote receiver import from here). */
export * from './types';
export * from './errors';
export { runLocalTransfer } from './orchestrator';
export { Filter, noFilter } from './filter';
export { Walker, walk, statEntry, readDirEntries, failureOf, type DirListing, type WalkOptions } from './walk';
export { Differ, type DiffCallbacks } from './differ';
export { decideFile, symlinkNeedsUpdate, dirMetaDiffers, type FileDecision } from './compare';
export { initChecksum, hashFd, hashFile } from './checksum';
export { AtomicFile, tempPathFor, isTempName, removeStaleTemps } from './atomic';
export { applyFdMeta, applyDirMeta, applySymlinkMeta, writeSymlinkAtomic, ensureDir, defaultMetaOptions, type MetaOptions } from './metadata';
export { newCopyContext, copyData, copyRange, type CopyContext } from './copy';
export { deleteEntry } from './delete';
export { resolveEndpoints, type Endpoints } from './endpoints';
export { StallDetector, realClock, type Clock } from './stall';
export { initialPlan, adaptBatch, type Plan } from './planner';
export * from './paths';
