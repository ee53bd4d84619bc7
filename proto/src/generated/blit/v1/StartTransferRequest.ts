// Original file: blit.proto

import type { TransferOptions as _blit_v1_TransferOptions, TransferOptions__Output as _blit_v1_TransferOptions__Output } from '../../blit/v1/TransferOptions';

export interface StartTransferRequest {
  'source'?: (string);
  'destination'?: (string);
  'options'?: (_blit_v1_TransferOptions | null);
  'label'?: (string);
}

export interface StartTransferRequest__Output {
  'source': (string);
  'destination': (string);
  'options': (_blit_v1_TransferOptions__Output | null);
  'label': (string);
}
