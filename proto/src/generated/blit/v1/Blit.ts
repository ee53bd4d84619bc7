// Original file: blit.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { CancelJobRequest as _blit_v1_CancelJobRequest, CancelJobRequest__Output as _blit_v1_CancelJobRequest__Output } from '../../blit/v1/CancelJobRequest';
import type { CancelJobResponse as _blit_v1_CancelJobResponse, CancelJobResponse__Output as _blit_v1_CancelJobResponse__Output } from '../../blit/v1/CancelJobResponse';
import type { DiskUsageRequest as _blit_v1_DiskUsageRequest, DiskUsageRequest__Output as _blit_v1_DiskUsageRequest__Output } from '../../blit/v1/DiskUsageRequest';
import type { DiskUsageResponse as _blit_v1_DiskUsageResponse, DiskUsageResponse__Output as _blit_v1_DiskUsageResponse__Output } from '../../blit/v1/DiskUsageResponse';
import type { FilesystemStatsRequest as _blit_v1_FilesystemStatsRequest, FilesystemStatsRequest__Output as _blit_v1_FilesystemStatsRequest__Output } from '../../blit/v1/FilesystemStatsRequest';
import type { FilesystemStatsResponse as _blit_v1_FilesystemStatsResponse, FilesystemStatsResponse__Output as _blit_v1_FilesystemStatsResponse__Output } from '../../blit/v1/FilesystemStatsResponse';
import type { FindRequest as _blit_v1_FindRequest, FindRequest__Output as _blit_v1_FindRequest__Output } from '../../blit/v1/FindRequest';
import type { FindResponse as _blit_v1_FindResponse, FindResponse__Output as _blit_v1_FindResponse__Output } from '../../blit/v1/FindResponse';
import type { HandshakeRequest as _blit_v1_HandshakeRequest, HandshakeRequest__Output as _blit_v1_HandshakeRequest__Output } from '../../blit/v1/HandshakeRequest';
import type { HandshakeResponse as _blit_v1_HandshakeResponse, HandshakeResponse__Output as _blit_v1_HandshakeResponse__Output } from '../../blit/v1/HandshakeResponse';
import type { JobEvent as _blit_v1_JobEvent, JobEvent__Output as _blit_v1_JobEvent__Output } from '../../blit/v1/JobEvent';
import type { ListJobsRequest as _blit_v1_ListJobsRequest, ListJobsRequest__Output as _blit_v1_ListJobsRequest__Output } from '../../blit/v1/ListJobsRequest';
import type { ListJobsResponse as _blit_v1_ListJobsResponse, ListJobsResponse__Output as _blit_v1_ListJobsResponse__Output } from '../../blit/v1/ListJobsResponse';
import type { ListModulesRequest as _blit_v1_ListModulesRequest, ListModulesRequest__Output as _blit_v1_ListModulesRequest__Output } from '../../blit/v1/ListModulesRequest';
import type { ListModulesResponse as _blit_v1_ListModulesResponse, ListModulesResponse__Output as _blit_v1_ListModulesResponse__Output } from '../../blit/v1/ListModulesResponse';
import type { ListRequest as _blit_v1_ListRequest, ListRequest__Output as _blit_v1_ListRequest__Output } from '../../blit/v1/ListRequest';
import type { ListResponse as _blit_v1_ListResponse, ListResponse__Output as _blit_v1_ListResponse__Output } from '../../blit/v1/ListResponse';
import type { PullClientMessage as _blit_v1_PullClientMessage, PullClientMessage__Output as _blit_v1_PullClientMessage__Output } from '../../blit/v1/PullClientMessage';
import type { PullServerMessage as _blit_v1_PullServerMessage, PullServerMessage__Output as _blit_v1_PullServerMessage__Output } from '../../blit/v1/PullServerMessage';
import type { PurgeRequest as _blit_v1_PurgeRequest, PurgeRequest__Output as _blit_v1_PurgeRequest__Output } from '../../blit/v1/PurgeRequest';
import type { PurgeResponse as _blit_v1_PurgeResponse, PurgeResponse__Output as _blit_v1_PurgeResponse__Output } from '../../blit/v1/PurgeResponse';
import type { PushClientMessage as _blit_v1_PushClientMessage, PushClientMessage__Output as _blit_v1_PushClientMessage__Output } from '../../blit/v1/PushClientMessage';
import type { PushServerMessage as _blit_v1_PushServerMessage, PushServerMessage__Output as _blit_v1_PushServerMessage__Output } from '../../blit/v1/PushServerMessage';
import type { StartTransferRequest as _blit_v1_StartTransferRequest, StartTransferRequest__Output as _blit_v1_StartTransferRequest__Output } from '../../blit/v1/StartTransferRequest';
import type { StartTransferResponse as _blit_v1_StartTransferResponse, StartTransferResponse__Output as _blit_v1_StartTransferResponse__Output } from '../../blit/v1/StartTransferResponse';
import type { WatchJobsRequest as _blit_v1_WatchJobsRequest, WatchJobsRequest__Output as _blit_v1_WatchJobsRequest__Output } from '../../blit/v1/WatchJobsRequest';

export interface BlitClient extends grpc.Client {
  CancelJob(argument: _blit_v1_CancelJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_CancelJobResponse__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _blit_v1_CancelJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_blit_v1_CancelJobResponse__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _blit_v1_CancelJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_CancelJobResponse__Output>): grpc.ClientUnaryCall;
  CancelJob(argument: _blit_v1_CancelJobRequest, callback: grpc.requestCallback<_blit_v1_CancelJobResponse__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _blit_v1_CancelJobRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_CancelJobResponse__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _blit_v1_CancelJobRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_blit_v1_CancelJobResponse__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _blit_v1_CancelJobRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_CancelJobResponse__Output>): grpc.ClientUnaryCall;
  cancelJob(argument: _blit_v1_CancelJobRequest, callback: grpc.requestCallback<_blit_v1_CancelJobResponse__Output>): grpc.ClientUnaryCall;
  
  DiskUsage(argument: _blit_v1_DiskUsageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_DiskUsageResponse__Output>): grpc.ClientUnaryCall;
  DiskUsage(argument: _blit_v1_DiskUsageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_blit_v1_DiskUsageResponse__Output>): grpc.ClientUnaryCall;
  DiskUsage(argument: _blit_v1_DiskUsageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_DiskUsageResponse__Output>): grpc.ClientUnaryCall;
  DiskUsage(argument: _blit_v1_DiskUsageRequest, callback: grpc.requestCallback<_blit_v1_DiskUsageResponse__Output>): grpc.ClientUnaryCall;
  diskUsage(argument: _blit_v1_DiskUsageRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_DiskUsageResponse__Output>): grpc.ClientUnaryCall;
  diskUsage(argument: _blit_v1_DiskUsageRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_blit_v1_DiskUsageResponse__Output>): grpc.ClientUnaryCall;
  diskUsage(argument: _blit_v1_DiskUsageRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_DiskUsageResponse__Output>): grpc.ClientUnaryCall;
  diskUsage(argument: _blit_v1_DiskUsageRequest, callback: grpc.requestCallback<_blit_v1_DiskUsageResponse__Output>): grpc.ClientUnaryCall;
  
  FilesystemStats(argument: _blit_v1_FilesystemStatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_FilesystemStatsResponse__Output>): grpc.ClientUnaryCall;
  FilesystemStats(argument: _blit_v1_FilesystemStatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_blit_v1_FilesystemStatsResponse__Output>): grpc.ClientUnaryCall;
  FilesystemStats(argument: _blit_v1_FilesystemStatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_FilesystemStatsResponse__Output>): grpc.ClientUnaryCall;
  FilesystemStats(argument: _blit_v1_FilesystemStatsRequest, callback: grpc.requestCallback<_blit_v1_FilesystemStatsResponse__Output>): grpc.ClientUnaryCall;
  filesystemStats(argument: _blit_v1_FilesystemStatsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_FilesystemStatsResponse__Output>): grpc.ClientUnaryCall;
  filesystemStats(argument: _blit_v1_FilesystemStatsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_blit_v1_FilesystemStatsResponse__Output>): grpc.ClientUnaryCall;
  filesystemStats(argument: _blit_v1_FilesystemStatsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_FilesystemStatsResponse__Output>): grpc.ClientUnaryCall;
  filesystemStats(argument: _blit_v1_FilesystemStatsRequest, callback: grpc.requestCallback<_blit_v1_FilesystemStatsResponse__Output>): grpc.ClientUnaryCall;
  
  Find(argument: _blit_v1_FindRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_blit_v1_FindResponse__Output>;
  Find(argument: _blit_v1_FindRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_blit_v1_FindResponse__Output>;
  find(argument: _blit_v1_FindRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_blit_v1_FindResponse__Output>;
  find(argument: _blit_v1_FindRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_blit_v1_FindResponse__Output>;
  
  Handshake(argument: _blit_v1_HandshakeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_HandshakeResponse__Output>): grpc.ClientUnaryCall;
  Handshake(argument: _blit_v1_HandshakeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_blit_v1_HandshakeResponse__Output>): grpc.ClientUnaryCall;
  Handshake(argument: _blit_v1_HandshakeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_HandshakeResponse__Output>): grpc.ClientUnaryCall;
  Handshake(argument: _blit_v1_HandshakeRequest, callback: grpc.requestCallback<_blit_v1_HandshakeResponse__Output>): grpc.ClientUnaryCall;
  handshake(argument: _blit_v1_HandshakeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_HandshakeResponse__Output>): grpc.ClientUnaryCall;
  handshake(argument: _blit_v1_HandshakeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_blit_v1_HandshakeResponse__Output>): grpc.ClientUnaryCall;
  handshake(argument: _blit_v1_HandshakeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_HandshakeResponse__Output>): grpc.ClientUnaryCall;
  handshake(argument: _blit_v1_HandshakeRequest, callback: grpc.requestCallback<_blit_v1_HandshakeResponse__Output>): grpc.ClientUnaryCall;
  
  List(argument: _blit_v1_ListRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _blit_v1_ListRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_blit_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _blit_v1_ListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  List(argument: _blit_v1_ListRequest, callback: grpc.requestCallback<_blit_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _blit_v1_ListRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _blit_v1_ListRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_blit_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _blit_v1_ListRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  list(argument: _blit_v1_ListRequest, callback: grpc.requestCallback<_blit_v1_ListResponse__Output>): grpc.ClientUnaryCall;
  
  ListJobs(argument: _blit_v1_ListJobsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _blit_v1_ListJobsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_blit_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _blit_v1_ListJobsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  ListJobs(argument: _blit_v1_ListJobsRequest, callback: grpc.requestCallback<_blit_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _blit_v1_ListJobsRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _blit_v1_ListJobsRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_blit_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _blit_v1_ListJobsRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  listJobs(argument: _blit_v1_ListJobsRequest, callback: grpc.requestCallback<_blit_v1_ListJobsResponse__Output>): grpc.ClientUnaryCall;
  
  ListModules(argument: _blit_v1_ListModulesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_ListModulesResponse__Output>): grpc.ClientUnaryCall;
  ListModules(argument: _blit_v1_ListModulesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_blit_v1_ListModulesResponse__Output>): grpc.ClientUnaryCall;
  ListModules(argument: _blit_v1_ListModulesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_ListModulesResponse__Output>): grpc.ClientUnaryCall;
  ListModules(argument: _blit_v1_ListModulesRequest, callback: grpc.requestCallback<_blit_v1_ListModulesResponse__Output>): grpc.ClientUnaryCall;
  listModules(argument: _blit_v1_ListModulesRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_ListModulesResponse__Output>): grpc.ClientUnaryCall;
  listModules(argument: _blit_v1_ListModulesRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_blit_v1_ListModulesResponse__Output>): grpc.ClientUnaryCall;
  listModules(argument: _blit_v1_ListModulesRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_ListModulesResponse__Output>): grpc.ClientUnaryCall;
  listModules(argument: _blit_v1_ListModulesRequest, callback: grpc.requestCallback<_blit_v1_ListModulesResponse__Output>): grpc.ClientUnaryCall;
  
  Pull(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_blit_v1_PullClientMessage, _blit_v1_PullServerMessage__Output>;
  Pull(options?: grpc.CallOptions): grpc.ClientDuplexStream<_blit_v1_PullClientMessage, _blit_v1_PullServerMessage__Output>;
  pull(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_blit_v1_PullClientMessage, _blit_v1_PullServerMessage__Output>;
  pull(options?: grpc.CallOptions): grpc.ClientDuplexStream<_blit_v1_PullClientMessage, _blit_v1_PullServerMessage__Output>;
  
  Purge(argument: _blit_v1_PurgeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_PurgeResponse__Output>): grpc.ClientUnaryCall;
  Purge(argument: _blit_v1_PurgeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_blit_v1_PurgeResponse__Output>): grpc.ClientUnaryCall;
  Purge(argument: _blit_v1_PurgeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_PurgeResponse__Output>): grpc.ClientUnaryCall;
  Purge(argument: _blit_v1_PurgeRequest, callback: grpc.requestCallback<_blit_v1_PurgeResponse__Output>): grpc.ClientUnaryCall;
  purge(argument: _blit_v1_PurgeRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_PurgeResponse__Output>): grpc.ClientUnaryCall;
  purge(argument: _blit_v1_PurgeRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_blit_v1_PurgeResponse__Output>): grpc.ClientUnaryCall;
  purge(argument: _blit_v1_PurgeRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_PurgeResponse__Output>): grpc.ClientUnaryCall;
  purge(argument: _blit_v1_PurgeRequest, callback: grpc.requestCallback<_blit_v1_PurgeResponse__Output>): grpc.ClientUnaryCall;
  
  Push(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_blit_v1_PushClientMessage, _blit_v1_PushServerMessage__Output>;
  Push(options?: grpc.CallOptions): grpc.ClientDuplexStream<_blit_v1_PushClientMessage, _blit_v1_PushServerMessage__Output>;
  push(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_blit_v1_PushClientMessage, _blit_v1_PushServerMessage__Output>;
  push(options?: grpc.CallOptions): grpc.ClientDuplexStream<_blit_v1_PushClientMessage, _blit_v1_PushServerMessage__Output>;
  
  StartTransfer(argument: _blit_v1_StartTransferRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_StartTransferResponse__Output>): grpc.ClientUnaryCall;
  StartTransfer(argument: _blit_v1_StartTransferRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_blit_v1_StartTransferResponse__Output>): grpc.ClientUnaryCall;
  StartTransfer(argument: _blit_v1_StartTransferRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_StartTransferResponse__Output>): grpc.ClientUnaryCall;
  StartTransfer(argument: _blit_v1_StartTransferRequest, callback: grpc.requestCallback<_blit_v1_StartTransferResponse__Output>): grpc.ClientUnaryCall;
  startTransfer(argument: _blit_v1_StartTransferRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_StartTransferResponse__Output>): grpc.ClientUnaryCall;
  startTransfer(argument: _blit_v1_StartTransferRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_blit_v1_StartTransferResponse__Output>): grpc.ClientUnaryCall;
  startTransfer(argument: _blit_v1_StartTransferRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_blit_v1_StartTransferResponse__Output>): grpc.ClientUnaryCall;
  startTransfer(argument: _blit_v1_StartTransferRequest, callback: grpc.requestCallback<_blit_v1_StartTransferResponse__Output>): grpc.ClientUnaryCall;
  
  WatchJobs(argument: _blit_v1_WatchJobsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_blit_v1_JobEvent__Output>;
  WatchJobs(argument: _blit_v1_WatchJobsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_blit_v1_JobEvent__Output>;
  watchJobs(argument: _blit_v1_WatchJobsRequest, metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientReadableStream<_blit_v1_JobEvent__Output>;
  watchJobs(argument: _blit_v1_WatchJobsRequest, options?: grpc.CallOptions): grpc.ClientReadableStream<_blit_v1_JobEvent__Output>;
  
}

export interface BlitHandlers extends grpc.UntypedServiceImplementation {
  CancelJob: grpc.handleUnaryCall<_blit_v1_CancelJobRequest__Output, _blit_v1_CancelJobResponse>;
  
  DiskUsage: grpc.handleUnaryCall<_blit_v1_DiskUsageRequest__Output, _blit_v1_DiskUsageResponse>;
  
  FilesystemStats: grpc.handleUnaryCall<_blit_v1_FilesystemStatsRequest__Output, _blit_v1_FilesystemStatsResponse>;
  
  Find: grpc.handleServerStreamingCall<_blit_v1_FindRequest__Output, _blit_v1_FindResponse>;
  
  Handshake: grpc.handleUnaryCall<_blit_v1_HandshakeRequest__Output, _blit_v1_HandshakeResponse>;
  
  List: grpc.handleUnaryCall<_blit_v1_ListRequest__Output, _blit_v1_ListResponse>;
  
  ListJobs: grpc.handleUnaryCall<_blit_v1_ListJobsRequest__Output, _blit_v1_ListJobsResponse>;
  
  ListModules: grpc.handleUnaryCall<_blit_v1_ListModulesRequest__Output, _blit_v1_ListModulesResponse>;
  
  Pull: grpc.handleBidiStreamingCall<_blit_v1_PullClientMessage__Output, _blit_v1_PullServerMessage>;
  
  Purge: grpc.handleUnaryCall<_blit_v1_PurgeRequest__Output, _blit_v1_PurgeResponse>;
  
  Push: grpc.handleBidiStreamingCall<_blit_v1_PushClientMessage__Output, _blit_v1_PushServerMessage>;
  
  StartTransfer: grpc.handleUnaryCall<_blit_v1_StartTransferRequest__Output, _blit_v1_StartTransferResponse>;
  
  WatchJobs: grpc.handleServerStreamingCall<_blit_v1_WatchJobsRequest__Output, _blit_v1_JobEvent>;
  
}

export interface BlitDefinition extends grpc.ServiceDefinition {
  CancelJob: MethodDefinition<_blit_v1_CancelJobRequest, _blit_v1_CancelJobResponse, _blit_v1_CancelJobRequest__Output, _blit_v1_CancelJobResponse__Output>
  DiskUsage: MethodDefinition<_blit_v1_DiskUsageRequest, _blit_v1_DiskUsageResponse, _blit_v1_DiskUsageRequest__Output, _blit_v1_DiskUsageResponse__Output>
  FilesystemStats: MethodDefinition<_blit_v1_FilesystemStatsRequest, _blit_v1_FilesystemStatsResponse, _blit_v1_FilesystemStatsRequest__Output, _blit_v1_FilesystemStatsResponse__Output>
  Find: MethodDefinition<_blit_v1_FindRequest, _blit_v1_FindResponse, _blit_v1_FindRequest__Output, _blit_v1_FindResponse__Output>
  Handshake: MethodDefinition<_blit_v1_HandshakeRequest, _blit_v1_HandshakeResponse, _blit_v1_HandshakeRequest__Output, _blit_v1_HandshakeResponse__Output>
  List: MethodDefinition<_blit_v1_ListRequest, _blit_v1_ListResponse, _blit_v1_ListRequest__Output, _blit_v1_ListResponse__Output>
  ListJobs: MethodDefinition<_blit_v1_ListJobsRequest, _blit_v1_ListJobsResponse, _blit_v1_ListJobsRequest__Output, _blit_v1_ListJobsResponse__Output>
  ListModules: MethodDefinition<_blit_v1_ListModulesRequest, _blit_v1_ListModulesResponse, _blit_v1_ListModulesRequest__Output, _blit_v1_ListModulesResponse__Output>
  Pull: MethodDefinition<_blit_v1_PullClientMessage, _blit_v1_PullServerMessage, _blit_v1_PullClientMessage__Output, _blit_v1_PullServerMessage__Output>
  Purge: MethodDefinition<_blit_v1_PurgeRequest, _blit_v1_PurgeResponse, _blit_v1_PurgeRequest__Output, _blit_v1_PurgeResponse__Output>
  Push: MethodDefinition<_blit_v1_PushClientMessage, _blit_v1_PushServerMessage, _blit_v1_PushClientMessage__Output, _blit_v1_PushServerMessage__Output>
  StartTransfer: MethodDefinition<_blit_v1_StartTransferRequest, _blit_v1_StartTransferResponse, _blit_v1_StartTransferRequest__Output, _blit_v1_StartTransferResponse__Output>
  WatchJobs: MethodDefinition<_blit_v1_WatchJobsRequest, _blit_v1_JobEvent, _blit_v1_WatchJobsRequest__Output, _blit_v1_JobEvent__Output>
}
