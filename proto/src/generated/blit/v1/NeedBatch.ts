// Original file: blit.proto

import type { Long } from '@grpc/proto-loader';

export interface NeedBatch {
  'indices'?: (number | string | Long)[];
}

export interface NeedBatch__Output {
  'indices': (number)[];
}
