/** Payload of `JobName.AgentTaskRun`: one task of a run (an agent's tool loop, or the aggregation). */
export interface RunTaskJob {
  runId: string;
  taskId: string;
}

/**
 * `<runId>_<taskId>` (BullMQ ids may not contain ':'): a task becomes ready when its last
 * dependency finishes, and whichever finishing task notices first enqueues it; the id makes
 * the second notice add nothing. A recovery by the sweeper adds a suffix to start it again.
 */
export const runTaskJobId = (runId: string, taskId: string, recovery = 0) =>
  recovery === 0 ? `${runId}_${taskId}` : `${runId}_${taskId}_r${recovery}`;

/** Transient failures (a node restarting, the database away) are retried; completed steps are not repeated. */
export const AGENT_JOB_ATTEMPTS = 3;
export const AGENT_JOB_BACKOFF = { type: 'exponential', delayMs: 1_000 } as const;
