import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { PerfHistory } from '../../src/engine/perf/history';
import { PerfPredictor, ema, segmentKey, sizeClass } from '../../src/engine/perf/predictor';
import { defaultTuning, initialTuning } from '../../src/engine/perf/tuning';
import { EXT4, record, settings, tempDir } from './helpers';

const MIB = 1024 * 1024;
const TMPFS = { fsType: 'tmpfs', dstFsType: 'tmpfs', mode: 'local' as const };

describe('perf predictor (EMA, segmented by filesystem)', () => {
  it('ema: first sample initialises, then x += alpha (sample - x)', () => {
    let x = ema(undefined, 10, 0.5);
    assert.equal(x, 10);
    x = ema(x, 20, 0.5);
    assert.equal(x, 15);
    x = ema(x, 5, 0.5);
    assert.equal(x, 10);
  });

  it('tracks per-file cost and throughput as EMAs over runs', () => {
    const p = new PerfPredictor(0.5);
    p.observe(record({ files: 100, bytes: 1000, copyMs: 100 })); // 1 ms/file, 10 B/ms
    p.observe(record({ files: 100, bytes: 1000, copyMs: 300 })); // 3 ms/file, 3.33 B/ms
    const pr = p.predict(EXT4)!;
    assert.equal(pr.samples, 2);
    assert.equal(pr.msPerFile, 2);
    assert.ok(Math.abs(pr.bytesPerMs - (10 + 0.5 * (1000 / 300 - 10))) < 1e-9);
  });

  it('keeps filesystem types (and modes) apart', () => {
    const p = PerfPredictor.fromRecords([
      record({ signature: EXT4, files: 1000, copyMs: 1000 }),
      record({ signature: TMPFS, files: 1000, copyMs: 100 }),
    ]);
    assert.equal(p.predict(EXT4)!.msPerFile, 1);
    assert.equal(p.predict(TMPFS)!.msPerFile, 0.1);
    assert.equal(p.predict({ fsType: 'ext4', dstFsType: 'nfs', mode: 'local' }), null);
    assert.equal(p.predict({ ...EXT4, mode: 'push' }), null);
    assert.notEqual(segmentKey(EXT4), segmentKey({ ...EXT4, dstFsType: 'xfs' }));
  });

  it('fits copyMs = a*files + b*MiB so an unseen mix is predicted', () => {
    // Truth: 0.05 ms per file + 2 ms per MiB.
    const truth = (files: number, bytes: number): number => 0.05 * files + 2 * (bytes / MIB);
    const runs: Array<[number, number]> = [[100_000, 450 * MIB], [1, 1024 * MIB], [20_000, 1000 * MIB], [5000, 10 * MIB]];
    const p = PerfPredictor.fromRecords(runs.map(([files, bytes]) => record({ files, bytes, copyMs: truth(files, bytes) })));
    const est = p.predict(EXT4)!.estimateMs(50_000, 200 * MIB);
    const want = truth(50_000, 200 * MIB);
    assert.ok(Math.abs(est - want) / want < 0.01, `estimate ${est} vs ${want}`);
  });

  it('ignores failed and cancelled runs and empty runs', () => {
    const p = PerfPredictor.fromRecords([
      record({ outcome: 'failed', copyMs: 5 }),
      record({ outcome: 'cancelled', copyMs: 5 }),
      record({ files: 0, bytes: 0 }),
    ]);
    assert.equal(p.predict(EXT4), null);
  });

  it('classifies workloads by average file size', () => {
    assert.equal(sizeClass(100_000, 450 * MIB), 'small');
    assert.equal(sizeClass(1, 1024 * MIB), 'large');
    assert.equal(sizeClass(20_000, 1000 * MIB), 'mixed');
  });

  it('warm start picks the settings that were fastest for this segment and size class', () => {
    const small = { files: 100_000, bytes: 450 * MIB };
    const p = PerfPredictor.fromRecords([
      record({ ...small, workers: 2, copyMs: 9000, settings: settings(2, { smallBatchSize: 32 }) }),
      record({ ...small, workers: 6, copyMs: 5000, settings: settings(6, { smallBatchSize: 128 }) }),
      record({ ...small, workers: 4, copyMs: 7000, settings: settings(4) }),
      // A large-file run with 1 worker is "faster" in bytes/ms but a different size class.
      record({ files: 1, bytes: 1024 * MIB, copyMs: 400, settings: settings(1), primitive: 'sendfile' }),
    ]);
    const base = defaultTuning({ ...EXT4, fileCountHint: 100_000, bytesHint: 450 * MIB }, 2);
    const warm = p.warmStart({ ...EXT4, fileCountHint: 100_000, bytesHint: 450 * MIB }, base)!;
    assert.equal(warm.workers, 6);
    assert.equal(warm.smallBatchSize, 128);
    const large = p.warmStart({ ...EXT4, fileCountHint: 1, bytesHint: 1024 * MIB }, base)!;
    assert.equal(large.workers, 1);
    assert.deepEqual(large.primitiveOrder, ['sendfile', 'copy_file_range', 'readwrite'], 'learned primitive first');
    // Without hints, the class of the segment's last run is used (here: large).
    assert.equal(p.warmStart(EXT4, base)!.workers, 1);
    assert.equal(p.warmStart(TMPFS, base), null);
  });

  it('never warm-starts a primitive the run cannot use (reflink across filesystems)', () => {
    const btrfs = { fsType: 'btrfs', dstFsType: 'btrfs', mode: 'local' as const };
    const p = PerfPredictor.fromRecords([record({ signature: btrfs, primitive: 'reflink', settings: settings(3) })]);
    const sameFsBase = defaultTuning({ fsType: 'btrfs', dstFsType: 'btrfs', mode: 'local' }, 2);
    assert.equal(p.warmStart(btrfs, sameFsBase)!.primitiveOrder[0], 'reflink');
    const q = PerfPredictor.fromRecords([record({ signature: { ...btrfs, dstFsType: 'ext4' }, primitive: 'reflink' })]);
    const base = defaultTuning({ ...btrfs, dstFsType: 'ext4' }, 2);
    assert.ok(!q.warmStart({ ...btrfs, dstFsType: 'ext4' }, base)!.primitiveOrder.includes('reflink'));
  });

  it('initialTuning warm-starts from a real history file, defaults without one', async () => {
    const dir = tempDir('warm');
    try {
      const h = PerfHistory.open({ dir });
      const sig = { ...EXT4, fileCountHint: 100_000, bytesHint: 450 * MIB };
      assert.deepEqual(initialTuning(sig, h, 2), defaultTuning(sig, 2));
      assert.deepEqual(initialTuning(sig, null, 2), defaultTuning(sig, 2));
      await h.append(record({ files: 100_000, bytes: 450 * MIB, copyMs: 9000, settings: settings(2) }));
      await h.append(record({ files: 100_000, bytes: 450 * MIB, copyMs: 4000, settings: settings(5) }));
      assert.equal(initialTuning(sig, PerfHistory.open({ dir }), 2).workers, 5);
      // Learned worker counts are clamped to what the machine allows.
      await h.append(record({ files: 100_000, bytes: 450 * MIB, copyMs: 100, settings: settings(500) }));
      assert.equal(initialTuning(sig, PerfHistory.open({ dir }), 2).workers, 8);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
