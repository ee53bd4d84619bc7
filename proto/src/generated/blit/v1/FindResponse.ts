// Original file: blit.proto

import type { FileEntry as _blit_v1_FileEntry, FileEntry__Output as _blit_v1_FileEntry__Output } from '../../blit/v1/FileEntry';
import type { FileSystemLoop as _blit_v1_FileSystemLoop, FileSystemLoop__Output as _blit_v1_FileSystemLoop__Output } from '../../blit/v1/FileSystemLoop';
import type { Failure as _blit_v1_Failure, Failure__Output as _blit_v1_Failure__Output } from '../../blit/v1/Failure';
import type { Long } from '@grpc/proto-loader';

export interface FindResponse {
  'entries'?: (_blit_v1_FileEntry)[];
  'loops'?: (_blit_v1_FileSystemLoop)[];
  'unreadable'?: (_blit_v1_Failure)[];
  'leftOutUnnamed'?: (number | string | Long);
}

export interface FindResponse__Output {
  'entries': (_blit_v1_FileEntry__Output)[];
  'loops': (_blit_v1_FileSystemLoop__Output)[];
  'unreadable': (_blit_v1_Failure__Output)[];
  'leftOutUnnamed': (number);
}
