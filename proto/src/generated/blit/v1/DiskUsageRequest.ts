// Original file: blit.proto


export interface DiskUsageRequest {
  'module'?: (string);
  'path'?: (Buffer | Uint8Array | string);
}

export interface DiskUsageRequest__Output {
  'module': (string);
  'path': (Buffer);
}
