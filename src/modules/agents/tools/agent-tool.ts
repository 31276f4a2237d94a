import type { z } from 'zod';
import type { AuthContext } from 'src/common/auth/auth-context';

/**
 * The contract between the workflow engine and the tools an agent may call.
 *
 * Tools run with the permissions of the user who started the run, re-resolved when the step
 * executes (a permission revoked mid-run is gone for the next tool call), never more. What a
 * tool returns is untrusted input to the model: the engine passes it back as a tool message
 * and nothing in it can add tools, widen permissions or change the plan.
 */
export type AgentToolName = 'calculator' | 'document_search' | 'web_search' | 'text_processor' | 'data_analyzer' | 'chart_generator';

export interface AgentToolContext {
  /** The run starter's identity and permissions in the run's workspace. */
  auth: AuthContext;
  /** Knowledge bases the run was given, already checked readable by `auth`. */
  knowledgeBaseIds: readonly string[];
  /** Aborted when the run is cancelled or times out. */
  signal: AbortSignal;
}

/** A file a tool produced (a chart); the engine stores it with the step. */
export interface AgentToolArtifact {
  name: string;
  mediaType: 'image/svg+xml' | 'image/png';
  bytes: Buffer;
}

export interface AgentToolResult {
  /** What the model reads: compact text (JSON is fine), bounded in size by the tool. */
  content: string;
  /** Structured result kept in the step record for clients (optional). */
  data?: unknown;
  artifacts?: AgentToolArtifact[];
}

export interface AgentTool<Args = unknown> {
  name: AgentToolName;
  /** One or two sentences the model sees. */
  description: string;
  /** Validates arguments before `run`; its JSON schema (z.toJSONSchema) is what the model sees. */
  argsSchema: z.ZodType<Args>;
  /** Off unless configured (web_search without a provider): the engine neither offers nor runs it. */
  isAvailable(): boolean;
  run(args: Args, context: AgentToolContext): Promise<AgentToolResult>;
}
