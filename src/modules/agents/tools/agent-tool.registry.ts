import { Inject, Injectable } from '@nestjs/common';
import { z } from 'zod';
import type { AgentTool, AgentToolContext, AgentToolName, AgentToolResult } from 'src/modules/agents/tools/agent-tool';
import {
  AgentToolErrorCode,
  AgentToolException,
  InvalidToolArgumentsException,
  ToolArgumentIssue,
} from 'src/modules/agents/tools/agent-tool.exception';
import { boundContent } from 'src/modules/agents/tools/tool-output';
import type { ChatTool } from 'src/modules/model-router/providers/llm-provider';

/** The tools the registry is built from (AgentToolsModule binds it). */
export const AGENT_TOOLS = Symbol('AGENT_TOOLS');

export type ToolArgsValidation = { ok: true; args: unknown } | { ok: false; error: InvalidToolArgumentsException };

export interface ToolRunOptions {
  /** The tools the calling agent was given; any other name is refused whatever the model asks. */
  allowed: readonly string[];
}

/**
 * The fixed set of tools, built once at boot. Nothing here can add, replace or enable a tool
 * after that, and nothing a tool returns passes through it except as bounded content: what an
 * agent may call is decided by its definition (`allowed`), never by a model's or a tool's output.
 */
@Injectable()
export class AgentToolRegistry {
  private readonly tools: ReadonlyMap<string, AgentTool>;
  private readonly schemas: ReadonlyMap<string, Record<string, unknown>>;

  constructor(@Inject(AGENT_TOOLS) tools: readonly AgentTool[]) {
    const byName = new Map<string, AgentTool>();
    for (const tool of tools) {
      if (byName.has(tool.name)) throw new Error(`Two agent tools are named ${tool.name}`);
      byName.set(tool.name, tool);
    }
    this.tools = byName;
    this.schemas = new Map([...byName].map(([name, tool]) => [name, jsonSchemaOf(tool.argsSchema)]));
    Object.freeze(this);
  }

  /** Every tool, configured or not. */
  list(): AgentTool[] {
    return [...this.tools.values()];
  }

  /** The tools that can run here (web_search only with a provider). */
  available(): AgentTool[] {
    return this.list().filter((tool) => tool.isAvailable());
  }

  has(name: string): name is AgentToolName {
    return this.tools.has(name);
  }

  /** The tool, or AGENT_TOOL_UNKNOWN / AGENT_TOOL_UNAVAILABLE. */
  get(name: string): AgentTool {
    const tool = this.tools.get(name);
    if (!tool) {
      throw new AgentToolException(AgentToolErrorCode.UnknownTool, `There is no tool named ${JSON.stringify(name.slice(0, 64))}`, {
        known: [...this.tools.keys()],
      });
    }
    if (!tool.isAvailable())
      throw new AgentToolException(AgentToolErrorCode.Unavailable, `The tool ${name} is not configured on this server`);
    return tool;
  }

  /** JSON schema of a tool's arguments (as the model sees it). */
  jsonSchema(name: string): Record<string, unknown> {
    this.get(name);
    return structuredClone(this.schemas.get(name)!);
  }

  /**
   * The named tools as the router's ChatTool definitions, in the order given. Unknown names
   * throw (an agent definition naming one is a bug); tools not configured here are left out,
   * so the model is never offered what cannot run.
   */
  describe(names: readonly string[]): ChatTool[] {
    const definitions: ChatTool[] = [];
    for (const name of new Set(names)) {
      const tool = this.tools.get(name);
      if (!tool) this.get(name);
      if (!tool!.isAvailable()) continue;
      definitions.push({
        type: 'function',
        function: { name: tool!.name, description: tool!.description, parameters: structuredClone(this.schemas.get(name)!) },
      });
    }
    return definitions;
  }

  /**
   * Parses a model's arguments (a JSON string or an object) with the tool's schema. The
   * error lists every issue with its path, for the one corrective retry a malformed call gets.
   */
  validateArgs(name: string, raw: unknown): ToolArgsValidation {
    const tool = this.get(name);
    let value = raw;
    if (typeof raw === 'string') {
      if (raw.trim() === '') value = {};
      else {
        try {
          value = JSON.parse(raw);
        } catch (error) {
          return invalid(name, [{ path: '', message: `the arguments are not valid JSON (${(error as Error).message})` }]);
        }
      }
    } else if (raw === undefined || raw === null) {
      value = {};
    }
    const parsed = tool.argsSchema.safeParse(value);
    if (parsed.success) return { ok: true, args: parsed.data };
    return invalid(
      name,
      parsed.error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
    );
  }

  /**
   * Runs one tool call for an agent: refused unless the agent was given the tool, validated,
   * run with the run starter's context, and its content bounded. Errors are AppExceptions
   * (AgentToolException or a service's own) whose message can go back to the model.
   */
  async run(name: string, rawArgs: unknown, context: AgentToolContext, options: ToolRunOptions): Promise<AgentToolResult> {
    if (!options.allowed.includes(name)) {
      throw new AgentToolException(AgentToolErrorCode.NotAllowed, `This agent was not given the tool ${JSON.stringify(name.slice(0, 64))}`);
    }
    const tool = this.get(name);
    const validation = this.validateArgs(name, rawArgs);
    if (!validation.ok) throw validation.error;
    if (context.signal.aborted) throw new AgentToolException(AgentToolErrorCode.Failed, 'The run was cancelled');
    const result = await tool.run(validation.args, context);
    return { ...result, content: boundContent(result.content) };
  }
}

function invalid(name: string, issues: ToolArgumentIssue[]): ToolArgsValidation {
  return { ok: false, error: new InvalidToolArgumentsException(name, issues) };
}

/**
 * Draft-7 JSON schema of what a model sends (inputs: defaulted fields are optional), without
 * `$schema`, and without the long UUID regex where `format: uuid` says the same: grammar
 * builders for constrained output handle the format, not every regex. Validation still uses
 * the zod schema itself.
 */
function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _schema, ...rest } = z.toJSONSchema(schema, { target: 'draft-7', io: 'input' }) as Record<string, unknown>;
  return withoutFormatPatterns(rest) as Record<string, unknown>;
}

function withoutFormatPatterns(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutFormatPatterns);
  if (node === null || typeof node !== 'object') return node;
  const record = node as Record<string, unknown>;
  // A keyword only where both are keywords (strings), not properties named format and pattern.
  const dropPattern = typeof record.format === 'string' && typeof record.pattern === 'string';
  const entries = Object.entries(record).filter(([key]) => !(dropPattern && key === 'pattern'));
  return Object.fromEntries(entries.map(([key, value]) => [key, withoutFormatPatterns(value)]));
}
