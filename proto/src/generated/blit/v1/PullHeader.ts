// Original file: blit.proto

import type { TransferOptions as _blit_v1_TransferOptions, TransferOptions__Output as _blit_v1_TransferOptions__Output } from '../../blit/v1/TransferOptions';

export interface PullHeader {
  'protocolVersion'?: (number);
  'module'?: (string);
  'path'?: (Buffer | Uint8Array | string);
  'options'?: (_blit_v1_TransferOptions | null);
  'clientVersion'?: (string);
  'removeEmptiedRoot'?: (boolean);
}

export interface PullHeader__Output {
  'protocolVersion': (number);
  'module': (string);
  'path': (Buffer);
  'options': (_blit_v1_TransferOptions__Output | null);
  'clientVersion': (string);
  'removeEmptiedRoot': (boolean);
}
