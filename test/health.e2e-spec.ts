import { connect, createServer, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'test/support/http';
import { REDIS_URL, startTestApp, TestApp } from 'test/support/test-app';

/**
 * A TCP relay to the real Redis that can be cut and restored: the app boots against a working
 * Redis (some modules rightly refuse to start without it), then the port closes under it, as
 * when Redis dies in production, and opens again.
 */
async function startRedisRelay(): Promise<{ url: string; cut(): Promise<void>; restore(): Promise<void> }> {
  const upstream = new URL(REDIS_URL);
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const redis = connect(Number(upstream.port || 6379), upstream.hostname);
    for (const socket of [client, redis]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy());
    }
    client.pipe(redis).pipe(client);
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  await listen(0);
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `redis://127.0.0.1:${port}`,
    async cut() {
      if (!server.listening) return;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    restore: () => (server.listening ? Promise.resolve() : listen(port)),
  };
}

/** Polls the readiness probe until it answers `status` (checks are cached for a second). */
async function readyUntil(api: ApiClient, status: number, timeoutMs = 8_000) {
  const started = Date.now();
  let ready = await api.get('/health/ready');
  while (ready.status !== status && Date.now() - started < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    ready = await api.get('/health/ready');
  }
  return ready;
}

describe('health (embedded database, no Redis)', () => {
  let testApp: TestApp;
  let api: ApiClient;

  beforeAll(async () => {
    testApp = await startTestApp();
    api = new ApiClient(testApp.baseUrl);
  });
  afterAll(() => testApp?.close());

  it('answers liveness without credentials, outside the API prefix', async () => {
    const live = await api.get('/health/live');
    expect(live.status).toBe(200);
    expect(live.body).toMatchObject({ status: 'ok', info: { process: { status: 'up', uptimeSeconds: expect.any(Number) } }, error: {} });
    expect((await api.get('/api/v1/health/live')).status).toBe(404);
  });

  it('is ready when the database answers, and does not check a Redis that is not configured', async () => {
    const ready = await api.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' } }, error: {} });
    expect(ready.body.details).not.toHaveProperty('redis');
  });

  it('ignores credentials it does not need, even forged ones', async () => {
    const forged = await api.get('/health/ready', {
      token: 'not-a-token',
      apiKey: 'gai_forgedforged_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx',
    });
    expect(forged.status).toBe(200);
  });
});

describe('health (PostgreSQL and Redis)', () => {
  let testApp: TestApp;

  beforeAll(async () => {
    testApp = await startTestApp({ database: 'postgres', redis: true });
  });
  afterAll(() => testApp?.close());

  it('is ready when both answer', async () => {
    const ready = await new ApiClient(testApp.baseUrl).get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ status: 'ok', info: { database: { status: 'up' }, redis: { status: 'up' } } });
  });
});

describe('health (Redis configured, then unreachable)', () => {
  let testApp: TestApp;
  let relay: Awaited<ReturnType<typeof startRedisRelay>>;

  beforeAll(async () => {
    relay = await startRedisRelay();
    testApp = await startTestApp({ redis: true, env: { REDIS_URL: relay.url, GREMLINS_TRANSPORT: 'in-process' } });
  });
  afterAll(async () => {
    // Redis back first: the app's Redis clients close cleanly only when they can reach it.
    await relay?.restore();
    await testApp?.close();
    await relay?.cut();
  });

  it('turns not ready (503) naming Redis when its port closes, stays live, and recovers', async () => {
    const api = new ApiClient(testApp.baseUrl);
    const before = await api.get('/health/ready');
    expect(before.status).toBe(200);
    expect(before.body.info.redis).toMatchObject({ status: 'up', responseTime: expect.any(Number) });

    await relay.cut();
    const ready = await readyUntil(api, 503);
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({
      status: 'error',
      info: { database: { status: 'up' } },
      error: { redis: { status: 'down' } },
      details: { database: { status: 'up' }, redis: { status: 'down' } },
    });
    // Anyone can call the probe: it names the dependency, not its address or the driver's error.
    expect(JSON.stringify(ready.body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|message/);
    expect((await api.get('/health/live')).status).toBe(200);

    await relay.restore();
    expect((await readyUntil(api, 200, 15_000)).status).toBe(200);
  });
});
