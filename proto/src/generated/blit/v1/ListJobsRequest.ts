// Original file: blit.proto


export interface ListJobsRequest {
  'includeFinished'?: (boolean);
}

export interface ListJobsRequest__Output {
  'includeFinished': (boolean);
}
