// Original file: blit.proto

export const ItemAction = {
  ITEM_CREATE: 'ITEM_CREATE',
  ITEM_UPDATE: 'ITEM_UPDATE',
  ITEM_DELETE: 'ITEM_DELETE',
  ITEM_MKDIR: 'ITEM_MKDIR',
  ITEM_SYMLINK: 'ITEM_SYMLINK',
  ITEM_SKIP: 'ITEM_SKIP',
} as const;

export type ItemAction =
  | 'ITEM_CREATE'
  | 0
  | 'ITEM_UPDATE'
  | 1
  | 'ITEM_DELETE'
  | 2
  | 'ITEM_MKDIR'
  | 3
  | 'ITEM_SYMLINK'
  | 4
  | 'ITEM_SKIP'
  | 5

export type ItemAction__Output = typeof ItemAction[keyof typeof ItemAction]
