// Original file: blit.proto

import type { FileSystemLoop as _blit_v1_FileSystemLoop, FileSystemLoop__Output as _blit_v1_FileSystemLoop__Output } from '../../blit/v1/FileSystemLoop';
import type { Failure as _blit_v1_Failure, Failure__Output as _blit_v1_Failure__Output } from '../../blit/v1/Failure';
import type { Long } from '@grpc/proto-loader';

export interface DiskUsageResponse {
  'bytes'?: (number | string | Long);
  'allocatedBytes'?: (number | string | Long);
  'files'?: (number | string | Long);
  'dirs'?: (number | string | Long);
  'symlinks'?: (number | string | Long);
  'loops'?: (_blit_v1_FileSystemLoop)[];
  'unreadable'?: (_blit_v1_Failure)[];
  'leftOutUnnamed'?: (number | string | Long);
}

export interface DiskUsageResponse__Output {
  'bytes': (number);
  'allocatedBytes': (number);
  'files': (number);
  'dirs': (number);
  'symlinks': (number);
  'loops': (_blit_v1_FileSystemLoop__Output)[];
  'unreadable': (_blit_v1_Failure__Output)[];
  'leftOutUnnamed': (number);
}
