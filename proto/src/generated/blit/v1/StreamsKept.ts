// Original file: blit.proto


export interface StreamsKept {
  'indices'?: (number)[];
}

export interface StreamsKept__Output {
  'indices': (number)[];
}
