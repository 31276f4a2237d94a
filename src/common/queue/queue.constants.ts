/** Every durable queue. A queue is a unit of worker concurrency and of Redis keys. */
export enum QueueName {
  Maintenance = 'maintenance',
  Ingestion = 'ingestion',
  Agents = 'agents',
}

/** Every job. Its payload type lives in the owning module's `*.job.ts` (see app-jobs.ts). */
export enum JobName {
  MaintenanceRun = 'maintenance.run',
  IngestDocument = 'ingestion.document',
  AgentRunStart = 'agents.run.start',
  AgentTaskRun = 'agents.task.run',
}

/** Which queue carries each job. */
export const JOB_QUEUES = {
  [JobName.MaintenanceRun]: QueueName.Maintenance,
  [JobName.IngestDocument]: QueueName.Ingestion,
  [JobName.AgentRunStart]: QueueName.Agents,
  [JobName.AgentTaskRun]: QueueName.Agents,
} as const satisfies Record<JobName, QueueName>;
