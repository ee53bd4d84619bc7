// Original file: blit.proto

import type { PullHeader as _blit_v1_PullHeader, PullHeader__Output as _blit_v1_PullHeader__Output } from '../../blit/v1/PullHeader';
import type { NeedBatch as _blit_v1_NeedBatch, NeedBatch__Output as _blit_v1_NeedBatch__Output } from '../../blit/v1/NeedBatch';
import type { NeedComplete as _blit_v1_NeedComplete, NeedComplete__Output as _blit_v1_NeedComplete__Output } from '../../blit/v1/NeedComplete';
import type { Committed as _blit_v1_Committed, Committed__Output as _blit_v1_Committed__Output } from '../../blit/v1/Committed';

export interface PullClientMessage {
  'header'?: (_blit_v1_PullHeader | null);
  'need'?: (_blit_v1_NeedBatch | null);
  'needComplete'?: (_blit_v1_NeedComplete | null);
  'done'?: (boolean);
  'committed'?: (_blit_v1_Committed | null);
  'msg'?: "header"|"need"|"needComplete"|"done"|"committed";
}

export interface PullClientMessage__Output {
  'header'?: (_blit_v1_PullHeader__Output | null);
  'need'?: (_blit_v1_NeedBatch__Output | null);
  'needComplete'?: (_blit_v1_NeedComplete__Output | null);
  'done'?: (boolean);
  'committed'?: (_blit_v1_Committed__Output | null);
  'msg'?: "header"|"need"|"needComplete"|"done"|"committed";
}
