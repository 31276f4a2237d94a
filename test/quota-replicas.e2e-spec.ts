import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuotaService } from 'src/modules/model-router/usage/quota.service';
import type { UsageSubject } from 'src/modules/model-router/usage/usage.contract';
import { QuotaExceededException } from 'src/modules/model-router/usage/usage.exception';
import { ApiClient } from 'test/support/http';
import { race, Replicas, startReplicas } from 'test/support/replicas';

/**
 * Two app instances on one PostgreSQL and this machine's Redis, as two replicas behind a
 * load balancer: quota changes made through one apply on the other at once, and calls
 * racing through both never hold more than the limit together.
 */
describe('token quotas across two replicas', () => {
  let replicas: Replicas;
  let apiA: ApiClient;
  let apiB: ApiClient;
  let admin: Awaited<ReturnType<ApiClient['register']>>;
  let user: Awaited<ReturnType<ApiClient['register']>>;
  let subject: UsageSubject;
  const quotasOf = (index: number) => replicas.apps[index].app.get(QuotaService);

  beforeAll(async () => {
    replicas = await startReplicas(2);
    apiA = new ApiClient(replicas.apps[0].baseUrl);
    apiB = new ApiClient(replicas.apps[1].baseUrl);
    admin = await apiA.register('admin@example.com');
    user = await apiA.register('user@example.com');
    subject = { workspaceId: user.workspaceId, userId: user.user.id, apiKeyId: null };
  });
  afterAll(async () => {
    await replicas?.close();
  });

  const setQuota = (api: ApiClient, limitTokens: number) =>
    api.put(`/api/v1/admin/quotas/user/${user.user.id}/day`, { limitTokens }, { token: admin.accessToken });

  it('a quota set on A limits the next call on B, although B had cached "no quota"', async () => {
    expect(await quotasOf(1).reserve(subject, { promptTokens: 10, maxCompletionTokens: 10 })).toMatchObject({ completionTokenCap: null });
    expect((await setQuota(apiA, 10_000)).status).toBe(200);
    const held = await quotasOf(1).reserve(subject, { promptTokens: 10, maxCompletionTokens: 10_000 });
    expect(held).toMatchObject({ reservedTokens: 10_000, completionTokenCap: 9_990 });
    const status = await apiA.get('/api/v1/usage/quota', { token: user.accessToken });
    expect(status.body[0]).toMatchObject({ usedTokens: 10_000, remainingTokens: 0 });
    // The call failed before generating anything: settling on A gives the whole hold back.
    await quotasOf(0).settle(held, 0);
    expect((await apiB.get('/api/v1/usage/quota', { token: user.accessToken })).body[0]).toMatchObject({ usedTokens: 0 });
  });

  it('calls racing through both replicas never hold more than the limit together', async () => {
    const outcome = await race(100, (index) => quotasOf(index % 2).reserve(subject, { promptTokens: 100, maxCompletionTokens: 400 }));
    expect(outcome.rejected.every((error) => error instanceof QuotaExceededException)).toBe(true);
    expect(outcome.fulfilled.reduce((sum, reservation) => sum + reservation.reservedTokens, 0)).toBeLessThanOrEqual(10_000);
    expect(outcome.fulfilled).toHaveLength(20);

    // Each settles on the other replica than the one that reserved it.
    await Promise.all(outcome.fulfilled.map((reservation, index) => quotasOf((index + 1) % 2).settle(reservation, 250)));
    const status = await apiA.get('/api/v1/usage/quota', { token: user.accessToken });
    expect(status.body[0]).toMatchObject({ limitTokens: 10_000, usedTokens: 5_000, remainingTokens: 5_000 });
    expect((await apiB.get('/api/v1/usage/quota', { token: user.accessToken })).body).toEqual(status.body);
  });

  it('a limit lowered on B stops calls on A at once; a quota deleted on A lifts it on B', async () => {
    expect((await setQuota(apiB, 4_000)).status).toBe(200);
    const error = await quotasOf(0)
      .reserve(subject, { promptTokens: 1 })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QuotaExceededException);
    expect((error as QuotaExceededException).details).toMatchObject({
      scope: 'user',
      period: 'day',
      limitTokens: 4_000,
      usedTokens: 5_000,
    });

    await apiA.delete(`/api/v1/admin/quotas/user/${user.user.id}/day`, { token: admin.accessToken });
    expect(await quotasOf(1).reserve(subject, { promptTokens: 100_000 })).toMatchObject({ completionTokenCap: null });
  });
});
