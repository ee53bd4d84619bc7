#!/usr/bin/env node
'use strict';
// The blitd the extension runs: the daemon's own entry plus one guarantee the extension needs.
// With BLIT_EXIT_ON_STDIN_EOF=1 (set by the extension's DaemonManager, which keeps a pipe on our
// stdin), the end of stdin means the extension host is gone (quit, crash or SIGKILL): shut down
// gracefully (SIGTERM handler of blitd), and hard-exit if that takes too long. No orphan daemons.
// esbuild bundles this file into bundle/blitd.js; in the repository it runs as is.
const { main } = require('../../daemon/dist/src/daemon/main.js');

if (process.env.BLIT_EXIT_ON_STDIN_EOF === '1') {
  const bye = () => {
    setTimeout(() => process.exit(0), 5000).unref();
    process.kill(process.pid, 'SIGTERM');
  };
  process.stdin.on('end', bye);
  process.stdin.on('error', bye);
  process.stdin.on('close', bye);
  process.stdin.resume();
}

main(process.argv).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`blitd: ${err && err.stack ? err.stack : err}\n`);
    process.exit(1);
  },
);
