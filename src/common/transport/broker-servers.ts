import { ClientRedis, MessageHandler, MsPattern, ServerNats, ServerRedis } from '@nestjs/microservices';
import type { Redis as IoRedis } from 'ioredis';

/** The subject (NATS) or channel (Redis) a pattern travels on: `<namespace>.<pattern>`. */
export const wirePattern = (namespace: string, pattern: string): string => `${namespace}.${pattern}`;

/**
 * NATS server whose subscriptions live under the namespace. Replicas of a role share a
 * queue group, so one of them answers each request.
 */
export class NamespacedNatsServer extends ServerNats {
  constructor(
    private readonly namespace: string,
    options: ConstructorParameters<typeof ServerNats>[0],
  ) {
    super(options);
  }

  override addHandler(pattern: unknown, callback: MessageHandler, isEventHandler?: boolean, extras?: Record<string, unknown>): void {
    super.addHandler(wirePattern(this.namespace, this.normalizePattern(pattern as MsPattern)), callback, isEventHandler, extras);
  }
}

/**
 * Redis server whose channels live under the namespace (pub/sub ignores key prefixes and
 * database numbers, so the namespace is all that keeps deployments apart). Redis pub/sub
 * is a broadcast: every replica of a role handles each request and the caller keeps the
 * first answer, so handlers must be idempotent.
 */
export class NamespacedRedisServer extends ServerRedis {
  constructor(
    private readonly namespace: string,
    options: ConstructorParameters<typeof ServerRedis>[0],
  ) {
    super(options);
  }

  override addHandler(pattern: unknown, callback: MessageHandler, isEventHandler?: boolean, extras?: Record<string, unknown>): void {
    super.addHandler(wirePattern(this.namespace, this.normalizePattern(pattern as MsPattern)), callback, isEventHandler, extras);
  }

  override async close(): Promise<void> {
    // Nest types its ioredis clients as `any`.
    await closeRedisPair(this.pubClient as IoRedis | null, this.subClient as IoRedis | null, () => super.close());
  }
}

/** Nest's Redis client, made to shut down promptly when Redis is gone (see closeRedisPair). */
export class RoleRedisClient extends ClientRedis {
  override async close(): Promise<void> {
    // Nest types its ioredis clients as `any`.
    await closeRedisPair(this.pubClient as IoRedis | null, this.subClient as IoRedis | null, () => super.close());
  }
}

/**
 * Nest closes its Redis connections with QUIT, which waits for a reply; from a Redis that
 * is gone none comes and shutdown hangs. Then the connections are dropped instead (QUIT on
 * a dropped connection fails at once, which is fine here).
 */
async function closeRedisPair(pub: IoRedis | null, sub: IoRedis | null, close: () => Promise<void>): Promise<void> {
  const clients = [pub, sub].filter((client): client is IoRedis => Boolean(client));
  if (clients.every((client) => client.status === 'ready')) return close();
  for (const client of clients) client.disconnect();
  await close().catch(() => undefined);
}
