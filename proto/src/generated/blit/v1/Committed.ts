// Original file: blit.proto

import type { Long } from '@grpc/proto-loader';

export interface Committed {
  'indices'?: (number | string | Long)[];
  'symlinks'?: (number | string | Long)[];
  'dirs'?: (number | string | Long)[];
}

export interface Committed__Output {
  'indices': (number)[];
  'symlinks': (number)[];
  'dirs': (number)[];
}
