import { ThrottlerStorage } from '@nestjs/throttler';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryThrottlerStorage } from 'src/modules/rate-limit/memory-throttler-storage';
import { RedisThrottlerStorage } from 'src/modules/rate-limit/redis-throttler-storage';
import { deleteRedisKeys } from 'test/support/redis';
import { REDIS_URL } from 'test/support/test-app';

const redis = new Redis(REDIS_URL, { lazyConnect: true });
const redisPrefix = `test:${randomBytes(6).toString('hex')}:rl:`;
const HOUR = 3_600_000;

afterAll(async () => {
  await deleteRedisKeys(redis, redisPrefix);
  await redis.quit();
});

/** One contract for both storages: a deployment behaves the same with or without Redis. */
describe.each([
  { name: 'memory', create: (): ThrottlerStorage => new MemoryThrottlerStorage() },
  { name: 'redis', create: (): ThrottlerStorage => new RedisThrottlerStorage(redis, `${redisPrefix}${randomBytes(4).toString('hex')}:`) },
])('ThrottlerStorage contract ($name)', ({ create }) => {
  it('counts hits up to the limit, then blocks until the window ends', async () => {
    const storage = create();
    for (let hit = 1; hit <= 3; hit++) {
      expect(await storage.increment('k', HOUR, 3, 0, 'default')).toEqual({
        totalHits: hit,
        timeToExpire: 3600,
        isBlocked: false,
        timeToBlockExpire: 0,
      });
    }
    const blocked = await storage.increment('k', HOUR, 3, 0, 'default');
    expect(blocked).toMatchObject({ totalHits: 4, isBlocked: true });
    expect(blocked.timeToBlockExpire).toBe(blocked.timeToExpire);
    expect(blocked.timeToBlockExpire).toBeGreaterThan(3590);
  });

  it('keeps keys apart', async () => {
    const storage = create();
    await storage.increment('a', HOUR, 1, 0, 'default');
    expect((await storage.increment('a', HOUR, 1, 0, 'default')).isBlocked).toBe(true);
    expect((await storage.increment('b', HOUR, 1, 0, 'default')).isBlocked).toBe(false);
  });

  it('starts a fresh window once the old one ends', async () => {
    const storage = create();
    await storage.increment('k', 200, 1, 0, 'default');
    const blocked = await storage.increment('k', 200, 1, 0, 'default');
    expect(blocked.isBlocked).toBe(true);
    // Whole seconds, rounded up: Retry-After is never early.
    expect(blocked.timeToBlockExpire).toBe(1);
    await sleep(260);
    expect(await storage.increment('k', 200, 1, 0, 'default')).toMatchObject({ totalHits: 1, isBlocked: false });
  });

  it('with a block duration, blocks for that long and then restarts the count', async () => {
    const storage = create();
    await storage.increment('k', HOUR, 1, 300, 'default');
    const blocked = await storage.increment('k', HOUR, 1, 300, 'default');
    expect(blocked).toMatchObject({ totalHits: 2, isBlocked: true, timeToBlockExpire: 1 });
    // Hits while blocked neither count nor extend the block.
    expect(await storage.increment('k', HOUR, 1, 300, 'default')).toMatchObject({ totalHits: 2, isBlocked: true });
    await sleep(360);
    expect(await storage.increment('k', HOUR, 1, 300, 'default')).toMatchObject({ totalHits: 1, isBlocked: false, timeToExpire: 3600 });
  });

  it('admits exactly the limit under concurrent hits', async () => {
    const storage = create();
    const results = await Promise.all(Array.from({ length: 50 }, () => storage.increment('burst', HOUR, 10, 0, 'default')));
    expect(results.filter((result) => !result.isBlocked)).toHaveLength(10);
    expect(results.map((result) => result.totalHits).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
  });
});

describe('MemoryThrottlerStorage bounds', () => {
  it('forgets the least recently seen callers beyond its capacity', async () => {
    const storage = new MemoryThrottlerStorage(2);
    await storage.increment('a', HOUR, 1, 0, 'default');
    await storage.increment('b', HOUR, 1, 0, 'default');
    await storage.increment('c', HOUR, 1, 0, 'default');
    expect((await storage.increment('a', HOUR, 1, 0, 'default')).totalHits).toBe(1);
    expect((await storage.increment('c', HOUR, 1, 0, 'default')).isBlocked).toBe(true);
  });
});
