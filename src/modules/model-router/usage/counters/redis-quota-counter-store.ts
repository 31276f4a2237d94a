import type { Redis } from 'ioredis';
import {
  assertTokenCount,
  QuotaCounter,
  QuotaCounterStore,
  ReserveOutcome,
} from 'src/modules/model-router/usage/counters/quota-counter-store';

/**
 * `planReservation` in Lua: the check over every counter and the increments run as one
 * script, so no other replica's reservation can slip in between (one round trip).
 * KEYS: the counters. ARGV: promptTokens, maxCompletionTokens (-1: none), then each
 * counter's limit, then each counter's expiry (epoch ms).
 * Returns {1, reserved} or {0, blockingIndex (0-based), used}.
 * Numbers go back to Redis through string.format('%d'): Lua would print 1e12 as "1e+12",
 * which INCRBY refuses.
 */
const RESERVE_SCRIPT = `
local count = #KEYS
local prompt = tonumber(ARGV[1])
local maxCompletion = tonumber(ARGV[2])
local headroom = nil
local blocking = 1
local used = {}
for i = 1, count do
  used[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  local left = tonumber(ARGV[2 + i]) - used[i]
  if headroom == nil or left < headroom then
    headroom = left
    blocking = i
  end
end
if headroom <= prompt then
  return {0, blocking - 1, used[blocking]}
end
local completion = headroom - prompt
if maxCompletion >= 0 and maxCompletion < completion then
  completion = maxCompletion
end
local reserved = prompt + completion
for i = 1, count do
  redis.call('SET', KEYS[i], string.format('%d', used[i] + reserved))
  redis.call('PEXPIREAT', KEYS[i], ARGV[2 + count + i])
end
return {1, reserved}`;

/** Adds ARGV[1] to each existing counter, floored at zero, keeping its expiry. */
const ADJUST_SCRIPT = `
local delta = tonumber(ARGV[1])
for i = 1, #KEYS do
  local value = redis.call('GET', KEYS[i])
  if value then
    local next = tonumber(value) + delta
    if next < 0 then next = 0 end
    redis.call('SET', KEYS[i], string.format('%d', next), 'KEEPTTL')
  end
end
return 0`;

type RedisWithQuotaCommands = Redis & {
  gremlinsQuotaReserve(numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<number[]>;
  gremlinsQuotaAdjust(numberOfKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>;
};

/**
 * Counters in Redis, shared by every replica. The keys of one reservation belong to
 * different subjects (workspace, user, key), so they do not share a hash slot: this needs a
 * single Redis (or a primary with replicas), not Redis Cluster.
 */
export class RedisQuotaCounterStore extends QuotaCounterStore {
  private readonly redis: RedisWithQuotaCommands;

  /** `prefix` is the whole key prefix, e.g. `gremlins:quota:`. */
  constructor(
    redis: Redis,
    private readonly prefix: string,
  ) {
    super();
    // numberOfKeys is passed per call: a reservation touches one to six counters.
    if (!('gremlinsQuotaReserve' in redis)) redis.defineCommand('gremlinsQuotaReserve', { lua: RESERVE_SCRIPT });
    if (!('gremlinsQuotaAdjust' in redis)) redis.defineCommand('gremlinsQuotaAdjust', { lua: ADJUST_SCRIPT });
    this.redis = redis as RedisWithQuotaCommands;
  }

  async reserve(counters: readonly QuotaCounter[], promptTokens: number, maxCompletionTokens: number | null): Promise<ReserveOutcome> {
    assertTokenCount('promptTokens', promptTokens);
    if (maxCompletionTokens !== null) assertTokenCount('maxCompletionTokens', maxCompletionTokens);
    if (counters.length === 0) throw new RangeError('A reservation needs at least one counter');
    this.assertUsable();
    const [granted, first, second] = await this.redis.gremlinsQuotaReserve(
      counters.length,
      ...counters.map((counter) => this.prefix + counter.key),
      promptTokens,
      maxCompletionTokens ?? -1,
      ...counters.map((counter) => counter.limitTokens),
      ...counters.map((counter) => counter.expireAtMs),
    );
    return granted === 1
      ? { granted: true, reservedTokens: Number(first) }
      : { granted: false, blockingIndex: Number(first), usedTokens: Number(second) };
  }

  async adjust(keys: readonly string[], delta: number): Promise<void> {
    if (!Number.isSafeInteger(delta)) throw new RangeError(`delta must be a whole number, got ${delta}`);
    if (keys.length === 0 || delta === 0) return;
    this.assertUsable();
    await this.redis.gremlinsQuotaAdjust(keys.length, ...keys.map((key) => this.prefix + key), delta);
  }

  async read(keys: readonly string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    this.assertUsable();
    const values = await this.redis.mget(...keys.map((key) => this.prefix + key));
    return values.map((value) => (value === null ? 0 : Number(value)));
  }

  /** Queueing behind a reconnect would hold the call for seconds: fail fast and let the caller answer 503. */
  private assertUsable(): void {
    if (this.redis.status === 'reconnecting' || this.redis.status === 'end' || this.redis.status === 'close') {
      throw new Error(`Redis is ${this.redis.status}`);
    }
  }
}
