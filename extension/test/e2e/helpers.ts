/** Helpers for the suites that run inside the real extension host (code-server). */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as vscode from 'vscode';

// The ones that need no vscode live in node-helpers.ts, which ui-vsix.test.js (plain node) loads too.
export { REPO, listFiles, sleep, startRemoteBlitd, stopped, tempDescriptors, until, type RemoteDaemon } from './node-helpers';

export function workspaceDir(): string {
  const f = vscode.workspace.workspaceFolders?.[0];
  if (!f) throw new Error('no workspace folder open');
  return f.uri.fsPath;
}

export async function setTargets(targets: unknown[]): Promise<void> {
  await vscode.workspace.getConfiguration('blit').update('targets', targets, vscode.ConfigurationTarget.Global);
}

/**
 * Replaces the whole text of `file` in an editor and saves it through VS Code, as a user would.
 * VS Code's save resolves false when the model is still dirty afterwards (a write error, a "file
 * modified since" conflict, a save participant that touched the model meanwhile, or a save that
 * arrives while another save of the model runs its save participants). CI saw the last one on
 * 2026-11-21: code-server's default auto save (1 s after the edit) raced this save under load; the
 * workbench now runs with files.autoSave off (lib/cs-lib.js, checked in before()). A refused save is
 * VS Code's, not the extension's, so it is still retried a few times, and every refusal is printed
 * with the model's and the file's state (BLIT_E2E_TRACE_SAVES=1 adds VS Code's own save trace).
 */
export async function editAndSave(file: string, text: string): Promise<void> {
  const uri = vscode.Uri.file(file);
  const refusals: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const doc = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(doc);
    const edited = doc.getText() === text || await editor.edit((e) => e.replace(new vscode.Range(doc.positionAt(0), doc.positionAt(doc.getText().length)), text));
    const saved = edited && (!doc.isDirty || await doc.save());
    const onDisk = fs.readFileSync(file, 'utf8');
    if (saved && !doc.isDirty && onDisk === text) return;
    const refusal = `attempt ${attempt}: edit applied ${edited}, save ${saved}, dirty ${doc.isDirty}, closed ${doc.isClosed}, version ${doc.version}, ` +
      `text ${JSON.stringify(doc.getText())}, on disk ${JSON.stringify(onDisk)} (mtime ${fs.statSync(file).mtime.toISOString()})`;
    refusals.push(refusal);
    console.warn(`editAndSave(${file}): VS Code refused: ${refusal}`);
    await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
  }
  assert.fail(`save of ${file} failed: ${refusals.join('; ')}`);
}
