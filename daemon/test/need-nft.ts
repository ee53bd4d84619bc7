/**
 * The tests that make a port drop packets silently (a firewall's DROP, the SYN never answered)
 * need nft (Debian package nftables; scripts/setup-deps.sh installs it) and CAP_NET_ADMIN to add
 * a table. needNft() lists the tables once per process and throws an error naming what is
 * missing, so such a test fails (never passes or skips silently) and says why, as needStrace.
 */
import { spawnSync } from 'node:child_process';

let checked: string | undefined;

/** Throws unless `nft` is installed and may change the ruleset (root, CAP_NET_ADMIN). */
export function needNft(): void {
  if (checked === undefined) checked = probe();
  if (checked !== '') throw new Error(checked);
}

function probe(): string {
  const r = spawnSync('nft', ['list', 'tables'], { encoding: 'utf8' });
  if (r.error) return `this test needs nft (Debian nftables; scripts/setup-deps.sh installs it): ${r.error.message}`;
  if (r.status !== 0) {
    return `this test needs to add an nft table (root with CAP_NET_ADMIN; a container needs --cap-add=NET_ADMIN): nft said (exit ${r.status}): ${r.stderr.trim()}`;
  }
  return '';
}

/** Adds `table inet NAME` dropping what arrives on loopback for TCP port `port`; returns its removal. */
export function dropOnLoopback(name: string, port: number): () => void {
  const rules = `table inet ${name} {\n  chain input { type filter hook input priority 0; policy accept; iif "lo" tcp dport ${port} drop; }\n}\n`;
  const r = spawnSync('nft', ['-f', '-'], { input: rules, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nft could not add table ${name}: ${r.stderr.trim()}`);
  return () => void spawnSync('nft', ['delete', 'table', 'inet', name]);
}
