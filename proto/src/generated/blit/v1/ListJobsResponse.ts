// Original file: blit.proto

import type { JobInfo as _blit_v1_JobInfo, JobInfo__Output as _blit_v1_JobInfo__Output } from '../../blit/v1/JobInfo';

export interface ListJobsResponse {
  'jobs'?: (_blit_v1_JobInfo)[];
}

export interface ListJobsResponse__Output {
  'jobs': (_blit_v1_JobInfo__Output)[];
}
