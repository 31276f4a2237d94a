import { HttpStatus } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';

export enum AgentsErrorCode {
  /** Unknown, deleted or another workspace's custom agent: the same answer for all. */
  AgentNotFound = 'AGENT_NOT_FOUND',
  AgentNameTaken = 'AGENT_NAME_TAKEN',
  /** A run or plan names an agent the workspace does not have. */
  AgentUnknown = 'AGENT_UNKNOWN',
  ToolUnknown = 'AGENT_TOOL_UNKNOWN',
  /** Unknown, another user's or another workspace's run: the same answer for all. */
  RunNotFound = 'WORKFLOW_RUN_NOT_FOUND',
  ArtifactNotFound = 'WORKFLOW_ARTIFACT_NOT_FOUND',
  /** A requested limit is above the server's maximum for it. */
  LimitAboveMaximum = 'WORKFLOW_LIMIT_ABOVE_MAXIMUM',
  RunAlreadyFinished = 'WORKFLOW_RUN_FINISHED',

  // Recorded on runs, tasks and steps as why they failed.
  /** The planner's output was not a valid plan, twice. */
  PlanInvalid = 'AGENT_PLAN_INVALID',
  /** The model called an unknown or ungiven tool, or with bad arguments, again after one correction. */
  ToolCallInvalid = 'AGENT_TOOL_CALL_INVALID',
  /** JSON tool mode: the model's output was neither a tool call nor an answer, again after one correction. */
  OutputInvalid = 'AGENT_OUTPUT_INVALID',
  StepLimitReached = 'AGENT_STEP_LIMIT_REACHED',
  ToolCallLimitReached = 'AGENT_TOOL_CALL_LIMIT_REACHED',
  TokenBudgetExhausted = 'AGENT_TOKEN_BUDGET_EXHAUSTED',
  TimedOut = 'WORKFLOW_TIMED_OUT',
  Cancelled = 'WORKFLOW_CANCELLED',
  /** A task failed, so the run could not finish; the task's own error says why. */
  TaskFailed = 'AGENT_TASK_FAILED',
  /** A model call failed for good (after the queue's retries). */
  ModelFailed = 'AGENT_MODEL_FAILED',
  /** The run's jobs were lost and could not be recovered. */
  RunLost = 'WORKFLOW_RUN_LOST',
  /** The starter lost access to the workspace (or the model.invoke permission) during the run. */
  AccessRevoked = 'WORKFLOW_ACCESS_REVOKED',
}

const STATUS: Record<AgentsErrorCode, HttpStatus> = {
  [AgentsErrorCode.AgentNotFound]: HttpStatus.NOT_FOUND,
  [AgentsErrorCode.AgentNameTaken]: HttpStatus.CONFLICT,
  [AgentsErrorCode.AgentUnknown]: HttpStatus.BAD_REQUEST,
  [AgentsErrorCode.ToolUnknown]: HttpStatus.BAD_REQUEST,
  [AgentsErrorCode.RunNotFound]: HttpStatus.NOT_FOUND,
  [AgentsErrorCode.ArtifactNotFound]: HttpStatus.NOT_FOUND,
  [AgentsErrorCode.LimitAboveMaximum]: HttpStatus.BAD_REQUEST,
  [AgentsErrorCode.RunAlreadyFinished]: HttpStatus.CONFLICT,
  [AgentsErrorCode.PlanInvalid]: HttpStatus.UNPROCESSABLE_ENTITY,
  [AgentsErrorCode.ToolCallInvalid]: HttpStatus.UNPROCESSABLE_ENTITY,
  [AgentsErrorCode.OutputInvalid]: HttpStatus.UNPROCESSABLE_ENTITY,
  [AgentsErrorCode.StepLimitReached]: HttpStatus.UNPROCESSABLE_ENTITY,
  [AgentsErrorCode.ToolCallLimitReached]: HttpStatus.UNPROCESSABLE_ENTITY,
  [AgentsErrorCode.TokenBudgetExhausted]: HttpStatus.UNPROCESSABLE_ENTITY,
  [AgentsErrorCode.TimedOut]: HttpStatus.GATEWAY_TIMEOUT,
  [AgentsErrorCode.Cancelled]: 499 as HttpStatus,
  [AgentsErrorCode.TaskFailed]: HttpStatus.UNPROCESSABLE_ENTITY,
  [AgentsErrorCode.ModelFailed]: HttpStatus.BAD_GATEWAY,
  [AgentsErrorCode.RunLost]: HttpStatus.INTERNAL_SERVER_ERROR,
  [AgentsErrorCode.AccessRevoked]: HttpStatus.FORBIDDEN,
};

export class AgentsException extends AppException {
  constructor(code: AgentsErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, STATUS[code], message, details);
  }
}

export const agentNotFound = () => new AgentsException(AgentsErrorCode.AgentNotFound, 'Agent not found');
export const runNotFound = () => new AgentsException(AgentsErrorCode.RunNotFound, 'Workflow run not found');
