// Original file: blit.proto

export const TransferMode = {
  MODE_COPY: 'MODE_COPY',
  MODE_MIRROR: 'MODE_MIRROR',
  MODE_MOVE: 'MODE_MOVE',
} as const;

export type TransferMode =
  | 'MODE_COPY'
  | 0
  | 'MODE_MIRROR'
  | 1
  | 'MODE_MOVE'
  | 2

export type TransferMode__Output = typeof TransferMode[keyof typeof TransferMode]
