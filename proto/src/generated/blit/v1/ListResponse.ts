// Original file: blit.proto

import type { FileEntry as _blit_v1_FileEntry, FileEntry__Output as _blit_v1_FileEntry__Output } from '../../blit/v1/FileEntry';

export interface ListResponse {
  'entries'?: (_blit_v1_FileEntry)[];
}

export interface ListResponse__Output {
  'entries': (_blit_v1_FileEntry__Output)[];
}
