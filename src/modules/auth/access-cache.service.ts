import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import { randomUUID } from 'node:crypto';
import { InjectRedis } from 'src/common/redis/redis.constants';
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
  private readonly instanceId = randomUUID();
  private readonly channel: string;
  private subscriber?: Redis;
  private epoch = 0;

  constructor(
    @InjectRedis() private readonly redis: Redis | null,
    config: AppConfig,
  ) {
    this.channel = `${config.redisKeyPrefix}auth:access-changed`;
  }

  onModuleInit(): void {
    if (!this.redis) return;
    const subscriber = this.redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on('message', (_channel: string, origin: string) => {
      if (origin !== this.instanceId) this.clearLocal();
    });
    subscriber.on('error', (error: Error) => this.logger.warn(`Access-change subscriber: ${error.message}`));
    // While the subscription is down we may have missed invalidations: drop what we hold.
    // ioredis re-subscribes by itself after a reconnect; boot does not wait on Redis.
    subscriber.on('ready', () => this.clearLocal());
    subscriber
      .subscribe(this.channel)
      .catch((error: unknown) => this.logger.error(`Could not subscribe to access changes: ${String(error)}`));
  }

  async onModuleDestroy(): Promise<void> {
    if (this.subscriber?.status === 'ready') await this.subscriber.quit().catch(() => undefined);
    this.subscriber?.disconnect();
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

  async invalidate(): Promise<void> {
    this.clearLocal();
    if (!this.redis) return;
    try {
      await this.redis.publish(this.channel, this.instanceId);
    } catch (error) {
      // Other replicas fall back to the entry TTL; say so loudly.
      this.logger.error(
        `Could not broadcast an access change; other replicas may serve cached access for up to ${ENTRY_TTL_MS / 1000}s: ${String(error)}`,
      );
    }
  }

  private clearLocal(): void {
    this.epoch++;
    this.entries.clear();
  }
}
