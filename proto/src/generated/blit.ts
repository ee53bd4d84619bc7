import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { BlitClient as _blit_v1_BlitClient, BlitDefinition as _blit_v1_BlitDefinition } from './blit/v1/Blit';
import type { CancelJobRequest as _blit_v1_CancelJobRequest, CancelJobRequest__Output as _blit_v1_CancelJobRequest__Output } from './blit/v1/CancelJobRequest';
import type { CancelJobResponse as _blit_v1_CancelJobResponse, CancelJobResponse__Output as _blit_v1_CancelJobResponse__Output } from './blit/v1/CancelJobResponse';
import type { Committed as _blit_v1_Committed, Committed__Output as _blit_v1_Committed__Output } from './blit/v1/Committed';
import type { DataTransferNegotiation as _blit_v1_DataTransferNegotiation, DataTransferNegotiation__Output as _blit_v1_DataTransferNegotiation__Output } from './blit/v1/DataTransferNegotiation';
import type { DiskUsageRequest as _blit_v1_DiskUsageRequest, DiskUsageRequest__Output as _blit_v1_DiskUsageRequest__Output } from './blit/v1/DiskUsageRequest';
import type { DiskUsageResponse as _blit_v1_DiskUsageResponse, DiskUsageResponse__Output as _blit_v1_DiskUsageResponse__Output } from './blit/v1/DiskUsageResponse';
import type { Failure as _blit_v1_Failure, Failure__Output as _blit_v1_Failure__Output } from './blit/v1/Failure';
import type { FileData as _blit_v1_FileData, FileData__Output as _blit_v1_FileData__Output } from './blit/v1/FileData';
import type { FileEntry as _blit_v1_FileEntry, FileEntry__Output as _blit_v1_FileEntry__Output } from './blit/v1/FileEntry';
import type { FileSystemLoop as _blit_v1_FileSystemLoop, FileSystemLoop__Output as _blit_v1_FileSystemLoop__Output } from './blit/v1/FileSystemLoop';
import type { FilesystemStatsRequest as _blit_v1_FilesystemStatsRequest, FilesystemStatsRequest__Output as _blit_v1_FilesystemStatsRequest__Output } from './blit/v1/FilesystemStatsRequest';
import type { FilesystemStatsResponse as _blit_v1_FilesystemStatsResponse, FilesystemStatsResponse__Output as _blit_v1_FilesystemStatsResponse__Output } from './blit/v1/FilesystemStatsResponse';
import type { FilterSpec as _blit_v1_FilterSpec, FilterSpec__Output as _blit_v1_FilterSpec__Output } from './blit/v1/FilterSpec';
import type { FindRequest as _blit_v1_FindRequest, FindRequest__Output as _blit_v1_FindRequest__Output } from './blit/v1/FindRequest';
import type { FindResponse as _blit_v1_FindResponse, FindResponse__Output as _blit_v1_FindResponse__Output } from './blit/v1/FindResponse';
import type { GitignoreFile as _blit_v1_GitignoreFile, GitignoreFile__Output as _blit_v1_GitignoreFile__Output } from './blit/v1/GitignoreFile';
import type { HandshakeRequest as _blit_v1_HandshakeRequest, HandshakeRequest__Output as _blit_v1_HandshakeRequest__Output } from './blit/v1/HandshakeRequest';
import type { HandshakeResponse as _blit_v1_HandshakeResponse, HandshakeResponse__Output as _blit_v1_HandshakeResponse__Output } from './blit/v1/HandshakeResponse';
import type { ItemBatch as _blit_v1_ItemBatch, ItemBatch__Output as _blit_v1_ItemBatch__Output } from './blit/v1/ItemBatch';
import type { ItemEvent as _blit_v1_ItemEvent, ItemEvent__Output as _blit_v1_ItemEvent__Output } from './blit/v1/ItemEvent';
import type { JobEvent as _blit_v1_JobEvent, JobEvent__Output as _blit_v1_JobEvent__Output } from './blit/v1/JobEvent';
import type { JobInfo as _blit_v1_JobInfo, JobInfo__Output as _blit_v1_JobInfo__Output } from './blit/v1/JobInfo';
import type { ListJobsRequest as _blit_v1_ListJobsRequest, ListJobsRequest__Output as _blit_v1_ListJobsRequest__Output } from './blit/v1/ListJobsRequest';
import type { ListJobsResponse as _blit_v1_ListJobsResponse, ListJobsResponse__Output as _blit_v1_ListJobsResponse__Output } from './blit/v1/ListJobsResponse';
import type { ListModulesRequest as _blit_v1_ListModulesRequest, ListModulesRequest__Output as _blit_v1_ListModulesRequest__Output } from './blit/v1/ListModulesRequest';
import type { ListModulesResponse as _blit_v1_ListModulesResponse, ListModulesResponse__Output as _blit_v1_ListModulesResponse__Output } from './blit/v1/ListModulesResponse';
import type { ListRequest as _blit_v1_ListRequest, ListRequest__Output as _blit_v1_ListRequest__Output } from './blit/v1/ListRequest';
import type { ListResponse as _blit_v1_ListResponse, ListResponse__Output as _blit_v1_ListResponse__Output } from './blit/v1/ListResponse';
import type { ManifestBatch as _blit_v1_ManifestBatch, ManifestBatch__Output as _blit_v1_ManifestBatch__Output } from './blit/v1/ManifestBatch';
import type { ManifestComplete as _blit_v1_ManifestComplete, ManifestComplete__Output as _blit_v1_ManifestComplete__Output } from './blit/v1/ManifestComplete';
import type { ModuleInfo as _blit_v1_ModuleInfo, ModuleInfo__Output as _blit_v1_ModuleInfo__Output } from './blit/v1/ModuleInfo';
import type { NeedBatch as _blit_v1_NeedBatch, NeedBatch__Output as _blit_v1_NeedBatch__Output } from './blit/v1/NeedBatch';
import type { NeedComplete as _blit_v1_NeedComplete, NeedComplete__Output as _blit_v1_NeedComplete__Output } from './blit/v1/NeedComplete';
import type { Progress as _blit_v1_Progress, Progress__Output as _blit_v1_Progress__Output } from './blit/v1/Progress';
import type { PullClientMessage as _blit_v1_PullClientMessage, PullClientMessage__Output as _blit_v1_PullClientMessage__Output } from './blit/v1/PullClientMessage';
import type { PullHeader as _blit_v1_PullHeader, PullHeader__Output as _blit_v1_PullHeader__Output } from './blit/v1/PullHeader';
import type { PullServerMessage as _blit_v1_PullServerMessage, PullServerMessage__Output as _blit_v1_PullServerMessage__Output } from './blit/v1/PullServerMessage';
import type { PullSource as _blit_v1_PullSource, PullSource__Output as _blit_v1_PullSource__Output } from './blit/v1/PullSource';
import type { PurgeRequest as _blit_v1_PurgeRequest, PurgeRequest__Output as _blit_v1_PurgeRequest__Output } from './blit/v1/PurgeRequest';
import type { PurgeResponse as _blit_v1_PurgeResponse, PurgeResponse__Output as _blit_v1_PurgeResponse__Output } from './blit/v1/PurgeResponse';
import type { PushClientMessage as _blit_v1_PushClientMessage, PushClientMessage__Output as _blit_v1_PushClientMessage__Output } from './blit/v1/PushClientMessage';
import type { PushHeader as _blit_v1_PushHeader, PushHeader__Output as _blit_v1_PushHeader__Output } from './blit/v1/PushHeader';
import type { PushServerMessage as _blit_v1_PushServerMessage, PushServerMessage__Output as _blit_v1_PushServerMessage__Output } from './blit/v1/PushServerMessage';
import type { PushSummary as _blit_v1_PushSummary, PushSummary__Output as _blit_v1_PushSummary__Output } from './blit/v1/PushSummary';
import type { RemoteError as _blit_v1_RemoteError, RemoteError__Output as _blit_v1_RemoteError__Output } from './blit/v1/RemoteError';
import type { SkippedBatch as _blit_v1_SkippedBatch, SkippedBatch__Output as _blit_v1_SkippedBatch__Output } from './blit/v1/SkippedBatch';
import type { SkippedEntry as _blit_v1_SkippedEntry, SkippedEntry__Output as _blit_v1_SkippedEntry__Output } from './blit/v1/SkippedEntry';
import type { StartTransferRequest as _blit_v1_StartTransferRequest, StartTransferRequest__Output as _blit_v1_StartTransferRequest__Output } from './blit/v1/StartTransferRequest';
import type { StartTransferResponse as _blit_v1_StartTransferResponse, StartTransferResponse__Output as _blit_v1_StartTransferResponse__Output } from './blit/v1/StartTransferResponse';
import type { StreamsKept as _blit_v1_StreamsKept, StreamsKept__Output as _blit_v1_StreamsKept__Output } from './blit/v1/StreamsKept';
import type { TransferOptions as _blit_v1_TransferOptions, TransferOptions__Output as _blit_v1_TransferOptions__Output } from './blit/v1/TransferOptions';
import type { WatchJobsRequest as _blit_v1_WatchJobsRequest, WatchJobsRequest__Output as _blit_v1_WatchJobsRequest__Output } from './blit/v1/WatchJobsRequest';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  blit: {
    v1: {
      Blit: SubtypeConstructor<typeof grpc.Client, _blit_v1_BlitClient> & { service: _blit_v1_BlitDefinition }
      CancelJobRequest: MessageTypeDefinition<_blit_v1_CancelJobRequest, _blit_v1_CancelJobRequest__Output>
      CancelJobResponse: MessageTypeDefinition<_blit_v1_CancelJobResponse, _blit_v1_CancelJobResponse__Output>
      Committed: MessageTypeDefinition<_blit_v1_Committed, _blit_v1_Committed__Output>
      CompareMode: EnumTypeDefinition
      DataTransferNegotiation: MessageTypeDefinition<_blit_v1_DataTransferNegotiation, _blit_v1_DataTransferNegotiation__Output>
      DiskUsageRequest: MessageTypeDefinition<_blit_v1_DiskUsageRequest, _blit_v1_DiskUsageRequest__Output>
      DiskUsageResponse: MessageTypeDefinition<_blit_v1_DiskUsageResponse, _blit_v1_DiskUsageResponse__Output>
      EntryKind: EnumTypeDefinition
      Failure: MessageTypeDefinition<_blit_v1_Failure, _blit_v1_Failure__Output>
      FileData: MessageTypeDefinition<_blit_v1_FileData, _blit_v1_FileData__Output>
      FileEntry: MessageTypeDefinition<_blit_v1_FileEntry, _blit_v1_FileEntry__Output>
      FileSystemLoop: MessageTypeDefinition<_blit_v1_FileSystemLoop, _blit_v1_FileSystemLoop__Output>
      FilesystemStatsRequest: MessageTypeDefinition<_blit_v1_FilesystemStatsRequest, _blit_v1_FilesystemStatsRequest__Output>
      FilesystemStatsResponse: MessageTypeDefinition<_blit_v1_FilesystemStatsResponse, _blit_v1_FilesystemStatsResponse__Output>
      FilterSpec: MessageTypeDefinition<_blit_v1_FilterSpec, _blit_v1_FilterSpec__Output>
      FindRequest: MessageTypeDefinition<_blit_v1_FindRequest, _blit_v1_FindRequest__Output>
      FindResponse: MessageTypeDefinition<_blit_v1_FindResponse, _blit_v1_FindResponse__Output>
      GitignoreFile: MessageTypeDefinition<_blit_v1_GitignoreFile, _blit_v1_GitignoreFile__Output>
      HandshakeRequest: MessageTypeDefinition<_blit_v1_HandshakeRequest, _blit_v1_HandshakeRequest__Output>
      HandshakeResponse: MessageTypeDefinition<_blit_v1_HandshakeResponse, _blit_v1_HandshakeResponse__Output>
      ItemAction: EnumTypeDefinition
      ItemBatch: MessageTypeDefinition<_blit_v1_ItemBatch, _blit_v1_ItemBatch__Output>
      ItemEvent: MessageTypeDefinition<_blit_v1_ItemEvent, _blit_v1_ItemEvent__Output>
      JobEvent: MessageTypeDefinition<_blit_v1_JobEvent, _blit_v1_JobEvent__Output>
      JobInfo: MessageTypeDefinition<_blit_v1_JobInfo, _blit_v1_JobInfo__Output>
      JobState: EnumTypeDefinition
      ListJobsRequest: MessageTypeDefinition<_blit_v1_ListJobsRequest, _blit_v1_ListJobsRequest__Output>
      ListJobsResponse: MessageTypeDefinition<_blit_v1_ListJobsResponse, _blit_v1_ListJobsResponse__Output>
      ListModulesRequest: MessageTypeDefinition<_blit_v1_ListModulesRequest, _blit_v1_ListModulesRequest__Output>
      ListModulesResponse: MessageTypeDefinition<_blit_v1_ListModulesResponse, _blit_v1_ListModulesResponse__Output>
      ListRequest: MessageTypeDefinition<_blit_v1_ListRequest, _blit_v1_ListRequest__Output>
      ListResponse: MessageTypeDefinition<_blit_v1_ListResponse, _blit_v1_ListResponse__Output>
      ManifestBatch: MessageTypeDefinition<_blit_v1_ManifestBatch, _blit_v1_ManifestBatch__Output>
      ManifestComplete: MessageTypeDefinition<_blit_v1_ManifestComplete, _blit_v1_ManifestComplete__Output>
      ModuleInfo: MessageTypeDefinition<_blit_v1_ModuleInfo, _blit_v1_ModuleInfo__Output>
      NeedBatch: MessageTypeDefinition<_blit_v1_NeedBatch, _blit_v1_NeedBatch__Output>
      NeedComplete: MessageTypeDefinition<_blit_v1_NeedComplete, _blit_v1_NeedComplete__Output>
      Progress: MessageTypeDefinition<_blit_v1_Progress, _blit_v1_Progress__Output>
      PullClientMessage: MessageTypeDefinition<_blit_v1_PullClientMessage, _blit_v1_PullClientMessage__Output>
      PullHeader: MessageTypeDefinition<_blit_v1_PullHeader, _blit_v1_PullHeader__Output>
      PullServerMessage: MessageTypeDefinition<_blit_v1_PullServerMessage, _blit_v1_PullServerMessage__Output>
      PullSource: MessageTypeDefinition<_blit_v1_PullSource, _blit_v1_PullSource__Output>
      PurgeRequest: MessageTypeDefinition<_blit_v1_PurgeRequest, _blit_v1_PurgeRequest__Output>
      PurgeResponse: MessageTypeDefinition<_blit_v1_PurgeResponse, _blit_v1_PurgeResponse__Output>
      PushClientMessage: MessageTypeDefinition<_blit_v1_PushClientMessage, _blit_v1_PushClientMessage__Output>
      PushHeader: MessageTypeDefinition<_blit_v1_PushHeader, _blit_v1_PushHeader__Output>
      PushServerMessage: MessageTypeDefinition<_blit_v1_PushServerMessage, _blit_v1_PushServerMessage__Output>
      PushSummary: MessageTypeDefinition<_blit_v1_PushSummary, _blit_v1_PushSummary__Output>
      RemoteError: MessageTypeDefinition<_blit_v1_RemoteError, _blit_v1_RemoteError__Output>
      SkippedBatch: MessageTypeDefinition<_blit_v1_SkippedBatch, _blit_v1_SkippedBatch__Output>
      SkippedEntry: MessageTypeDefinition<_blit_v1_SkippedEntry, _blit_v1_SkippedEntry__Output>
      StartTransferRequest: MessageTypeDefinition<_blit_v1_StartTransferRequest, _blit_v1_StartTransferRequest__Output>
      StartTransferResponse: MessageTypeDefinition<_blit_v1_StartTransferResponse, _blit_v1_StartTransferResponse__Output>
      StreamsKept: MessageTypeDefinition<_blit_v1_StreamsKept, _blit_v1_StreamsKept__Output>
      TransferMode: EnumTypeDefinition
      TransferOptions: MessageTypeDefinition<_blit_v1_TransferOptions, _blit_v1_TransferOptions__Output>
      WatchJobsRequest: MessageTypeDefinition<_blit_v1_WatchJobsRequest, _blit_v1_WatchJobsRequest__Output>
    }
  }
}

