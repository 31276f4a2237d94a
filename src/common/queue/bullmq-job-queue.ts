import { Logger } from '@nestjs/common';
import type { Job, JobsOptions, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { redisOptionsFromUrl } from 'src/common/redis/redis-url';
import {
  assertValidJobId,
  assertValidPriority,
  assertValidRepeat,
  EnqueueOptions,
  JobDefinitions,
  JobHandlers,
  JobQueue,
  JobSnapshot,
  JobState,
  MAX_JOB_PRIORITY,
  PermanentJobError,
  ProcessorOptions,
  QueueJob,
  QueueOf,
  ResolvedRunOptions,
  resolveRunOptions,
  RETENTION,
  ScheduleOptions,
} from 'src/common/queue/job-queue';

export interface BullMqJobQueueOptions {
  redisUrl: string;
  /** Key prefix: every key is `<prefix>:<queue>:...`. */
  prefix: string;
}

const PROBE_TIMEOUT_MS = 1_000;

type Handlers = Record<string, (job: QueueJob) => Promise<unknown>>;
type Processor = { handlers: Handlers; concurrency: number; lockDurationMs?: number };

/**
 * `JobQueue` on BullMQ: jobs live in Redis, so every replica's workers share them and a
 * job whose worker died is picked up again (stalled-job check).
 */
type BullMq = typeof import('bullmq');
/**
 * BullMQ (about 10 MB resident with its dependencies) loads when a queue is first used: the
 * embedded default runs the in-memory queue and never needs it.
 */
let bullMqLoad: Promise<BullMq> | undefined;
const loadBullMq = (): Promise<BullMq> => (bullMqLoad ??= import('bullmq'));

export class BullMqJobQueue<D extends JobDefinitions> extends JobQueue<D> {
  private readonly logger = new Logger('JobQueue');
  private readonly queues = new Map<string, Queue>();
  private readonly processors = new Map<string, Processor>();
  private readonly workers: Worker[] = [];
  /** Set by the first queue or by start(); workers are only made after that. */
  private bull?: BullMq;
  /** Non-blocking commands of every queue (enqueue, schedule, lookups); workers open their own. */
  private connection?: Redis;
  private started = false;
  private stopped = false;

  constructor(
    private readonly jobQueues: Record<keyof D & string, string>,
    private readonly options: BullMqJobQueueOptions,
  ) {
    super();
  }

  async enqueue<N extends keyof D & string>(name: N, payload: D[N]['payload'], options: EnqueueOptions = {}): Promise<string> {
    if (options.jobId !== undefined) assertValidJobId(options.jobId);
    if (options.priority !== undefined) assertValidPriority(options.priority);
    const job = await (
      await this.queue(this.queueOf(name))
    ).add(name, payload, {
      ...this.jobOptions(resolveRunOptions(options)),
      ...(options.jobId !== undefined && { jobId: options.jobId }),
      ...(options.delayMs && { delay: options.delayMs }),
      // BullMQ runs lower numbers first; ours are the other way round.
      ...(options.priority !== undefined && { priority: MAX_JOB_PRIORITY + 1 - options.priority }),
    });
    return job.id!;
  }

  process<Q extends QueueOf<D>>(queue: Q, handlers: JobHandlers<D, Q>, options: ProcessorOptions = {}): void {
    if (this.processors.has(queue)) throw new Error(`Queue ${queue} already has a processor in this process`);
    const processor: Processor = {
      handlers: handlers as unknown as Handlers,
      concurrency: options.concurrency ?? 1,
      lockDurationMs: options.lockDurationMs,
    };
    this.processors.set(queue, processor);
    if (this.started && !this.stopped) this.startWorker(queue, processor);
  }

  async schedule<N extends keyof D & string>(name: N, payload: D[N]['payload'], options: ScheduleOptions): Promise<void> {
    assertValidRepeat(options.repeat);
    const repeat =
      'every' in options.repeat
        ? { every: options.repeat.every }
        : { pattern: options.repeat.cron, ...(options.repeat.tz && { tz: options.repeat.tz }) };
    await (
      await this.queue(this.queueOf(name))
    ).upsertJobScheduler(options.id, repeat, {
      name,
      data: payload,
      opts: this.jobOptions(resolveRunOptions(options)),
    });
  }

  async unschedule(queue: QueueOf<D>, id: string): Promise<boolean> {
    return (await this.queue(queue)).removeJobScheduler(id);
  }

  async getJob(queue: QueueOf<D>, id: string): Promise<JobSnapshot | null> {
    // State first: read after the job's data, a job finishing in between would look failed
    // or completed without its reason or result.
    const bullQueue = await this.queue(queue);
    const raw = await bullQueue.getJobState(id);
    if (raw === 'unknown') return null;
    const job = (await bullQueue.getJob(id)) as Job | undefined;
    if (!job) return null;
    const state = toState(raw);
    return {
      id: job.id!,
      name: job.name,
      queue,
      state,
      attemptsMade: job.attemptsMade,
      ...(job.failedReason && { failedReason: job.failedReason }),
      ...(state === 'completed' && { result: job.returnvalue as unknown }),
      enqueuedAt: new Date(job.timestamp),
      ...(job.finishedOn && { finishedAt: new Date(job.finishedOn) }),
    };
  }

  async start(): Promise<void> {
    this.bull ??= await loadBullMq();
    this.started = true;
    for (const [queue, processor] of this.processors) this.startWorker(queue, processor);
  }

  async stopProcessing(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.workers.length === 0) return;
    if (await this.redisReachable()) {
      // Waits for running jobs; a job cut off by a crash instead is retried by another worker.
      await Promise.all(this.workers.map((worker) => worker.close()));
    } else {
      // A graceful close waits on Redis forever; without it the running jobs are abandoned
      // and become stalled, so another worker retries them once Redis is back.
      this.logger.warn('Redis unreachable at shutdown: closing workers without waiting for running jobs');
      await Promise.all(this.workers.map((worker) => worker.close(true)));
    }
  }

  async close(): Promise<void> {
    await this.stopProcessing();
    // The queues share our connection, so closing them leaves it to us: QUIT when Redis
    // answers, otherwise drop it (a QUIT would wait for a Redis that may never return).
    await Promise.all([...this.queues.values()].map((queue) => queue.close()));
    if (this.connection?.status === 'ready') await this.connection.quit();
    else this.connection?.disconnect();
  }

  /** A throwaway connection that fails fast instead of queueing commands until Redis returns. */
  private async redisReachable(): Promise<boolean> {
    const probe = new Redis({
      ...redisOptionsFromUrl(this.options.redisUrl),
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      connectTimeout: PROBE_TIMEOUT_MS,
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } catch {
      return false;
    } finally {
      probe.disconnect();
    }
  }

  private startWorker(queueName: string, processor: Processor): void {
    const { Worker, UnrecoverableError } = this.bull!;
    const worker = new Worker(
      queueName,
      async (job: Job) => {
        const handler = processor.handlers[job.name];
        if (!handler) throw new UnrecoverableError(`No handler for job ${job.name} in queue ${queueName}`);
        try {
          return await handler({
            id: job.id!,
            name: job.name,
            queue: queueName,
            payload: job.data as unknown,
            attempt: job.attemptsMade + 1,
            maxAttempts: job.opts.attempts ?? 1,
            enqueuedAt: new Date(job.timestamp),
          });
        } catch (error) {
          if (error instanceof PermanentJobError) throw new UnrecoverableError(error.message);
          throw error;
        }
      },
      {
        // Blocking commands must wait as long as they need: BullMQ requires no retry cap here.
        connection: { ...redisOptionsFromUrl(this.options.redisUrl), maxRetriesPerRequest: null },
        prefix: this.options.prefix,
        concurrency: processor.concurrency,
        ...(processor.lockDurationMs !== undefined && {
          lockDuration: processor.lockDurationMs,
          stalledInterval: processor.lockDurationMs,
        }),
      },
    );
    worker.on('error', (error) => this.logger.error(`Worker for ${queueName}: ${error.message}`));
    worker.on('failed', (job, error) => {
      if (job && (job.attemptsMade >= (job.opts.attempts ?? 1) || error instanceof UnrecoverableError)) {
        this.logger.warn(`Job ${job.name} (${job.id}) failed for good after ${job.attemptsMade} attempt(s): ${error.message}`);
      }
    });
    this.workers.push(worker);
  }

  private jobOptions(run: ResolvedRunOptions): JobsOptions {
    return {
      attempts: run.attempts,
      backoff: { type: run.backoff.type, delay: run.backoff.delayMs },
      removeOnComplete: { age: RETENTION.completed.ageSeconds, count: RETENTION.completed.count },
      removeOnFail: { age: RETENTION.failed.ageSeconds, count: RETENTION.failed.count },
    };
  }

  private queueOf(name: keyof D & string): string {
    const queue = this.jobQueues[name];
    if (!queue) throw new Error(`Unknown job ${name}`);
    return queue;
  }

  private async queue(name: string): Promise<Queue> {
    let queue = this.queues.get(name);
    if (!queue) {
      const { Queue } = (this.bull ??= await loadBullMq());
      // Another call may have made it while the library loaded.
      const made = this.queues.get(name);
      if (made) return made;
      if (!this.connection) {
        this.connection = new Redis({ ...redisOptionsFromUrl(this.options.redisUrl), connectionName: 'gremlins-queues' });
        // While queues are open they report errors themselves; this keeps ioredis quiet after.
        this.connection.on('error', () => undefined);
      }
      queue = new Queue(name, { connection: this.connection, prefix: this.options.prefix });
      queue.on('error', (error) => this.logger.error(`Queue ${name}: ${error.message}`));
      this.queues.set(name, queue);
    }
    return queue;
  }
}

function toState(state: string): JobState {
  switch (state) {
    case 'completed':
    case 'failed':
    case 'delayed':
    case 'active':
      return state;
    default:
      // waiting, prioritized, waiting-children, unknown-but-present
      return 'waiting';
  }
}
