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

/** Compile `bundle` (with V8's cached data when given) and run it as a CommonJS module. */
function runBundle(bundle, cached) {
  const vm = require('node:vm');
  const Module = require('node:module');
  const script = new vm.Script(Module.wrap(bundleSource(bundle)), { filename: bundle, cachedData: cached });
  const mod = new Module(bundle, module);
  mod.filename = bundle;
  require.cache[bundle] = mod;
  script.runInThisContext().call(mod.exports, mod.exports, Module.createRequire(bundle), mod, bundle, path.dirname(bundle));
  mod.loaded = true;
  return { script, mod };
}

function requireBundle(bundle, st, { kind, group }) {
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
  const { script, mod } = runBundle(bundle, cached);
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

/**
 * Worker threads from a bundle too (scripts/bundle-cli.js): each worker script (recv-worker.js,
 * copy-worker.js, ...) has its own bundle, daemon/dist/X-bundle.js, started through a two-line boot
 * file, X-boot.js, that requires it through its V8 code cache (loadWorker). A worker from dist
 * resolved, read and compiled ~40 module files: 25-35 ms of every worker's start, more under load,
 * while a receiving worker's socket sat unread (DEVLOG 2026-11-21 h50, h54). In the CLI and blitd
 * bundles, `new Worker(path.join(__dirname, 'X.js'))` is rewritten to ask workerScript for the
 * script: the boot file when X's bundle is fresh (the check of load(), once per script and
 * process), else dist's X.js as before (also with BLIT_NO_BUNDLE=1).
 */
const workerScripts = new Map();
function workerScript(distDir, rel, name) {
  const key = `${distDir}\0${rel}\0${name}`;
  let script = workerScripts.get(key);
  if (script === undefined) {
    const base = name.replace(/\.js$/, '');
    const boot = path.join(distDir, `${base}-boot.js`);
    script = freshBundle(path.join(distDir, `${base}-bundle.js`)) && fs.existsSync(boot) ? boot : path.join(distDir, rel, name);
    workerScripts.set(key, script);
  }
  return script;
}

/**
 * A worker's code cache is written at the thread's exit (natural end or process.exit: what it
 * compiled lazily included) by the first WORKER_CACHE_WRITES threads of a build: each write is the
 * union of what it loaded and compiled, so an idle first thread (a spare receiving worker that was
 * never used) does not leave a cache without the code the busy ones run. A terminated thread
 * writes nothing.
 */
const WORKER_CACHE_WRITES = 3;

/** In a worker's boot file: require `bundle` through its V8 code cache (see workerScript). */
function loadWorker(bundle) {
  const st = fs.statSync(bundle);
  const cacheFile = `${bundle}.v8cache`;
  const key = JSON.stringify({ size: st.size, mtimeMs: st.mtimeMs, node: process.version, arch: process.arch });
  let cached;
  let writes = 0;
  try {
    const raw = fs.readFileSync(cacheFile);
    const nl = raw.indexOf(10);
    const head = JSON.parse(raw.subarray(0, nl).toString());
    if (head.key === key && Number.isInteger(head.writes)) {
      cached = raw.subarray(nl + 1);
      writes = head.writes;
    }
  } catch {
    // no cache yet, or unreadable: compile
  }
  const { script, mod } = runBundle(bundle, cached);
  const rejected = cached === undefined || script.cachedDataRejected === true;
  if (rejected || writes < WORKER_CACHE_WRITES) {
    process.once('exit', () => {
      const tmp = `${cacheFile}.${process.pid}.${require('node:worker_threads').threadId}.tmp`;
      try {
        const head = JSON.stringify({ key, writes: rejected ? 1 : writes + 1 });
        fs.writeFileSync(tmp, Buffer.concat([Buffer.from(`${head}\n`), script.createCachedData()]));
        fs.renameSync(tmp, cacheFile);
      } catch {
        try { fs.rmSync(tmp, { force: true }); } catch { /* read-only install: no cache */ }
      }
    });
  }
  return mod.exports;
}

module.exports = { load, workerScript, loadWorker };
