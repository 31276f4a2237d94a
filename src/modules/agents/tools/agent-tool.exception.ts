import { HttpStatus } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';

/**
 * Why a tool call failed. The message is written for the model as much as for the person
 * reading the run: it says what was wrong and, where it can, what to do instead, and it never
 * carries data the caller could not read.
 */
export enum AgentToolErrorCode {
  /** No tool of that name exists. */
  UnknownTool = 'AGENT_TOOL_UNKNOWN',
  /** The tool exists but is not configured here (web_search without a provider). */
  Unavailable = 'AGENT_TOOL_UNAVAILABLE',
  /** The agent was not given this tool, or the run's user may not do what it asked. */
  NotAllowed = 'AGENT_TOOL_NOT_ALLOWED',
  /** The arguments do not match the tool's schema; `details.issues` lists each problem. */
  InvalidArguments = 'AGENT_TOOL_INVALID_ARGUMENTS',
  /** An input past a limit (expression length, rows, bytes, data points). */
  InputTooLarge = 'AGENT_TOOL_INPUT_TOO_LARGE',
  /** Well-formed arguments the tool cannot work with (a maths error, an unknown column). */
  Failed = 'AGENT_TOOL_FAILED',
  /** The tool ran out of time. */
  Timeout = 'AGENT_TOOL_TIMEOUT',
  /** What the tool calls (the search provider, the model) failed. */
  UpstreamFailed = 'AGENT_TOOL_UPSTREAM_FAILED',
}

const STATUS: Record<AgentToolErrorCode, HttpStatus> = {
  [AgentToolErrorCode.UnknownTool]: HttpStatus.BAD_REQUEST,
  [AgentToolErrorCode.Unavailable]: HttpStatus.SERVICE_UNAVAILABLE,
  [AgentToolErrorCode.NotAllowed]: HttpStatus.FORBIDDEN,
  [AgentToolErrorCode.InvalidArguments]: HttpStatus.BAD_REQUEST,
  [AgentToolErrorCode.InputTooLarge]: HttpStatus.PAYLOAD_TOO_LARGE,
  [AgentToolErrorCode.Failed]: HttpStatus.UNPROCESSABLE_ENTITY,
  [AgentToolErrorCode.Timeout]: HttpStatus.GATEWAY_TIMEOUT,
  [AgentToolErrorCode.UpstreamFailed]: HttpStatus.BAD_GATEWAY,
};

export class AgentToolException extends AppException {
  constructor(
    override readonly code: AgentToolErrorCode,
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(code, STATUS[code], message, details);
    this.name = 'AgentToolException';
  }
}

/** One problem with a tool call's arguments: where (a path into the arguments) and what. */
export interface ToolArgumentIssue {
  path: string;
  message: string;
}

/** What `AgentToolRegistry.validateArgs` reports; the engine sends the message back for one corrective retry. */
export class InvalidToolArgumentsException extends AgentToolException {
  constructor(
    readonly toolName: string,
    readonly issues: readonly ToolArgumentIssue[],
  ) {
    const listed = issues.map((issue) => `${issue.path || '(arguments)'}: ${issue.message}`).join('; ');
    super(AgentToolErrorCode.InvalidArguments, `Invalid arguments for ${toolName}: ${listed}`, { tool: toolName, issues });
    this.name = 'InvalidToolArgumentsException';
  }
}

export const toolFailed = (message: string) => new AgentToolException(AgentToolErrorCode.Failed, message);
export const toolInputTooLarge = (message: string) => new AgentToolException(AgentToolErrorCode.InputTooLarge, message);
export const toolNotAllowed = (message: string) => new AgentToolException(AgentToolErrorCode.NotAllowed, message);
