import { Logger } from '@nestjs/common';
import { Redis } from 'ioredis';

const MAX_RECONNECT_DELAY_MS = 5_000;

/**
 * One non-blocking, command-style connection. Lazy, so a process that never touches Redis
 * never dials it and boot does not wait on it. A command fails after a few reconnect
 * attempts instead of queueing forever, so a Redis outage shows up as errors the callers
 * can handle (the rate limiter fails open) rather than as hung requests.
 *
 * Blocking consumers (BullMQ workers, pub/sub subscribers) must `duplicate()` it or open
 * their own: a blocked connection would stall every other user of this one.
 */
export function createRedisConnection(url: string, logger = new Logger('Redis')): Redis {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectionName: 'gremlins',
    connectTimeout: 5_000,
    maxRetriesPerRequest: 3,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 10), MAX_RECONNECT_DELAY_MS),
  });
  let lastLoggedAt = 0;
  redis.on('error', (error: Error) => {
    // ioredis emits one error per failed reconnect; once every 30 s is enough to notice.
    if (Date.now() - lastLoggedAt < 30_000) return;
    lastLoggedAt = Date.now();
    logger.warn(`Redis connection problem: ${error.message}`);
  });
  return redis;
}

/** Graceful QUIT when connected, a plain disconnect otherwise (QUIT would dial a lazy client). */
export async function closeRedisConnection(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    try {
      await redis.quit();
      return;
    } catch {
      // Fall through to a hard disconnect.
    }
  }
  redis.disconnect(false);
}
