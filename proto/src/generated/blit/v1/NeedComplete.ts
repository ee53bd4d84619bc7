// Original file: blit.proto

import type { Long } from '@grpc/proto-loader';

export interface NeedComplete {
  'totalFiles'?: (number | string | Long);
  'totalBytes'?: (number | string | Long);
}

export interface NeedComplete__Output {
  'totalFiles': (number);
  'totalBytes': (number);
}
