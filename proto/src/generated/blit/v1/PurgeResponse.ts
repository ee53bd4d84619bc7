// Original file: blit.proto

import type { Long } from '@grpc/proto-loader';

export interface PurgeResponse {
  'entriesDeleted'?: (number | string | Long);
}

export interface PurgeResponse__Output {
  'entriesDeleted': (number);
}
