// Original file: blit.proto


export interface ListModulesRequest {
}

export interface ListModulesRequest__Output {
}
