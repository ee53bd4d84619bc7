// Original file: blit.proto


export interface FilesystemStatsRequest {
  'module'?: (string);
}

export interface FilesystemStatsRequest__Output {
  'module': (string);
}
