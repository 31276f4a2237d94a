import type { Redis } from 'ioredis';
import { assertIncrement, assertTtl, CacheStore, serialize } from 'src/common/cache/cache-store';

// INCRBY and the first expiry in one step, so a crash between them cannot leave an
// immortal counter.
const INCR_SCRIPT = `
local value = redis.call('INCRBY', KEYS[1], ARGV[1])
if tonumber(ARGV[2]) > 0 and redis.call('PTTL', KEYS[1]) == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return value`;

type RedisWithCacheCommands = Redis & {
  gremlinsCacheIncr(key: string, by: number, ttlMs: number): Promise<number>;
};

/** Production cache: one Redis shared by every replica. */
export class RedisCacheStore extends CacheStore {
  private readonly redis: RedisWithCacheCommands;

  /** `prefix` is the whole key prefix, e.g. `gremlins:cache:`. */
  constructor(redis: Redis, prefix: string) {
    super(prefix);
    if (!('gremlinsCacheIncr' in redis)) redis.defineCommand('gremlinsCacheIncr', { numberOfKeys: 1, lua: INCR_SCRIPT });
    this.redis = redis as RedisWithCacheCommands;
  }

  async get<T = unknown>(key: string): Promise<T | undefined> {
    const raw = await this.redis.get(this.fullKey(key));
    return raw === null ? undefined : (JSON.parse(raw) as T);
  }

  async set(key: string, value: unknown, ttlMs?: number): Promise<void> {
    assertTtl(ttlMs);
    const raw = serialize(value);
    if (ttlMs === undefined) await this.redis.set(this.fullKey(key), raw);
    else await this.redis.set(this.fullKey(key), raw, 'PX', ttlMs);
  }

  async delete(key: string): Promise<boolean> {
    return (await this.redis.del(this.fullKey(key))) > 0;
  }

  async incr(key: string, by = 1, ttlMs?: number): Promise<number> {
    assertIncrement(by);
    assertTtl(ttlMs);
    try {
      return Number(await this.redis.gremlinsCacheIncr(this.fullKey(key), by, ttlMs ?? 0));
    } catch (error) {
      if (error instanceof Error && /not an integer|overflow/.test(error.message)) {
        throw new Error(`Cache value at "${key}" is not an integer`);
      }
      throw error;
    }
  }

  protected withPrefix(prefix: string): CacheStore {
    return new RedisCacheStore(this.redis, prefix);
  }
}
