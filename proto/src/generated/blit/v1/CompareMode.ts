// Original file: blit.proto

export const CompareMode = {
  COMPARE_DEFAULT: 'COMPARE_DEFAULT',
  COMPARE_CHECKSUM: 'COMPARE_CHECKSUM',
  COMPARE_SIZE_ONLY: 'COMPARE_SIZE_ONLY',
  COMPARE_IGNORE_TIMES: 'COMPARE_IGNORE_TIMES',
} as const;

export type CompareMode =
  | 'COMPARE_DEFAULT'
  | 0
  | 'COMPARE_CHECKSUM'
  | 1
  | 'COMPARE_SIZE_ONLY'
  | 2
  | 'COMPARE_IGNORE_TIMES'
  | 3

export type CompareMode__Output = typeof CompareMode[keyof typeof CompareMode]
