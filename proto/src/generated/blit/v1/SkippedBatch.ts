// Original file: blit.proto

import type { SkippedEntry as _blit_v1_SkippedEntry, SkippedEntry__Output as _blit_v1_SkippedEntry__Output } from '../../blit/v1/SkippedEntry';

export interface SkippedBatch {
  'entries'?: (_blit_v1_SkippedEntry)[];
}

export interface SkippedBatch__Output {
  'entries': (_blit_v1_SkippedEntry__Output)[];
}
