/**
 * Which saved files upload on save leaves out: the ones blitd's filter would leave out of the
 * upload job (it would send nothing). No `vscode` import.
 */
// The engine's filter itself (bundled into the extension by esbuild; it needs only picomatch and
// ignore), so the extension and blitd can never disagree on what a target's exclude matches.
import * as path from 'node:path';
import { Filter, readFileNoFollow } from '@blit/daemon/dist/src/engine/filter';

/**
 * True when blitd's filter leaves `rel` ('/'-separated, relative to the folder, never '') out for
 * these exclude patterns: the engine's own matcher (daemon/src/engine/filter.ts, rsync's shapes:
 * `*.log` at any depth, `deep/x` trailing components, `/top` anchored, `cache/` directories only,
 * `sub/**` below sub), never a second copy of its rules. Each directory on the way is asked first,
 * as a directory (the engine never descends an excluded one), then the file. A pattern the engine
 * refuses is left to blitd, which names it when the job runs.
 *
 * `gitignoreRoot` (blit.gitignore on): the folder whose `.gitignore` files apply, read as blitd
 * reads them (readFileNoFollow: a symlinked one applies no rules, a FIFO cannot block; none there
 * or unreadable: no rules, blitd names it when the job runs) and handed to the same Filter
 * (Filter.addGitignore) in the walk's order: a directory's file is registered when the walk would
 * read it, before its entries are asked about, so only directories the walk descends contribute
 * (a deeper file overrides, `!keep.log` re-includes). Read on each save, never cached: a save of
 * a `.gitignore` counts from the next save.
 */
export function excludedByFilter(rel: string, excludes: readonly string[], gitignoreRoot?: string): boolean {
  let filter: Filter;
  try {
    filter = new Filter({ excludes: [...excludes], includes: [], gitignore: gitignoreRoot !== undefined });
  } catch {
    return false;
  }
  const enter = (dirRel: string): void => {
    if (gitignoreRoot === undefined) return;
    try {
      filter.addGitignore(dirRel, readFileNoFollow(path.join(gitignoreRoot, dirRel, '.gitignore')).toString('utf8'));
    } catch {
      // no .gitignore there (or a symlink: not followed, as git and the walk)
    }
  };
  enter('');
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) {
    const dir = parts.slice(0, i).join('/');
    if (filter.excludes(dir, true)) return true;
    enter(dir);
  }
  return filter.excludes(rel, false);
}
