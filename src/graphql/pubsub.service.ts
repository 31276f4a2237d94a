import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { PubSub, PubSubEngine } from 'graphql-subscriptions';
import { RedisPubSub } from 'graphql-redis-subscriptions';
import type { Redis } from 'ioredis';
import { closeRedisConnection, createRedisConnection } from 'src/common/redis/redis-connection';
import { InjectRedis } from 'src/common/redis/redis.constants';
import { AppConfig } from 'src/config/app-config';
import { PubSubTopic, PubSubTopics } from 'src/graphql/pubsub-topics';

const WARNING_INTERVAL_MS = 30_000;
/** Dates survive the trip through Redis as dates, so payloads look the same on every replica. */
const DATE_TAG = '$gremlinsDate';

/**
 * Live events for GraphQL subscriptions. In-process without REDIS_URL; with it, Redis
 * PUBLISH/SUBSCRIBE so an event published on one replica reaches subscribers on all.
 * Publishing never throws and never waits on Redis: a live feed must not fail (or stall)
 * the action it reports.
 */
@Injectable()
export class PubSubService implements OnApplicationShutdown {
  private readonly logger = new Logger('PubSub');
  private readonly engine: PubSubEngine;
  private readonly subscriber?: Redis;
  private readonly channelPrefix: string;
  private lastWarningAt = 0;

  constructor(config: AppConfig, @InjectRedis() redis: Redis | null) {
    if (redis && config.redisUrl) {
      // SUBSCRIBE blocks a connection for everything else: the shared one only publishes.
      this.subscriber = createRedisConnection(config.redisUrl, this.logger);
      this.engine = new RedisPubSub({ publisher: redis, subscriber: this.subscriber, serializer, deserializer });
      this.channelPrefix = `${config.redisKeyPrefix}pubsub:`;
    } else {
      this.engine = new PubSub();
      this.channelPrefix = '';
    }
  }

  publish<T extends PubSubTopic>(topic: T, payload: PubSubTopics[T], scope?: string): void {
    this.engine.publish(this.channel(topic, scope), payload).catch((error: unknown) => {
      if (Date.now() - this.lastWarningAt < WARNING_INTERVAL_MS) return;
      this.lastWarningAt = Date.now();
      this.logger.warn(`Live event ${topic} not delivered: ${error instanceof Error ? error.message : String(error)}`);
    });
  }

  /** Events of `topic` (within `scope`) from now on; `return()` on the iterator unsubscribes. */
  subscribe<T extends PubSubTopic>(topic: T, scope?: string): AsyncIterableIterator<PubSubTopics[T]> {
    return this.engine.asyncIterableIterator<PubSubTopics[T]>(this.channel(topic, scope));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.subscriber) await closeRedisConnection(this.subscriber);
  }

  private channel(topic: PubSubTopic, scope?: string): string {
    return scope === undefined ? `${this.channelPrefix}${topic}` : `${this.channelPrefix}${topic}:${scope}`;
  }
}

function serializer(payload: unknown): string {
  return JSON.stringify(payload, function (this: Record<string, unknown>, key: string, value: unknown) {
    // `value` is already the ISO string (Date#toJSON ran); the holder still has the Date.
    const raw = this[key];
    return raw instanceof Date ? { [DATE_TAG]: raw.toISOString() } : value;
  });
}

function deserializer(message: string | Buffer): unknown {
  return JSON.parse(message.toString(), (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && DATE_TAG in value) {
      const iso = (value as Record<string, unknown>)[DATE_TAG];
      if (typeof iso === 'string') return new Date(iso);
    }
    return value;
  });
}
