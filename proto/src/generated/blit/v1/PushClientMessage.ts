// Original file: blit.proto

import type { PushHeader as _blit_v1_PushHeader, PushHeader__Output as _blit_v1_PushHeader__Output } from '../../blit/v1/PushHeader';
import type { ManifestBatch as _blit_v1_ManifestBatch, ManifestBatch__Output as _blit_v1_ManifestBatch__Output } from '../../blit/v1/ManifestBatch';
import type { ManifestComplete as _blit_v1_ManifestComplete, ManifestComplete__Output as _blit_v1_ManifestComplete__Output } from '../../blit/v1/ManifestComplete';
import type { FileData as _blit_v1_FileData, FileData__Output as _blit_v1_FileData__Output } from '../../blit/v1/FileData';

export interface PushClientMessage {
  'header'?: (_blit_v1_PushHeader | null);
  'manifest'?: (_blit_v1_ManifestBatch | null);
  'manifestComplete'?: (_blit_v1_ManifestComplete | null);
  'fileData'?: (_blit_v1_FileData | null);
  'dataComplete'?: (boolean);
  'msg'?: "header"|"manifest"|"manifestComplete"|"fileData"|"dataComplete";
}

export interface PushClientMessage__Output {
  'header'?: (_blit_v1_PushHeader__Output | null);
  'manifest'?: (_blit_v1_ManifestBatch__Output | null);
  'manifestComplete'?: (_blit_v1_ManifestComplete__Output | null);
  'fileData'?: (_blit_v1_FileData__Output | null);
  'dataComplete'?: (boolean);
  'msg'?: "header"|"manifest"|"manifestComplete"|"fileData"|"dataComplete";
}
