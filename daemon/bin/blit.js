#!/usr/bin/env node
'use strict';
// Loads the one-file bundle (scripts/bundle-cli.js: ~0.1 s less start-up than ~300 module files)
// when it was built after the last `tsc -b` of every package it contains; otherwise, or with
// BLIT_NO_BUNDLE=1, the compiled files in dist as before. A stale bundle is never run: tsc -b
// rewrites a package's tsbuildinfo whenever it emits.
const fs = require('node:fs');
const path = require('node:path');

function bundleIsFresh(bundle) {
  if (process.env.BLIT_NO_BUNDLE === '1') return false;
  try {
    const built = fs.statSync(bundle).mtimeMs;
    const repo = path.join(__dirname, '..', '..');
    return ['daemon', 'proto', 'native'].every((p) => fs.statSync(path.join(repo, p, 'dist', 'tsconfig.tsbuildinfo')).mtimeMs <= built);
  } catch {
    return false;
  }
}

const bundle = path.join(__dirname, '..', 'dist', 'blit-cli.js');
const cli = bundleIsFresh(bundle) ? require(bundle) : require('../dist/src/cli/main.js');
cli.main(process.argv).then((code) => { process.exitCode = code; });
