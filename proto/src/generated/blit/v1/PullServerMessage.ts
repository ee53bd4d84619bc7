// Original file: blit.proto

import type { ManifestBatch as _blit_v1_ManifestBatch, ManifestBatch__Output as _blit_v1_ManifestBatch__Output } from '../../blit/v1/ManifestBatch';
import type { ManifestComplete as _blit_v1_ManifestComplete, ManifestComplete__Output as _blit_v1_ManifestComplete__Output } from '../../blit/v1/ManifestComplete';
import type { DataTransferNegotiation as _blit_v1_DataTransferNegotiation, DataTransferNegotiation__Output as _blit_v1_DataTransferNegotiation__Output } from '../../blit/v1/DataTransferNegotiation';
import type { FileData as _blit_v1_FileData, FileData__Output as _blit_v1_FileData__Output } from '../../blit/v1/FileData';
import type { RemoteError as _blit_v1_RemoteError, RemoteError__Output as _blit_v1_RemoteError__Output } from '../../blit/v1/RemoteError';
import type { Failure as _blit_v1_Failure, Failure__Output as _blit_v1_Failure__Output } from '../../blit/v1/Failure';
import type { PullSource as _blit_v1_PullSource, PullSource__Output as _blit_v1_PullSource__Output } from '../../blit/v1/PullSource';
import type { SkippedBatch as _blit_v1_SkippedBatch, SkippedBatch__Output as _blit_v1_SkippedBatch__Output } from '../../blit/v1/SkippedBatch';

export interface PullServerMessage {
  'manifest'?: (_blit_v1_ManifestBatch | null);
  'manifestComplete'?: (_blit_v1_ManifestComplete | null);
  'negotiation'?: (_blit_v1_DataTransferNegotiation | null);
  'fileData'?: (_blit_v1_FileData | null);
  'dataComplete'?: (boolean);
  'error'?: (_blit_v1_RemoteError | null);
  'fileFailure'?: (_blit_v1_Failure | null);
  'source'?: (_blit_v1_PullSource | null);
  'removalFailure'?: (_blit_v1_Failure | null);
  'skipped'?: (_blit_v1_SkippedBatch | null);
  'msg'?: "manifest"|"manifestComplete"|"negotiation"|"fileData"|"dataComplete"|"error"|"fileFailure"|"source"|"removalFailure"|"skipped";
}

export interface PullServerMessage__Output {
  'manifest'?: (_blit_v1_ManifestBatch__Output | null);
  'manifestComplete'?: (_blit_v1_ManifestComplete__Output | null);
  'negotiation'?: (_blit_v1_DataTransferNegotiation__Output | null);
  'fileData'?: (_blit_v1_FileData__Output | null);
  'dataComplete'?: (boolean);
  'error'?: (_blit_v1_RemoteError__Output | null);
  'fileFailure'?: (_blit_v1_Failure__Output | null);
  'source'?: (_blit_v1_PullSource__Output | null);
  'removalFailure'?: (_blit_v1_Failure__Output | null);
  'skipped'?: (_blit_v1_SkippedBatch__Output | null);
  'msg'?: "manifest"|"manifestComplete"|"negotiation"|"fileData"|"dataComplete"|"error"|"fileFailure"|"source"|"removalFailure"|"skipped";
}
