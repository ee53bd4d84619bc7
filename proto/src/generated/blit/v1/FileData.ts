// Original file: blit.proto

import type { Long } from '@grpc/proto-loader';

export interface FileData {
  'index'?: (number | string | Long);
  'offset'?: (number | string | Long);
  'data'?: (Buffer | Uint8Array | string);
  'last'?: (boolean);
}

export interface FileData__Output {
  'index': (number);
  'offset': (number);
  'data': (Buffer);
  'last': (boolean);
}
