// Original file: blit.proto

import type { Failure as _blit_v1_Failure, Failure__Output as _blit_v1_Failure__Output } from '../../blit/v1/Failure';
import type { Long } from '@grpc/proto-loader';

export interface PushSummary {
  'filesTransferred'?: (number | string | Long);
  'bytesTransferred'?: (number | string | Long);
  'entriesDeleted'?: (number | string | Long);
  'deletionsSkipped'?: (number | string | Long);
  'filesUnchanged'?: (number | string | Long);
  'failures'?: (_blit_v1_Failure)[];
  'durationMs'?: (number | string | Long);
  'bytesPerSecond'?: (number | string);
  'zeroCopy'?: (boolean);
  'tcpDataPlane'?: (boolean);
  'dryRun'?: (boolean);
  'dirsCreated'?: (number | string | Long);
  'symlinksCreated'?: (number | string | Long);
  'skippedInFailedDirs'?: (number | string | Long);
}

export interface PushSummary__Output {
  'filesTransferred': (number);
  'bytesTransferred': (number);
  'entriesDeleted': (number);
  'deletionsSkipped': (number);
  'filesUnchanged': (number);
  'failures': (_blit_v1_Failure__Output)[];
  'durationMs': (number);
  'bytesPerSecond': (number);
  'zeroCopy': (boolean);
  'tcpDataPlane': (boolean);
  'dryRun': (boolean);
  'dirsCreated': (number);
  'symlinksCreated': (number);
  'skippedInFailedDirs': (number);
}
