import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { closeRedisConnection, createRedisConnection } from 'src/common/redis/redis-connection';
import { BuiltInRole } from 'src/common/auth/roles';
import { loadConfig } from 'src/config/app-config';
import { PubSubService } from 'src/graphql/pubsub.service';
import { PubSubTopics } from 'src/graphql/pubsub-topics';
import { MemberChange } from 'src/modules/workspaces/workspaces.dto';
import { REDIS_URL } from 'test/support/test-app';

const change = (workspaceId: string): PubSubTopics['workspace-member-changed'] => ({
  workspaceId,
  userId: 'u1',
  change: MemberChange.Added,
  role: BuiltInRole.Member,
  customRoleId: null,
  actorUserId: 'u0',
  changedAt: new Date('2026-11-02T10:00:00.000Z'),
});

/** Resolves with the awaited event, failing instead of hanging (generous: CI machines are shared). */
async function within<T>(pending: Promise<IteratorResult<T>>, ms = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const result = await Promise.race([
    pending,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no event within ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
  return result.value as T;
}

describe('PubSubService', () => {
  describe('in-process (no REDIS_URL)', () => {
    const pubsub = new PubSubService(loadConfig({ NODE_ENV: 'test', JWT_SECRET: 'x'.repeat(8) + randomBytes(24).toString('hex') }), null);

    it('delivers to subscribers of the same topic and scope only', async () => {
      const mine = pubsub.subscribe('workspace-member-changed', 'w1');
      const theirs = pubsub.subscribe('workspace-member-changed', 'w2');
      const next = mine.next();
      const theirsNext = theirs.next();
      pubsub.publish('workspace-member-changed', change('w2'), 'w2');
      pubsub.publish('workspace-member-changed', change('w1'), 'w1');
      expect((await next).value).toEqual(change('w1'));
      expect((await theirsNext).value).toEqual(change('w2'));
      await mine.return?.();
      await theirs.return?.();
    });
  });

  describe('over Redis (two replicas)', () => {
    const prefix = `test:${randomBytes(6).toString('hex')}:`;
    const config = loadConfig({
      NODE_ENV: 'test',
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      JWT_SECRET: 'y'.repeat(8) + randomBytes(24).toString('hex'),
    });
    const connections: Redis[] = [createRedisConnection(REDIS_URL), createRedisConnection(REDIS_URL)];
    const [one, two] = connections.map((connection) => new PubSubService(config, connection));
    afterAll(async () => {
      await one.onApplicationShutdown();
      await two.onApplicationShutdown();
      await Promise.all(connections.map((connection) => closeRedisConnection(connection)));
    });

    it('delivers an event published by one instance to a subscriber of another, dates intact', async () => {
      const events = two.subscribe('workspace-member-changed', 'w1');
      // The first next() is what subscribes; the clock only starts once Redis confirms it.
      const next = events.next();
      const channel = `${prefix}pubsub:workspace-member-changed:w1`;
      await expect.poll(async () => (await connections[0].pubsub('NUMSUB', channel))[1], { timeout: 15_000 }).toBe(1);
      // Redis counts the subscription before this process has read its confirmation, and
      // graphql-redis-subscriptions drops a message that arrives in the same read as the
      // confirmation (pub/sub is at-most-once). So the event is published until it arrives.
      one.publish('workspace-member-changed', change('w2'), 'w2');
      const publishing = setInterval(() => one.publish('workspace-member-changed', change('w1'), 'w1'), 250);
      one.publish('workspace-member-changed', change('w1'), 'w1');
      const received = await within(next).finally(() => clearInterval(publishing));
      expect(received).toEqual(change('w1'));
      expect(received.changedAt).toBeInstanceOf(Date);

      await events.return?.();
      await expect.poll(async () => (await connections[0].pubsub('NUMSUB', channel))[1], { timeout: 15_000 }).toBe(0);
    });

    it('never throws from publish, even when Redis cannot be reached', async () => {
      const unreachable = createRedisConnection('redis://127.0.0.1:1');
      const broken = new PubSubService(
        loadConfig({ NODE_ENV: 'test', REDIS_URL: 'redis://127.0.0.1:1', JWT_SECRET: config.jwtSecret }),
        unreachable,
      );
      expect(() => broken.publish('audit-event-recorded', {} as PubSubTopics['audit-event-recorded'])).not.toThrow();
      await broken.onApplicationShutdown();
      unreachable.disconnect();
    });
  });
});
