/** Payload of `JobName.AgentRunStart`: admit a queued run (per-workspace limit), decide its mode and plan its tasks. */
export interface StartRunJob {
  runId: string;
}

/**
 * Deterministic, so a run is started once however often it is enqueued (BullMQ ids may not
 * contain ':'). Each admission after waiting for a slot, and each recovery by the sweeper,
 * gets a new id so that the job can run again.
 */
export const startRunJobId = (runId: string, admission: number, recovery = 0) =>
  recovery === 0 ? `${runId}_start_${admission}` : `${runId}_start_${admission}_r${recovery}`;
