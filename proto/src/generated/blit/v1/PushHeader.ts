// Original file: blit.proto

import type { TransferOptions as _blit_v1_TransferOptions, TransferOptions__Output as _blit_v1_TransferOptions__Output } from '../../blit/v1/TransferOptions';

export interface PushHeader {
  'protocolVersion'?: (number);
  'module'?: (string);
  'path'?: (Buffer | Uint8Array | string);
  'options'?: (_blit_v1_TransferOptions | null);
  'singleFile'?: (boolean);
  'intoDirectory'?: (boolean);
  'clientVersion'?: (string);
  'namedSource'?: (boolean);
}

export interface PushHeader__Output {
  'protocolVersion': (number);
  'module': (string);
  'path': (Buffer);
  'options': (_blit_v1_TransferOptions__Output | null);
  'singleFile': (boolean);
  'intoDirectory': (boolean);
  'clientVersion': (string);
  'namedSource': (boolean);
}
