// Original file: blit.proto

import type { FileEntry as _blit_v1_FileEntry, FileEntry__Output as _blit_v1_FileEntry__Output } from '../../blit/v1/FileEntry';

export interface ManifestBatch {
  'entries'?: (_blit_v1_FileEntry)[];
  'packed'?: (Buffer | Uint8Array | string);
}

export interface ManifestBatch__Output {
  'entries': (_blit_v1_FileEntry__Output)[];
  'packed': (Buffer);
}
