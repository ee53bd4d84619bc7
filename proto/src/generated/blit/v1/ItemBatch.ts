// Original file: blit.proto

import type { ItemEvent as _blit_v1_ItemEvent, ItemEvent__Output as _blit_v1_ItemEvent__Output } from '../../blit/v1/ItemEvent';

export interface ItemBatch {
  'items'?: (_blit_v1_ItemEvent)[];
}

export interface ItemBatch__Output {
  'items': (_blit_v1_ItemEvent__Output)[];
}
