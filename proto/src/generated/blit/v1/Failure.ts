// Original file: blit.proto


export interface Failure {
  'path'?: (Buffer | Uint8Array | string);
  'code'?: (string);
  'reason'?: (string);
}

export interface Failure__Output {
  'path': (Buffer);
  'code': (string);
  'reason': (string);
}
