// Original file: blit.proto

import type { JobInfo as _blit_v1_JobInfo, JobInfo__Output as _blit_v1_JobInfo__Output } from '../../blit/v1/JobInfo';
import type { ItemEvent as _blit_v1_ItemEvent, ItemEvent__Output as _blit_v1_ItemEvent__Output } from '../../blit/v1/ItemEvent';
import type { Failure as _blit_v1_Failure, Failure__Output as _blit_v1_Failure__Output } from '../../blit/v1/Failure';
import type { Long } from '@grpc/proto-loader';

export interface JobEvent {
  'job'?: (_blit_v1_JobInfo | null);
  'item'?: (_blit_v1_ItemEvent | null);
  'failure'?: (_blit_v1_Failure | null);
  'droppedEvents'?: (number | string | Long);
  '_droppedEvents'?: "droppedEvents";
}

export interface JobEvent__Output {
  'job': (_blit_v1_JobInfo__Output | null);
  'item': (_blit_v1_ItemEvent__Output | null);
  'failure': (_blit_v1_Failure__Output | null);
  'droppedEvents'?: (number);
  '_droppedEvents'?: "droppedEvents";
}
