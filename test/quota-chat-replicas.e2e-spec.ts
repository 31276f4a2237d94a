import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NodePool } from 'src/modules/model-router/node-pool';
import { UsageService } from 'src/modules/model-router/usage/usage.service';
import { ApiClient } from 'test/support/http';
import { OllamaTestServer } from 'test/support/ollama-test-server';
import { deleteRedisKeysAt } from 'test/support/redis';
import { createScratchDatabase, REDIS_URL, startTestApp, TestApp } from 'test/support/test-app';

const MODEL = 'llama3.2:3b';
const DAILY_LIMIT = 300;
/** Five words echoed back: 5 prompt + 5 completion tokens as the stand-in counts them. */
const PROMPT = 'alpha beta gamma delta epsilon';
const TOKENS_PER_CALL = 10;

/**
 * Chat through `/v1` on two app instances sharing one PostgreSQL and one Redis, as two
 * replicas behind a load balancer: a user's daily token quota holds exactly however the
 * calls are spread across them.
 */
describe('token quotas on the chat API across two replicas', () => {
  let node: OllamaTestServer;
  let database: Awaited<ReturnType<typeof createScratchDatabase>>;
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  let replicas: TestApp[] = [];
  let apiKey: string;
  let userId: string;

  beforeAll(async () => {
    node = await new OllamaTestServer({ models: [MODEL], loaded: [MODEL] }).start();
    node.faults.interChunkDelayMs = 2;
    database = await createScratchDatabase();
    const env = {
      DATABASE_URL: database.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      OLLAMA_URLS: node.url,
      OLLAMA_NODE_MODEL_CONCURRENCY: '64',
      ROUTER_CACHE_TTL_SECONDS: '0',
    };
    // One after the other: the first runs the migrations.
    replicas.push(await startTestApp({ env }));
    replicas.push(await startTestApp({ env }));
    const api = new ApiClient(replicas[0].baseUrl);
    const admin = await api.register('quota@example.com');
    userId = admin.user.id;
    apiKey = (await api.post('/api/v1/api-keys', { name: 'spender' }, { token: admin.accessToken })).body.key;
    const set = await api.put(`/api/v1/admin/quotas/user/${userId}/day`, { limitTokens: DAILY_LIMIT }, { token: admin.accessToken });
    expect(set.status).toBe(200);
    for (const replica of replicas) {
      const pool = replica.app.get(NodePool);
      await vi.waitFor(() => expect(pool.nodes.every((n) => n.healthy && n.models?.has(MODEL))).toBe(true), { timeout: 5_000 });
    }
  });

  afterAll(async () => {
    for (const replica of replicas) await replica.close();
    replicas = [];
    await node?.stop();
    await database?.drop();
    await deleteRedisKeysAt(REDIS_URL, prefix);
  });

  it('never lets concurrent calls on both replicas spend past the limit, and refuses the rest with 429', async () => {
    const calls = Array.from({ length: 80 }, (_, index) =>
      fetch(`${replicas[index % 2].baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
        body: JSON.stringify({ model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: PROMPT }] }),
      }).then(async (response) => ({
        status: response.status,
        retryAfter: response.headers.get('retry-after'),
        body: (await response.json()) as Record<string, any>,
      })),
    );
    const results = await Promise.all(calls);
    const served = results.filter((result) => result.status === 200);
    const refused = results.filter((result) => result.status === 429);
    expect(served.length + refused.length).toBe(80);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0].body.error).toMatchObject({ type: 'insufficient_quota', code: 'quota_exceeded' });
    expect(Number(refused[0].retryAfter)).toBeGreaterThan(0);
    expect(refused[0].body.error.message).toMatch(/daily token quota of this user \(300 tokens\).*resets at \d{4}-/);

    const spent = served.reduce((sum, result) => sum + (result.body.usage.total_tokens as number), 0);
    // The last calls that fit were capped (max tokens lowered to what was left), not refused.
    expect(served.every((result) => result.body.usage.total_tokens <= TOKENS_PER_CALL)).toBe(true);
    // Never past the limit. How close a burst gets depends on timing: calls refused while
    // others still held their (larger) reservations would have fitted after the refunds. The
    // sequential test below checks the budget is used to the last call that fits.
    expect(spent).toBeLessThanOrEqual(DAILY_LIMIT);
    expect(served.length).toBeGreaterThan(0);

    // What the counters hold is exactly what was spent, seen alike from either replica (a
    // settlement may land a moment after its response: the answer is not held up for it).
    for (const replica of replicas) {
      const dailyUsed = async () => {
        const status = await new ApiClient(replica.baseUrl).get('/api/v1/usage/quota', { apiKey });
        return (status.body as { scope: string; period: string; usedTokens: number }[]).find(
          (quota) => quota.scope === 'user' && quota.period === 'day',
        )?.usedTokens;
      };
      await expect.poll(dailyUsed, { timeout: 5_000 }).toBe(spent);
    }

    // And the usage rows of both replicas agree with the counters.
    await Promise.all(replicas.map((replica) => replica.app.get(UsageService).flush()));
    const [{ total }]: { total: number }[] = await replicas[0].app
      .get(DataSource)
      .query(`SELECT coalesce(sum(prompt_tokens + completion_tokens), 0)::int AS total FROM usage_records WHERE user_id = $1`, [userId]);
    expect(total).toBe(spent);
  });

  it('serves calls on alternating replicas until what is left cannot hold one, then refuses on both', async () => {
    const call = (replica: TestApp) =>
      new ApiClient(replica.baseUrl).post(
        '/v1/chat/completions',
        { model: MODEL, max_tokens: 5, messages: [{ role: 'user', content: PROMPT }] },
        { apiKey },
      );
    let served = 0;
    while ((await call(replicas[served % 2])).status === 200) served += 1;
    expect(served).toBeLessThan(DAILY_LIMIT / TOKENS_PER_CALL);
    expect((await call(replicas[0])).status).toBe(429);
    expect((await call(replicas[1])).status).toBe(429);
    const quota = await new ApiClient(replicas[1].baseUrl).get('/api/v1/usage/quota', { apiKey });
    const daily = (quota.body as { period: string; usedTokens: number }[]).find((q) => q.period === 'day');
    // Refused only once the remainder is below the prompt's estimate (12 tokens here).
    expect(daily!.usedTokens).toBeLessThanOrEqual(DAILY_LIMIT);
    expect(daily!.usedTokens).toBeGreaterThanOrEqual(DAILY_LIMIT - 12);
  });
});
