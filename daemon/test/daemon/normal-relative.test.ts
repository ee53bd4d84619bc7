/**
 * isNormalRelative (the destination's one-pass check of every manifest path) accepts exactly the
 * paths that checkRelative accepts and that are in normal form, byte for byte.
 */
import { strict as assert } from 'node:assert';
import { isNormalRelative } from '../../src/remote/rel-bytes';
import { checkRelative } from '../../src/daemon/containment';

function slowCheck(rel: Buffer): boolean {
  try {
    const parts = checkRelative(rel, 'x');
    let kept = parts.length - 1;
    for (const p of parts) kept += p.length;
    return parts.length > 0 && kept === rel.length;
  } catch {
    return false;
  }
}

describe('isNormalRelative (manifest path check)', () => {
  const cases = [
    'a', 'a/b', 'a/b/c.txt', '.a', 'a/.b', '..a', 'a..', 'a/..b/c', '...', 'a/...',
    '', '/', '/a', 'a/', 'a//b', './a', 'a/.', 'a/./b', '..', '../a', 'a/..', 'a/../b', '.', 'a\0b', '\0',
  ];
  for (const c of cases) {
    it(`${JSON.stringify(c)} -> ${slowCheck(Buffer.from(c))}`, () => {
      assert.equal(isNormalRelative(Buffer.from(c)), slowCheck(Buffer.from(c)));
    });
  }
  it('agrees with checkRelative on every path of up to 4 bytes over {a . / NUL}', () => {
    const alphabet = [0x61, 0x2e, 0x2f, 0x00];
    let n = 0;
    const rec = (prefix: number[]): void => {
      const rel = Buffer.from(prefix);
      assert.equal(isNormalRelative(rel), slowCheck(rel), JSON.stringify(rel.toString('latin1')));
      n++;
      if (prefix.length < 4) for (const b of alphabet) rec([...prefix, b]);
    };
    rec([]);
    assert.equal(n, 341);
  });
  it('keeps bytes that are not UTF-8 (0xff, 0x80) as ordinary name bytes', () => {
    assert.equal(isNormalRelative(Buffer.from([0xff, 0x2f, 0x80])), true);
  });
});
