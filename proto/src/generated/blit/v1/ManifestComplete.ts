// Original file: blit.proto

import type { Failure as _blit_v1_Failure, Failure__Output as _blit_v1_Failure__Output } from '../../blit/v1/Failure';
import type { Long } from '@grpc/proto-loader';

export interface ManifestComplete {
  'complete'?: (boolean);
  'totalEntries'?: (number | string | Long);
  'scanFailures'?: (_blit_v1_Failure)[];
}

export interface ManifestComplete__Output {
  'complete': (boolean);
  'totalEntries': (number);
  'scanFailures': (_blit_v1_Failure__Output)[];
}
