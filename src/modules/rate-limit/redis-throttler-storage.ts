import { ThrottlerStorage } from '@nestjs/throttler';
import type { Redis } from 'ioredis';
import { seconds, ThrottlerStorageRecord } from 'src/modules/rate-limit/memory-throttler-storage';

/**
 * One round trip per request, atomic across replicas. KEYS[1] counts hits in the current
 * window; KEYS[2] exists while a caller sits out a `blockDuration`. Both share a hash tag
 * so the script also runs on Redis Cluster. Returns {hits, windowMsLeft, blocked, blockMsLeft}.
 */
const INCREMENT_SCRIPT = `
local blockLeft = redis.call('PTTL', KEYS[2])
if blockLeft > 0 then
  return {tonumber(redis.call('GET', KEYS[2])), blockLeft, 1, blockLeft}
end
local hits = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
if hits <= tonumber(ARGV[2]) then
  return {hits, left, 0, 0}
end
local block = tonumber(ARGV[3])
if block > 0 then
  -- The block key carries the count; the window restarts from zero once it expires.
  redis.call('SET', KEYS[2], hits, 'PX', block)
  redis.call('DEL', KEYS[1])
  return {hits, block, 1, block}
end
return {hits, left, 1, left}`;

type RedisWithThrottle = Redis & {
  gremlinsThrottle(hitKey: string, blockKey: string, ttl: number, limit: number, blockDuration: number): Promise<number[]>;
};

/** Our ThrottlerStorage on Redis (the @nest-lab package does not support Nest 12). */
export class RedisThrottlerStorage implements ThrottlerStorage {
  private readonly redis: RedisWithThrottle;

  /** `prefix` is the whole key prefix, e.g. `gremlins:rl:`. */
  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    if (!('gremlinsThrottle' in redis)) redis.defineCommand('gremlinsThrottle', { numberOfKeys: 2, lua: INCREMENT_SCRIPT });
    this.redis = redis as RedisWithThrottle;
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    _throttlerName?: string,
  ): Promise<ThrottlerStorageRecord> {
    // Queueing behind a reconnect would hold every request for seconds; fail fast instead
    // and let the guard decide (it lets the request through).
    if (this.redis.status === 'reconnecting' || this.redis.status === 'end' || this.redis.status === 'close') {
      throw new Error(`Redis is ${this.redis.status}`);
    }
    const hitKey = `${this.prefix}{${key}}`;
    const [hits, windowLeft, blocked, blockLeft] = await this.redis.gremlinsThrottle(hitKey, `${hitKey}:block`, ttl, limit, blockDuration);
    return {
      totalHits: hits,
      timeToExpire: seconds(windowLeft),
      isBlocked: blocked === 1,
      timeToBlockExpire: blocked === 1 ? seconds(blockLeft) : 0,
    };
  }
}
