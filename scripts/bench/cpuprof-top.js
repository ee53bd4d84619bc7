#!/usr/bin/env node
// Summarise node --cpu-prof output: top functions by self time per thread profile.
// usage: node scripts/bench/cpuprof-top.js DIR/*.cpuprofile
const fs = require('fs'), path = require('path');
for (const f of process.argv.slice(2)) {
  const p = JSON.parse(fs.readFileSync(f));
  const dt = new Map(); // node id -> self us
  for (let i = 0; i < p.samples.length; i++) dt.set(p.samples[i], (dt.get(p.samples[i]) || 0) + (p.timeDeltas[i] || 0));
  const agg = new Map();
  let total = 0;
  for (const n of p.nodes) {
    const us = dt.get(n.id) || 0; total += us;
    const cf = n.callFrame;
    const key = `${cf.functionName || '(anon)'} ${cf.url ? path.basename(cf.url) + ':' + (cf.lineNumber + 1) : ''}`;
    agg.set(key, (agg.get(key) || 0) + us);
  }
  console.log(`\n${path.basename(f)}: total ${(total / 1000).toFixed(0)} ms`);
  for (const [k, us] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, 15)) console.log(`  ${(us / 1000).toFixed(0).padStart(7)} ms ${(100 * us / total).toFixed(1).padStart(5)}%  ${k}`);
}
