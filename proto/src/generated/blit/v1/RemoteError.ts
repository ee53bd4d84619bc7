// Original file: blit.proto


export interface RemoteError {
  'code'?: (string);
  'message'?: (string);
  'path'?: (Buffer | Uint8Array | string);
}

export interface RemoteError__Output {
  'code': (string);
  'message': (string);
  'path': (Buffer);
}
