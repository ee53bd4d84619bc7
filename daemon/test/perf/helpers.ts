import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { makePerfRecord, type PerfRecord } from '../../src/engine/perf/history';
import type { Tuning, WorkloadSignature } from '../../src/engine/perf/tuning';

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `blit-perf-${tag}-`));
}

export const EXT4: WorkloadSignature = { fsType: 'ext4', dstFsType: 'ext4', mode: 'local' };

export function settings(workers: number, over: Partial<Tuning> = {}): Tuning {
  return {
    workers,
    smallFileMaxBytes: 256 * 1024,
    smallBatchSize: 64,
    bufferBytes: 1 << 20,
    hugeFileSplitBytes: 256 << 20,
    primitiveOrder: ['copy_file_range', 'sendfile', 'readwrite'],
    ...over,
  };
}

export function record(over: Partial<Omit<PerfRecord, 'v' | 'time'>> & { workers?: number } = {}): PerfRecord {
  const { workers, ...rest } = over;
  return makePerfRecord({
    signature: EXT4,
    plannerMs: 10,
    copyMs: 1000,
    files: 1000,
    bytes: 4_000_000,
    settings: settings(workers ?? 2),
    primitive: 'copy_file_range',
    stallEvents: 0,
    outcome: 'ok',
    time: new Date('2026-11-20T12:00:00Z'),
    ...rest,
  });
}
