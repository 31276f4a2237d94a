import { Logger } from '@nestjs/common';
import { CronExpressionParser } from 'cron-parser';
import { randomUUID } from 'node:crypto';
import {
  assertValidJobId,
  assertValidPriority,
  assertValidRepeat,
  backoffDelay,
  EnqueueOptions,
  JobDefinitions,
  JobHandlers,
  JobQueue,
  JobSnapshot,
  JobState,
  jsonCopy,
  PermanentJobError,
  ProcessorOptions,
  QueueJob,
  QueueOf,
  RepeatSpec,
  ResolvedRunOptions,
  resolveRunOptions,
  RETENTION,
  ScheduleOptions,
} from 'src/common/queue/job-queue';

/** setTimeout overflows past ~24.8 days; longer waits are taken in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface MemoryJob {
  id: string;
  name: string;
  queue: string;
  payload: unknown;
  run: ResolvedRunOptions;
  /** Undefined: ahead of every prioritised job, as in BullMQ. */
  priority?: number;
  state: JobState;
  attemptsMade: number;
  failedReason?: string;
  result?: unknown;
  enqueuedAt: Date;
  finishedAt?: Date;
  timer?: NodeJS.Timeout;
  scheduleId?: string;
}

interface MemoryQueue {
  jobs: Map<string, MemoryJob>;
  waiting: MemoryJob[];
  finished: MemoryJob[];
  active: number;
  handlers?: Record<string, (job: QueueJob) => Promise<unknown>>;
  concurrency: number;
}

interface Schedule {
  name: string;
  payload: unknown;
  repeat: RepeatSpec;
  run: ResolvedRunOptions;
  timer?: NodeJS.Timeout;
  lastJob?: MemoryJob;
}

/**
 * The embedded `JobQueue`: the same retry, backoff, concurrency, dedupe, retention and
 * schedule semantics as the BullMQ one (the contract spec runs against both), but held in
 * this process's memory, so waiting jobs are lost when it exits and other processes
 * cannot take them.
 */
export class InMemoryJobQueue<D extends JobDefinitions> extends JobQueue<D> {
  private readonly logger = new Logger('JobQueue');
  private readonly queues = new Map<string, MemoryQueue>();
  private readonly schedules = new Map<string, Schedule>();
  private readonly running = new Set<Promise<void>>();
  private started = false;
  private stopped = false;

  constructor(private readonly jobQueues: Record<keyof D & string, string>) {
    super();
  }

  // async so that bad options reject like BullMQ's do, rather than throw synchronously.
  async enqueue<N extends keyof D & string>(name: N, payload: D[N]['payload'], options: EnqueueOptions = {}): Promise<string> {
    const run = resolveRunOptions(options);
    if (options.jobId !== undefined) assertValidJobId(options.jobId);
    if (options.priority !== undefined) assertValidPriority(options.priority);
    const job = this.add(this.queueOf(name), name, payload, run, options.jobId ?? randomUUID(), options.delayMs ?? 0, options.priority);
    return Promise.resolve(job.id);
  }

  process<Q extends QueueOf<D>>(queue: Q, handlers: JobHandlers<D, Q>, options: ProcessorOptions = {}): void {
    const state = this.queue(queue);
    if (state.handlers) throw new Error(`Queue ${queue} already has a processor in this process`);
    state.handlers = handlers as unknown as MemoryQueue['handlers'];
    state.concurrency = options.concurrency ?? 1;
    this.pump(queue);
  }

  async schedule<N extends keyof D & string>(name: N, payload: D[N]['payload'], options: ScheduleOptions): Promise<void> {
    assertValidRepeat(options.repeat);
    if ('cron' in options.repeat) nextCronTime(options.repeat, Date.now()); // throws on a bad expression
    const key = this.scheduleKey(this.queueOf(name), options.id);
    this.clearSchedule(key);
    const schedule: Schedule = { name, payload: jsonCopy(payload), repeat: options.repeat, run: resolveRunOptions(options) };
    this.schedules.set(key, schedule);
    const now = Date.now();
    this.arm(key, schedule, 'every' in schedule.repeat ? now : nextCronTime(schedule.repeat, now));
    await Promise.resolve();
  }

  unschedule(queue: QueueOf<D>, id: string): Promise<boolean> {
    return Promise.resolve(this.clearSchedule(this.scheduleKey(queue, id)));
  }

  getJob(queue: QueueOf<D>, id: string): Promise<JobSnapshot | null> {
    const job = this.queues.get(queue)?.jobs.get(id);
    if (!job) return Promise.resolve(null);
    return Promise.resolve({
      id: job.id,
      name: job.name,
      queue: job.queue,
      state: job.state,
      attemptsMade: job.attemptsMade,
      ...(job.failedReason !== undefined && { failedReason: job.failedReason }),
      ...(job.state === 'completed' && { result: job.result }),
      enqueuedAt: job.enqueuedAt,
      ...(job.finishedAt && { finishedAt: job.finishedAt }),
    });
  }

  start(): Promise<void> {
    this.started = true;
    for (const name of this.queues.keys()) this.pump(name);
    return Promise.resolve();
  }

  async stopProcessing(): Promise<void> {
    this.stopped = true;
    for (const key of [...this.schedules.keys()]) this.clearSchedule(key);
    await Promise.allSettled([...this.running]);
  }

  async close(): Promise<void> {
    await this.stopProcessing();
    for (const queue of this.queues.values()) {
      for (const job of queue.jobs.values()) clearTimeout(job.timer);
    }
  }

  private add(
    queueName: string,
    name: string,
    payload: unknown,
    run: ResolvedRunOptions,
    id: string,
    delayMs: number,
    priority?: number,
  ): MemoryJob {
    const queue = this.queue(queueName);
    const existing = queue.jobs.get(id);
    if (existing) return existing;
    const job: MemoryJob = {
      id,
      name,
      queue: queueName,
      payload: jsonCopy(payload),
      run,
      ...(priority !== undefined && { priority }),
      state: 'waiting',
      attemptsMade: 0,
      enqueuedAt: new Date(),
    };
    queue.jobs.set(id, job);
    if (delayMs > 0) this.delay(job, delayMs);
    else this.makeWaiting(job);
    return job;
  }

  private delay(job: MemoryJob, ms: number): void {
    job.state = 'delayed';
    job.timer = setTimeout(
      () => {
        job.timer = undefined;
        this.makeWaiting(job);
      },
      Math.min(ms, MAX_TIMER_MS),
    );
    job.timer.unref();
  }

  private makeWaiting(job: MemoryJob): void {
    job.state = 'waiting';
    const waiting = this.queue(job.queue).waiting;
    // Behind every job that goes first: unprioritised ones, then those of at least its priority.
    const rank = (other: MemoryJob) => other.priority ?? Infinity;
    let index = waiting.length;
    while (index > 0 && rank(waiting[index - 1]) < rank(job)) index--;
    waiting.splice(index, 0, job);
    this.pump(job.queue);
  }

  private pump(queueName: string): void {
    const queue = this.queue(queueName);
    if (!this.started || this.stopped || !queue.handlers) return;
    while (queue.active < queue.concurrency && queue.waiting.length > 0) {
      const job = queue.waiting.shift()!;
      const running = this.execute(queue, job).finally(() => this.running.delete(running));
      this.running.add(running);
    }
  }

  private async execute(queue: MemoryQueue, job: MemoryJob): Promise<void> {
    queue.active += 1;
    job.state = 'active';
    const handler = queue.handlers?.[job.name];
    try {
      if (!handler) throw new PermanentJobError(`No handler for job ${job.name} in queue ${job.queue}`);
      const result = await handler({
        id: job.id,
        name: job.name,
        queue: job.queue,
        payload: jsonCopy(job.payload),
        attempt: job.attemptsMade + 1,
        maxAttempts: job.run.attempts,
        enqueuedAt: job.enqueuedAt,
      });
      job.attemptsMade += 1;
      job.result = jsonCopy(result);
      this.finish(queue, job, 'completed');
    } catch (error) {
      job.attemptsMade += 1;
      job.failedReason = error instanceof Error ? error.message : String(error);
      if (error instanceof PermanentJobError || job.attemptsMade >= job.run.attempts) {
        this.logger.warn(`Job ${job.name} (${job.id}) failed for good after ${job.attemptsMade} attempt(s): ${job.failedReason}`);
        this.finish(queue, job, 'failed');
      } else {
        this.delay(job, backoffDelay(job.run.backoff, job.attemptsMade));
      }
    } finally {
      queue.active -= 1;
      this.pump(job.queue);
    }
  }

  private finish(queue: MemoryQueue, job: MemoryJob, state: 'completed' | 'failed'): void {
    job.state = state;
    job.finishedAt = new Date();
    queue.finished.push(job);
    this.prune(queue);
  }

  /** Forget finished jobs past their retention, as BullMQ's removeOnComplete/removeOnFail do. */
  private prune(queue: MemoryQueue): void {
    const now = Date.now();
    for (const state of ['completed', 'failed'] as const) {
      const { ageSeconds, count } = RETENTION[state];
      const finished = queue.finished.filter((job) => job.state === state);
      finished.forEach((job, index) => {
        if (finished.length - index > count || now - job.finishedAt!.getTime() > ageSeconds * 1000) queue.jobs.delete(job.id);
      });
    }
    queue.finished = queue.finished.filter((job) => queue.jobs.get(job.id) === job);
  }

  private arm(key: string, schedule: Schedule, at: number): void {
    const wait = at - Date.now();
    schedule.timer = setTimeout(
      () => {
        if (Date.now() < at) return this.arm(key, schedule, at);
        this.fire(key, schedule, at);
      },
      Math.max(0, Math.min(wait, MAX_TIMER_MS)),
    );
    schedule.timer.unref();
  }

  private fire(key: string, schedule: Schedule, at: number): void {
    if (this.schedules.get(key) !== schedule) return;
    // Like a BullMQ job scheduler, never pile up: no new run while the last one still waits.
    const pending = schedule.lastJob && (schedule.lastJob.state === 'waiting' || schedule.lastJob.state === 'delayed');
    if (!pending) {
      const queueName = key.slice(0, key.indexOf('\u0000'));
      const id = key.slice(key.indexOf('\u0000') + 1);
      schedule.lastJob = this.add(queueName, schedule.name, schedule.payload, schedule.run, `repeat-${id}-${at}`, 0);
    }
    const next = 'every' in schedule.repeat ? at + schedule.repeat.every : nextCronTime(schedule.repeat, at);
    this.arm(key, schedule, Math.max(next, Date.now()));
  }

  private clearSchedule(key: string): boolean {
    const schedule = this.schedules.get(key);
    if (!schedule) return false;
    clearTimeout(schedule.timer);
    this.schedules.delete(key);
    return true;
  }

  private scheduleKey(queue: string, id: string): string {
    return `${queue}\u0000${id}`;
  }

  private queueOf(name: keyof D & string): string {
    const queue = this.jobQueues[name];
    if (!queue) throw new Error(`Unknown job ${name}`);
    return queue;
  }

  private queue(name: string): MemoryQueue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = { jobs: new Map(), waiting: [], finished: [], active: 0, concurrency: 1 };
      this.queues.set(name, queue);
    }
    return queue;
  }
}

function nextCronTime(repeat: { cron: string; tz?: string }, after: number): number {
  return CronExpressionParser.parse(repeat.cron, { currentDate: new Date(after), ...(repeat.tz && { tz: repeat.tz }) })
    .next()
    .getTime();
}
