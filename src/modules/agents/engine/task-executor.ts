import { Injectable, Logger } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';
import { AppConfig } from 'src/config/app-config';
import { planModels } from 'src/modules/model-router/gateway/model-plan';
import type { ChatMessage } from 'src/modules/model-router/providers/llm-provider';
import { ModelRegistryService } from 'src/modules/model-router/registry/model-registry.service';
import { AgentsErrorCode, AgentsException } from 'src/modules/agents/agents.exception';
import type { AgentSpec } from 'src/modules/agents/definitions/agent-spec';
import { ModelCaller } from 'src/modules/agents/engine/model-caller';
import { aggregatePrompt, taskPrompt } from 'src/modules/agents/engine/prompts';
import { RunAccess } from 'src/modules/agents/engine/run-access.service';
import { isUniqueViolation, newStep, refusalError, SupersededExecution } from 'src/modules/agents/engine/step-log';
import { CheckedCall, Decision, OfferedTool, ToolProtocol } from 'src/modules/agents/engine/tool-protocol';
import { RunEventsPublisher } from 'src/modules/agents/events/run-events.publisher';
import type { AgentRun } from 'src/modules/agents/runs/agent-run.entity';
import type { AgentStep } from 'src/modules/agents/runs/agent-step.entity';
import type { AgentTask, ToolMode } from 'src/modules/agents/runs/agent-task.entity';
import { NewArtifact, NewStep, Reservation, RunsRepository, TaskCompletion } from 'src/modules/agents/runs/runs.repository';
import { AgentToolRegistry } from 'src/modules/agents/tools/agent-tool.registry';

/** Most characters of a tool's output kept for the model and the step (tools bound theirs already). */
const MAX_TOOL_RESULT_CHARS = 16_000;
/** Most characters of a tool result carried by its event; the step keeps all of it. */
const EVENT_RESULT_CHARS = 2_000;

/** What the task does next. */
type Action =
  | { kind: 'model' }
  | { kind: 'tool'; entry: Extract<CheckedCall, { ok: true }> }
  /** A refused call (or an unusable reply) answered with a correction; never run. */
  | { kind: 'correction'; callId: string | null; toolName: string | null; args: Record<string, unknown> | null; text: string }
  /** The model needed a correction twice in a row. */
  | { kind: 'fail'; error: AgentsException };

interface Loop {
  run: AgentRun;
  task: AgentTask;
  protocol: ToolProtocol;
  messages: ChatMessage[];
  signal: AbortSignal;
  /** Sequence number of the last stored step. */
  sequence: number;
  /** Model replies in a row that needed a correction; a second one fails the task. */
  corrections: number;
  /** The tool mode to store with the next reservation, until the task has one. */
  newToolMode: ToolMode | null;
  /** The next step, already taken from the limits by the statement that stored the last one. */
  reservation: Reservation | null;
}

/** How a task ended: its answer, and whether storing the answer already completed it (and the run). */
export interface TaskOutcome {
  result: string;
  completion: TaskCompletion | null;
}

/**
 * One task's tool-calling loop: the agent's model is called, the tools it asks for are
 * checked and run, their results go back, until it answers. Every step is committed before
 * the next begins (in the statement that also takes the following step from the limits); a
 * task started again (a retried job after a crash) rebuilds the conversation from its stored
 * steps and goes on from the last one, so no completed model or tool call is made twice.
 */
@Injectable()
export class TaskExecutor {
  private readonly logger = new Logger('Agents');

  constructor(
    private readonly repository: RunsRepository,
    private readonly caller: ModelCaller,
    private readonly tools: AgentToolRegistry,
    private readonly access: RunAccess,
    private readonly publisher: RunEventsPublisher,
    private readonly registry: ModelRegistryService,
    private readonly config: AppConfig,
  ) {}

  /** Runs the task to its answer; throws why it could not. */
  async execute(
    run: AgentRun,
    task: AgentTask,
    signal: AbortSignal,
    stored: { steps: AgentStep[]; dependencies: AgentTask[]; reservation: Reservation | null },
  ): Promise<TaskOutcome> {
    const offered = task.kind === 'aggregate' ? [] : this.offeredTools(task.agentSpec);
    // Decided once, stored with the first step's reservation, and kept when the task resumes.
    const mode = task.toolMode ?? (await this.toolModeOf(task.agentSpec.model, offered.length > 0));
    const protocol = ToolProtocol.for(mode, offered, (name, raw) => this.tools.validateArgs(name, raw));
    const prompt = task.kind === 'aggregate' ? aggregatePrompt(run, stored.dependencies) : taskPrompt(run, task, stored.dependencies);
    const loop: Loop = {
      run,
      task,
      protocol,
      messages: [
        { role: 'system', content: [task.agentSpec.systemPrompt, protocol.instructions()].filter(Boolean).join('\n\n') },
        { role: 'user', content: prompt },
      ],
      signal,
      sequence: 0,
      corrections: 0,
      newToolMode: task.toolMode ? null : mode,
      reservation: stored.reservation,
    };

    // Replay: the conversation so far, from the stored steps, and what was left to do after the last reply.
    let actions: Action[] = [{ kind: 'model' }];
    let last: AgentStep | undefined;
    let answered = new Set<string>();
    let corrected = false;
    for (const step of stored.steps) {
      loop.sequence = step.sequence;
      if (step.type === 'model') {
        if (last) loop.corrections = this.hadProblem(protocol, last, stored.steps) ? loop.corrections + 1 : 0;
        last = step;
        answered = new Set();
        corrected = false;
        loop.messages.push(protocol.assistantMessage(step));
      } else {
        if (step.toolCallId) answered.add(step.toolCallId);
        else corrected = true;
        loop.messages.push(protocol.toolMessage(step));
      }
    }
    if (last) {
      const decision = protocol.interpret(last);
      if (decision.kind === 'answer') return { result: decision.text, completion: null };
      actions = this.actionsAfter(loop, decision).filter((action) =>
        action.kind === 'tool'
          ? !answered.has(action.entry.call.id)
          : action.kind === 'correction'
            ? !(action.callId ? answered.has(action.callId) : corrected)
            : true,
      );
    }

    for (;;) {
      const action = actions.shift() ?? { kind: 'model' };
      const next = actions[0] ?? { kind: 'model' };
      switch (action.kind) {
        case 'fail':
          throw action.error;
        case 'correction':
          await this.storeCorrection(loop, action, next);
          break;
        case 'tool':
          await this.toolStep(loop, action.entry, next);
          break;
        case 'model': {
          const outcome = await this.modelStep(loop);
          if (outcome.answer !== null) return { result: outcome.answer, completion: outcome.completion };
          actions = outcome.actions;
          break;
        }
      }
    }
  }

  /** What follows a reply: nothing (an answer), corrections, tool calls, then the next model call. */
  private actionsAfter(loop: Loop, decision: Exclude<Decision, { kind: 'answer' }>): Action[] {
    if (decision.kind === 'invalid') {
      loop.corrections += 1;
      const correction: Action = { kind: 'correction', callId: null, toolName: null, args: null, text: decision.message };
      if (loop.corrections > 1) {
        return [
          correction,
          {
            kind: 'fail',
            error: new AgentsException(AgentsErrorCode.OutputInvalid, `The model's reply was unusable twice in a row: ${decision.message}`),
          },
        ];
      }
      return [correction, { kind: 'model' }];
    }
    const checked = decision.calls.map((call) => loop.protocol.check(call));
    const refused = checked.filter((entry): entry is Extract<CheckedCall, { ok: false }> => !entry.ok);
    loop.corrections = refused.length > 0 ? loop.corrections + 1 : 0;
    const corrections: Action[] = refused.map((entry) => ({
      kind: 'correction',
      callId: entry.call.id,
      toolName: entry.call.name,
      args: entry.argumentsObject,
      text: entry.correction,
    }));
    if (loop.corrections > 1) {
      const error = new AgentsException(
        AgentsErrorCode.ToolCallInvalid,
        `Malformed tool call again after a correction: ${refused[0].correction}`,
      );
      return [...corrections, { kind: 'fail', error }];
    }
    return [
      ...checked.map((entry): Action =>
        entry.ok
          ? { kind: 'tool', entry }
          : { kind: 'correction', callId: entry.call.id, toolName: entry.call.name, args: entry.argumentsObject, text: entry.correction },
      ),
      { kind: 'model' },
    ];
  }

  /** Whether a stored model step's reply needed a correction (for counting corrections in a row on replay). */
  private hadProblem(protocol: ToolProtocol, step: AgentStep, steps: readonly AgentStep[]): boolean {
    const decision = protocol.interpret(step);
    if (decision.kind === 'invalid') return true;
    if (decision.kind === 'answer') return false;
    return steps.some(
      (other) => other.type === 'tool' && other.status === 'rejected' && decision.calls.some((call) => call.id === other.toolCallId),
    );
  }

  private async modelStep(
    loop: Loop,
  ): Promise<
    { answer: string; completion: TaskOutcome['completion']; actions: [] } | { answer: null; completion: null; actions: Action[] }
  > {
    const { run, task } = loop;
    const reserved = await this.reserve(loop, 'model');
    const startedAt = new Date();
    const started = performance.now();
    const reply = await this.caller
      .call({
        run,
        taskId: task.id,
        model: task.agentSpec.model,
        messages: loop.messages,
        // Greedy decoding where the reply must be a well-formed JSON call: sampling only adds malformed ones.
        request: { ...loop.protocol.request(), ...(loop.protocol.mode === 'json' && { temperature: 0 }) },
        usedTokens: reserved.usedTokens,
        streamTokens: task.final && loop.protocol.mode === 'native',
        signal: loop.signal,
      })
      .catch(async (error: unknown) => {
        await this.repository.releaseStep(run.id, task.id, false).catch(() => undefined);
        throw error;
      });
    const sequence = loop.sequence + 1;
    const toolCalls = loop.protocol.normalize(reply.content, reply.toolCalls, sequence);
    const draft: NewStep = {
      ...newStep(run.id, task.id, sequence, 'model', startedAt, started),
      model: reply.routing.model,
      routing: reply.routing,
      content: reply.content,
      toolCalls: toolCalls.length > 0 ? toolCalls : null,
      finishReason: reply.finishReason,
      promptTokens: reply.usage.promptTokens,
      completionTokens: reply.usage.completionTokens,
    };
    const decision = loop.protocol.interpret(draft);
    if (decision.kind === 'answer') {
      const { step, completion } = await this.store(loop, draft, { complete: { result: decision.text, final: task.final, key: task.key } });
      loop.messages.push(loop.protocol.assistantMessage(step));
      // JSON mode cannot stream the answer (it is inside the JSON); it is sent once whole.
      if (task.final && loop.protocol.mode === 'json')
        this.publisher.publish({ type: 'token', runId: run.id, taskId: task.id, delta: decision.text });
      return { answer: decision.text, completion, actions: [] };
    }
    const actions = this.actionsAfter(loop, decision);
    const { step } = await this.store(loop, draft, { next: actions[0] });
    loop.messages.push(loop.protocol.assistantMessage(step));
    return { answer: null, completion: null, actions };
  }

  private async toolStep(loop: Loop, entry: Extract<CheckedCall, { ok: true }>, next: Action): Promise<void> {
    const { run, task } = loop;
    const reserved = await this.reserve(loop, 'tool');
    const auth = this.access.fromRow(run, reserved.starter);
    this.publisher.publish({
      type: 'tool.called',
      runId: run.id,
      taskId: task.id,
      tool: entry.call.name,
      arguments: entry.argumentsObject,
    });
    const startedAt = new Date();
    const started = performance.now();
    let outcome: Pick<NewStep, 'status' | 'result' | 'data' | 'errorCode' | 'errorMessage'>;
    let artifacts: NewArtifact[] = [];
    try {
      const result = await this.tools.run(
        entry.call.name,
        entry.argumentsObject,
        { auth, knowledgeBaseIds: run.knowledgeBaseIds, signal: loop.signal },
        { allowed: loop.protocol.names },
      );
      outcome = { status: 'completed', result: bound(result.content), data: result.data ?? null, errorCode: null, errorMessage: null };
      artifacts = (result.artifacts ?? []).map((artifact) => ({
        name: artifact.name,
        mediaType: artifact.mediaType,
        bytes: artifact.bytes,
      }));
    } catch (error) {
      if (loop.signal.aborted) {
        await this.repository.releaseStep(run.id, task.id, true).catch(() => undefined);
        throw error;
      }
      if (error instanceof AppException) {
        outcome = {
          status: 'failed',
          result: `Error (${error.code}): ${error.message}`,
          data: null,
          errorCode: error.code,
          errorMessage: error.message,
        };
      } else {
        this.logger.error(
          `Tool ${entry.call.name} failed in run ${run.id}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
        );
        const message = 'The tool failed unexpectedly';
        outcome = { status: 'failed', result: `Error: ${message}`, data: null, errorCode: 'AGENT_TOOL_FAILED', errorMessage: message };
      }
    }
    const { step, artifacts: stored } = await this.store(
      loop,
      {
        ...newStep(run.id, task.id, loop.sequence + 1, 'tool', startedAt, started),
        ...outcome,
        toolName: entry.call.name,
        toolCallId: entry.call.id,
        arguments: entry.argumentsObject,
      },
      { next, artifacts },
    );
    loop.messages.push(loop.protocol.toolMessage(step));
    this.publisher.publish({
      type: 'tool.result',
      runId: run.id,
      taskId: task.id,
      stepId: step.id,
      tool: entry.call.name,
      status: step.status,
      result: (step.result ?? '').slice(0, EVENT_RESULT_CHARS),
      artifacts: stored.map((artifact) => ({ id: artifact.id, name: artifact.name, mediaType: artifact.mediaType })),
    });
  }

  private async storeCorrection(loop: Loop, correction: Extract<Action, { kind: 'correction' }>, next: Action): Promise<void> {
    const { run, task } = loop;
    const { step } = await this.store(
      loop,
      {
        ...newStep(run.id, task.id, loop.sequence + 1, 'tool', new Date(), performance.now()),
        status: 'rejected',
        toolName: correction.toolName?.slice(0, 40) ?? null,
        toolCallId: correction.callId,
        arguments: correction.args,
        result: correction.text,
        errorCode: correction.callId === null ? AgentsErrorCode.OutputInvalid : AgentsErrorCode.ToolCallInvalid,
        errorMessage: correction.text,
      },
      { next },
    );
    loop.messages.push(loop.protocol.toolMessage(step));
    if (correction.toolName !== null) {
      this.publisher.publish({
        type: 'tool.result',
        runId: run.id,
        taskId: task.id,
        stepId: step.id,
        tool: step.toolName ?? '',
        status: 'rejected',
        result: correction.text.slice(0, EVENT_RESULT_CHARS),
        artifacts: [],
      });
    }
  }

  /** The step about to start, from the reservation made with the last stored step, or taken now. */
  private async reserve(loop: Loop, kind: 'model' | 'tool'): Promise<Reservation> {
    let reservation = loop.reservation;
    loop.reservation = null;
    if (reservation?.kind !== kind) {
      if (reservation) await this.repository.releaseStep(loop.run.id, loop.task.id, reservation.kind === 'tool');
      const reserved = await this.repository.reserveStep(loop.run, loop.task.id, kind === 'tool', loop.newToolMode);
      if ('refused' in reserved) throw refusalError(reserved.refused, loop.run.id);
      loop.newToolMode = null;
      reservation = { kind, ...reserved };
    }
    // Access as of this step: revoked permissions stop the run here.
    this.access.fromRow(loop.run, reservation.starter);
    return reservation;
  }

  /**
   * Commits a step; with `next` a model or tool step, the same statement reserves it (a limit
   * reached then fails the task before it starts), and with `complete` it completes the task.
   */
  private async store(
    loop: Loop,
    step: NewStep,
    options: { next?: Action; complete?: { result: string; final: boolean; key: string }; artifacts?: NewArtifact[] },
  ) {
    const reserveNext = options.next?.kind === 'model' || options.next?.kind === 'tool' ? options.next.kind : null;
    let stored: Awaited<ReturnType<RunsRepository['commitStep']>>;
    try {
      stored = await this.repository.commitStep(step, {
        run: loop.run,
        artifacts: options.artifacts,
        reserveNext: options.complete ? null : reserveNext,
        complete: options.complete,
        toolMode: loop.newToolMode,
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new SupersededExecution(loop.task.id);
      throw error;
    }
    loop.sequence = step.sequence;
    if (options.complete || reserveNext) loop.newToolMode = null;
    if (stored.reservation && 'refused' in stored.reservation) throw refusalError(stored.reservation.refused, loop.run.id);
    loop.reservation = stored.reservation;
    return stored;
  }

  /** The agent's tools that are available here (web_search without a provider is left out). */
  private offeredTools(spec: AgentSpec): OfferedTool[] {
    return this.tools.describe(spec.tools).map((tool) => tool.function);
  }

  /** Native tool calling only when every model that may answer supports it; otherwise schema-constrained JSON. */
  private async toolModeOf(model: string, hasTools: boolean): Promise<ToolMode> {
    if (!hasTools) return 'native';
    const plan = await planModels(this.registry, model, [], this.config.router);
    return plan.candidates.every((candidate) => candidate.model.capabilities.tools) ? 'native' : 'json';
  }
}

function bound(content: string): string {
  return content.length <= MAX_TOOL_RESULT_CHARS ? content : `${content.slice(0, MAX_TOOL_RESULT_CHARS)}…[truncated]`;
}
