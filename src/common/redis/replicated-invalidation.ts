import { Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';

/**
 * A "forget what you cached" signal shared by every replica over Redis pub/sub, for
 * in-process caches whose correctness rests on invalidation (access, quota definitions).
 * `publish()` clears this replica at once and tells the others; a replica whose subscription
 * was down clears itself when it is back, since it may have missed messages. Without Redis
 * there is one process and the local clear is all there is.
 */
export class ReplicatedInvalidation {
  private readonly instanceId = randomUUID();
  private subscriber?: Redis;

  constructor(
    private readonly redis: Redis | null,
    private readonly channel: string,
    /** Empties the local cache. */
    private readonly clearLocal: () => void,
    private readonly logger: Logger,
    /** How long other replicas may serve stale entries when a message is lost (the cache's TTL). */
    private readonly staleForMs: number,
  ) {}

  /** Subscribes without waiting on Redis: boot must not depend on it; ioredis re-subscribes after reconnects. */
  start(): void {
    if (!this.redis) return;
    const subscriber = this.redis.duplicate();
    this.subscriber = subscriber;
    subscriber.on('message', (_channel: string, origin: string) => {
      if (origin !== this.instanceId) this.clearLocal();
    });
    subscriber.on('error', (error: Error) => this.logger.warn(`Invalidation subscriber (${this.channel}): ${error.message}`));
    subscriber.on('ready', () => this.clearLocal());
    subscriber
      .subscribe(this.channel)
      .catch((error: unknown) => this.logger.error(`Could not subscribe to ${this.channel}: ${String(error)}`));
  }

  async stop(): Promise<void> {
    if (this.subscriber?.status === 'ready') await this.subscriber.quit().catch(() => undefined);
    this.subscriber?.disconnect();
  }

  async publish(): Promise<void> {
    this.clearLocal();
    if (!this.redis) return;
    try {
      await this.redis.publish(this.channel, this.instanceId);
    } catch (error) {
      // Other replicas fall back to the entry TTL; say so loudly.
      this.logger.error(
        `Could not broadcast on ${this.channel}; other replicas may serve cached entries for up to ${this.staleForMs / 1000}s: ${String(error)}`,
      );
    }
  }
}
