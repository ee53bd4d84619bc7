// Original file: blit.proto

import type { Long } from '@grpc/proto-loader';

export interface FindRequest {
  'module'?: (string);
  'path'?: (Buffer | Uint8Array | string);
  'pattern'?: (string);
  'limit'?: (number | string | Long);
}

export interface FindRequest__Output {
  'module': (string);
  'path': (Buffer);
  'pattern': (string);
  'limit': (number);
}
