import { Injectable, Logger } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';
import { toErrorBody } from 'src/common/errors/error-body';
import { AppConfig } from 'src/config/app-config';
import { JobQueue } from 'src/common/queue/job-queue';
import { JobName } from 'src/common/queue/queue.constants';
import { AgentsErrorCode, AgentsException } from 'src/modules/agents/agents.exception';
import { RunControl, RunStopped } from 'src/modules/agents/engine/run-control';
import { AGENT_JOB_ATTEMPTS, AGENT_JOB_BACKOFF, runTaskJobId } from 'src/modules/agents/engine/run-task.job';
import { startRunJobId } from 'src/modules/agents/engine/start-run.job';
import { RunNotActive, SupersededExecution } from 'src/modules/agents/engine/step-log';
import { RunEventError } from 'src/modules/agents/events/run-events';
import { RunEventsPublisher } from 'src/modules/agents/events/run-events.publisher';
import { AgentRun } from 'src/modules/agents/runs/agent-run.entity';
import { AgentTask } from 'src/modules/agents/runs/agent-task.entity';
import { RunError, RunsRepository } from 'src/modules/agents/runs/runs.repository';

/** Router failures worth another attempt of the job (the task resumes from its stored steps). */
const TRANSIENT_CODES = new Set([
  'ROUTER_OVERLOADED',
  'ROUTER_NO_NODE',
  'ROUTER_UPSTREAM_FAILED',
  'ROUTER_STREAM_INTERRUPTED',
  'QUOTA_UNAVAILABLE',
]);

/**
 * Where runs end and what happens next: jobs for tasks that became ready, the finished event,
 * the run's other executions stopped, and the workspace's next waiting run admitted.
 */
@Injectable()
export class RunOutcomes {
  private readonly logger = new Logger('Agents');

  constructor(
    private readonly repository: RunsRepository,
    private readonly queue: JobQueue,
    private readonly control: RunControl,
    private readonly publisher: RunEventsPublisher,
    private readonly config: AppConfig,
  ) {}

  async enqueueStart(run: Pick<AgentRun, 'id' | 'priority'>, admission: number, recovery = 0): Promise<void> {
    await this.queue.enqueue(
      JobName.AgentRunStart,
      { runId: run.id },
      {
        jobId: startRunJobId(run.id, admission, recovery),
        priority: run.priority,
        attempts: AGENT_JOB_ATTEMPTS,
        backoff: AGENT_JOB_BACKOFF,
      },
    );
  }

  /**
   * Idempotent per task (deterministic job ids): a task made ready twice still runs once. The
   * jobs are added at once, so their round trips to Redis overlap.
   */
  async enqueueTasks(run: Pick<AgentRun, 'id' | 'priority'>, tasks: readonly AgentTask[]): Promise<void> {
    await Promise.all(
      tasks.map((task) =>
        this.queue.enqueue(
          JobName.AgentTaskRun,
          { runId: run.id, taskId: task.id },
          {
            jobId: runTaskJobId(run.id, task.id, task.recoveries),
            priority: run.priority,
            attempts: AGENT_JOB_ATTEMPTS,
            backoff: AGENT_JOB_BACKOFF,
          },
        ),
      ),
    );
  }

  /** The run completed (its final task did): tell its followers, free its slot. */
  async completed(run: AgentRun, othersWaiting = true): Promise<void> {
    this.publishFinished(run);
    if (othersWaiting) await this.admitNext(run.workspaceId);
  }

  async fail(runId: string, error: RunError, failedTask?: AgentTask): Promise<void> {
    const run = await this.repository.finishRun(runId, 'failed', error, failedTask?.id);
    if (!run) return;
    this.control.stop(runId, 'failed');
    if (failedTask) {
      this.publisher.publish({
        type: 'task.finished',
        runId,
        taskId: failedTask.id,
        key: failedTask.key,
        status: 'failed',
        error: eventError(error),
      });
    }
    this.publishFinished(run);
    await this.admitNext(run.workspaceId);
  }

  /** False when the run had already ended. */
  async cancel(runId: string): Promise<AgentRun | null> {
    const run = await this.repository.finishRun(runId, 'cancelled', { code: AgentsErrorCode.Cancelled, message: 'The run was cancelled' });
    if (!run) return null;
    this.control.stop(runId, 'cancelled');
    this.publishFinished(run);
    await this.admitNext(run.workspaceId);
    return run;
  }

  /**
   * What a job does with an error from its execution: nothing when another execution owns
   * the task or the run already ended; a rethrow (another attempt) for a transient failure
   * while attempts remain; otherwise the run fails with the error's code.
   */
  async handle(
    run: AgentRun,
    task: AgentTask | null,
    error: unknown,
    signal: AbortSignal,
    attempt: { current: number; max: number },
  ): Promise<void> {
    const cause: unknown = signal.aborted ? signal.reason : error;
    if (cause instanceof SupersededExecution || cause instanceof RunNotActive) return;
    if (cause instanceof RunStopped) {
      if (cause.reason === 'timed-out') await this.fail(run.id, { code: cause.code, message: cause.message }, task ?? undefined);
      return;
    }
    if (isTransient(cause) && attempt.current < attempt.max) throw error;
    if (!(cause instanceof AppException)) {
      this.logger.error(`Run ${run.id} failed: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`);
    }
    const body = toErrorBody(cause);
    const prefix = task && task.kind !== 'plan' ? `Task ${task.key} (${task.agent}): ` : '';
    const code = cause instanceof AppException && TRANSIENT_CODES.has(cause.code) ? AgentsErrorCode.ModelFailed : body.code;
    await this.fail(run.id, { code, message: `${prefix}${body.message}` }, task ?? undefined);
  }

  /** Starts the workspace's next waiting run, if one waits and a slot is free. */
  async admitNext(workspaceId: string): Promise<boolean> {
    const next = await this.repository.nextWaiting(workspaceId, this.config.agents.maxConcurrentRunsPerWorkspace);
    if (next) await this.enqueueStart(next.run, next.admission, next.run.recoveries);
    return next !== null;
  }

  private publishFinished(run: AgentRun): void {
    this.publisher.publish({
      type: 'finished',
      runId: run.id,
      status: run.status,
      result: run.result,
      error: run.errorCode ? { code: run.errorCode, message: run.errorMessage ?? '' } : null,
      usage: { promptTokens: run.promptTokens, completionTokens: run.completionTokens, steps: run.stepCount, toolCalls: run.toolCallCount },
    });
  }
}

function eventError(error: RunError): RunEventError {
  return { code: error.code, message: error.message };
}

/** Infrastructure trouble (the database, Redis, a model node) rather than something the run did. */
function isTransient(error: unknown): boolean {
  if (error instanceof AgentsException) return false;
  if (error instanceof AppException) return TRANSIENT_CODES.has(error.code) || Number(error.status) >= 500;
  return true;
}
