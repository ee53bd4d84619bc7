// Original file: blit.proto

import type { TransferMode as _blit_v1_TransferMode, TransferMode__Output as _blit_v1_TransferMode__Output } from '../../blit/v1/TransferMode';
import type { CompareMode as _blit_v1_CompareMode, CompareMode__Output as _blit_v1_CompareMode__Output } from '../../blit/v1/CompareMode';
import type { FilterSpec as _blit_v1_FilterSpec, FilterSpec__Output as _blit_v1_FilterSpec__Output } from '../../blit/v1/FilterSpec';

export interface TransferOptions {
  'mode'?: (_blit_v1_TransferMode);
  'compare'?: (_blit_v1_CompareMode);
  'ignoreExisting'?: (boolean);
  'filter'?: (_blit_v1_FilterSpec | null);
  'dryRun'?: (boolean);
  'deleteConfirmed'?: (boolean);
  'forceGrpcData'?: (boolean);
  'mkpath'?: (boolean);
}

export interface TransferOptions__Output {
  'mode': (_blit_v1_TransferMode__Output);
  'compare': (_blit_v1_CompareMode__Output);
  'ignoreExisting': (boolean);
  'filter': (_blit_v1_FilterSpec__Output | null);
  'dryRun': (boolean);
  'deleteConfirmed': (boolean);
  'forceGrpcData': (boolean);
  'mkpath': (boolean);
}
