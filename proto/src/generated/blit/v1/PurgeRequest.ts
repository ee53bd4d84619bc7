// Original file: blit.proto


export interface PurgeRequest {
  'module'?: (string);
  'path'?: (Buffer | Uint8Array | string);
  'recursive'?: (boolean);
  'allowModuleRoot'?: (boolean);
}

export interface PurgeRequest__Output {
  'module': (string);
  'path': (Buffer);
  'recursive': (boolean);
  'allowModuleRoot': (boolean);
}
