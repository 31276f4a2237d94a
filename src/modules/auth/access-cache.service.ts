import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { InjectRedis } from 'src/common/redis/redis.constants';
import { ReplicatedInvalidation } from 'src/common/redis/replicated-invalidation';
import { AppConfig } from 'src/config/app-config';

/** Upper bound on staleness should an invalidation message ever be lost. */
const ENTRY_TTL_MS = 30_000;
const MAX_ENTRIES = 50_000;

/**
 * Remembers resolved callers (session or API key + membership) so that an authenticated
 * request costs no database round trip. Correctness rests on invalidation: every change
 * that can narrow access (suspension, logout, revocation, role or membership change) calls
 * `invalidate()`, which empties this cache and, through Redis pub/sub, the cache of every
 * other replica. A read that started before an invalidation is never stored after it
 * (see `epoch`), so a lookup racing with a revocation cannot resurrect old access.
 */
@Injectable()
export class AccessCache implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(AccessCache.name);
  private readonly entries = new LRUCache<string, object>({ max: MAX_ENTRIES, ttl: ENTRY_TTL_MS });
  private readonly invalidation: ReplicatedInvalidation;
  private epoch = 0;

  constructor(@InjectRedis() redis: Redis | null, config: AppConfig) {
    this.invalidation = new ReplicatedInvalidation(
      redis,
      `${config.redisKeyPrefix}auth:access-changed`,
      () => this.clearLocal(),
      this.logger,
      ENTRY_TTL_MS,
    );
  }

  onModuleInit(): void {
    this.invalidation.start();
  }

  onModuleDestroy(): Promise<void> {
    return this.invalidation.stop();
  }

  /** Take before reading the database; pass to `set` so stale reads are dropped. */
  currentEpoch(): number {
    return this.epoch;
  }

  get<T extends object>(key: string): T | undefined {
    return this.entries.get(key) as T | undefined;
  }

  set(key: string, value: object, epochAtRead: number): void {
    if (epochAtRead === this.epoch) this.entries.set(key, value);
  }

  invalidate(): Promise<void> {
    return this.invalidation.publish();
  }

  private clearLocal(): void {
    this.epoch++;
    this.entries.clear();
  }
}
