/**
 * SourceRemover.add takes one Committed message as it comes off the wire: a client may name every
 * directory of a big manifest in one message (the real client sends 1,024 per message, a raw
 * client need not). It used to spread them into `push(...dirs)`, which throws a RangeError past
 * ~10^5 arguments: the pull ended with an internal error instead of doing the move.
 */
import * as assert from 'node:assert/strict';
import type { ServerContext } from '../../src/daemon/context';
import { SourceRemover } from '../../src/remote/source-remover';
import type { ManifestSource } from '../../src/remote/source';
import type { Entry } from '../../src/engine/types';

describe('SourceRemover.add', () => {
  it('accepts 300,000 directories in place in one message, and still refuses a repeated one', () => {
    const n = 300_000;
    const dirs = Array.from({ length: n }, (_, i) => i);
    // The manifest as add() reads it: entryAt(i) of a pull of n directories.
    const source = { entryAt: (i: number): Entry | undefined => (i < n ? { rel: Buffer.from(`d${i}`), kind: 'dir', size: 0, mtimeNs: 0n, mode: 0o755, uid: 0, gid: 0 } : undefined) };
    const remover = new SourceRemover({} as ServerContext, 'm', Buffer.alloc(0), source as ManifestSource, new Set(), async () => {});
    remover.add([], [], dirs);
    assert.throws(() => remover.add([], [], [7]), { code: 'BadFrame', message: /directory index 7 reported twice/ });
  });
});
