import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryQuotaCounterStore } from 'src/modules/model-router/usage/counters/memory-quota-counter-store';
import { QuotaCounter, QuotaCounterStore } from 'src/modules/model-router/usage/counters/quota-counter-store';
import { RedisQuotaCounterStore } from 'src/modules/model-router/usage/counters/redis-quota-counter-store';
import { deleteRedisKeys } from 'test/support/redis';
import { REDIS_URL } from 'test/support/test-app';

const redis = new Redis(REDIS_URL, { lazyConnect: true });
const redisPrefix = `test:${randomBytes(6).toString('hex')}:quota:`;
const HOUR = 3_600_000;

afterAll(async () => {
  await deleteRedisKeys(redis, redisPrefix);
  await redis.quit();
});

const counter = (key: string, limitTokens: number, ttlMs = HOUR): QuotaCounter => ({ key, limitTokens, expireAtMs: Date.now() + ttlMs });

/** One contract for both stores: a deployment enforces the same budgets with or without Redis. */
describe.each([
  { name: 'memory', create: (): QuotaCounterStore => new MemoryQuotaCounterStore() },
  {
    name: 'redis',
    create: (): QuotaCounterStore => new RedisQuotaCounterStore(redis, `${redisPrefix}${randomBytes(4).toString('hex')}:`),
  },
])('QuotaCounterStore contract ($name)', ({ create }) => {
  it('reserves prompt plus max completion tokens on every counter', async () => {
    const store = create();
    const counters = [counter('a', 1000), counter('b', 5000)];
    expect(await store.reserve(counters, 100, 200)).toEqual({ granted: true, reservedTokens: 300 });
    expect(await store.read(['a', 'b', 'missing'])).toEqual([300, 300, 0]);
  });

  it('caps the completion at the smallest headroom, and without a max takes all of it', async () => {
    const store = create();
    await store.reserve([counter('big', 10_000)], 0, 9_000);
    const counters = [counter('small', 1000), counter('big', 10_000)];
    // big has 1000 left, small 1000: the completion gets 1000 - 100.
    expect(await store.reserve(counters, 100, 5000)).toEqual({ granted: true, reservedTokens: 1000 });
    expect(await store.read(['small', 'big'])).toEqual([1000, 10_000]);

    const fresh = create();
    expect(await fresh.reserve([counter('c', 700)], 50, null)).toEqual({ granted: true, reservedTokens: 700 });
  });

  it('refuses when the headroom does not exceed the prompt, naming the tightest counter', async () => {
    const store = create();
    await store.reserve([counter('tight', 1000)], 900, 0);
    const counters = [counter('loose', 100_000), counter('tight', 1000)];
    expect(await store.reserve(counters, 100, 10)).toEqual({ granted: false, blockingIndex: 1, usedTokens: 900 });
    // Nothing was added anywhere.
    expect(await store.read(['loose', 'tight'])).toEqual([0, 900]);
    // One token of headroom beyond the prompt is enough for a one-token answer.
    expect(await store.reserve(counters, 99, 10)).toEqual({ granted: true, reservedTokens: 100 });
    expect(await store.reserve(counters, 0, 10)).toMatchObject({ granted: false, usedTokens: 1000 });
  });

  it('adjusts existing counters both ways, never below zero, and leaves missing ones absent', async () => {
    const store = create();
    await store.reserve([counter('x', 1000), counter('y', 1000)], 100, 400);
    await store.adjust(['x', 'y'], -150);
    expect(await store.read(['x', 'y'])).toEqual([350, 350]);
    await store.adjust(['x'], 80);
    expect(await store.read(['x', 'y'])).toEqual([430, 350]);
    await store.adjust(['x', 'y', 'never-reserved'], -10_000);
    expect(await store.read(['x', 'y', 'never-reserved'])).toEqual([0, 0, 0]);
    await store.adjust(['never-reserved'], 50);
    expect(await store.read(['never-reserved'])).toEqual([0]);
  });

  it('counters expire with their window, and an adjustment keeps the expiry', async () => {
    const store = create();
    await store.reserve([counter('w', 100, 300)], 10, 50);
    await store.adjust(['w'], -20);
    expect(await store.read(['w'])).toEqual([40]);
    await sleep(400);
    expect(await store.read(['w'])).toEqual([0]);
    await store.adjust(['w'], 30);
    expect(await store.read(['w'])).toEqual([0]);
    expect(await store.reserve([counter('w', 100)], 10, 90)).toEqual({ granted: true, reservedTokens: 100 });
  });

  it('handles limits beyond 32 bits exactly', async () => {
    const store = create();
    const limit = 1_000_000_000_000;
    expect(await store.reserve([counter('huge', limit)], 1, null)).toEqual({ granted: true, reservedTokens: limit });
    await store.adjust(['huge'], -(limit - 123));
    expect(await store.read(['huge'])).toEqual([123]);
  });

  it('rejects nonsense token counts', async () => {
    const store = create();
    await expect(store.reserve([counter('n', 10)], -1, 1)).rejects.toThrow(RangeError);
    await expect(store.reserve([counter('n', 10)], 1.5, 1)).rejects.toThrow(RangeError);
    await expect(store.reserve([counter('n', 10)], 1, Number.NaN)).rejects.toThrow(RangeError);
    await expect(store.adjust(['n'], 0.5)).rejects.toThrow(RangeError);
  });

  it('never grants more than the limit to 50 concurrent reservations', async () => {
    const store = create();
    const counters = [counter('burst', 10_000), counter('burst-month', 1_000_000)];
    const outcomes = await Promise.all(Array.from({ length: 50 }, () => store.reserve(counters, 150, 600)));
    const granted = outcomes.filter((outcome) => outcome.granted);
    const reserved = granted.reduce((sum, outcome) => sum + outcome.reservedTokens, 0);
    // 13 whole reservations of 750 fit in 10 000; the 14th gets the last 250 (100 completion tokens).
    expect(granted).toHaveLength(14);
    expect(reserved).toBe(10_000);
    expect(await store.read(['burst', 'burst-month'])).toEqual([10_000, 10_000]);
  });
});

describe('RedisQuotaCounterStore across connections', () => {
  it('two stores on separate connections sharing one prefix never overspend together', async () => {
    const prefix = `${redisPrefix}shared:`;
    const connections = [new Redis(REDIS_URL), new Redis(REDIS_URL)];
    try {
      const [a, b] = connections.map((connection) => new RedisQuotaCounterStore(connection, prefix));
      const counters = [counter('team', 20_000), counter('user', 15_000)];
      const outcomes = await Promise.all(
        Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).reserve(counters, 200 + (i % 7) * 10, 500)),
      );
      const reserved = outcomes.reduce((sum, outcome) => sum + (outcome.granted ? outcome.reservedTokens : 0), 0);
      expect(reserved).toBeLessThanOrEqual(15_000);
      expect(reserved).toBeGreaterThan(15_000 - 800);
      expect(await a.read(['team', 'user'])).toEqual([reserved, reserved]);
    } finally {
      await Promise.all(connections.map((connection) => connection.quit()));
    }
  });

  it('fails fast while Redis is unreachable instead of queueing', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    dead.on('error', () => undefined);
    try {
      const store = new RedisQuotaCounterStore(dead, `${redisPrefix}dead:`);
      await expect(store.reserve([counter('k', 10)], 1, 1)).rejects.toThrow();
    } finally {
      dead.disconnect();
    }
  });
});
