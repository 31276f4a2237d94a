import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { CacheStore } from 'src/common/cache/cache-store';
import { MemoryCacheStore } from 'src/common/cache/memory-cache-store';
import { RedisCacheStore } from 'src/common/cache/redis-cache-store';
import { deleteRedisKeys } from 'test/support/redis';
import { REDIS_URL } from 'test/support/test-app';

const redis = new Redis(REDIS_URL, { lazyConnect: true });
const redisPrefix = `test:${randomBytes(6).toString('hex')}:cache:`;

afterAll(async () => {
  await deleteRedisKeys(redis, redisPrefix);
  await redis.quit();
});

/** One contract, two backends: whichever the configuration picks behaves the same. */
describe.each([
  { name: 'memory', create: (): CacheStore => new MemoryCacheStore() },
  { name: 'redis', create: (): CacheStore => new RedisCacheStore(redis, `${redisPrefix}${randomBytes(4).toString('hex')}:`) },
])('CacheStore contract ($name)', ({ create }) => {
  it('returns undefined for a missing key', async () => {
    expect(await create().get('missing')).toBeUndefined();
  });

  it('round-trips JSON values and hands back copies', async () => {
    const cache = create();
    const values: Record<string, unknown> = { object: { a: 1, nested: [1, 'two', null] }, text: 'hi', zero: 0, no: false, nothing: null };
    for (const [key, value] of Object.entries(values)) await cache.set(key, value);
    for (const [key, value] of Object.entries(values)) expect(await cache.get(key)).toEqual(value);

    const copy = await cache.get<{ a: number }>('object');
    copy!.a = 99;
    expect(await cache.get('object')).toMatchObject({ a: 1 });
  });

  it('serialises dates as ISO strings and refuses undefined', async () => {
    const cache = create();
    await cache.set('when', { at: new Date('2026-01-02T03:04:05.000Z') });
    expect(await cache.get('when')).toEqual({ at: '2026-01-02T03:04:05.000Z' });
    await expect(cache.set('undef', undefined)).rejects.toThrow(TypeError);
  });

  it('expires entries after their TTL and rejects nonsense TTLs', async () => {
    const cache = create();
    await cache.set('short', 'x', 60);
    await cache.set('long', 'y', 60_000);
    expect(await cache.get('short')).toBe('x');
    await sleep(120);
    expect(await cache.get('short')).toBeUndefined();
    expect(await cache.get('long')).toBe('y');
    for (const ttl of [0, -1, 1.5, Number.NaN]) await expect(cache.set('bad', 1, ttl)).rejects.toThrow(RangeError);
  });

  it('drops a previous TTL when a key is overwritten without one', async () => {
    const cache = create();
    await cache.set('k', 1, 60);
    await cache.set('k', 2);
    await sleep(120);
    expect(await cache.get('k')).toBe(2);
  });

  it('deletes and says whether anything was there', async () => {
    const cache = create();
    await cache.set('k', 'v');
    expect(await cache.delete('k')).toBe(true);
    expect(await cache.delete('k')).toBe(false);
    expect(await cache.get('k')).toBeUndefined();
  });

  it('increments counters, readable with get', async () => {
    const cache = create();
    expect(await cache.incr('n')).toBe(1);
    expect(await cache.incr('n', 5)).toBe(6);
    expect(await cache.incr('n', -10)).toBe(-4);
    expect(await cache.get('n')).toBe(-4);
    await cache.set('m', 40);
    expect(await cache.incr('m', 2)).toBe(42);
    await expect(cache.incr('n', 0.5)).rejects.toThrow(RangeError);
  });

  it('refuses to increment a value that is not an integer', async () => {
    const cache = create();
    await cache.set('text', 'abc');
    await cache.set('float', 1.5);
    await cache.set('numeric-string', '5');
    for (const key of ['text', 'float', 'numeric-string']) await expect(cache.incr(key)).rejects.toThrow(/not an integer/);
    expect(await cache.get('text')).toBe('abc');
  });

  it('sets a counter TTL once, when created, so the window does not slide', async () => {
    const cache = create();
    await cache.incr('window', 1, 400);
    await sleep(200);
    expect(await cache.incr('window', 1, 400)).toBe(2);
    await sleep(250);
    // A sliding window would last until ~600 ms; a fixed one ended at 400 ms.
    expect(await cache.get('window')).toBeUndefined();
    expect(await cache.incr('window', 1, 400)).toBe(1);
  });

  it('keeps namespaces apart', async () => {
    const cache = create();
    const router = cache.namespace('router');
    const rag = cache.namespace('rag');
    await router.set('k', 'router');
    await rag.set('k', 'rag');
    await cache.set('k', 'root');
    expect(await router.get('k')).toBe('router');
    expect(await rag.get('k')).toBe('rag');
    expect(await cache.get('k')).toBe('root');
    expect(await cache.get('router:k')).toBe('router');
    expect(await router.namespace('answers').get('k')).toBeUndefined();
    await router.namespace('answers').set('k', 'nested');
    expect(await cache.get('router:answers:k')).toBe('nested');
    expect(() => cache.namespace('bad name')).toThrow();
    expect(() => cache.namespace('a:b')).toThrow();
  });

  it('getOrSet computes on a miss only', async () => {
    const cache = create();
    let calls = 0;
    const compute = () => Promise.resolve({ n: ++calls });
    expect(await cache.getOrSet('k', compute, 60_000)).toEqual({ n: 1 });
    expect(await cache.getOrSet('k', compute, 60_000)).toEqual({ n: 1 });
    expect(calls).toBe(1);
  });
});

describe('MemoryCacheStore bounds', () => {
  it('evicts the least recently used entry past maxEntries', async () => {
    const cache = new MemoryCacheStore({ maxEntries: 2 });
    await cache.set('a', 1);
    await cache.set('b', 2);
    await cache.get('a');
    await cache.set('c', 3);
    expect(await cache.get('b')).toBeUndefined();
    expect(await cache.get('a')).toBe(1);
    expect(await cache.get('c')).toBe(3);
  });

  it('does not keep a value larger than the size bound', async () => {
    const cache = new MemoryCacheStore({ maxSizeChars: 100 });
    await cache.set('big', 'x'.repeat(200));
    expect(await cache.get('big')).toBeUndefined();
  });
});
