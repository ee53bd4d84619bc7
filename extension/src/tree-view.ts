/** "Blit Transfers" tree view: renders the pure tree model (jobs.ts buildTree) with VS Code items. */
import * as vscode from 'vscode';
import { buildTree, type JobRecord, type TreeNodeModel } from './jobs';

const ICONS: Record<TreeNodeModel['icon'], vscode.ThemeIcon> = {
  running: new vscode.ThemeIcon('sync~spin'),
  queued: new vscode.ThemeIcon('clock'),
  succeeded: new vscode.ThemeIcon('pass', new vscode.ThemeColor('testing.iconPassed')),
  failed: new vscode.ThemeIcon('error', new vscode.ThemeColor('testing.iconFailed')),
  cancelled: new vscode.ThemeIcon('circle-slash'),
  file: new vscode.ThemeIcon('file'),
  'file-failed': new vscode.ThemeIcon('warning', new vscode.ThemeColor('testing.iconFailed')),
};

export class TransfersTreeProvider implements vscode.TreeDataProvider<TreeNodeModel> {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private roots: TreeNodeModel[] = [];

  update(jobs: ReadonlyMap<string, JobRecord>): void {
    this.roots = buildTree(jobs);
    this.changed.fire();
  }

  getTreeItem(n: TreeNodeModel): vscode.TreeItem {
    const collapsible = n.children.length
      ? n.icon === 'failed' || n.icon === 'running' ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.Collapsed
      : vscode.TreeItemCollapsibleState.None;
    const item = new vscode.TreeItem(n.label, collapsible);
    item.id = `${n.id}#${n.children.length ? 'p' : 'l'}`;
    item.description = n.description;
    item.tooltip = n.tooltip;
    item.iconPath = ICONS[n.icon];
    item.contextValue = n.icon === 'running' || n.icon === 'queued' ? 'blitJobRunning' : n.icon;
    return item;
  }

  getChildren(n?: TreeNodeModel): TreeNodeModel[] {
    return n ? n.children : this.roots;
  }

  dispose(): void {
    this.changed.dispose();
  }
}
