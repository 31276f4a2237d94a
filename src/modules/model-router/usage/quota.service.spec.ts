import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryQuotaCounterStore } from 'src/modules/model-router/usage/counters/memory-quota-counter-store';
import { QuotaCounterStore, ReserveOutcome } from 'src/modules/model-router/usage/counters/quota-counter-store';
import { RedisQuotaCounterStore } from 'src/modules/model-router/usage/counters/redis-quota-counter-store';
import { QuotaRule, QuotaRuleSource, subjectRefs } from 'src/modules/model-router/usage/quota-definitions';
import { QuotaService } from 'src/modules/model-router/usage/quota.service';
import { QuotaExceededException, UsageException } from 'src/modules/model-router/usage/usage.exception';
import type { UsageSubject } from 'src/modules/model-router/usage/usage.contract';
import { deleteRedisKeys } from 'test/support/redis';
import { REDIS_URL } from 'test/support/test-app';

const redis = new Redis(REDIS_URL, { lazyConnect: true });
const redisPrefix = `test:${randomBytes(6).toString('hex')}:quota:`;

afterAll(async () => {
  await deleteRedisKeys(redis, redisPrefix);
  await redis.quit();
});

/** The rules a test sets, looked up the way QuotaDefinitions does (workspace, user, key). */
class ListedRules extends QuotaRuleSource {
  constructor(readonly rules: QuotaRule[] = []) {
    super();
  }
  forSubject(subject: UsageSubject): Promise<QuotaRule[]> {
    const refs = subjectRefs(subject);
    return Promise.resolve(this.rules.filter((rule) => refs.some((ref) => ref.scope === rule.scope && ref.subjectId === rule.subjectId)));
  }
}

/** A store that must not be touched (the no-quota fast path) or that is down. */
class FailingStore extends QuotaCounterStore {
  calls = 0;
  reserve(): Promise<ReserveOutcome> {
    this.calls++;
    return Promise.reject(new Error('Redis is reconnecting'));
  }
  adjust(): Promise<void> {
    this.calls++;
    return Promise.reject(new Error('Redis is reconnecting'));
  }
  read(): Promise<number[]> {
    this.calls++;
    return Promise.reject(new Error('Redis is reconnecting'));
  }
}

const newSubject = (apiKey = false): UsageSubject => ({
  workspaceId: randomUUID(),
  userId: randomUUID(),
  apiKeyId: apiKey ? randomUUID() : null,
});

const stores = [
  { name: 'memory', create: (): QuotaCounterStore => new MemoryQuotaCounterStore() },
  { name: 'redis', create: (): QuotaCounterStore => new RedisQuotaCounterStore(redis, `${redisPrefix}${randomBytes(4).toString('hex')}:`) },
];

describe('QuotaService without quotas', () => {
  it('grants everything with no cap and never touches the counters', async () => {
    const store = new FailingStore();
    const service = new QuotaService(new ListedRules([{ scope: 'user', subjectId: randomUUID(), period: 'day', limitTokens: 1 }]), store);
    const reservation = await service.reserve(newSubject(true), { promptTokens: 1_000_000, maxCompletionTokens: 5 });
    expect(reservation).toMatchObject({ reservedTokens: 0, completionTokenCap: null });
    await service.settle(reservation, 2_000_000);
    expect(await service.status(newSubject())).toEqual([]);
    expect(store.calls).toBe(0);
  });
});

describe.each(stores)('QuotaService ($name)', ({ create }) => {
  it('caps the completion by the tightest quota of workspace, user and API key', async () => {
    const subject = newSubject(true);
    const rules = new ListedRules([
      { scope: 'workspace', subjectId: subject.workspaceId, period: 'month', limitTokens: 100_000 },
      { scope: 'user', subjectId: subject.userId, period: 'day', limitTokens: 5_000 },
      { scope: 'api-key', subjectId: subject.apiKeyId!, period: 'day', limitTokens: 2_000 },
    ]);
    const service = new QuotaService(rules, create());
    expect(await service.reserve(subject, { promptTokens: 500, maxCompletionTokens: 400 })).toMatchObject({
      reservedTokens: 900,
      completionTokenCap: 400,
    });
    // 1100 left on the key: without a max the whole rest is held.
    expect(await service.reserve(subject, { promptTokens: 100 })).toMatchObject({ reservedTokens: 1100, completionTokenCap: 1000 });
    const status = await service.status(subject);
    expect(status.map(({ scope, usedTokens, remainingTokens }) => ({ scope, usedTokens, remainingTokens }))).toEqual([
      { scope: 'workspace', usedTokens: 2000, remainingTokens: 98_000 },
      { scope: 'user', usedTokens: 2000, remainingTokens: 3000 },
      { scope: 'api-key', usedTokens: 2000, remainingTokens: 0 },
    ]);
    // The same user through a session (no key) still has the user quota's room.
    expect(await service.reserve({ ...subject, apiKeyId: null }, { promptTokens: 10, maxCompletionTokens: 10 })).toMatchObject({
      completionTokenCap: 10,
    });
  });

  it('throws a 429 naming the quota, its limit and its reset when the prompt does not fit', async () => {
    const subject = newSubject();
    // Fixed times lie in the future: Redis expires counters by its own clock.
    const now = new Date('2099-11-05T18:00:00.000Z');
    const service = new QuotaService(
      new ListedRules([{ scope: 'user', subjectId: subject.userId, period: 'day', limitTokens: 1000 }]),
      create(),
      () => now,
    );
    await service.reserve(subject, { promptTokens: 800, maxCompletionTokens: 0 });
    const error = await service.reserve(subject, { promptTokens: 200, maxCompletionTokens: 50 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QuotaExceededException);
    const exceeded = error as QuotaExceededException;
    expect(exceeded.status).toBe(429);
    expect(exceeded.code).toBe('QUOTA_EXCEEDED');
    expect(exceeded.details).toEqual({
      scope: 'user',
      period: 'day',
      limitTokens: 1000,
      usedTokens: 800,
      resetAt: '2099-11-06T00:00:00.000Z',
      retryAfterSeconds: 6 * 3600,
    });
    expect(exceeded.message).toMatch(/daily token quota of this user \(1000 tokens\).*800 used.*2099-11-06T00:00:00.000Z/);
    // 199 prompt tokens leave one token to generate.
    expect(await service.reserve(subject, { promptTokens: 199, maxCompletionTokens: 50 })).toMatchObject({ completionTokenCap: 1 });
  });

  it('starts over in a new UTC day, while the month quota keeps counting until the month ends', async () => {
    const subject = newSubject();
    let now = new Date('2099-12-01T23:59:59.000Z');
    const service = new QuotaService(
      new ListedRules([
        { scope: 'workspace', subjectId: subject.workspaceId, period: 'day', limitTokens: 1000 },
        { scope: 'user', subjectId: subject.userId, period: 'month', limitTokens: 2500 },
      ]),
      create(),
      () => now,
    );
    // No max: the call holds all 1000 left today.
    expect(await service.reserve(subject, { promptTokens: 900 })).toMatchObject({ reservedTokens: 1000 });
    await expect(service.reserve(subject, { promptTokens: 1 })).rejects.toMatchObject({ details: { scope: 'workspace', period: 'day' } });

    now = new Date('2099-12-02T00:00:00.000Z');
    expect(await service.reserve(subject, { promptTokens: 100, maxCompletionTokens: 100 })).toMatchObject({ reservedTokens: 200 });
    now = new Date('2099-12-02T12:00:00.000Z');
    await service.reserve(subject, { promptTokens: 700, maxCompletionTokens: 0 });

    now = new Date('2099-12-03T00:00:01.000Z');
    // The day reset, the month did not: 1900 of 2500 used.
    const error = await service.reserve(subject, { promptTokens: 600 }).catch((caught: unknown) => caught);
    expect((error as QuotaExceededException).details).toMatchObject({
      scope: 'user',
      period: 'month',
      usedTokens: 1900,
      resetAt: '2100-01-01T00:00:00.000Z',
    });

    now = new Date('2100-01-01T00:00:00.000Z');
    expect(await service.reserve(subject, { promptTokens: 600, maxCompletionTokens: 0 })).toMatchObject({ reservedTokens: 600 });
  });

  it('settles: refunds the unused part, charges the excess, once', async () => {
    const subject = newSubject();
    const service = new QuotaService(
      new ListedRules([{ scope: 'workspace', subjectId: subject.workspaceId, period: 'day', limitTokens: 10_000 }]),
      create(),
    );
    const used = async () => (await service.status(subject))[0].usedTokens;

    const first = await service.reserve(subject, { promptTokens: 100, maxCompletionTokens: 900 });
    expect(await used()).toBe(1000);
    await service.settle(first, 250);
    expect(await used()).toBe(250);
    await service.settle(first, 0);
    expect(await used()).toBe(250);

    // The backend reported more than the estimate: the difference is charged, past the limit if need be.
    const second = await service.reserve(subject, { promptTokens: 100, maxCompletionTokens: 100 });
    await service.settle(second, 12_000);
    expect(await used()).toBe(12_250);
    await expect(service.reserve(subject, { promptTokens: 0 })).rejects.toBeInstanceOf(QuotaExceededException);

    // A reservation that travelled as JSON (another process, a queue) settles all the same.
    const third = new QuotaService(
      new ListedRules([{ scope: 'user', subjectId: subject.userId, period: 'day', limitTokens: 500 }]),
      service['store'],
    );
    const held = await third.reserve(subject, { promptTokens: 50, maxCompletionTokens: 450 });
    await third.settle(JSON.parse(JSON.stringify(held)) as typeof held, 60);
    expect((await third.status(subject)).find((status) => status.scope === 'user')?.usedTokens).toBe(60);
  });

  it('never lets 50 concurrent calls hold more than the limit, and settles back to what they used', async () => {
    const subject = newSubject(true);
    const service = new QuotaService(
      new ListedRules([
        { scope: 'api-key', subjectId: subject.apiKeyId!, period: 'day', limitTokens: 20_000 },
        { scope: 'workspace', subjectId: subject.workspaceId, period: 'month', limitTokens: 1_000_000 },
      ]),
      create(),
    );
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, async () => {
        const reservation = await service.reserve(subject, { promptTokens: 300, maxCompletionTokens: 700 });
        return reservation;
      }),
    );
    const granted = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
    const refused = results.filter((result) => result.status === 'rejected');
    expect(granted.reduce((sum, reservation) => sum + reservation.reservedTokens, 0)).toBe(20_000);
    expect(granted).toHaveLength(20);
    expect(refused.every((result) => result.reason instanceof QuotaExceededException)).toBe(true);

    await Promise.all(granted.map((reservation) => service.settle(reservation, 400)));
    expect((await service.status(subject)).map((status) => status.usedTokens)).toEqual([8000, 8000]);
  });

  it('answers 503 when the counters cannot be reached, and settling then does not throw', async () => {
    const subject = newSubject();
    const rules = new ListedRules([{ scope: 'user', subjectId: subject.userId, period: 'day', limitTokens: 1000 }]);
    const down = new QuotaService(rules, new FailingStore());
    const error = await down.reserve(subject, { promptTokens: 1 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageException);
    expect(error).toMatchObject({ code: 'QUOTA_UNAVAILABLE', status: 503 });
    await expect(down.status(subject)).rejects.toMatchObject({ code: 'QUOTA_UNAVAILABLE' });

    const held = await new QuotaService(rules, create()).reserve(subject, { promptTokens: 1, maxCompletionTokens: 1 });
    await expect(down.settle(held, 0)).resolves.toBeUndefined();
  });

  it('refuses nonsense estimates', async () => {
    const service = new QuotaService(new ListedRules(), create());
    await expect(service.reserve(newSubject(), { promptTokens: -1 })).rejects.toThrow(RangeError);
    await expect(service.reserve(newSubject(), { promptTokens: 1, maxCompletionTokens: 0.5 })).rejects.toThrow(RangeError);
  });
});

describe('QuotaService on two replicas sharing one Redis', () => {
  it('lets nobody overspend while both reserve and settle at once', async () => {
    const prefix = `${redisPrefix}replicas:`;
    const connections = [new Redis(REDIS_URL), new Redis(REDIS_URL)];
    try {
      const subject = newSubject(true);
      const rules: QuotaRule[] = [
        { scope: 'user', subjectId: subject.userId, period: 'day', limitTokens: 30_000 },
        { scope: 'workspace', subjectId: subject.workspaceId, period: 'month', limitTokens: 25_000 },
      ];
      // Each replica has its own rule cache and its own connection; only Redis is shared.
      const replicas = connections.map(
        (connection) => new QuotaService(new ListedRules(rules), new RedisQuotaCounterStore(connection, prefix)),
      );
      let peak = 0;
      let spent = 0;
      const call = async (index: number) => {
        const service = replicas[index % 2];
        const reservation = await service.reserve(subject, { promptTokens: 200 + (index % 5) * 50, maxCompletionTokens: 800 });
        const [workspace] = await replicas[0].status({ ...subject, userId: randomUUID(), apiKeyId: null });
        peak = Math.max(peak, workspace.usedTokens);
        const actual = reservation.reservedTokens - (index % 3) * 100;
        spent += actual;
        await service.settle(reservation, actual);
      };
      const results = await Promise.allSettled(Array.from({ length: 120 }, (_, index) => call(index)));
      const rejected = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
      expect(rejected.every((result) => result.reason instanceof QuotaExceededException)).toBe(true);
      expect(rejected.length).toBeGreaterThan(0);
      expect(peak).toBeLessThanOrEqual(25_000);
      const [user, workspace] = await replicas[1].status(subject);
      expect(workspace.usedTokens).toBe(spent);
      expect(user.usedTokens).toBe(spent);
      expect(spent).toBeLessThanOrEqual(25_000);
    } finally {
      await Promise.all(connections.map((connection) => connection.quit()));
    }
  });
});
