import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { CommonErrors } from 'src/common/errors/app.exception';
import { AppConfig } from 'src/config/app-config';
import { ModelRegistryService } from 'src/modules/model-router/registry/model-registry.service';
import { agentNotFound, AgentsErrorCode, AgentsException } from 'src/modules/agents/agents.exception';
import { AgentDefinition } from 'src/modules/agents/definitions/agent-definition.entity';
import { AgentDefinitionPatch, AgentDefinitionsRepository } from 'src/modules/agents/definitions/agent-definitions.repository';
import {
  AGENT_TOOL_NAMES,
  AgentSpec,
  DEFAULT_AGENT_MAX_STEPS,
  DEFAULT_AGENT_MAX_TOOL_CALLS,
  tierOrModel,
} from 'src/modules/agents/definitions/agent-spec';
import { BUILT_IN_AGENTS, BUILT_IN_AGENT_NAMES, isBuiltInAgent } from 'src/modules/agents/definitions/built-in-agents';
import { AgentDto, CreateAgentDto, UpdateAgentDto } from 'src/modules/agents/dto/agents.dto';
import type { AgentToolName } from 'src/modules/agents/tools/agent-tool';

const UNIQUE_VIOLATION = '23505';

/** Built-in agents (code constants) and the workspace's custom ones, behind one lookup by name. */
@Injectable()
export class AgentDefinitionsService {
  constructor(
    private readonly repository: AgentDefinitionsRepository,
    private readonly registry: ModelRegistryService,
    private readonly config: AppConfig,
  ) {}

  /** Built-in agents first, then custom ones by name. */
  async list(auth: AuthContext): Promise<AgentDto[]> {
    const custom = await this.repository.list(auth.workspaceId);
    return [
      ...BUILT_IN_AGENT_NAMES.map((name) => AgentDto.fromSpec(BUILT_IN_AGENTS[name])),
      ...custom.map((definition) => AgentDto.fromSpec(this.specOf(definition), definition)),
    ];
  }

  async get(auth: AuthContext, id: string): Promise<AgentDto> {
    const definition = await this.repository.find(auth.workspaceId, id);
    if (!definition) throw agentNotFound();
    return AgentDto.fromSpec(this.specOf(definition), definition);
  }

  async create(auth: AuthContext, dto: CreateAgentDto): Promise<AgentDto> {
    if (isBuiltInAgent(dto.name)) {
      throw new AgentsException(AgentsErrorCode.AgentNameTaken, `"${dto.name}" is a built-in agent; choose another name`);
    }
    if (dto.tier !== undefined && dto.model !== undefined) throw invalid('give a tier or a model, not both');
    if (dto.model !== undefined) await this.registry.resolveModel(dto.model);
    this.checkLimits(dto.maxSteps, dto.maxToolCalls);
    const definition = await this.named(() =>
      this.repository.create(auth.workspaceId, {
        name: dto.name,
        description: dto.description,
        systemPrompt: dto.systemPrompt,
        tier: dto.model === undefined ? (dto.tier ?? 'balanced') : null,
        model: dto.model ?? null,
        tools: knownTools(dto.tools ?? []),
        maxSteps: dto.maxSteps ?? null,
        maxToolCalls: dto.maxToolCalls ?? null,
        createdBy: auth.userId,
      }),
    );
    return AgentDto.fromSpec(this.specOf(definition), definition);
  }

  async update(auth: AuthContext, id: string, dto: UpdateAgentDto): Promise<AgentDto> {
    if (!(await this.repository.find(auth.workspaceId, id))) throw agentNotFound();
    if (dto.tier !== undefined && dto.model !== undefined) throw invalid('give a tier or a model, not both');
    if (dto.model !== undefined) await this.registry.resolveModel(dto.model);
    this.checkLimits(dto.maxSteps ?? undefined, dto.maxToolCalls ?? undefined);
    const patch: AgentDefinitionPatch = {};
    if (dto.description !== undefined) patch.description = dto.description;
    if (dto.systemPrompt !== undefined) patch.systemPrompt = dto.systemPrompt;
    if (dto.tier !== undefined) Object.assign(patch, { tier: dto.tier, model: null });
    if (dto.model !== undefined) Object.assign(patch, { tier: null, model: dto.model });
    if (dto.tools !== undefined) patch.tools = knownTools(dto.tools);
    if (dto.maxSteps !== undefined) patch.maxSteps = dto.maxSteps;
    if (dto.maxToolCalls !== undefined) patch.maxToolCalls = dto.maxToolCalls;
    const updated = await this.repository.update(auth.workspaceId, id, patch);
    if (!updated) throw agentNotFound();
    return AgentDto.fromSpec(this.specOf(updated), updated);
  }

  async delete(auth: AuthContext, id: string): Promise<void> {
    if (!(await this.repository.delete(auth.workspaceId, id))) throw agentNotFound();
  }

  /** The agent named `name` in the workspace (built-in or custom), or null. */
  async resolve(workspaceId: string, name: string): Promise<AgentSpec | null> {
    if (isBuiltInAgent(name)) return BUILT_IN_AGENTS[name];
    const definition = await this.repository.findByName(workspaceId, name);
    return definition ? this.specOf(definition) : null;
  }

  /** Every agent of the workspace, for the planner. */
  async all(workspaceId: string): Promise<AgentSpec[]> {
    const custom = await this.repository.list(workspaceId);
    return [...BUILT_IN_AGENT_NAMES.map((name) => BUILT_IN_AGENTS[name]), ...custom.map((definition) => this.specOf(definition))];
  }

  private specOf(definition: AgentDefinition): AgentSpec {
    return {
      name: definition.name,
      description: definition.description,
      systemPrompt: definition.systemPrompt,
      model: tierOrModel(definition.tier, definition.model),
      tools: [...definition.tools],
      maxSteps: definition.maxSteps ?? Math.min(DEFAULT_AGENT_MAX_STEPS, this.config.agents.maxLimits.maxSteps),
      maxToolCalls: definition.maxToolCalls ?? Math.min(DEFAULT_AGENT_MAX_TOOL_CALLS, this.config.agents.maxLimits.maxToolCalls),
      builtIn: false,
    };
  }

  private checkLimits(maxSteps: number | undefined, maxToolCalls: number | undefined): void {
    const maxima = this.config.agents.maxLimits;
    if (maxSteps !== undefined && maxSteps > maxima.maxSteps) throw aboveMaximum('maxSteps', maxSteps, maxima.maxSteps);
    if (maxToolCalls !== undefined && maxToolCalls > maxima.maxToolCalls) {
      throw aboveMaximum('maxToolCalls', maxToolCalls, maxima.maxToolCalls);
    }
  }

  private async named(write: () => Promise<AgentDefinition>): Promise<AgentDefinition> {
    try {
      return await write();
    } catch (error) {
      if ((error as { driverError?: { code?: string } }).driverError?.code === UNIQUE_VIOLATION) {
        throw new AgentsException(AgentsErrorCode.AgentNameTaken, 'An agent with this name already exists in the workspace');
      }
      throw error;
    }
  }
}

export function aboveMaximum(field: string, value: number, maximum: number): AgentsException {
  return new AgentsException(AgentsErrorCode.LimitAboveMaximum, `${field} ${value} is above the server's maximum of ${maximum}`, {
    field,
    maximum,
  });
}

const invalid = (message: string) => CommonErrors.validation(message);

/** Every name must be a tool of the contract; the order is kept. */
export function knownTools(names: readonly string[]): AgentToolName[] {
  const unknown = names.filter((name) => !(AGENT_TOOL_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new AgentsException(AgentsErrorCode.ToolUnknown, `Unknown tool(s) ${unknown.join(', ')}; known: ${AGENT_TOOL_NAMES.join(', ')}`);
  }
  return names as AgentToolName[];
}
