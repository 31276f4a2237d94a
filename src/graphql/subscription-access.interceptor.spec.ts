import { PubSub } from 'graphql-subscriptions';
import { describe, expect, it } from 'vitest';
import { CommonErrors } from 'src/common/errors/app.exception';
import { reauthorizeEach } from 'src/graphql/subscription-access.interceptor';

describe('reauthorizeEach', () => {
  it('checks access before every event and ends the stream with the coded error once it is lost', async () => {
    const pubsub = new PubSub();
    let allowed = true;
    let checks = 0;
    const stream = reauthorizeEach(pubsub.asyncIterableIterator<number>('topic'), () => {
      checks++;
      return allowed ? Promise.resolve() : Promise.reject(CommonErrors.notFound('Workspace'));
    });
    const first = stream.next();
    await pubsub.publish('topic', 1);
    expect(await first).toEqual({ done: false, value: 1 });

    allowed = false;
    const second = stream.next();
    await pubsub.publish('topic', 2);
    await expect(second).rejects.toMatchObject({ message: 'Workspace not found', extensions: { code: 'NOT_FOUND', statusCode: 404 } });
    expect(checks).toBe(2);
    await expect(stream.next()).resolves.toEqual({ done: true, value: undefined });
  });

  it('unsubscribes at once while waiting for an event (no hang until the next one)', async () => {
    const pubsub = new PubSub();
    const stream = reauthorizeEach(pubsub.asyncIterableIterator<number>('topic'), () => Promise.resolve());
    const pending = stream.next();
    await new Promise((resolve) => setImmediate(resolve));
    await expect(stream.return!()).resolves.toEqual({ done: true, value: undefined });
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
  });
});
