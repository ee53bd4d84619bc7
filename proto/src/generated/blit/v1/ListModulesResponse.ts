// Original file: blit.proto

import type { ModuleInfo as _blit_v1_ModuleInfo, ModuleInfo__Output as _blit_v1_ModuleInfo__Output } from '../../blit/v1/ModuleInfo';

export interface ListModulesResponse {
  'modules'?: (_blit_v1_ModuleInfo)[];
}

export interface ListModulesResponse__Output {
  'modules': (_blit_v1_ModuleInfo__Output)[];
}
