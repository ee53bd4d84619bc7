// Original file: blit.proto

import type { NeedBatch as _blit_v1_NeedBatch, NeedBatch__Output as _blit_v1_NeedBatch__Output } from '../../blit/v1/NeedBatch';
import type { NeedComplete as _blit_v1_NeedComplete, NeedComplete__Output as _blit_v1_NeedComplete__Output } from '../../blit/v1/NeedComplete';
import type { DataTransferNegotiation as _blit_v1_DataTransferNegotiation, DataTransferNegotiation__Output as _blit_v1_DataTransferNegotiation__Output } from '../../blit/v1/DataTransferNegotiation';
import type { Progress as _blit_v1_Progress, Progress__Output as _blit_v1_Progress__Output } from '../../blit/v1/Progress';
import type { ItemEvent as _blit_v1_ItemEvent, ItemEvent__Output as _blit_v1_ItemEvent__Output } from '../../blit/v1/ItemEvent';
import type { PushSummary as _blit_v1_PushSummary, PushSummary__Output as _blit_v1_PushSummary__Output } from '../../blit/v1/PushSummary';
import type { RemoteError as _blit_v1_RemoteError, RemoteError__Output as _blit_v1_RemoteError__Output } from '../../blit/v1/RemoteError';
import type { Failure as _blit_v1_Failure, Failure__Output as _blit_v1_Failure__Output } from '../../blit/v1/Failure';
import type { ItemBatch as _blit_v1_ItemBatch, ItemBatch__Output as _blit_v1_ItemBatch__Output } from '../../blit/v1/ItemBatch';

export interface PushServerMessage {
  'need'?: (_blit_v1_NeedBatch | null);
  'needComplete'?: (_blit_v1_NeedComplete | null);
  'negotiation'?: (_blit_v1_DataTransferNegotiation | null);
  'progress'?: (_blit_v1_Progress | null);
  'item'?: (_blit_v1_ItemEvent | null);
  'summary'?: (_blit_v1_PushSummary | null);
  'error'?: (_blit_v1_RemoteError | null);
  'fileFailure'?: (_blit_v1_Failure | null);
  'items'?: (_blit_v1_ItemBatch | null);
  'msg'?: "need"|"needComplete"|"negotiation"|"progress"|"item"|"summary"|"error"|"fileFailure"|"items";
}

export interface PushServerMessage__Output {
  'need'?: (_blit_v1_NeedBatch__Output | null);
  'needComplete'?: (_blit_v1_NeedComplete__Output | null);
  'negotiation'?: (_blit_v1_DataTransferNegotiation__Output | null);
  'progress'?: (_blit_v1_Progress__Output | null);
  'item'?: (_blit_v1_ItemEvent__Output | null);
  'summary'?: (_blit_v1_PushSummary__Output | null);
  'error'?: (_blit_v1_RemoteError__Output | null);
  'fileFailure'?: (_blit_v1_Failure__Output | null);
  'items'?: (_blit_v1_ItemBatch__Output | null);
  'msg'?: "need"|"needComplete"|"negotiation"|"progress"|"item"|"summary"|"error"|"fileFailure"|"items";
}
