/** Runs inside the real VS Code extension host (code-server): the extension loads and activates. */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';

describe('Blit extension in a real workbench', () => {
  it('is installed, activates lazily (no * / onStartupFinished), and activates on demand', async () => {
    const ext = vscode.extensions.getExtension('blit.blit-vscode');
    assert.ok(ext, 'extension blit.blit-vscode not found');
    const events: string[] = ext.packageJSON.activationEvents ?? [];
    assert.ok(!events.includes('*') && !events.includes('onStartupFinished'), `eager activation: ${events.join(', ')}`);
    await ext.activate();
    assert.equal(ext.isActive, true);
  });

  it('contributes every Blit command', async () => {
    const cmds = await vscode.commands.getCommands(true);
    for (const id of ['blit.push', 'blit.pull', 'blit.mirror', 'blit.preview', 'blit.cancel', 'blit.addTarget', 'blit.showLog']) {
      assert.ok(cmds.includes(id), `command ${id} missing`);
    }
  });
});
