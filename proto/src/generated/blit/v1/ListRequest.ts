// Original file: blit.proto


export interface ListRequest {
  'module'?: (string);
  'path'?: (Buffer | Uint8Array | string);
}

export interface ListRequest__Output {
  'module': (string);
  'path': (Buffer);
}
