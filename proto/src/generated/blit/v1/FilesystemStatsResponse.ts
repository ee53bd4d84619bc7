// Original file: blit.proto

import type { Long } from '@grpc/proto-loader';

export interface FilesystemStatsResponse {
  'totalBytes'?: (number | string | Long);
  'freeBytes'?: (number | string | Long);
  'availableBytes'?: (number | string | Long);
  'totalInodes'?: (number | string | Long);
  'freeInodes'?: (number | string | Long);
  'fsType'?: (string);
}

export interface FilesystemStatsResponse__Output {
  'totalBytes': (number);
  'freeBytes': (number);
  'availableBytes': (number);
  'totalInodes': (number);
  'freeInodes': (number);
  'fsType': (string);
}
