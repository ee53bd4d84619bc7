/** The node:fs fallback, forced: what non-Linux platforms (and a failed ffi-rs load) get. */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { isUnsupported, loadBindings, type NativeBindings } from '../src/index';
import { commonSuite } from './common-suite';
import { makeTempDir } from './helpers';

describe('native: node:fs fallback', () => {
  const fallback = (): NativeBindings => loadBindings({ forceFallback: true });

  it('is a separate implementation that reports no zero-copy support', () => {
    assert.equal(fallback().kind, 'fallback');
    assert.equal(fallback().platformSupportsZeroCopy(), false);
    assert.equal(fallback(), fallback(), 'cached');
  });

  it('zero-copy primitives throw UnsupportedError and touch nothing', () => {
    const tmp = makeTempDir('fallback');
    try {
      const src = tmp.file('src');
      const dst = tmp.file('dst');
      fs.writeFileSync(src, 'data');
      const fin = fs.openSync(src, 'r');
      const fout = fs.openSync(dst, 'w');
      try {
        const b = fallback();
        for (const call of [
          () => b.copyFileRange(fin, 0, fout, 0, 4),
          () => b.sendfile(fout, fin, 0, 4),
          () => b.splice(fin, 0, fout, 0, 4, 0),
          () => b.pipe2(),
          () => b.fcntlSetPipeSize(fin, 65536),
          () => b.ficlone(fout, fin),
          () => b.fallocate(fout, 0, 0, 4096),
          () => b.renameat2(Buffer.from(src), Buffer.from(dst), 1),
          () => b.dup(fin),
          () => b.poll(fin, 1, 0),
        ]) {
          assert.throws(call, (err: unknown) => isUnsupported(err) && (err as { code: string }).code === 'ENOSYS');
        }
        b.posixFadvise(fin, 0, 0, 2); // advisory: a no-op
      } finally {
        fs.closeSync(fin);
        fs.closeSync(fout);
      }
      assert.equal(fs.readFileSync(src, 'utf8'), 'data');
      assert.equal(fs.statSync(dst).size, 0);
    } finally {
      tmp.remove();
    }
  });

  describe('shared behaviour', () => commonSuite(fallback, false));
});
