/** "Blit: Add Remote Target": the quick-input wizard. Returns the raw entry, or undefined if cancelled. */
import * as vscode from 'vscode';
import { DEFAULT_PORT } from './targets';

export async function askForTarget(): Promise<Record<string, unknown> | undefined> {
  const ask = (prompt: string, value = '', validate?: (v: string) => string | undefined) =>
    vscode.window.showInputBox({ title: 'Blit: Add Remote Target', prompt, value, ignoreFocusOut: true, validateInput: validate });
  const name = await ask('Name for this target', 'staging', (v) => (v.trim() ? undefined : 'a name is required'));
  if (name === undefined) return undefined;
  const host = await ask('Host of the remote blitd', '', (v) => (v.trim() ? undefined : 'a host is required'));
  if (host === undefined) return undefined;
  const port = await ask('Port', String(DEFAULT_PORT), (v) => (/^\d+$/.test(v) && +v >= 1 && +v <= 65535 ? undefined : 'a port from 1 to 65535'));
  if (port === undefined) return undefined;
  const module = await ask('Module on the remote blitd', 'default', (v) => (/^[A-Za-z0-9._-]+$/.test(v) ? undefined : 'letters, digits, ".", "_", "-"'));
  if (module === undefined) return undefined;
  const remotePath = await ask('Path inside the module (empty = module root)', '');
  if (remotePath === undefined) return undefined;
  const onSave = await vscode.window.showQuickPick(['No', 'Yes'], { title: 'Upload files to this target when they are saved?' });
  if (onSave === undefined) return undefined;
  return { name, host, port: Number(port), module, remotePath, uploadOnSave: onSave === 'Yes' };
}
