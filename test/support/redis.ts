import { Redis } from 'ioredis';

/** Deletes every key under `prefix` (tests share one Redis: never FLUSHALL). */
export async function deleteRedisKeys(redis: Redis, prefix: string): Promise<number> {
  if (!/^test:/.test(prefix)) throw new Error(`Refusing to delete keys outside the test: namespace (${prefix})`);
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** The same, over a short-lived connection of its own. */
export async function deleteRedisKeysAt(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    return await deleteRedisKeys(redis, prefix);
  } finally {
    redis.disconnect();
  }
}
