import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'test/support/http';
import { createScratchDatabase, startTestApp, TestApp } from 'test/support/test-app';

/**
 * Authenticated requests are served from a per-replica cache of resolved callers. Two
 * replicas on one PostgreSQL and one Redis: a change made through one must take effect on
 * the other's very next request, even though the other had the caller cached.
 */
describe('access changes reach every replica at once', () => {
  let database: Awaited<ReturnType<typeof createScratchDatabase>>;
  let a: TestApp;
  let b: TestApp;
  let apiA: ApiClient;
  let apiB: ApiClient;
  let admin: Awaited<ReturnType<ApiClient['register']>>;

  beforeAll(async () => {
    database = await createScratchDatabase();
    const env = {
      DATABASE_URL: database.url,
      JWT_SECRET: randomBytes(32).toString('base64url'),
      REDIS_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:`,
    };
    a = await startTestApp({ redis: true, env });
    b = await startTestApp({ redis: true, env });
    apiA = new ApiClient(a.baseUrl);
    apiB = new ApiClient(b.baseUrl);
    admin = await apiA.register('admin@example.com');
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await database?.drop();
  });

  it('suspension on A ends a session and an API key cached on B', async () => {
    const user = await apiA.register('user@example.com');
    const key = (await apiA.post('/api/v1/api-keys', { name: 'k' }, { token: user.accessToken })).body.key;
    // Warm B's cache.
    expect((await apiB.get('/api/v1/auth/me', { token: user.accessToken })).status).toBe(200);
    expect((await apiB.get('/api/v1/auth/me', { apiKey: key })).status).toBe(200);

    await apiA.post(`/api/v1/admin/users/${user.user.id}/suspend`, undefined, { token: admin.accessToken });
    expect((await apiB.get('/api/v1/auth/me', { token: user.accessToken })).status).toBe(401);
    expect((await apiB.get('/api/v1/auth/me', { apiKey: key })).status).toBe(403);
  });

  it('logout on A ends the session on B; key revocation on A stops the key on B', async () => {
    const user = await apiA.register('other@example.com');
    const key = (await apiA.post('/api/v1/api-keys', { name: 'k' }, { token: user.accessToken })).body;
    expect((await apiB.get('/api/v1/auth/me', { apiKey: key.key })).status).toBe(200);
    await apiA.delete(`/api/v1/api-keys/${key.id}`, { token: user.accessToken });
    expect((await apiB.get('/api/v1/auth/me', { apiKey: key.key })).status).toBe(401);

    expect((await apiB.get('/api/v1/auth/me', { token: user.accessToken })).status).toBe(200);
    await apiA.post('/api/v1/auth/logout', undefined, { token: user.accessToken });
    expect((await apiB.get('/api/v1/auth/me', { token: user.accessToken })).status).toBe(401);
  });

  it('a membership removed on A is gone on B', async () => {
    const member = await apiA.register('member@example.com');
    const team = (await apiA.post('/api/v1/workspaces', { name: 'Team' }, { token: admin.accessToken })).body.id;
    await apiA.post(`/api/v1/workspaces/${team}/members`, { email: 'member@example.com', role: 'admin' }, { token: admin.accessToken });
    expect((await apiB.get(`/api/v1/workspaces/${team}/members`, { token: member.accessToken })).status).toBe(200);
    await apiA.put(`/api/v1/workspaces/${team}/members/${member.user.id}/role`, { role: 'viewer' }, { token: admin.accessToken });
    expect(
      (await apiB.post(`/api/v1/workspaces/${team}/members`, { email: 'user@example.com', role: 'viewer' }, { token: member.accessToken }))
        .status,
    ).toBe(403);
    await apiA.delete(`/api/v1/workspaces/${team}/members/${member.user.id}`, { token: admin.accessToken });
    expect((await apiB.get(`/api/v1/workspaces/${team}`, { token: member.accessToken })).status).toBe(404);
  });
});
