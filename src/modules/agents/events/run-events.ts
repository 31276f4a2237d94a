import type { RunPlan, RunStatus } from 'src/modules/agents/runs/agent-run.entity';
import type { TaskKind, TaskStatus } from 'src/modules/agents/runs/agent-task.entity';
import type { StepStatus } from 'src/modules/agents/runs/agent-step.entity';

/** Why a run or task failed: the code and message stored on it. */
export interface RunEventError {
  code: string;
  message: string;
}

export interface RunUsage {
  promptTokens: number;
  completionTokens: number;
  steps: number;
  toolCalls: number;
}

/**
 * What a run reports while it executes, in order per task: `status` as the run moves
 * (queued, planning, running), `plan` once its tasks are known, `task.started`, tool calls
 * with their results, `token`s of the final answer, `task.finished`, and exactly one
 * `finished`. The same events go to the run's Socket.IO room, its GraphQL subscription and
 * its SSE stream, from whichever replica executes the run.
 */
export interface RunEventPayloads {
  status: { runId: string; status: RunStatus };
  plan: { runId: string; plan: RunPlan; tasks: { id: string; key: string; kind: TaskKind; agent: string; dependsOn: string[] }[] };
  'task.started': { runId: string; taskId: string; key: string; kind: TaskKind; agent: string };
  'tool.called': { runId: string; taskId: string; tool: string; arguments: Record<string, unknown> };
  'tool.result': {
    runId: string;
    taskId: string;
    stepId: string;
    tool: string;
    status: StepStatus;
    /** What the model read (truncated for the event; the step has all of it). */
    result: string;
    artifacts: { id: string; name: string; mediaType: string }[];
  };
  /** Text of the final answer as it is generated. */
  token: { runId: string; taskId: string; delta: string };
  'task.finished': { runId: string; taskId: string; key: string; status: TaskStatus; error: RunEventError | null };
  finished: { runId: string; status: RunStatus; result: string | null; error: RunEventError | null; usage: RunUsage };
}

export type RunEventType = keyof RunEventPayloads;

export type RunEvent = { [T in RunEventType]: { type: T } & RunEventPayloads[T] }[RunEventType];

/** Tells every replica to stop a run's in-flight model and tool calls. */
export interface RunControlMessage {
  runId: string;
  reason: 'cancelled' | 'failed' | 'timed-out';
}
