// Original file: blit.proto


export interface HandshakeRequest {
  'protocolVersion'?: (number);
  'clientVersion'?: (string);
}

export interface HandshakeRequest__Output {
  'protocolVersion': (number);
  'clientVersion': (string);
}
