// Original file: blit.proto

import type { StreamsKept as _blit_v1_StreamsKept, StreamsKept__Output as _blit_v1_StreamsKept__Output } from '../../blit/v1/StreamsKept';
import type { Long } from '@grpc/proto-loader';

export interface NeedBatch {
  'indices'?: (number | string | Long)[];
  'streamsKept'?: (_blit_v1_StreamsKept | null);
}

export interface NeedBatch__Output {
  'indices': (number)[];
  'streamsKept': (_blit_v1_StreamsKept__Output | null);
}
