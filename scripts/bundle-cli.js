#!/usr/bin/env node
'use strict';
// Bundles the `blit` CLI (daemon/dist/src/cli/main.js and everything it requires, @grpc/grpc-js,
// commander, ...) into one file, daemon/dist/blit-cli.js, and blitd (daemon/dist/src/daemon/main.js)
// into daemon/dist/blitd-bundle.js, which daemon/bin/blit.js and blitd.js load (bin/launch.js) when
// they are newer than the last `tsc -b` (else they load dist as before).
// Why: a CLI run spent ~100-190 ms (2 cores, loaded) resolving, reading and compiling ~300 small
// module files; one file removes the resolving and most of the reading (DEVLOG 2026-11-21, h5).
//
// Every `__dirname` in the repository's own compiled files is rewritten to that file's original
// directory (relative to the bundle), so worker scripts (copy-worker.js, sendfile-worker.js,
// recv-worker.js, ...), blit.proto and native/build/libblit_native.so are found where tsc and
// npm put them, exactly as when dist is loaded. External (required from node_modules at run time):
// ffi-rs (it loads a native addon) and cli-progress (loaded only when a progress bar is drawn, and
// the terminal test checks that through require.cache).
//
// The bundle is written in ASCII (esbuild escapes strings, templates and regexps; the few non-ASCII
// characters it keeps, in comments, are escaped here): bin/blit.js reads it as latin1, ~3 ms less
// than decoding UTF-8 into a two-byte string. Old code caches (blit-cli.js.*v8cache) are removed.
//
// Needs `npx tsc -b` first. Run by `npm ci` (root postinstall) and scripts/test.sh. Without
// esbuild (an install without dev dependencies) it prints one line and exits 0: blit runs from dist.
const fs = require('node:fs');
const path = require('node:path');

const repo = path.resolve(__dirname, '..');
const distDir = path.join(repo, 'daemon', 'dist');
/** Entry (in daemon/dist) → bundle (beside it): the CLI for bin/blit.js, the daemon for bin/blitd.js. */
const BUNDLES = [
  { entry: path.join(distDir, 'src', 'cli', 'main.js'), outfile: path.join(distDir, 'blit-cli.js') },
  { entry: path.join(distDir, 'src', 'daemon', 'main.js'), outfile: path.join(distDir, 'blitd-bundle.js') },
];

let esbuild;
try {
  esbuild = require('esbuild');
} catch {
  process.stderr.write('bundle-cli: esbuild is not installed; blit runs from daemon/dist (slower start)\n');
  process.exit(0);
}
for (const { entry } of BUNDLES) {
  if (!fs.existsSync(entry)) {
    process.stderr.write(`bundle-cli: ${entry} not found: run \`npx tsc -b\` first\n`);
    process.exit(1);
  }
}

/**
 * Worker scripts: `new Worker(path.join(__dirname, 'X.js'))` in dist (scripts/worker-scripts.js, shared
 * with extension/scripts/bundle.js). Each gets its own bundle, daemon/dist/X-bundle.js, and a
 * boot file X-boot.js that loads it through a V8 code cache (bin/launch.js loadWorker); in the CLI and
 * blitd bundles the call is rewritten to `__blitWorker(dir, 'X.js')` (launch.js workerScript: the
 * boot file while X's bundle is fresh, else dist's X.js). A worker from dist spent 25-35 ms
 * resolving, reading and compiling ~40 module files (DEVLOG 2026-11-21 h54).
 */
const { WORKER_CALL, findWorkerScripts } = require('./worker-scripts');

const ownFiles = new RegExp(`^${escapeRegExp(repo)}/(daemon|proto|native)/dist/`);

/** Worker calls rewritten by dirnamePlugin (checked against the scan: a pattern that drifts fails the build). */
let workerCalls = 0;

/** `__dirname` in our own files → that file's directory, computed from the bundle's at run time. */
const dirnamePlugin = {
  name: 'blit-dirname',
  setup(build) {
    build.onLoad({ filter: /\.js$/ }, async (args) => {
      if (!ownFiles.test(args.path)) return undefined;
      let source = await fs.promises.readFile(args.path, 'utf8');
      if (!source.includes('__dirname')) return { contents: source, loader: 'js' };
      const rel = path.relative(distDir, path.dirname(args.path)).split(path.sep).join('/');
      source = source.replace(WORKER_CALL, (_, start, _q, name) => {
        workerCalls++;
        return `${start}__blitWorker(${JSON.stringify(rel)}, ${JSON.stringify(name)})`;
      });
      const expr = `require("node:path").join(__blitBundleDir, ${JSON.stringify(rel)})`;
      return { contents: source.replace(/\b__dirname\b/g, expr), loader: 'js' };
    });
  },
};

/**
 * Rewrites the file with every non-ASCII character as a \uXXXX escape (UTF-16 code units). With
 * charset 'ascii' esbuild already escapes them everywhere they mean something (strings, templates,
 * regexps, identifiers); what is left is comment text, where the escape is just text.
 */
function asciiOnly(file) {
  const text = fs.readFileSync(file, 'utf8');
  if (!/[^\x00-\x7f]/.test(text)) return;
  fs.writeFileSync(file, text.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** In the CLI and blitd bundles: the script a rewritten `new Worker` starts (bin/launch.js workerScript). */
const WORKER_HELPER = 'function __blitWorker(rel, name) { return require(require("node:path").join(__blitBundleDir, "..", "bin", "launch.js")).workerScript(__blitBundleDir, rel, name); }';

/** Builds one bundle into a temporary file, then renames it (bin/*.js never load half a bundle). */
async function bundle({ entry, outfile, worker = false }) {
  const tmp = `${outfile}.${process.pid}.tmp`;
  try {
    await esbuild.build({
      entryPoints: [entry],
      outfile: tmp,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      charset: 'ascii',
      external: ['ffi-rs', 'cli-progress'],
      banner: { js: worker ? 'const __blitBundleDir = __dirname;' : `const __blitBundleDir = __dirname;\n${WORKER_HELPER}` },
      plugins: [dirnamePlugin],
      logLevel: 'warning',
    });
    asciiOnly(tmp);
    fs.renameSync(tmp, outfile);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  for (const f of fs.readdirSync(distDir)) {
    if (f.startsWith(`${path.basename(outfile)}.`) && f.endsWith('v8cache')) fs.rmSync(path.join(distDir, f), { force: true });
  }
}

(async () => {
  // Workers first: the CLI and blitd bundles start them only while they are fresh.
  const workers = findWorkerScripts(path.join(distDir, 'src'));
  for (const [name, script] of workers) {
    const base = name.replace(/\.js$/, '');
    await bundle({ entry: script, outfile: path.join(distDir, `${base}-bundle.js`), worker: true });
    const boot = path.join(distDir, `${base}-boot.js`);
    fs.writeFileSync(`${boot}.${process.pid}.tmp`, `'use strict';
// Written by scripts/bundle-cli.js: the ${name} worker from its bundle, through its V8 code cache.
require('../bin/launch.js').loadWorker(require('node:path').join(__dirname, ${JSON.stringify(`${base}-bundle.js`)}));
`);
    fs.renameSync(`${boot}.${process.pid}.tmp`, boot);
  }
  workerCalls = 0;
  for (const b of BUNDLES) await bundle(b);
  // Each start site is in the CLI bundle, the blitd bundle or both; none may be left unrewritten.
  if (workers.size > 0 && workerCalls === 0) throw new Error('no `new Worker` call was rewritten: the pattern needs updating');
})().catch((err) => {
  process.stderr.write(`bundle-cli: ${err.message}\n`);
  process.exit(1);
});
