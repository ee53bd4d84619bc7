// Original file: blit.proto

import type { Long } from '@grpc/proto-loader';

export interface DiskUsageResponse {
  'bytes'?: (number | string | Long);
  'allocatedBytes'?: (number | string | Long);
  'files'?: (number | string | Long);
  'dirs'?: (number | string | Long);
  'symlinks'?: (number | string | Long);
}

export interface DiskUsageResponse__Output {
  'bytes': (number);
  'allocatedBytes': (number);
  'files': (number);
  'dirs': (number);
  'symlinks': (number);
}
