// Original file: blit.proto

import type { GitignoreFile as _blit_v1_GitignoreFile, GitignoreFile__Output as _blit_v1_GitignoreFile__Output } from '../../blit/v1/GitignoreFile';

export interface FilterSpec {
  'excludes'?: (string)[];
  'includes'?: (string)[];
  'filesFrom'?: (Buffer | Uint8Array | string)[];
  'gitignore'?: (boolean);
  'gitignoreFiles'?: (_blit_v1_GitignoreFile)[];
  'hasFilesFrom'?: (boolean);
}

export interface FilterSpec__Output {
  'excludes': (string)[];
  'includes': (string)[];
  'filesFrom': (Buffer)[];
  'gitignore': (boolean);
  'gitignoreFiles': (_blit_v1_GitignoreFile__Output)[];
  'hasFilesFrom': (boolean);
}
