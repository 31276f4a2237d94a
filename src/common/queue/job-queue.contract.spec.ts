import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { BullMqJobQueue } from 'src/common/queue/bullmq-job-queue';
import { InMemoryJobQueue } from 'src/common/queue/in-memory-job-queue';
import { JobQueue, JobSnapshot, PermanentJobError, QueueJob } from 'src/common/queue/job-queue';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

type TestJobs = {
  echo: { queue: 'work'; payload: { value: number; at?: Date } };
  flaky: { queue: 'work'; payload: { failUntil: number } };
  slow: { queue: 'work'; payload: { ms: number } };
  doomed: { queue: 'work'; payload: { permanent: boolean } };
  tick: { queue: 'ticks'; payload: { label: string } };
};
const TEST_QUEUES = { echo: 'work', flaky: 'work', slow: 'work', doomed: 'work', tick: 'ticks' } as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(20);
  }
}

/** Records what handlers saw; the handlers of every test share this shape. */
class Recorder {
  calls: { name: string; id: string; attempt: number; at: number; payload: unknown }[] = [];
  active = 0;
  maxActive = 0;

  handlers() {
    const record = (job: QueueJob) =>
      this.calls.push({ name: job.name, id: job.id, attempt: job.attempt, at: Date.now(), payload: job.payload });
    return {
      echo: (job: QueueJob<'echo', TestJobs['echo']['payload']>) => {
        record(job);
        return Promise.resolve({ doubled: job.payload.value * 2, at: job.payload.at });
      },
      flaky: (job: QueueJob<'flaky', TestJobs['flaky']['payload']>) => {
        record(job);
        if (job.attempt < job.payload.failUntil) return Promise.reject(new Error(`attempt ${job.attempt} failed`));
        return Promise.resolve('ok');
      },
      slow: async (job: QueueJob<'slow', TestJobs['slow']['payload']>) => {
        record(job);
        this.active += 1;
        this.maxActive = Math.max(this.maxActive, this.active);
        await sleep(job.payload.ms);
        this.active -= 1;
        return 'slept';
      },
      doomed: (job: QueueJob<'doomed', TestJobs['doomed']['payload']>) => {
        record(job);
        throw job.payload.permanent ? new PermanentJobError('bad input') : new Error('transient');
      },
    };
  }
}

interface Harness {
  create(): JobQueue<TestJobs>;
  cleanup(): Promise<void>;
}

function inMemory(): Harness {
  return { create: () => new InMemoryJobQueue<TestJobs>(TEST_QUEUES), cleanup: () => Promise.resolve() };
}

function bullmq(): Harness {
  const prefix = `test:${randomBytes(6).toString('hex')}:bull`;
  return {
    create: () => new BullMqJobQueue<TestJobs>(TEST_QUEUES, { redisUrl: REDIS_URL, prefix }),
    async cleanup() {
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${prefix}:*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    },
  };
}

describe.each([
  ['in-memory', inMemory],
  ['bullmq (real Redis)', bullmq],
])('JobQueue contract: %s', (_label, makeHarness) => {
  let harness: Harness;
  let queue: JobQueue<TestJobs>;
  let recorder: Recorder;

  async function open(concurrency = 1): Promise<void> {
    harness = makeHarness();
    queue = harness.create();
    recorder = new Recorder();
    queue.process('work', recorder.handlers(), { concurrency });
    await queue.start();
  }

  const finished = (id: string, queueName: 'work' | 'ticks' = 'work') =>
    waitFor(async () => {
      const job = await queue.getJob(queueName, id);
      return job && (job.state === 'completed' || job.state === 'failed') ? job : null;
    });

  afterEach(async () => {
    await queue?.close();
    await harness?.cleanup();
  });

  it('runs a job and keeps its result, with the payload passed through JSON', async () => {
    await open();
    const at = new Date('2026-01-02T03:04:05.000Z');
    const id = await queue.enqueue('echo', { value: 21, at });
    const job: JobSnapshot = await finished(id);
    expect(job).toMatchObject({ id, name: 'echo', queue: 'work', state: 'completed', attemptsMade: 1 });
    expect(job.result).toEqual({ doubled: 42, at: '2026-01-02T03:04:05.000Z' });
    expect(recorder.calls).toHaveLength(1);
    expect(recorder.calls[0].payload).toEqual({ value: 21, at: '2026-01-02T03:04:05.000Z' });
  });

  it('retries a failing job with fixed backoff until it succeeds', async () => {
    await open();
    const id = await queue.enqueue('flaky', { failUntil: 3 }, { attempts: 3, backoff: { type: 'fixed', delayMs: 150 } });
    const job = await finished(id);
    expect(job.state).toBe('completed');
    expect(job.attemptsMade).toBe(3);
    expect(recorder.calls.map((call) => call.attempt)).toEqual([1, 2, 3]);
    const gaps = recorder.calls.slice(1).map((call, index) => call.at - recorder.calls[index].at);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(140);
  });

  it('gives up after the last attempt, with exponential backoff between tries', async () => {
    await open();
    const id = await queue.enqueue('doomed', { permanent: false }, { attempts: 3, backoff: { type: 'exponential', delayMs: 100 } });
    const job = await finished(id);
    expect(job).toMatchObject({ state: 'failed', attemptsMade: 3, failedReason: 'transient' });
    const [first, second, third] = recorder.calls.map((call) => call.at);
    expect(second - first).toBeGreaterThanOrEqual(90);
    // The second wait doubles the first.
    expect(third - second).toBeGreaterThanOrEqual(190);
  });

  it('does not retry a PermanentJobError', async () => {
    await open();
    const id = await queue.enqueue('doomed', { permanent: true }, { attempts: 5, backoff: { type: 'fixed', delayMs: 10 } });
    const job = await finished(id);
    expect(job).toMatchObject({ state: 'failed', attemptsMade: 1, failedReason: 'bad input' });
    await sleep(100);
    expect(recorder.calls).toHaveLength(1);
  });

  it('adds a job id once: a second enqueue, waiting or finished, is a no-op', async () => {
    harness = makeHarness();
    queue = harness.create();
    recorder = new Recorder();
    queue.process('work', recorder.handlers());
    // Not started yet: both enqueues see the first job still waiting.
    expect(await queue.enqueue('echo', { value: 1 }, { jobId: 'import-42' })).toBe('import-42');
    expect(await queue.enqueue('echo', { value: 2 }, { jobId: 'import-42' })).toBe('import-42');
    expect((await queue.getJob('work', 'import-42'))?.state).toBe('waiting');
    await queue.start();
    await finished('import-42');
    await queue.enqueue('echo', { value: 3 }, { jobId: 'import-42' });
    await sleep(150);
    expect(recorder.calls.map((call) => call.payload)).toEqual([{ value: 1 }]);
  });

  it('rejects job ids BullMQ cannot store', async () => {
    await open();
    await expect(queue.enqueue('echo', { value: 1 }, { jobId: 'a:b' })).rejects.toThrow(/must not contain/);
    await expect(queue.enqueue('echo', { value: 1 }, { jobId: '123' })).rejects.toThrow(/integer/);
  });

  it('runs at most `concurrency` jobs at once', async () => {
    await open(2);
    const ids = await Promise.all(Array.from({ length: 6 }, () => queue.enqueue('slow', { ms: 120 })));
    for (const id of ids) await finished(id);
    expect(recorder.calls).toHaveLength(6);
    expect(recorder.maxActive).toBe(2);
  });

  it('starts higher priorities first, oldest first within one, and unprioritised jobs ahead of all', async () => {
    harness = makeHarness();
    queue = harness.create();
    recorder = new Recorder();
    queue.process('work', recorder.handlers());
    // Not started yet: every job is waiting when the single worker begins.
    await queue.enqueue('echo', { value: 1 }, { priority: 1 });
    await queue.enqueue('echo', { value: 2 }, { priority: 10 });
    await queue.enqueue('echo', { value: 3 }, { priority: 5 });
    await queue.enqueue('echo', { value: 4 }, { priority: 10 });
    const last = await queue.enqueue('echo', { value: 5 });
    await queue.start();
    await finished(last);
    await waitFor(() => Promise.resolve(recorder.calls.length === 5));
    expect(recorder.calls.map((call) => (call.payload as { value: number }).value)).toEqual([5, 2, 4, 3, 1]);
  });

  it('rejects priorities outside 1 to 1000', async () => {
    await open();
    await expect(queue.enqueue('echo', { value: 1 }, { priority: 0 })).rejects.toThrow(/priority/);
    await expect(queue.enqueue('echo', { value: 1 }, { priority: 1001 })).rejects.toThrow(/priority/);
    await expect(queue.enqueue('echo', { value: 1 }, { priority: 2.5 })).rejects.toThrow(/priority/);
  });

  it('holds a delayed job until its time', async () => {
    await open();
    const enqueuedAt = Date.now();
    const id = await queue.enqueue('echo', { value: 5 }, { delayMs: 400 });
    expect((await queue.getJob('work', id))?.state).toBe('delayed');
    await finished(id);
    expect(recorder.calls[0].at - enqueuedAt).toBeGreaterThanOrEqual(380);
  });

  it('repeats an `every` schedule, replaces it on upsert and stops on unschedule', async () => {
    await open();
    const ticks: string[] = [];
    queue.process('ticks', {
      tick: (job) => {
        ticks.push(job.payload.label);
        return Promise.resolve();
      },
    });
    await queue.schedule('tick', { label: 'first' }, { id: 'heartbeat', repeat: { every: 200 } });
    await waitFor(() => Promise.resolve(ticks.length >= 2));
    await queue.schedule('tick', { label: 'second' }, { id: 'heartbeat', repeat: { every: 200 } });
    await waitFor(() => Promise.resolve(ticks.filter((label) => label === 'second').length >= 2));
    expect(await queue.unschedule('ticks', 'heartbeat')).toBe(true);
    await sleep(250); // a run already handed to the worker may still finish
    const settled = ticks.length;
    await sleep(500);
    expect(ticks.length).toBe(settled);
    expect(await queue.unschedule('ticks', 'heartbeat')).toBe(false);
    // One schedule, not two: at 200 ms intervals the total stays far below two timers' worth.
    expect(ticks.length).toBeLessThan(12);
  });

  it('follows a cron schedule', async () => {
    await open();
    const ticks: number[] = [];
    queue.process('ticks', {
      tick: () => {
        ticks.push(Date.now());
        return Promise.resolve();
      },
    });
    await queue.schedule('tick', { label: 'cron' }, { id: 'every-second', repeat: { cron: '* * * * * *' } });
    await waitFor(() => Promise.resolve(ticks.length >= 2), 4_000);
    // Fires on second boundaries.
    expect(ticks[1] - ticks[0]).toBeGreaterThanOrEqual(700);
  });

  it('lets running jobs finish on stopProcessing and takes no new ones', async () => {
    await open();
    const running = await queue.enqueue('slow', { ms: 300 });
    await waitFor(() => Promise.resolve(recorder.calls.length === 1));
    await queue.stopProcessing();
    expect((await queue.getJob('work', running))?.state).toBe('completed');
    const later = await queue.enqueue('echo', { value: 9 });
    await sleep(200);
    expect((await queue.getJob('work', later))?.state).toBe('waiting');
  });
});
