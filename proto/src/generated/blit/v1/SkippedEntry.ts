// Original file: blit.proto


export interface SkippedEntry {
  'path'?: (Buffer | Uint8Array | string);
  'reason'?: (string);
}

export interface SkippedEntry__Output {
  'path': (Buffer);
  'reason': (string);
}
