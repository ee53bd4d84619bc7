// Original file: blit.proto

import type { JobState as _blit_v1_JobState, JobState__Output as _blit_v1_JobState__Output } from '../../blit/v1/JobState';
import type { Progress as _blit_v1_Progress, Progress__Output as _blit_v1_Progress__Output } from '../../blit/v1/Progress';
import type { PushSummary as _blit_v1_PushSummary, PushSummary__Output as _blit_v1_PushSummary__Output } from '../../blit/v1/PushSummary';
import type { RemoteError as _blit_v1_RemoteError, RemoteError__Output as _blit_v1_RemoteError__Output } from '../../blit/v1/RemoteError';
import type { Long } from '@grpc/proto-loader';

export interface JobInfo {
  'id'?: (string);
  'label'?: (string);
  'kind'?: (string);
  'state'?: (_blit_v1_JobState);
  'progress'?: (_blit_v1_Progress | null);
  'bytesPerSecond'?: (number | string);
  'etaSeconds'?: (number | string);
  'startedAtMs'?: (number | string | Long);
  'finishedAtMs'?: (number | string | Long);
  'summary'?: (_blit_v1_PushSummary | null);
  'error'?: (_blit_v1_RemoteError | null);
  'inFlight'?: (Buffer | Uint8Array | string)[];
}

export interface JobInfo__Output {
  'id': (string);
  'label': (string);
  'kind': (string);
  'state': (_blit_v1_JobState__Output);
  'progress': (_blit_v1_Progress__Output | null);
  'bytesPerSecond': (number);
  'etaSeconds': (number);
  'startedAtMs': (number);
  'finishedAtMs': (number);
  'summary': (_blit_v1_PushSummary__Output | null);
  'error': (_blit_v1_RemoteError__Output | null);
  'inFlight': (Buffer)[];
}
