// Original file: blit.proto


export interface StartTransferResponse {
  'jobId'?: (string);
}

export interface StartTransferResponse__Output {
  'jobId': (string);
}
