import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { JobQueue, JobState } from 'src/common/queue/job-queue';
import { QueueName } from 'src/common/queue/queue.constants';
import { AppConfig } from 'src/config/app-config';
import { AgentsErrorCode } from 'src/modules/agents/agents.exception';
import { RunOutcomes } from 'src/modules/agents/engine/run-outcomes';
import { runTaskJobId } from 'src/modules/agents/engine/run-task.job';
import { startRunJobId } from 'src/modules/agents/engine/start-run.job';
import { AgentRun } from 'src/modules/agents/runs/agent-run.entity';
import { RunsRepository } from 'src/modules/agents/runs/runs.repository';

/** Re-queues of lost work a run may have before it is failed instead. */
const MAX_RECOVERIES = 3;
/** An overdue run's own worker times it out; past this grace the sweeper does. */
const DEADLINE_GRACE_MS = 10_000;

export interface SweepReport {
  timedOut: number;
  recovered: number;
  lost: number;
  admitted: number;
}

/**
 * Makes sure every run ends: runs past their deadline whose worker died are failed, runs that
 * stopped moving have their jobs looked up and, where a job is gone (an in-memory queue after
 * a restart, a job failed for good by a crash loop), re-queued under a fresh job id or, after
 * a few tries, failed as lost; runs waiting for a workspace slot are admitted when one is
 * free. Idempotent, so every replica of the role runs it.
 */
@Injectable()
export class RunSweeper implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Agents');
  private timer?: NodeJS.Timeout;
  private sweeping?: Promise<SweepReport>;

  constructor(
    private readonly repository: RunsRepository,
    private readonly queue: JobQueue,
    private readonly outcomes: RunOutcomes,
    private readonly config: AppConfig,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => void this.sweep(), this.config.agents.sweepIntervalMs);
    this.timer.unref();
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping?.catch(() => undefined);
  }

  sweep(now = new Date()): Promise<SweepReport> {
    this.sweeping ??= this.sweepOnce(now)
      .catch((error: unknown) => {
        this.logger.error(`Sweeping workflow runs failed: ${error instanceof Error ? error.message : String(error)}`);
        return { timedOut: 0, recovered: 0, lost: 0, admitted: 0 };
      })
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepOnce(now: Date): Promise<SweepReport> {
    const report: SweepReport = { timedOut: 0, recovered: 0, lost: 0, admitted: 0 };
    for (const run of await this.repository.overdueRuns(new Date(now.getTime() - DEADLINE_GRACE_MS))) {
      await this.outcomes.fail(run.id, { code: AgentsErrorCode.TimedOut, message: 'The run went past its time limit' });
      report.timedOut += 1;
    }
    for (const run of await this.repository.staleRuns(new Date(now.getTime() - this.config.agents.staleRunMs))) {
      const outcome = await this.recover(run);
      if (outcome === 'recovered') report.recovered += 1;
      if (outcome === 'lost') report.lost += 1;
    }
    for (const workspaceId of await this.repository.workspacesWithWaitingRuns()) {
      if (await this.outcomes.admitNext(workspaceId)) report.admitted += 1;
    }
    if (report.timedOut + report.recovered + report.lost > 0) {
      this.logger.warn(`Workflow runs swept: ${report.timedOut} timed out, ${report.recovered} re-queued, ${report.lost} lost`);
    }
    return report;
  }

  /** Looks for the jobs that should be moving the run; re-queues what is gone. */
  private async recover(run: AgentRun): Promise<'alive' | 'recovered' | 'lost'> {
    if (run.status !== 'running') {
      const job = await this.queue.getJob(QueueName.Agents, startRunJobId(run.id, run.admissions, run.recoveries));
      if (job && isMoving(job.state)) return 'alive';
      return this.requeue(run, null, (recovery) => this.outcomes.enqueueStart(run, run.admissions, recovery));
    }
    const tasks = await this.repository.tasksOf(run.id);
    const ready = await this.repository.readyTasks(run.id);
    const open = [...tasks.filter((task) => task.status === 'running' && task.kind !== 'plan'), ...ready];
    let outcome: 'alive' | 'recovered' | 'lost' = 'alive';
    for (const task of open) {
      const job = await this.queue.getJob(QueueName.Agents, runTaskJobId(run.id, task.id, task.recoveries));
      if (job && isMoving(job.state)) continue;
      outcome = await this.requeue(run, task.id, () => this.outcomes.enqueueTasks(run, [{ ...task, recoveries: task.recoveries + 1 }]));
      if (outcome === 'lost') break;
    }
    return outcome;
  }

  private async requeue(run: AgentRun, taskId: string | null, enqueue: (recovery: number) => Promise<void>): Promise<'recovered' | 'lost'> {
    const recoveries = await this.repository.recordRecovery(run.id, taskId, MAX_RECOVERIES);
    if (recoveries === null) {
      await this.outcomes.fail(run.id, {
        code: AgentsErrorCode.RunLost,
        message: 'The run stopped making progress and its work could not be recovered',
      });
      return 'lost';
    }
    await enqueue(recoveries);
    return 'recovered';
  }
}

const isMoving = (state: JobState) => state === 'waiting' || state === 'delayed' || state === 'active';
