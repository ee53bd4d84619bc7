/** Helpers for the suites that run inside the real extension host (code-server). */
import * as vscode from 'vscode';

// The ones that need no vscode live in node-helpers.ts, which ui-vsix.test.js (plain node) loads too.
export { REPO, listFiles, sleep, startRemoteBlitd, tempDescriptors, until, type RemoteDaemon } from './node-helpers';

export function workspaceDir(): string {
  const f = vscode.workspace.workspaceFolders?.[0];
  if (!f) throw new Error('no workspace folder open');
  return f.uri.fsPath;
}

export async function setTargets(targets: unknown[]): Promise<void> {
  await vscode.workspace.getConfiguration('blit').update('targets', targets, vscode.ConfigurationTarget.Global);
}
