// Original file: blit.proto


export interface HandshakeResponse {
  'protocolVersion'?: (number);
  'serverVersion'?: (string);
  'accepted'?: (boolean);
  'message'?: (string);
  'capabilities'?: (string)[];
}

export interface HandshakeResponse__Output {
  'protocolVersion': (number);
  'serverVersion': (string);
  'accepted': (boolean);
  'message': (string);
  'capabilities': (string)[];
}
