#!/usr/bin/env node
'use strict';
// Compiles native/csrc/*.c (blit_batch.c has the overview) into native/build/libblit_native.so with the system C
// compiler (`cc`, or $CC). Run by `npm ci` (this package's install script) and by
// scripts/setup-deps.sh. The library is optional: when there is no compiler or compiling fails,
// this prints ONE warning and exits 0, and blit keeps its per-file node:fs path
// (native/src/batch.ts loadNativeBatch() returns undefined). Linux x64/arm64 only, like ffi-rs use.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const csrc = path.join(root, 'csrc');
// Every .c file of csrc/ goes into the one library (blit_internal.h is what they share).
const sources = fs.readdirSync(csrc).filter((f) => f.endsWith('.c')).sort().map((f) => path.join(csrc, f));
const outDir = path.join(root, 'build');
const out = path.join(outDir, 'libblit_native.so');

function warn(why) {
  console.warn(`@blit/native: warning: ${why}; small files will be copied through the per-file path (slower)`);
}

function main() {
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) return; // no ffi bindings there either
  if (process.env.BLIT_NATIVE_BATCH === '0') return;
  const cc = process.env.CC || 'cc';
  fs.mkdirSync(outDir, { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  // -ffp-contract=off: the mtime-in-ms comparison must round exactly as JS does (no fused multiply-add).
  const args = ['-O2', '-fPIC', '-shared', '-ffp-contract=off', '-Wall', '-o', tmp, ...sources];
  const r = spawnSync(cc, args, { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    fs.rmSync(tmp, { force: true });
    const detail = r.error ? r.error.message : (r.stderr || '').trim().split('\n').slice(-3).join(' | ');
    warn(`could not compile ${path.relative(root, csrc)}/*.c with '${cc}' (${detail})`);
    return;
  }
  fs.renameSync(tmp, out); // atomic: a running blit never loads a half-written library
}

try {
  main();
} catch (err) {
  warn(`native build failed: ${err.message}`);
}
