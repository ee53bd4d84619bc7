/**
 * The `.gitignore` files upload on save consults (blit.gitignore on): read as blitd's walk reads
 * them (daemon/src/engine/walk.ts readFileNoFollow: O_NOFOLLOW, so a symlinked one applies no
 * rules; O_NONBLOCK, so a FIFO cannot block the extension host), only when a file is saved, and
 * kept per directory until the file's mtime, ctime, size or inode changes (a save of the
 * .gitignore itself is seen at once). No `vscode` import.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

interface Cached {
  stamp: string;
  text: string;
}

/** Above this many directories the cache starts over (a long session saving all over a big tree). */
const MAX_DIRS = 1000;

export class GitignoreFiles {
  private readonly cache = new Map<string, Cached>();

  /**
   * The text of `dir/.gitignore`, or undefined when blitd's walk would apply no rules from it:
   * none there, a directory, a symlink (walk: "not followed; its rules are not applied"), not a
   * regular file, unreadable (the push names that error; the save still uploads).
   */
  read(dir: string): string | undefined {
    const file = path.join(dir, '.gitignore');
    let fd: number;
    try {
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    } catch {
      this.cache.delete(file);
      return undefined;
    }
    try {
      const st = fs.fstatSync(fd, { bigint: true });
      if (!st.isFile()) return undefined;
      const stamp = `${st.mtimeNs}/${st.ctimeNs}/${st.size}/${st.ino}`;
      const hit = this.cache.get(file);
      if (hit?.stamp === stamp) return hit.text;
      const text = fs.readFileSync(fd).toString('utf8');
      if (this.cache.size >= MAX_DIRS) this.cache.clear();
      this.cache.set(file, { stamp, text });
      return text;
    } catch {
      return undefined;
    } finally {
      fs.closeSync(fd);
    }
  }
}
