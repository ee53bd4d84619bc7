'use strict';
// Shared by bin/blit.js and bin/blitd.js: loads a one-file bundle (scripts/bundle-cli.js: ~0.1 s
// less start-up than ~300 module files) when it was built after the last `tsc -b` of every package
// it contains; otherwise, or with BLIT_NO_BUNDLE=1, the compiled files in dist as before. A stale
// bundle is never run: tsc -b rewrites a package's tsbuildinfo whenever it emits.
const fs = require('node:fs');
const path = require('node:path');

/** The bundle's stat when it is fresh, else undefined. */
function freshBundle(bundle) {
  if (process.env.BLIT_NO_BUNDLE === '1') return undefined;
  try {
    const st = fs.statSync(bundle);
    const repo = path.join(__dirname, '..', '..');
    const fresh = ['daemon', 'proto', 'native'].every((p) => fs.statSync(path.join(repo, p, 'dist', 'tsconfig.tsbuildinfo')).mtimeMs <= st.mtimeMs);
    return fresh ? st : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Requires the bundle through V8's code cache (Node 20 has no module.enableCompileCache): compiling
 * the 1.9 MB bundle took ~50 ms, with the cache ~8 ms. One cache file per group of runs (remote,
 * local transfers, the rest: --version, help, diagnostics), each holding only the code its runs
 * compiled: with one cache for all, --version deserialized the 1.3 MB that remote runs need
 * (~4 ms more, DEVLOG 2026-11-21 h17). A cache file starts with one JSON line naming the bundle it
 * belongs to (size, mtime, Node version: V8 itself only checks the source length) and the kinds of
 * run it holds code for. A run of a kind not seen yet (verb, local or remote) rewrites its group's
 * cache at exit with the union of what it loaded and what it compiled (~8 ms, once per kind and
 * build). Any cache problem just means compiling as before.
 */
const MAX_KINDS = 16;

/**
 * The bundle's source. scripts/bundle-cli.js writes it in ASCII, read as latin1 (one byte per
 * character, no UTF-8 decoding): ~3 ms less than utf8 of a bundle with a few non-ASCII characters,
 * which V8 keeps as a two-byte string. Any other bytes are decoded as UTF-8.
 */
function bundleSource(bundle) {
  const raw = fs.readFileSync(bundle);
  return require('node:buffer').isAscii(raw) ? raw.toString('latin1') : raw.toString('utf8');
}

function requireBundle(bundle, st, { kind, group }) {
  const vm = require('node:vm');
  const Module = require('node:module');
  const cacheFile = `${bundle}.${group}.v8cache`;
  const key = JSON.stringify({ size: st.size, mtimeMs: st.mtimeMs, node: process.version, arch: process.arch });
  let cached;
  let kinds = [];
  try {
    const raw = fs.readFileSync(cacheFile);
    const nl = raw.indexOf(10);
    const head = JSON.parse(raw.subarray(0, nl).toString());
    if (head.key === key) {
      cached = raw.subarray(nl + 1);
      kinds = head.kinds;
    }
  } catch {
    // no cache yet, or unreadable: compile
  }
  const script = new vm.Script(Module.wrap(bundleSource(bundle)), { filename: bundle, cachedData: cached });
  const mod = new Module(bundle, module);
  mod.filename = bundle;
  require.cache[bundle] = mod;
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(bundle), mod, bundle, path.dirname(bundle));
  mod.loaded = true;
  const rejected = cached === undefined || script.cachedDataRejected === true || !Array.isArray(kinds);
  if (rejected || (!kinds.includes(kind) && kinds.length < MAX_KINDS)) {
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      try {
        const head = JSON.stringify({ key, kinds: rejected ? [kind] : [...kinds, kind] });
        fs.writeFileSync(tmp, Buffer.concat([Buffer.from(`${head}\n`), script.createCachedData()]));
        fs.renameSync(tmp, cacheFile); // atomic: a concurrent run reads the old or the new cache
      } catch {
        try { fs.rmSync(tmp, { force: true }); } catch { /* read-only install: no cache */ }
      }
    });
  }
  return mod.exports;
}

/**
 * The exports of dist/NAME (a bundle) when it is fresh, else of the dist entry `entry` (a path
 * relative to daemon/dist). `run` names the kind of run and its cache group.
 */
function load(name, entry, run) {
  const bundle = path.join(__dirname, '..', 'dist', name);
  const st = freshBundle(bundle);
  return st ? requireBundle(bundle, st, run) : require(path.join(__dirname, '..', 'dist', entry));
}

module.exports = { load };
