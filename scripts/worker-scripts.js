'use strict';
// The worker_threads scripts the compiled daemon starts, found by scanning daemon/dist for
// `new Worker(path.join(__dirname, 'X.js'))` (the daemon's sources spell every start that way).
// Both bundlers use it: scripts/bundle-cli.js (a bundle per worker beside the CLI's) and
// extension/scripts/bundle.js (the workers beside the .vsix's blitd.js).
const fs = require('node:fs');
const path = require('node:path');

/** A worker start in compiled JS; groups: 1 the `new Worker(` prefix, 2 the quote, 3 the script name. */
const WORKER_CALL = /(new (?:\w+\.)?Worker\(\s*)(?:\w+\.)?(?:path\.)?join\(\s*__dirname\s*,\s*(['"])([^'"]+\.js)\2\s*\)/g;

/** Worker scripts started from the .js files under `dir`: { name -> absolute path } (names are unique). */
function findWorkerScripts(dir) {
  const found = new Map();
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.js')) {
        for (const m of fs.readFileSync(p, 'utf8').matchAll(WORKER_CALL)) {
          const script = path.join(path.dirname(p), m[3]);
          if (found.has(m[3]) && found.get(m[3]) !== script) throw new Error(`two worker scripts named ${m[3]}: ${found.get(m[3])}, ${script}`);
          if (!fs.existsSync(script)) throw new Error(`${p} starts a worker ${script} that does not exist`);
          found.set(m[3], script);
        }
      }
    }
  };
  walk(dir);
  return found;
}

module.exports = { WORKER_CALL, findWorkerScripts };
