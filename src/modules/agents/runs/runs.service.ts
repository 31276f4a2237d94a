import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission, WORKSPACE_PERMISSIONS } from 'src/common/auth/permission.enum';
import { CommonErrors } from 'src/common/errors/app.exception';
import { AppConfig } from 'src/config/app-config';
import { KnowledgeRetriever } from 'src/modules/rag/grounding';
import { AgentsErrorCode, AgentsException, runNotFound } from 'src/modules/agents/agents.exception';
import { aboveMaximum, AgentDefinitionsService } from 'src/modules/agents/definitions/agent-definitions.service';
import { RunOutcomes } from 'src/modules/agents/engine/run-outcomes';
import { CreateRunDto, DEFAULT_PRIORITY, RunDto, RunLimitsDto, RunPageArgs, RunStartedDto } from 'src/modules/agents/dto/runs.dto';
import { AgentArtifact } from 'src/modules/agents/runs/agent-artifact.entity';
import { AgentRun, RunLimits, TERMINAL_RUN_STATUSES } from 'src/modules/agents/runs/agent-run.entity';
import { RunOwner, RunsRepository } from 'src/modules/agents/runs/runs.repository';

export const ownerOf = (auth: AuthContext): RunOwner => ({ workspaceId: auth.workspaceId, userId: auth.userId });

/**
 * Starting, reading and cancelling workflow runs, for every surface (REST, GraphQL). A run is
 * checked in full before it is stored: its agents exist, its knowledge bases are readable by
 * the caller, its limits are within the server's maxima. Runs are private to their starter.
 */
@Injectable()
export class RunsService {
  constructor(
    private readonly repository: RunsRepository,
    private readonly definitions: AgentDefinitionsService,
    private readonly knowledge: KnowledgeRetriever,
    private readonly outcomes: RunOutcomes,
    private readonly config: AppConfig,
  ) {}

  async start(auth: AuthContext, dto: CreateRunDto): Promise<RunStartedDto> {
    if (!auth.permissions.has(Permission.ModelInvoke)) {
      throw CommonErrors.forbidden(`A workflow run calls models: it needs ${Permission.ModelInvoke}`);
    }
    const agents = dto.agents ?? [];
    for (const name of agents) {
      if (!(await this.definitions.resolve(auth.workspaceId, name))) {
        throw new AgentsException(AgentsErrorCode.AgentUnknown, `Unknown agent "${name}"; list the workspace's agents with GET /agents`);
      }
    }
    const knowledgeBaseIds = dto.knowledgeBaseIds ?? [];
    if (knowledgeBaseIds.length > 0 && !auth.permissions.has(Permission.KnowledgeBaseRead)) {
      throw CommonErrors.forbidden(`Searching knowledge bases needs ${Permission.KnowledgeBaseRead}`);
    }
    await this.knowledge.requireKnowledgeBases(auth.workspaceId, knowledgeBaseIds);
    const run = await this.repository.createRun({
      workspaceId: auth.workspaceId,
      userId: auth.userId,
      apiKeyId: auth.apiKeyId ?? null,
      permissions: [...auth.permissions].filter((permission) => WORKSPACE_PERMISSIONS.includes(permission)),
      query: dto.query,
      mode: dto.mode ?? 'auto',
      agents,
      knowledgeBaseIds,
      priority: dto.priority ?? DEFAULT_PRIORITY,
      limits: this.limitsOf(dto.limits),
    });
    await this.outcomes.enqueueStart(run, 0);
    return { id: run.id, status: run.status, eventsUrl: `/api/v1/workflows/runs/${run.id}/events` };
  }

  async get(auth: AuthContext, id: string): Promise<RunDto> {
    const run = await this.require(auth, id);
    const [tasks, steps, artifacts] = await Promise.all([
      this.repository.tasksOf(run.id),
      this.repository.stepsOfRun(run.id),
      this.repository.artifactsOf(run.id),
    ]);
    return RunDto.from(run, { tasks, steps, artifacts });
  }

  async list(auth: AuthContext, page: RunPageArgs): Promise<RunDto[]> {
    return (await this.repository.listRuns(ownerOf(auth), page)).map((run) => RunDto.from(run));
  }

  async cancel(auth: AuthContext, id: string): Promise<RunDto> {
    const run = await this.require(auth, id);
    const cancelled = TERMINAL_RUN_STATUSES.includes(run.status) ? null : await this.outcomes.cancel(run.id);
    if (!cancelled) {
      const current = await this.require(auth, id);
      throw new AgentsException(AgentsErrorCode.RunAlreadyFinished, `The run has already ended (${current.status})`);
    }
    return RunDto.from(cancelled);
  }

  async artifact(auth: AuthContext, runId: string, artifactId: string): Promise<AgentArtifact> {
    const artifact = await this.repository.artifact(ownerOf(auth), runId, artifactId);
    if (!artifact) throw new AgentsException(AgentsErrorCode.ArtifactNotFound, 'Artifact not found');
    return artifact;
  }

  /** The caller's own run in the acting workspace; anything else is not found. */
  async require(auth: AuthContext, id: string): Promise<AgentRun> {
    const run = await this.repository.findRun(ownerOf(auth), id);
    if (!run) throw runNotFound();
    return run;
  }

  private limitsOf(requested: RunLimitsDto | undefined): RunLimits {
    const maxima = this.config.agents.maxLimits;
    const limits: RunLimits = { ...maxima };
    for (const key of Object.keys(maxima) as (keyof RunLimits)[]) {
      const value = requested?.[key];
      if (value === undefined) continue;
      if (value > maxima[key]) throw aboveMaximum(`limits.${key}`, value, maxima[key]);
      limits[key] = value;
    }
    return limits;
  }
}
