/**
 * Filesystem type of a path, for the workload signature (statfs(2) f_type magic → name).
 * A destination that does not exist yet is looked up through its nearest existing parent.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Magic numbers from linux/magic.h (and the FUSE/ZFS/NTFS ones that live elsewhere). */
const FS_MAGIC: ReadonlyMap<number, string> = new Map([
  [0xef53, 'ext4'], // ext2/3/4 share the magic
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0xca451a4e, 'bcachefs'],
  [0x2fc12fc1, 'zfs'],
  [0x01021994, 'tmpfs'],
  [0x794c7630, 'overlay'],
  [0x6969, 'nfs'],
  [0xff534d42, 'cifs'],
  [0xfe534d42, 'smb2'],
  [0x65735546, 'fuse'],
  [0x01021997, 'v9fs'],
  [0x00c36400, 'ceph'],
  [0xf2f52010, 'f2fs'],
  [0x4d44, 'vfat'],
  [0x2011bab0, 'exfat'],
  [0x5346544e, 'ntfs'],
  [0x7366746e, 'ntfs3'],
  [0x3153464a, 'jfs'],
  [0x52654973, 'reiserfs'],
  [0x7461636f, 'ocfs2'],
  [0x858458f6, 'ramfs'],
  [0x73717368, 'squashfs'],
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
]);

export function fsTypeName(magic: number | bigint): string {
  const n = Number(magic) >>> 0;
  return FS_MAGIC.get(n) ?? `0x${n.toString(16)}`;
}

/** Name of the filesystem holding `p` (or its nearest existing ancestor); 'unknown' on error. */
export async function fsTypeOf(p: string): Promise<string> {
  let cur = path.resolve(p);
  for (;;) {
    try {
      const st = await fs.promises.statfs(cur);
      return fsTypeName(st.type);
    } catch (err) {
      const parent = path.dirname(cur);
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || parent === cur) return 'unknown';
      cur = parent;
    }
  }
}
