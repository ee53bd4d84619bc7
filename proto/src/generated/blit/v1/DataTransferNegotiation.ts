// Original file: blit.proto


export interface DataTransferNegotiation {
  'tcpPort'?: (number);
  'token'?: (Buffer | Uint8Array | string);
  'streams'?: (number);
  'tokenTtlMs'?: (number);
  'moveSymlinksDurable'?: (boolean);
  'supportsRdma'?: (boolean);
  'rdmaQp'?: (Buffer | Uint8Array | string);
  'rdmaGid'?: (Buffer | Uint8Array | string);
  'rdmaLid'?: (number);
}

export interface DataTransferNegotiation__Output {
  'tcpPort': (number);
  'token': (Buffer);
  'streams': (number);
  'tokenTtlMs': (number);
  'moveSymlinksDurable': (boolean);
  'supportsRdma': (boolean);
  'rdmaQp': (Buffer);
  'rdmaGid': (Buffer);
  'rdmaLid': (number);
}
