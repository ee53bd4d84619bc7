// Original file: blit.proto

import type { ItemAction as _blit_v1_ItemAction, ItemAction__Output as _blit_v1_ItemAction__Output } from '../../blit/v1/ItemAction';
import type { EntryKind as _blit_v1_EntryKind, EntryKind__Output as _blit_v1_EntryKind__Output } from '../../blit/v1/EntryKind';
import type { Long } from '@grpc/proto-loader';

export interface ItemEvent {
  'action'?: (_blit_v1_ItemAction);
  'path'?: (Buffer | Uint8Array | string);
  'kind'?: (_blit_v1_EntryKind);
  'size'?: (number | string | Long);
}

export interface ItemEvent__Output {
  'action': (_blit_v1_ItemAction__Output);
  'path': (Buffer);
  'kind': (_blit_v1_EntryKind__Output);
  'size': (number);
}
