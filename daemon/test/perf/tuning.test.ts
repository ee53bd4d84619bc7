import * as assert from 'node:assert/strict';
import { fsTypeName, fsTypeOf } from '../../src/engine/perf/fstype';
import {
  TuningAdapter, defaultTuning, maxWorkersFor, primitiveOrderFor, primitiveOrderForRun, type Tuning,
} from '../../src/engine/perf/tuning';
import { EXT4, settings } from './helpers';
import * as os from 'node:os';

const MIB = 1024 * 1024;

describe('tuning: fast-path choices', () => {
  it('same filesystem: reflink first where it can clone, else copy_file_range', () => {
    assert.deepEqual(primitiveOrderForRun({ fsType: 'btrfs', dstFsType: 'btrfs', mode: 'local' }),
      ['reflink', 'copy_file_range', 'sendfile', 'readwrite']);
    assert.deepEqual(primitiveOrderForRun({ fsType: 'xfs', dstFsType: 'xfs', mode: 'local' })[0], 'reflink');
    assert.deepEqual(primitiveOrderForRun(EXT4), ['copy_file_range', 'sendfile', 'readwrite']);
  });

  it('across filesystem types: no reflink, no copy_file_range (EXDEV), sendfile first', () => {
    assert.deepEqual(primitiveOrderForRun({ fsType: 'btrfs', dstFsType: 'ext4', mode: 'local' }), ['sendfile', 'readwrite']);
    assert.deepEqual(primitiveOrderForRun({ fsType: 'ext4', dstFsType: 'tmpfs', mode: 'local' }), ['sendfile', 'readwrite']);
  });

  it('push sends with sendfile, pull receives with read/write', () => {
    assert.deepEqual(primitiveOrderForRun({ ...EXT4, mode: 'push' }), ['sendfile', 'readwrite']);
    assert.deepEqual(primitiveOrderForRun({ ...EXT4, mode: 'pull' }), ['readwrite']);
  });

  it('small files skip the FFI primitives unless the filesystem clones; large files do not', () => {
    const t = defaultTuning(EXT4, 2);
    assert.deepEqual(primitiveOrderFor(EXT4, 4096, t), ['readwrite']);
    assert.deepEqual(primitiveOrderFor(EXT4, t.smallFileMaxBytes + 1, t), ['copy_file_range', 'sendfile', 'readwrite']);
    const btrfs = { fsType: 'btrfs', dstFsType: 'btrfs', mode: 'local' as const };
    assert.equal(primitiveOrderFor(btrfs, 4096, defaultTuning(btrfs, 2))[0], 'reflink');
  });

  it('defaults: about one worker per core locally, more for latency-bound filesystems', () => {
    assert.equal(defaultTuning(EXT4, 2).workers, 2);
    assert.equal(defaultTuning(EXT4, 1).workers, 2);
    assert.equal(defaultTuning(EXT4, 64).workers, 8);
    assert.equal(defaultTuning({ ...EXT4, dstFsType: 'nfs' }, 2).workers, 8);
    assert.equal(defaultTuning({ ...EXT4, dstFsType: 'nfs' }, 2).bufferBytes, 4 * MIB);
    assert.ok(maxWorkersFor({ ...EXT4, dstFsType: 'nfs' }, 2) > maxWorkersFor(EXT4, 2));
  });

  it('defaults follow the hints: one tiny file gets one worker, many small files bigger batches', () => {
    assert.equal(defaultTuning({ ...EXT4, fileCountHint: 1, bytesHint: 100 }, 4).workers, 1);
    // One huge file is split across the cores.
    assert.equal(defaultTuning({ ...EXT4, fileCountHint: 1, bytesHint: 1024 * MIB }, 4).workers, 4);
    const many = defaultTuning({ ...EXT4, fileCountHint: 100_000, bytesHint: 450 * MIB }, 2);
    assert.equal(many.smallBatchSize, 256);
    assert.equal(defaultTuning({ ...EXT4, fileCountHint: 500, bytesHint: MIB }, 2).smallBatchSize, 16);
  });
});

describe('tuning: adapter (hill-climbing on measured throughput)', () => {
  // Each interval is 1 s of samples; rate(workers) models how the machine scales.
  function drive(adapter: TuningAdapter, rate: (w: number) => number, intervals: number, busyFrac = 1): number[] {
    const seen: number[] = [];
    for (let i = 0; i < intervals; i++) {
      const w = adapter.current.workers;
      adapter.observe({ files: 0, bytes: rate(w) * 1000, elapsedMs: 1000, workersBusy: w * busyFrac });
      seen.push(adapter.current.workers);
    }
    return seen;
  }

  it('adds workers while throughput grows and stops where it flattens', () => {
    const a = new TuningAdapter(settings(2), { maxWorkers: 16 });
    // Scales linearly up to 4 workers, flat after.
    drive(a, (w) => Math.min(w, 4) * 1000, 8);
    assert.equal(a.current.workers, 4);
  });

  it('steps back when more workers make it slower', () => {
    const a = new TuningAdapter(settings(4), { maxWorkers: 16 });
    const seen = drive(a, (w) => (w <= 4 ? 4000 : 2500), 4);
    assert.equal(seen[0], 6, 'probed upward once');
    assert.equal(a.current.workers, 4);
  });

  it('does not climb on noise smaller than the tolerance (8% better is not better)', () => {
    const a = new TuningAdapter(settings(2), { maxWorkers: 16 });
    drive(a, (w) => 1000 * (w > 2 ? 1.08 : 1), 10);
    assert.equal(a.current.workers, 2);
  });

  it('never adds workers while the existing ones sit idle', () => {
    const a = new TuningAdapter(settings(2), { maxWorkers: 16 });
    const changes = [0, 1, 2, 3].map(() => a.observe({ files: 100, bytes: 0, elapsedMs: 1000, workersBusy: 0.5 }));
    assert.deepEqual(changes, [null, null, null, null]);
    assert.equal(a.current.workers, 2);
  });

  it('accumulates short samples until minIntervalMs, and respects maxWorkers', () => {
    const a = new TuningAdapter(settings(2), { maxWorkers: 3, minIntervalMs: 500 });
    assert.equal(a.observe({ files: 10, bytes: 0, elapsedMs: 200, workersBusy: 2 }), null);
    assert.equal(a.observe({ files: 10, bytes: 0, elapsedMs: 200, workersBusy: 2 }), null);
    const t = a.observe({ files: 10, bytes: 0, elapsedMs: 200, workersBusy: 2 }) as Tuning;
    assert.equal(t.workers, 3);
    drive(a, (w) => w * 1000, 5);
    assert.equal(a.current.workers, 3);
  });

  it('re-probes when throughput drops sharply (the workload changed)', () => {
    const a = new TuningAdapter(settings(2), { maxWorkers: 16 });
    drive(a, () => 1000, 3); // flat: settles at 2
    assert.equal(a.current.workers, 2);
    const before = a.current.workers;
    a.observe({ files: 0, bytes: 100_000, elapsedMs: 1000, workersBusy: 2 });
    assert.ok(a.current.workers > before, 'probes again after a drop');
  });
});

describe('tuning: filesystem type lookup', () => {
  it('names statfs magics and resolves a path that does not exist yet through its parent', async () => {
    assert.equal(fsTypeName(0xef53), 'ext4');
    assert.equal(fsTypeName(0x9123683e), 'btrfs');
    assert.equal(fsTypeName(0x12345), '0x12345');
    const tmp = await fsTypeOf(os.tmpdir());
    assert.notEqual(tmp, 'unknown');
    assert.equal(await fsTypeOf(`${os.tmpdir()}/does/not/exist/yet`), tmp);
    assert.equal(await fsTypeOf('/proc/self'), 'proc', 'a real statfs magic maps to its name');
  });
});
