// Original file: blit.proto


export interface ModuleInfo {
  'name'?: (string);
  'comment'?: (string);
  'readOnly'?: (boolean);
}

export interface ModuleInfo__Output {
  'name': (string);
  'comment': (string);
  'readOnly': (boolean);
}
