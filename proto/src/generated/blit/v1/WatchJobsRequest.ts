// Original file: blit.proto


export interface WatchJobsRequest {
  'jobId'?: (string);
}

export interface WatchJobsRequest__Output {
  'jobId': (string);
}
