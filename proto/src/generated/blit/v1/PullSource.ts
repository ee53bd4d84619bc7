// Original file: blit.proto


export interface PullSource {
  'isDir'?: (boolean);
}

export interface PullSource__Output {
  'isDir': (boolean);
}
