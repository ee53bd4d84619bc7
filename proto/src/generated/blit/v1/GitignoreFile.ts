// Original file: blit.proto


export interface GitignoreFile {
  'dir'?: (Buffer | Uint8Array | string);
  'content'?: (Buffer | Uint8Array | string);
}

export interface GitignoreFile__Output {
  'dir': (Buffer);
  'content': (Buffer);
}
