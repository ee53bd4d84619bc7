// Original file: blit.proto

export const EntryKind = {
  ENTRY_KIND_FILE: 'ENTRY_KIND_FILE',
  ENTRY_KIND_DIR: 'ENTRY_KIND_DIR',
  ENTRY_KIND_SYMLINK: 'ENTRY_KIND_SYMLINK',
} as const;

export type EntryKind =
  | 'ENTRY_KIND_FILE'
  | 0
  | 'ENTRY_KIND_DIR'
  | 1
  | 'ENTRY_KIND_SYMLINK'
  | 2

export type EntryKind__Output = typeof EntryKind[keyof typeof EntryKind]
