#!/usr/bin/env node
'use strict';
// Bundles the extension and the daemon it runs into extension/bundle/ (what the .vsix ships):
//   extension.js   the extension (vscode external; the build fails if it would pull in native code)
//   blitd.js       the daemon (scripts/blitd-entry.js + daemon/dist), ffi-rs external
//   *-worker.js    every worker_threads script the daemon starts with
//                  `new Worker(path.join(__dirname, 'X.js'))` (found by scanning daemon/dist), bundled
//                  beside blitd.js because in the bundle __dirname is bundle/
//   blit.proto     loaded at run time by @blit/proto's protoPath() (looks beside the bundle)
//   node_modules/ffi-rs + the platform's prebuilt ffi-rs binary (loaded with require at run time)
//   libblit_native.so  the native batch library from native/build, when it was built
// Needs `npx tsc -b` first (the daemon is bundled from its compiled JS).
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');
const { findWorkerScripts } = require('../../scripts/worker-scripts');

const ext = path.resolve(__dirname, '..');
const repo = path.resolve(ext, '..');
const out = path.join(ext, 'bundle');

function resolvePkgDir(name) {
  return path.dirname(require.resolve(`${name}/package.json`, { paths: [ext, repo] }));
}

/** The prebuilt ffi-rs package for this platform, e.g. @yuuang/ffi-rs-linux-x64-gnu. */
function ffiPlatformPackage() {
  const ffiPkg = JSON.parse(fs.readFileSync(path.join(resolvePkgDir('ffi-rs'), 'package.json'), 'utf8'));
  const libc = process.platform === 'linux' ? (process.report.getReport().header.glibcVersionRuntime ? 'gnu' : 'musl') : '';
  const wanted = `${process.platform}-${process.arch}${libc ? `-${libc}` : ''}`;
  const name = Object.keys(ffiPkg.optionalDependencies || {}).find((n) => n.endsWith(`ffi-rs-${wanted}`));
  if (!name) throw new Error(`ffi-rs has no prebuilt package for ${wanted}`);
  return name;
}

function copyPackage(name) {
  const from = resolvePkgDir(name);
  const to = path.join(out, 'node_modules', name);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.cpSync(from, to, { recursive: true, dereference: true });
}

/**
 * Fails the extension's build when it would pull in native code: @blit/native, ffi-rs, or the
 * engine's directory scan (scan-dir, and walk, which imports it). The extension bundles a few
 * engine files (filter.ts) so it decides as blitd does; the native library and ffi-rs are shipped
 * for blitd.js only, and loading them in the extension host is what must never happen.
 */
const noNativeInExtension = {
  name: 'no-native-in-extension',
  setup(build) {
    build.onResolve({ filter: /^(@blit\/native|ffi-rs)(\/.*)?$|(^|\/)(scan-dir|walk)(\.js)?$/ }, (args) => {
      const engineScan = !/^(@blit\/native|ffi-rs)/.test(args.path);
      if (engineScan && !/(^|\/)engine\//.test(args.path) && !/[\\/]engine$/.test(args.resolveDir)) return undefined;
      const by = path.relative(repo, args.importer);
      return { errors: [{ text: `the extension must not bundle native code: ${by} imports '${args.path}' (blitd.js carries it; import the engine file that needs only node:fs, e.g. filter)` }] };
    });
  },
};

async function main() {
  const daemonMain = path.join(repo, 'daemon', 'dist', 'src', 'daemon', 'main.js');
  if (!fs.existsSync(daemonMain)) throw new Error(`${daemonMain} missing: run npx tsc -b first`);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', sourcemap: false, logLevel: 'warning', legalComments: 'none' };
  const t0 = Date.now();
  await esbuild.build({ ...common, entryPoints: [path.join(ext, 'src', 'extension.ts')], outfile: path.join(out, 'extension.js'), external: ['vscode'], plugins: [noNativeInExtension] });
  await esbuild.build({ ...common, entryPoints: [path.join(ext, 'scripts', 'blitd-entry.js')], outfile: path.join(out, 'blitd.js'), external: ['ffi-rs'] });
  const workers = findWorkerScripts(path.join(repo, 'daemon', 'dist', 'src'));
  if (workers.size === 0) throw new Error('found no worker scripts in daemon/dist: the scan pattern needs updating');
  for (const [name, script] of workers) {
    await esbuild.build({ ...common, entryPoints: [script], outfile: path.join(out, name), external: ['ffi-rs'] });
  }
  fs.copyFileSync(path.join(repo, 'proto', 'blit.proto'), path.join(out, 'blit.proto'));
  copyPackage('ffi-rs');
  copyPackage(ffiPlatformPackage());
  // The native batch library (small files in one foreign call), when npm ci could build it; the
  // bundle works without it (per-file path). native/src/batch.ts looks for it beside the bundle.
  const nativeLib = path.join(repo, 'native', 'build', 'libblit_native.so');
  if (fs.existsSync(nativeLib)) fs.copyFileSync(nativeLib, path.join(out, 'libblit_native.so'));
  else console.warn('bundle: native/build/libblit_native.so not built; the bundle uses the per-file copy path');
  const size = fs.readdirSync(out).filter((f) => f.endsWith('.js')).map((f) => `${f} ${(fs.statSync(path.join(out, f)).size / 1024).toFixed(0)} KiB`);
  console.log(`bundle: ${size.join(', ')} in ${Date.now() - t0} ms`);
}

main().catch((e) => {
  console.error(`bundle failed: ${e.message}`);
  process.exit(1);
});
