// Original file: blit.proto

export const JobState = {
  JOB_QUEUED: 'JOB_QUEUED',
  JOB_RUNNING: 'JOB_RUNNING',
  JOB_SUCCEEDED: 'JOB_SUCCEEDED',
  JOB_FAILED: 'JOB_FAILED',
  JOB_CANCELLED: 'JOB_CANCELLED',
} as const;

export type JobState =
  | 'JOB_QUEUED'
  | 0
  | 'JOB_RUNNING'
  | 1
  | 'JOB_SUCCEEDED'
  | 2
  | 'JOB_FAILED'
  | 3
  | 'JOB_CANCELLED'
  | 4

export type JobState__Output = typeof JobState[keyof typeof JobState]
