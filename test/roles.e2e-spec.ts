import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess, startAppProcess } from 'test/support/app-process';
import { ApiClient } from 'test/support/http';
import { remainingRows, seedMaintenanceRows, SeededRows } from 'test/support/maintenance-seed';
import { createScratchDatabase, NATS_URL, REDIS_URL } from 'test/support/test-app';

const CALL_TIMEOUT_MS = 3_000;
const NONE_LEFT = { sessions: [], apiKeys: [], auditEvents: [] };

async function waitFor(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Two real OS processes, one per role, sharing one PostgreSQL database and talking over a
 * real broker. The API process cannot run maintenance itself (it does not load the
 * module), so every count it returns was computed by the scheduler process.
 */
describe.each<{ transport: 'nats' | 'redis'; brokerEnv: Record<string, string> }>([
  { transport: 'nats', brokerEnv: { NATS_URL } },
  { transport: 'redis', brokerEnv: { REDIS_URL } },
])('roles split across processes over $transport', ({ transport, brokerEnv }) => {
  let database: Awaited<ReturnType<typeof createScratchDatabase>>;
  let db: Client;
  let apiProcess: AppProcess | undefined;
  let schedulerProcess: AppProcess | undefined;
  let api: ApiClient;
  let admin: Awaited<ReturnType<ApiClient['register']>>;
  let seededBeforeScheduler: SeededRows;
  const query = async (sql: string, params?: unknown[]) => (await db.query(sql, params)).rows;
  const namespace = `test-${randomBytes(6).toString('hex')}`;
  const redisKeyPrefix = `test:${namespace}:`;
  const jwtSecret = randomBytes(32).toString('base64url');

  const env = (roles: string) => ({
    ...brokerEnv,
    GREMLINS_ROLES: roles,
    GREMLINS_TRANSPORT: transport,
    // Parallel runs share the broker: a namespace and key prefix of their own keep them apart.
    TRANSPORT_NAMESPACE: namespace,
    REDIS_KEY_PREFIX: redisKeyPrefix,
    DATABASE_URL: database.url,
    JWT_SECRET: jwtSecret,
    ROLE_CALL_TIMEOUT_MS: String(CALL_TIMEOUT_MS),
  });

  beforeAll(async () => {
    database = await createScratchDatabase();
    db = new Client({ connectionString: database.url });
    await db.connect();
    // The API process first: it runs the migrations the scheduler then finds done.
    apiProcess = await startAppProcess(env('api'));
    api = new ApiClient(apiProcess.baseUrl);
    admin = await api.register('admin@example.com');
    // Stale rows already there when the scheduler boots: its repeatable job runs at once.
    seededBeforeScheduler = await seedMaintenanceRows(query, admin.user.id, admin.workspaceId);
    schedulerProcess = await startAppProcess(env('scheduler'));
  }, 180_000);

  afterAll(async () => {
    await schedulerProcess?.stop();
    await apiProcess?.stop();
    await db?.end();
    await database?.drop();
    if (transport === 'redis') {
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${redisKeyPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      await redis.quit();
    }
  }, 60_000);

  it('the scheduler process runs its repeatable maintenance job on its own at boot', async () => {
    await waitFor(
      async () => JSON.stringify(await remainingRows(query, seededBeforeScheduler.stale)) === JSON.stringify(NONE_LEFT),
      15_000,
      'the boot-time maintenance job',
    );
    expect((await remainingRows(query, seededBeforeScheduler.fresh)).sessions).toHaveLength(2);
  });

  it('the API process sees the scheduler answer pings from another process', async () => {
    const response = await api.get('/api/v1/admin/system', { token: admin.accessToken });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ transport, transportNamespace: namespace, process: { pid: apiProcess!.pid, roles: ['api'] } });
    const [apiRole, schedulerRole] = response.body.roles;
    expect(apiRole).toMatchObject({ role: 'api', local: true, reachable: true, answeredBy: { pid: apiProcess!.pid } });
    expect(schedulerRole).toMatchObject({
      role: 'scheduler',
      local: false,
      reachable: true,
      answeredBy: { pid: schedulerProcess!.pid, roles: ['scheduler'] },
    });
  });

  it('POST /admin/maintenance/run returns counts computed by the scheduler process', async () => {
    const seeded = await seedMaintenanceRows(query, admin.user.id, admin.workspaceId);
    const response = await api.post('/api/v1/admin/maintenance/run', undefined, { token: admin.accessToken });
    expect(response.status).toBe(200);
    expect(response.body.deleted).toEqual({ sessions: 2, apiKeys: 2, auditEvents: 1 });
    expect(response.body.ranBy).toMatchObject({ pid: schedulerProcess!.pid, roles: ['scheduler'] });
    expect(response.body.ranBy.pid).not.toBe(apiProcess!.pid);
    expect(await remainingRows(query, seeded.stale)).toEqual(NONE_LEFT);
    expect((await remainingRows(query, seeded.fresh)).apiKeys).toHaveLength(2);
  });

  it('a scheduler that is subscribed but frozen makes the call fail with ROLE_TIMEOUT after the timeout', async () => {
    schedulerProcess!.pause();
    try {
      const started = Date.now();
      const response = await api.post('/api/v1/admin/maintenance/run', undefined, { token: admin.accessToken });
      const elapsed = Date.now() - started;
      expect(response.status).toBe(504);
      expect(response.body).toMatchObject({ code: 'ROLE_TIMEOUT', details: { role: 'scheduler', timeoutMs: CALL_TIMEOUT_MS } });
      expect(elapsed).toBeGreaterThanOrEqual(CALL_TIMEOUT_MS - 100);
      expect(elapsed).toBeLessThan(CALL_TIMEOUT_MS + 2_000);
    } finally {
      schedulerProcess!.resume();
    }
  });

  it('with only the API process left, the call fails at once with ROLE_UNAVAILABLE', async () => {
    await schedulerProcess!.stop();
    schedulerProcess = undefined;
    const started = Date.now();
    const response = await api.post('/api/v1/admin/maintenance/run', undefined, { token: admin.accessToken });
    expect(response.status).toBe(503);
    expect(response.body).toMatchObject({ statusCode: 503, code: 'ROLE_UNAVAILABLE', details: { role: 'scheduler' } });
    expect(Date.now() - started).toBeLessThan(CALL_TIMEOUT_MS);

    const status = await api.get('/api/v1/admin/system', { token: admin.accessToken });
    expect(status.body.roles[1]).toEqual({ role: 'scheduler', local: false, reachable: false, error: 'ROLE_UNAVAILABLE' });
  });
});
