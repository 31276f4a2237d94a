import { AgentsErrorCode, AgentsException } from 'src/modules/agents/agents.exception';
import type { NewStep, ReserveRefusal } from 'src/modules/agents/runs/runs.repository';

/** Another execution of the same task stored this step first (a stalled job run twice): this one stops quietly. */
export class SupersededExecution extends Error {
  constructor(taskId: string) {
    super(`Task ${taskId} is being executed elsewhere`);
    this.name = 'SupersededExecution';
  }
}

/** The run ended (cancelled, failed, timed out) while this execution was between steps. */
export class RunNotActive extends Error {
  constructor(runId: string) {
    super(`Run ${runId} is no longer active`);
    this.name = 'RunNotActive';
  }
}

const UNIQUE_VIOLATION = '23505';

export function isUniqueViolation(error: unknown): boolean {
  return (error as { driverError?: { code?: string }; code?: string }).driverError?.code === UNIQUE_VIOLATION;
}

export function refusalError(refusal: ReserveRefusal, runId: string): Error {
  switch (refusal) {
    case 'not-active':
      return new RunNotActive(runId);
    case 'run-steps':
      return new AgentsException(AgentsErrorCode.StepLimitReached, 'The run reached its maximum number of steps');
    case 'run-tool-calls':
      return new AgentsException(AgentsErrorCode.ToolCallLimitReached, 'The run reached its maximum number of tool calls');
    case 'task-steps':
      return new AgentsException(AgentsErrorCode.StepLimitReached, "The task reached its agent's maximum number of steps");
    case 'task-tool-calls':
      return new AgentsException(AgentsErrorCode.ToolCallLimitReached, "The task reached its agent's maximum number of tool calls");
  }
}

/** A step with nothing filled in yet; `started` is the performance.now() its work began at. */
export function newStep(
  runId: string,
  taskId: string,
  sequence: number,
  type: 'model' | 'tool',
  startedAt: Date,
  started: number,
): NewStep {
  return {
    runId,
    taskId,
    sequence,
    type,
    status: 'completed',
    model: null,
    routing: null,
    content: null,
    toolCalls: null,
    finishReason: null,
    promptTokens: null,
    completionTokens: null,
    toolName: null,
    toolCallId: null,
    arguments: null,
    result: null,
    data: null,
    errorCode: null,
    errorMessage: null,
    startedAt,
    durationMs: Math.round(performance.now() - started),
  };
}
