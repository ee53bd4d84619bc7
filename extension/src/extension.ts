/** VS Code extension entry: owned by the extension work (issue 5). */
export function activate(): void {}
export function deactivate(): void {}
