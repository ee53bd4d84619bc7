#!/usr/bin/env node
'use strict';
// `blitd`: the one-file bundle dist/blitd-bundle.js when it is fresh, else dist (see launch.js).
// Tests start hundreds of blitd processes: loading one file through the code cache instead of ~250
// module files is most of a blitd's start-up (DEVLOG 2026-11-21, h17).
const daemon = require('./launch.js').load('blitd-bundle.js', 'src/daemon/main.js', { kind: 'blitd', group: 'daemon' });
daemon.main(process.argv).then((code) => { if (code !== undefined) process.exitCode = code; });
