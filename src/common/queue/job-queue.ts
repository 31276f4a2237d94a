import type { AppJobs } from 'src/common/queue/app-jobs';

/** name -> { queue, payload }: the app's `AppJobs`, or a test's own set. */
export type JobDefinitions = Record<string, { queue: string; payload: unknown }>;

export interface BackoffPolicy {
  /** fixed: `delayMs` between attempts; exponential: `delayMs * 2^(attempt - 1)`. */
  type: 'fixed' | 'exponential';
  delayMs: number;
}

export interface RetryOptions {
  /** Total tries including the first. Default 3. */
  attempts?: number;
  /** Default exponential from 1 s. */
  backoff?: BackoffPolicy;
}

export interface EnqueueOptions extends RetryOptions {
  /**
   * Idempotency key: while a job with this id is waiting, delayed, running or retained
   * after finishing, enqueueing it again adds nothing. No ':' and not a bare integer.
   */
  jobId?: string;
  /** Run no earlier than this many ms from now. */
  delayMs?: number;
  /**
   * 1 to 1000, higher starts first among the queue's waiting jobs; oldest first within a
   * priority. As in BullMQ, jobs enqueued without one start before every prioritised job,
   * so a queue should give every job a priority or none.
   */
  priority?: number;
}

export type RepeatSpec = { every: number } | { cron: string; tz?: string };

export interface ScheduleOptions extends RetryOptions {
  /** Scheduler id, unique per queue: scheduling the same id again replaces it (upsert). */
  id: string;
  /** `every` runs first at once, then every N ms; `cron` at each match (5 or 6 fields). */
  repeat: RepeatSpec;
}

export interface ProcessorOptions {
  /** Jobs of this queue run at once in this process. Default 1. */
  concurrency?: number;
  /**
   * BullMQ: how long a running job's lock lasts between renewals, and how often stalled jobs
   * are looked for; a job whose worker died is retried within about twice this. Default
   * 30 s. No effect in memory (a dead process takes its jobs with it).
   */
  lockDurationMs?: number;
}

export type JobState = 'waiting' | 'delayed' | 'active' | 'completed' | 'failed';

/** What a handler receives. */
export interface QueueJob<Name extends string = string, Payload = unknown> {
  id: string;
  name: Name;
  queue: string;
  /** As it came out of JSON: dates are strings. */
  payload: Payload;
  /** 1 on the first try. */
  attempt: number;
  maxAttempts: number;
  enqueuedAt: Date;
}

export interface JobSnapshot {
  id: string;
  name: string;
  queue: string;
  state: JobState;
  /** Tries that have finished (failed or succeeded). */
  attemptsMade: number;
  failedReason?: string;
  /** The handler's return value, through JSON. */
  result?: unknown;
  enqueuedAt: Date;
  finishedAt?: Date;
}

type JobNames<D extends JobDefinitions> = keyof D & string;
export type QueueOf<D extends JobDefinitions> = D[JobNames<D>]['queue'];
type JobsOfQueue<D extends JobDefinitions, Q extends string> = {
  [N in JobNames<D>]: D[N]['queue'] extends Q ? N : never;
}[JobNames<D>];

/** A processor handles every job of its queue: adding a job to a queue without a handler fails to compile. */
export type JobHandlers<D extends JobDefinitions, Q extends QueueOf<D>> = {
  [N in JobsOfQueue<D, Q>]: (job: QueueJob<N, D[N]['payload']>) => Promise<unknown>;
};

/** Throw from a handler to fail the job now, without the remaining retries. */
export class PermanentJobError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentJobError';
  }
}

/**
 * Durable background work. BullMQ on Redis when REDIS_URL is set (shared by every replica;
 * a crashed worker's job is retried), in memory otherwise (same semantics, lost on exit).
 * Inject `JobQueue`; see docs/queues.md.
 */
export abstract class JobQueue<D extends JobDefinitions = AppJobs> {
  /** Adds a job and returns its id (the given `jobId`, or a generated one). */
  abstract enqueue<N extends JobNames<D>>(name: N, payload: D[N]['payload'], options?: EnqueueOptions): Promise<string>;

  /** Registers this process as a worker of `queue`. Processing starts when the app has booted. */
  abstract process<Q extends QueueOf<D>>(queue: Q, handlers: JobHandlers<D, Q>, options?: ProcessorOptions): void;

  /** Creates or replaces a repeatable job. */
  abstract schedule<N extends JobNames<D>>(name: N, payload: D[N]['payload'], options: ScheduleOptions): Promise<void>;

  /** Removes a schedule; true when it existed. */
  abstract unschedule(queue: QueueOf<D>, id: string): Promise<boolean>;

  abstract getJob(queue: QueueOf<D>, id: string): Promise<JobSnapshot | null>;

  /** Starts the registered processors (the queue module calls it once the app has booted). */
  abstract start(): Promise<void>;

  /** Takes no new jobs and waits for running ones to finish. Enqueueing still works. */
  abstract stopProcessing(): Promise<void>;

  /** Releases timers and connections. */
  abstract close(): Promise<void>;
}

export const DEFAULT_ATTEMPTS = 3;
export const DEFAULT_BACKOFF: BackoffPolicy = { type: 'exponential', delayMs: 1_000 };
/** Finished jobs are kept this long (and at most this many), which bounds `jobId` dedupe. */
export const RETENTION = {
  completed: { ageSeconds: 24 * 3600, count: 1_000 },
  failed: { ageSeconds: 7 * 24 * 3600, count: 5_000 },
} as const;

export interface ResolvedRunOptions {
  attempts: number;
  backoff: BackoffPolicy;
}

export function resolveRunOptions(options: RetryOptions = {}): ResolvedRunOptions {
  const attempts = options.attempts ?? DEFAULT_ATTEMPTS;
  if (!Number.isInteger(attempts) || attempts < 1) throw new RangeError(`attempts must be a positive integer, got ${attempts}`);
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  if (!(backoff.delayMs >= 0)) throw new RangeError(`backoff.delayMs must be >= 0, got ${backoff.delayMs}`);
  return { attempts, backoff };
}

/** The delay before retry number `attemptsMade + 1`, the way BullMQ computes it. */
export function backoffDelay(backoff: BackoffPolicy, attemptsMade: number): number {
  return backoff.type === 'fixed' ? backoff.delayMs : Math.round(2 ** (attemptsMade - 1) * backoff.delayMs);
}

/** BullMQ's own rules for custom ids, enforced by both implementations. */
export function assertValidJobId(id: string): void {
  if (id.length === 0 || id.length > 256) throw new RangeError('jobId must be 1 to 256 characters');
  if (id.includes(':')) throw new RangeError(`jobId must not contain ':' (${id})`);
  if (/^\d+$/.test(id)) throw new RangeError(`jobId must not be an integer (${id})`);
}

export const MAX_JOB_PRIORITY = 1000;

export function assertValidPriority(priority: number): void {
  if (!Number.isInteger(priority) || priority < 1 || priority > MAX_JOB_PRIORITY) {
    throw new RangeError(`priority must be an integer from 1 to ${MAX_JOB_PRIORITY}, got ${priority}`);
  }
}

export function assertValidRepeat(repeat: RepeatSpec): void {
  if ('every' in repeat && !(Number.isInteger(repeat.every) && repeat.every > 0)) {
    throw new RangeError(`repeat.every must be a positive integer of ms, got ${repeat.every}`);
  }
}

export function jsonCopy<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
