import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'test/support/http';
import { remainingRows, seedMaintenanceRows } from 'test/support/maintenance-seed';
import { startTestApp, TestApp } from 'test/support/test-app';

describe('admin system endpoints, every role in one process (in-process transport)', () => {
  let testApp: TestApp;
  let api: ApiClient;
  let admin: Awaited<ReturnType<ApiClient['register']>>;
  let user: Awaited<ReturnType<ApiClient['register']>>;

  beforeAll(async () => {
    testApp = await startTestApp();
    api = new ApiClient(testApp.baseUrl);
    admin = await api.register('admin@example.com');
    user = await api.register('user@example.com');
  });
  afterAll(() => testApp?.close());

  it('reports roles, transport and version, and every role answers its ping locally', async () => {
    const response = await api.get('/api/v1/admin/system', { token: admin.accessToken });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ transport: 'in-process', queue: 'in-memory', version: expect.stringMatching(/^\d+\.\d+\.\d+/) });
    expect(response.body.process).toMatchObject({ pid: process.pid, roles: ['api', 'scheduler', 'router', 'rag', 'agents'] });
    expect(response.body.roles).toEqual([
      expect.objectContaining({ role: 'api', local: true, reachable: true, answeredBy: response.body.process }),
      expect.objectContaining({ role: 'scheduler', local: true, reachable: true, answeredBy: response.body.process }),
      expect.objectContaining({ role: 'router', local: true, reachable: true, answeredBy: response.body.process }),
      expect.objectContaining({ role: 'rag', local: true, reachable: true, answeredBy: response.body.process }),
      expect.objectContaining({ role: 'agents', local: true, reachable: true, answeredBy: response.body.process }),
    ]);
  });

  it('runs maintenance: deletes what is past retention, keeps the rest, returns the counts and audits the run', async () => {
    const db = testApp.app.get(DataSource);
    const query = (sql: string, params?: unknown[]) => db.query(sql, params);
    const seeded = await seedMaintenanceRows(query, user.user.id, user.workspaceId);

    const response = await api.post('/api/v1/admin/maintenance/run', undefined, { token: admin.accessToken });
    expect(response.status).toBe(200);
    expect(response.body.deleted).toEqual({ sessions: 2, apiKeys: 2, auditEvents: 1 });
    expect(response.body.ranBy.pid).toBe(process.pid);
    expect(await remainingRows(query, seeded.stale)).toEqual({ sessions: [], apiKeys: [], auditEvents: [] });
    expect(await remainingRows(query, seeded.fresh)).toEqual({
      sessions: [...seeded.fresh.sessions].sort(),
      apiKeys: [...seeded.fresh.apiKeys].sort(),
      auditEvents: [...seeded.fresh.auditEvents].sort(),
    });

    const again = await api.post('/api/v1/admin/maintenance/run', undefined, { token: admin.accessToken });
    expect(again.body.deleted).toEqual({ sessions: 0, apiKeys: 0, auditEvents: 0 });

    const audit = await api.get('/api/v1/admin/audit-events?action=system.maintenance.run', { token: admin.accessToken });
    expect(audit.body.items ?? audit.body).toEqual(
      expect.arrayContaining([expect.objectContaining({ action: 'system.maintenance.run', actorUserId: admin.user.id })]),
    );
  });

  it('refuses non-admins, anonymous callers and API keys (even an admin key)', async () => {
    for (const [method, path] of [
      ['GET', '/api/v1/admin/system'],
      ['POST', '/api/v1/admin/maintenance/run'],
    ] as const) {
      expect((await api.request(method, path, undefined, { token: user.accessToken })).status).toBe(403);
      expect((await api.request(method, path)).status).toBe(401);
      expect((await api.request(method, path, undefined, { token: 'forged.jwt.token' })).status).toBe(401);
    }
    const key = (await api.post('/api/v1/api-keys', { name: 'ops' }, { token: admin.accessToken })).body.key;
    const viaKey = await api.post('/api/v1/admin/maintenance/run', undefined, { apiKey: key });
    expect(viaKey.status).toBe(403);
    expect(viaKey.body.code).toBe('AUTH_API_KEY_NOT_ALLOWED');
  });

  it('takes no parameters: a body cannot shorten retention', async () => {
    const response = await api.post('/api/v1/admin/maintenance/run', { olderThanDays: 0 }, { token: admin.accessToken });
    // No DTO: Nest ignores the body; what matters is that it cannot change retention.
    expect(response.status).toBe(200);
    expect(response.body.cutoffs.credentials < new Date(Date.now() - 29 * 24 * 3600 * 1000).toISOString()).toBe(true);
  });
});

describe('admin system endpoints, api role alone without a transport', () => {
  let testApp: TestApp;
  let api: ApiClient;
  let admin: Awaited<ReturnType<ApiClient['register']>>;

  beforeAll(async () => {
    testApp = await startTestApp({ env: { GREMLINS_ROLES: 'api' } });
    api = new ApiClient(testApp.baseUrl);
    admin = await api.register('admin@example.com');
  });
  afterAll(() => testApp?.close());

  it('fails the maintenance run at once with ROLE_UNAVAILABLE', async () => {
    const started = Date.now();
    const response = await api.post('/api/v1/admin/maintenance/run', undefined, { token: admin.accessToken });
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({
      statusCode: 503,
      code: 'ROLE_UNAVAILABLE',
      details: { role: 'scheduler', pattern: 'scheduler.maintenance.run' },
    });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('shows the scheduler as unreachable', async () => {
    const response = await api.get('/api/v1/admin/system', { token: admin.accessToken });
    expect(response.body.process.roles).toEqual(['api']);
    expect(response.body.roles).toEqual([
      expect.objectContaining({ role: 'api', local: true, reachable: true }),
      { role: 'scheduler', local: false, reachable: false, error: 'ROLE_UNAVAILABLE' },
      { role: 'router', local: false, reachable: false, error: 'ROLE_UNAVAILABLE' },
      { role: 'rag', local: false, reachable: false, error: 'ROLE_UNAVAILABLE' },
      { role: 'agents', local: false, reachable: false, error: 'ROLE_UNAVAILABLE' },
    ]);
  });
});
