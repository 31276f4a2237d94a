import type { ModelTier } from 'src/modules/model-router/complexity';
import type { AgentToolName } from 'src/modules/agents/tools/agent-tool';

/** Every tool an agent may be given; the compiler checks the list against the tool contract. */
export const AGENT_TOOL_NAMES = [
  'calculator',
  'document_search',
  'web_search',
  'text_processor',
  'data_analyzer',
  'chart_generator',
] as const satisfies readonly AgentToolName[];
type MissingTool = Exclude<AgentToolName, (typeof AGENT_TOOL_NAMES)[number]>;
export type _EveryToolIsListed = MissingTool extends never ? true : never;

/** What a task needs of its agent; a task keeps a copy, so editing the agent does not change running work. */
export interface AgentSpec {
  name: string;
  description: string;
  systemPrompt: string;
  /** A tier, or a concrete model name or alias (custom agents may name one). */
  model: string;
  tools: AgentToolName[];
  /** Per task, under the run's limits. */
  maxSteps: number;
  maxToolCalls: number;
  builtIn: boolean;
}

export const DEFAULT_AGENT_MAX_STEPS = 12;
export const DEFAULT_AGENT_MAX_TOOL_CALLS = 8;

export const tierOrModel = (tier: ModelTier | null, model: string | null): string => model ?? tier ?? 'balanced';
