// Original file: blit.proto


export interface FileSystemLoop {
  'path'?: (Buffer | Uint8Array | string);
  'ancestor'?: (Buffer | Uint8Array | string);
}

export interface FileSystemLoop__Output {
  'path': (Buffer);
  'ancestor': (Buffer);
}
