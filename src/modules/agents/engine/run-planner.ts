import { Injectable } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config';
import { analyseComplexity } from 'src/modules/model-router/complexity';
import type { ChatMessage } from 'src/modules/model-router/providers/llm-provider';
import { AgentsErrorCode, AgentsException } from 'src/modules/agents/agents.exception';
import { AgentDefinitionsService } from 'src/modules/agents/definitions/agent-definitions.service';
import type { AgentSpec } from 'src/modules/agents/definitions/agent-spec';
import { BUILT_IN_AGENTS } from 'src/modules/agents/definitions/built-in-agents';
import { selectAgent } from 'src/modules/agents/engine/agent-selection';
import { ModelCaller } from 'src/modules/agents/engine/model-caller';
import { planCorrection, plannerSystemPrompt, planResponseSchema, validatePlan } from 'src/modules/agents/engine/plan';
import { RunAccess } from 'src/modules/agents/engine/run-access.service';
import { isUniqueViolation, newStep, refusalError, SupersededExecution } from 'src/modules/agents/engine/step-log';
import { RunEventsPublisher } from 'src/modules/agents/events/run-events.publisher';
import type { AgentRun, RunPlan } from 'src/modules/agents/runs/agent-run.entity';
import type { AgentTask } from 'src/modules/agents/runs/agent-task.entity';
import { NewStep, NewTask, RunsRepository } from 'src/modules/agents/runs/runs.repository';

/** The planner's own bounds: a first plan and one corrected one. */
const PLANNER_ATTEMPTS = 2;

/**
 * Decides what a run does: complexity analysis picks one agent or a plan (mode `auto`); a
 * planner call makes the plan's tasks, with agents and dependencies, checked before use
 * (a bad plan gets one corrective retry, then the run fails clearly); a writer's aggregation
 * task depends on all of them. Planner calls are steps like any other: stored, and not
 * repeated when a start job is retried.
 */
@Injectable()
export class RunPlanner {
  constructor(
    private readonly repository: RunsRepository,
    private readonly definitions: AgentDefinitionsService,
    private readonly caller: ModelCaller,
    private readonly access: RunAccess,
    private readonly publisher: RunEventsPublisher,
    private readonly config: AppConfig,
  ) {}

  /**
   * The run's tasks, made now or found made; null when the run ended meanwhile. A run
   * admitted by the calling job has none yet; a retried start job may find them made.
   */
  async tasksFor(run: AgentRun, signal: AbortSignal, admittedNow: boolean): Promise<AgentTask[] | null> {
    if (!admittedNow) {
      const existing = await this.repository.tasksOf(run.id);
      if (existing.some((task) => task.kind !== 'plan')) return existing;
    }

    const complexity = analyseComplexity([{ role: 'user', content: run.query }], { thresholds: this.config.router.autoThresholds });
    const mode = run.mode === 'auto' ? (complexity.tier === 'fast' ? 'single' : 'multi') : run.mode;

    let plan: RunPlan;
    let tasks: NewTask[];
    if (mode === 'single') {
      const name = selectAgent(run.query, { allowed: run.agents, hasKnowledgeBases: run.knowledgeBaseIds.length > 0, complexity });
      const spec = await this.agent(run, name);
      plan = { mode: 'single', tasks: [{ key: 'main', agent: name, instruction: run.query, dependsOn: [] }] };
      tasks = [
        { key: 'main', kind: 'task', position: 1, agent: name, agentSpec: spec, instruction: run.query, dependsOn: [], final: true },
      ];
    } else {
      const agents = await this.allowedAgents(run);
      const tier = complexity.tier === 'fast' ? 'balanced' : complexity.tier;
      plan = await this.plan(run, agents, tier, signal);
      const specs = new Map(agents.map((agent) => [agent.name, agent]));
      tasks = plan.tasks.map((task, index) => ({
        key: task.key,
        kind: 'task',
        position: index + 1,
        agent: task.agent,
        agentSpec: specs.get(task.agent)!,
        instruction: task.instruction,
        dependsOn: task.dependsOn,
        final: false,
      }));
      const writer = BUILT_IN_AGENTS.writer;
      tasks.push({
        key: 'aggregate',
        kind: 'aggregate',
        position: tasks.length + 1,
        agent: writer.name,
        agentSpec: { ...writer, tools: [] },
        instruction: 'Write the final answer from the results of the other tasks',
        dependsOn: plan.tasks.map((task) => task.key),
        final: true,
      });
    }
    const created = await this.repository.createTasks(run.id, plan, complexity, tasks);
    if (!created) return null;
    this.publisher.publish({
      type: 'plan',
      runId: run.id,
      plan,
      tasks: created.map((task) => ({ id: task.id, key: task.key, kind: task.kind, agent: task.agent, dependsOn: task.dependsOn })),
    });
    this.publisher.publish({ type: 'status', runId: run.id, status: 'running' });
    return created;
  }

  private async plan(run: AgentRun, agents: AgentSpec[], tier: string, signal: AbortSignal): Promise<RunPlan> {
    const names = agents.map((agent) => agent.name);
    const maxTasks = this.config.agents.maxPlanTasks;
    const plannerSpec: AgentSpec = {
      name: 'planner',
      description: 'Splits a request into tasks for agents',
      systemPrompt: plannerSystemPrompt(agents, maxTasks),
      model: tier,
      tools: [],
      maxSteps: PLANNER_ATTEMPTS,
      maxToolCalls: 0,
      builtIn: true,
    };
    const { task, steps } = await this.repository.ensureTask(run.id, {
      key: 'plan',
      kind: 'plan',
      position: 0,
      agent: 'planner',
      agentSpec: plannerSpec,
      instruction: 'Plan the tasks of the run',
      dependsOn: [],
      final: false,
    });
    const messages: ChatMessage[] = [
      { role: 'system', content: task.agentSpec.systemPrompt },
      { role: 'user', content: run.query },
    ];
    let attempts = 0;
    let sequence = 0;
    let problem = '';
    let needsCorrection = false;
    for (const step of steps) {
      sequence = step.sequence;
      if (step.type === 'model') {
        attempts += 1;
        messages.push({ role: 'assistant', content: step.content ?? '' });
        const checked = validatePlan(step.content ?? '', names, maxTasks);
        if (checked.ok) return this.finishPlanning(task, checked.plan);
        problem = checked.problem;
        needsCorrection = true;
      } else {
        messages.push({ role: 'user', content: step.result ?? '' });
        needsCorrection = false;
      }
    }
    if (attempts === 0)
      this.publisher.publish({ type: 'task.started', runId: run.id, taskId: task.id, key: task.key, kind: task.kind, agent: task.agent });
    for (;;) {
      if (attempts >= PLANNER_ATTEMPTS) {
        throw new AgentsException(AgentsErrorCode.PlanInvalid, `The planner did not produce a usable plan: ${problem}`);
      }
      if (needsCorrection) {
        sequence += 1;
        await this.store(run, {
          ...newStep(run.id, task.id, sequence, 'tool', new Date(), performance.now()),
          status: 'rejected',
          result: planCorrection(problem),
          errorCode: AgentsErrorCode.PlanInvalid,
          errorMessage: problem,
        });
        messages.push({ role: 'user', content: planCorrection(problem) });
      }
      const reserved = await this.repository.reserveStep(run, task.id, false);
      if ('refused' in reserved) throw refusalError(reserved.refused, run.id);
      this.access.fromRow(run, reserved.starter);
      const started = performance.now();
      const startedAt = new Date();
      const reply = await this.caller
        .call({
          run,
          taskId: task.id,
          model: tier,
          messages,
          request: { responseFormat: { schema: planResponseSchema(names) }, temperature: 0 },
          usedTokens: reserved.usedTokens,
          streamTokens: false,
          signal,
        })
        .catch(async (error: unknown) => {
          await this.repository.releaseStep(run.id, task.id, false).catch(() => undefined);
          throw error;
        });
      sequence += 1;
      const step: NewStep = {
        ...newStep(run.id, task.id, sequence, 'model', startedAt, started),
        model: reply.routing.model,
        routing: reply.routing,
        content: reply.content,
        finishReason: reply.finishReason,
        promptTokens: reply.usage.promptTokens,
        completionTokens: reply.usage.completionTokens,
      };
      const checked = validatePlan(reply.content, names, maxTasks);
      if (checked.ok) {
        // A usable plan completes the planner's task in the statement that stores its step.
        const { completion } = await this.store(run, step, { result: JSON.stringify(checked.plan), final: false, key: task.key });
        if (completion?.changed) this.publishPlanned(task);
        return checked.plan;
      }
      await this.store(run, step);
      attempts += 1;
      messages.push({ role: 'assistant', content: reply.content });
      problem = checked.problem;
      needsCorrection = true;
    }
  }

  /** A plan found among the stored steps of a retried start job: the planner's task may still need completing. */
  private async finishPlanning(task: AgentTask, plan: RunPlan): Promise<RunPlan> {
    const completed = await this.repository.completeTask(task, JSON.stringify(plan));
    if (completed.changed) this.publishPlanned(task);
    return plan;
  }

  private publishPlanned(task: AgentTask): void {
    this.publisher.publish({ type: 'task.finished', runId: task.runId, taskId: task.id, key: task.key, status: 'completed', error: null });
  }

  /** Commits a planner step; with `complete`, the same statement completes the planner's task. */
  private async store(run: AgentRun, step: NewStep, complete?: { result: string; final: boolean; key: string }) {
    try {
      return await this.repository.commitStep(step, { run, complete });
    } catch (error) {
      if (isUniqueViolation(error)) throw new SupersededExecution(step.taskId);
      throw error;
    }
  }

  /** The agents a plan may use: those the caller allowed, or every agent of the workspace. */
  private async allowedAgents(run: AgentRun): Promise<AgentSpec[]> {
    if (run.agents.length === 0) return this.definitions.all(run.workspaceId);
    return Promise.all(run.agents.map((name) => this.agent(run, name)));
  }

  private async agent(run: AgentRun, name: string): Promise<AgentSpec> {
    const spec = await this.definitions.resolve(run.workspaceId, name);
    if (!spec) throw new AgentsException(AgentsErrorCode.AgentUnknown, `The agent "${name}" no longer exists in the workspace`);
    return spec;
  }
}
