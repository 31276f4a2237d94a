import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { BullMqJobQueue } from 'src/common/queue/bullmq-job-queue';
import { startRedisRelay } from 'test/support/redis-relay';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

type Jobs = { wait: { queue: 'q'; payload: { ms: number } } };

describe('BullMqJobQueue shutdown', () => {
  const prefix = `test:${randomBytes(6).toString('hex')}:bull`;

  afterEach(async () => {
    const redis = new Redis(REDIS_URL);
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  it('waits for a running job when Redis is there', async () => {
    const queue = new BullMqJobQueue<Jobs>({ wait: 'q' }, { redisUrl: REDIS_URL, prefix });
    let finished = false;
    queue.process('q', {
      wait: async (job) => {
        await new Promise((resolve) => setTimeout(resolve, job.payload.ms));
        finished = true;
      },
    });
    await queue.start();
    const id = await queue.enqueue('wait', { ms: 400 });
    while ((await queue.getJob('q', id))?.state !== 'active') await new Promise((resolve) => setTimeout(resolve, 20));
    await queue.close();
    expect(finished).toBe(true);
  });

  it('still shuts down, promptly, when Redis has gone away', async () => {
    const relay = await startRedisRelay();
    const queue = new BullMqJobQueue<Jobs>({ wait: 'q' }, { redisUrl: relay.url, prefix });
    queue.process('q', { wait: () => Promise.resolve() });
    await queue.start();
    await queue.enqueue('wait', { ms: 0 });
    await relay.cut();
    const started = Date.now();
    await queue.close();
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
