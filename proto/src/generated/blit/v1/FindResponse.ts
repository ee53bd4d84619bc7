// Original file: blit.proto

import type { FileEntry as _blit_v1_FileEntry, FileEntry__Output as _blit_v1_FileEntry__Output } from '../../blit/v1/FileEntry';
import type { FileSystemLoop as _blit_v1_FileSystemLoop, FileSystemLoop__Output as _blit_v1_FileSystemLoop__Output } from '../../blit/v1/FileSystemLoop';

export interface FindResponse {
  'entries'?: (_blit_v1_FileEntry)[];
  'loops'?: (_blit_v1_FileSystemLoop)[];
}

export interface FindResponse__Output {
  'entries': (_blit_v1_FileEntry__Output)[];
  'loops': (_blit_v1_FileSystemLoop__Output)[];
}
