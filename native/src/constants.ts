/** Linux ABI constants (identical on x86_64 and aarch64, the only architectures bound natively). */

export const SPLICE_F_MOVE = 1;
export const SPLICE_F_NONBLOCK = 2;
export const SPLICE_F_MORE = 4;

export const FADV_NORMAL = 0;
export const FADV_RANDOM = 1;
export const FADV_SEQUENTIAL = 2;
export const FADV_WILLNEED = 3;
export const FADV_DONTNEED = 4;
export const FADV_NOREUSE = 5;

export const FALLOC_FL_KEEP_SIZE = 0x01;
export const FALLOC_FL_PUNCH_HOLE = 0x02;

export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;

export const POLLIN = 0x001;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;

export const RENAME_NOREPLACE = 1;
export const RENAME_EXCHANGE = 2;

// Internal to the bindings.
export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const SEEK_DATA = 3;
export const SEEK_HOLE = 4;
export const EINTR = 4;
export const F_SETPIPE_SZ = 1031;
export const F_GETPIPE_SZ = 1032;
/** _IOW(0x94, 9, int) */
export const FICLONE = 0x40049409;

/** statfs f_type magic numbers (linux/magic.h and filesystem sources) -> short names. */
export const FS_MAGIC: ReadonlyMap<number, string> = new Map([
  [0xef53, 'ext4'], // ext2/3/4 share one magic
  [0x01021994, 'tmpfs'],
  [0x58465342, 'xfs'],
  [0x9123683e, 'btrfs'],
  [0x794c7630, 'overlay'],
  [0x2fc12fc1, 'zfs'],
  [0xf2f52010, 'f2fs'],
  [0x6969, 'nfs'],
  [0xff534d42, 'cifs'],
  [0xfe534d42, 'smb2'],
  [0x65735546, 'fuse'],
  [0x4d44, 'vfat'],
  [0x2011bab0, 'exfat'],
  [0x5346544e, 'ntfs'],
  [0x7366746e, 'ntfs3'],
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x858458f6, 'ramfs'],
  [0x73717368, 'squashfs'],
  [0x9660, 'iso9660'],
  [0x01021997, 'v9fs'],
  [0x3153464a, 'jfs'],
  [0x52654973, 'reiserfs'],
  [0xca451a4e, 'bcachefs'],
  [0x5a3c69f0, 'aufs'],
  [0x65735543, 'fusectl'],
  [0x64626720, 'debugfs'],
  [0x1cd1, 'devpts'],
  [0x63677270, 'cgroup2'],
  [0x27e0eb, 'cgroup'],
]);

export function fsTypeName(magic: number): string {
  return FS_MAGIC.get(magic >>> 0) ?? `0x${(magic >>> 0).toString(16)}`;
}
