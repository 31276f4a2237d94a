import { Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { JobQueue, QueueJob } from 'src/common/queue/job-queue';
import { JobName, QueueName } from 'src/common/queue/queue.constants';
import { AppConfig } from 'src/config/app-config';
import { RunControl } from 'src/modules/agents/engine/run-control';
import { RunOutcomes } from 'src/modules/agents/engine/run-outcomes';
import { RunPlanner } from 'src/modules/agents/engine/run-planner';
import type { RunTaskJob } from 'src/modules/agents/engine/run-task.job';
import type { StartRunJob } from 'src/modules/agents/engine/start-run.job';
import { TaskExecutor } from 'src/modules/agents/engine/task-executor';
import { RunEventsPublisher } from 'src/modules/agents/events/run-events.publisher';
import { TERMINAL_RUN_STATUSES } from 'src/modules/agents/runs/agent-run.entity';
import { RunsRepository } from 'src/modules/agents/runs/runs.repository';

/**
 * The agents queue's workers. A start job admits a run (per-workspace limit), plans it and
 * enqueues the tasks with no dependencies; each task job runs one task and, when it is done,
 * enqueues the tasks it made ready (the aggregation last). Job ids are deterministic, so a
 * task is enqueued once however many of its dependencies notice it is ready.
 */
@Injectable()
export class WorkflowJobs implements OnModuleInit, OnApplicationBootstrap {
  private readonly logger = new Logger('Agents');

  constructor(
    private readonly queue: JobQueue,
    private readonly config: AppConfig,
    private readonly repository: RunsRepository,
    private readonly planner: RunPlanner,
    private readonly executor: TaskExecutor,
    private readonly control: RunControl,
    private readonly outcomes: RunOutcomes,
    private readonly publisher: RunEventsPublisher,
  ) {}

  onModuleInit(): void {
    this.queue.process(
      QueueName.Agents,
      {
        [JobName.AgentRunStart]: (job) => this.start(job),
        [JobName.AgentTaskRun]: (job) => this.runTask(job),
      },
      { concurrency: this.config.agents.workerConcurrency, lockDurationMs: this.config.agents.jobLockMs },
    );
  }

  /**
   * Runs left unfinished by a stopped process are queued again (an in-memory queue lost
   * their jobs). With BullMQ a job that still exists keeps its id, so this adds nothing for it.
   */
  async onApplicationBootstrap(): Promise<void> {
    const unfinished = await this.repository.unfinishedRuns();
    for (const run of unfinished) {
      if (run.status === 'queued' && run.waitingForSlot) continue;
      if (run.status !== 'running') await this.outcomes.enqueueStart(run, run.admissions, run.recoveries);
      else await this.outcomes.enqueueTasks(run, await this.openTasks(run.id));
    }
    if (unfinished.length > 0) this.logger.log(`Queued ${unfinished.length} unfinished workflow run(s) again`);
  }

  async start(job: QueueJob<JobName.AgentRunStart, StartRunJob>): Promise<void> {
    const admission = await this.repository.admit(job.payload.runId, this.config.agents.maxConcurrentRunsPerWorkspace);
    const { run } = admission;
    if (!run) return;
    const admittedNow = admission.outcome === 'admitted';
    if (admittedNow) this.publisher.publish({ type: 'status', runId: run.id, status: 'planning' });
    const execution = this.control.open(run.id, run.deadlineAt);
    try {
      const tasks = await this.planner.tasksFor(run, execution.signal, admittedNow);
      if (tasks)
        await this.outcomes.enqueueTasks(
          run,
          tasks.filter((task) => task.status === 'queued'),
        );
    } catch (error) {
      const planTask = (await this.repository.tasksOf(run.id)).find((task) => task.kind === 'plan' && task.status === 'running');
      await this.outcomes.handle(run, planTask ?? null, error, execution.signal, { current: job.attempt, max: job.maxAttempts });
    } finally {
      execution.close();
    }
  }

  async runTask(job: QueueJob<JobName.AgentTaskRun, RunTaskJob>): Promise<void> {
    const claimed = await this.repository.claimTask(job.payload.taskId);
    if (!claimed) {
      // Retried after the task completed but before the tasks it made ready were enqueued.
      const [run, task] = await Promise.all([this.repository.runById(job.payload.runId), this.repository.taskById(job.payload.taskId)]);
      if (run && task?.status === 'completed' && !TERMINAL_RUN_STATUSES.includes(run.status)) {
        await this.outcomes.enqueueTasks(run, await this.repository.readyTasks(run.id));
      }
      return;
    }
    const { run, task } = claimed;
    if (claimed.firstStart) {
      this.publisher.publish({ type: 'task.started', runId: run.id, taskId: task.id, key: task.key, kind: task.kind, agent: task.agent });
    }
    const execution = this.control.open(run.id, run.deadlineAt);
    try {
      const outcome = await this.executor.execute(run, task, execution.signal, claimed);
      const completion = outcome.completion ?? (await this.repository.completeTask(task, outcome.result));
      if (completion.changed) {
        this.publisher.publish({ type: 'task.finished', runId: run.id, taskId: task.id, key: task.key, status: 'completed', error: null });
      }
      if (completion.run) await this.outcomes.completed(completion.run, completion.othersWaiting);
      else await this.outcomes.enqueueTasks(run, completion.ready);
    } catch (error) {
      await this.outcomes.handle(run, task, error, execution.signal, { current: job.attempt, max: job.maxAttempts });
    } finally {
      execution.close();
    }
  }

  private async openTasks(runId: string) {
    const tasks = await this.repository.tasksOf(runId);
    const ready = await this.repository.readyTasks(runId);
    const running = tasks.filter((task) => task.status === 'running' && task.kind !== 'plan');
    return [...running, ...ready];
  }
}
