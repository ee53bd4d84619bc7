// Original file: blit.proto

import type { Long } from '@grpc/proto-loader';

export interface Progress {
  'filesDone'?: (number | string | Long);
  'bytesDone'?: (number | string | Long);
  'filesPlanned'?: (number | string | Long);
  'bytesPlanned'?: (number | string | Long);
  'scanComplete'?: (boolean);
}

export interface Progress__Output {
  'filesDone': (number);
  'bytesDone': (number);
  'filesPlanned': (number);
  'bytesPlanned': (number);
  'scanComplete': (boolean);
}
