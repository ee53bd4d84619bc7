// Original file: blit.proto


export interface CancelJobResponse {
  'cancelled'?: (boolean);
  'message'?: (string);
}

export interface CancelJobResponse__Output {
  'cancelled': (boolean);
  'message': (string);
}
