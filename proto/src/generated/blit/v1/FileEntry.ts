// Original file: blit.proto

import type { EntryKind as _blit_v1_EntryKind, EntryKind__Output as _blit_v1_EntryKind__Output } from '../../blit/v1/EntryKind';
import type { Long } from '@grpc/proto-loader';

export interface FileEntry {
  'path'?: (Buffer | Uint8Array | string);
  'kind'?: (_blit_v1_EntryKind);
  'size'?: (number | string | Long);
  'mtimeSec'?: (number | string | Long);
  'mtimeNsec'?: (number);
  'mode'?: (number);
  'uid'?: (number);
  'gid'?: (number);
  'linkTarget'?: (Buffer | Uint8Array | string);
  'checksum'?: (Buffer | Uint8Array | string);
}

export interface FileEntry__Output {
  'path': (Buffer);
  'kind': (_blit_v1_EntryKind__Output);
  'size': (number);
  'mtimeSec': (number);
  'mtimeNsec': (number);
  'mode': (number);
  'uid': (number);
  'gid': (number);
  'linkTarget': (Buffer);
  'checksum': (Buffer);
}
