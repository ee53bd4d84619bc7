#!/usr/bin/env node
'use strict';
// `blit`: the one-file bundle dist/blit-cli.js when it is fresh, else dist (see launch.js).

/** The code-cache kind (verb, @remote) and group of a command line (launch.js). */
function runKind(argv) {
  const remote = argv.slice(3).some((a) => /^[^/]*:/.test(a)); // HOST[:PORT]:/MOD/PATH, roughly (only picks the cache)
  const verb = argv[2] ?? '';
  const group = remote ? 'remote' : ['copy', 'mirror', 'move'].includes(verb) ? 'local' : 'other';
  return { kind: `${verb}${remote ? '@remote' : ''}`, group };
}

const cli = require('./launch.js').load('blit-cli.js', 'src/cli/main.js', runKind(process.argv));
cli.main(process.argv).then((code) => { process.exitCode = code; });
