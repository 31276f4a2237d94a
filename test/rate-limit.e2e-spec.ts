import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient, ApiResponse } from 'test/support/http';
import { deleteRedisKeys } from 'test/support/redis';
import { REDIS_URL, startTestApp, TestApp } from 'test/support/test-app';

const HOUR_SECONDS = 3600;

function expectRateLimited(response: ApiResponse, limit: number): void {
  expect(response.status).toBe(429);
  expect(response.body).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED', details: { limit } });
  const retryAfter = Number(response.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThan(0);
  expect(retryAfter).toBeLessThanOrEqual(HOUR_SECONDS);
  expect(response.body.details.retryAfterSeconds).toBe(retryAfter);
}

function remaining(response: ApiResponse): number {
  return Number(response.headers.get('x-ratelimit-remaining'));
}

describe('rate limits: anonymous callers, by IP', () => {
  let testApp: TestApp;
  let api: ApiClient;
  // Behind a trusted proxy each test plays its own client address, so budgets do not mix.
  const from = (ip: string) => ({ headers: { 'x-forwarded-for': ip } });

  beforeAll(async () => {
    testApp = await startTestApp({ env: { RATE_LIMIT_ANONYMOUS_PER_HOUR: '3', TRUST_PROXY: 'true' } });
    api = new ApiClient(testApp.baseUrl);
  });
  afterAll(() => testApp?.close());

  it('allows the hourly budget, then answers 429 with Retry-After and the error shape', async () => {
    const client = from('198.51.100.1');
    for (const left of [2, 1, 0]) {
      const response = await api.post('/api/v1/auth/login', {}, client);
      expect(response.status).toBe(400);
      expect(response.headers.get('x-ratelimit-limit')).toBe('3');
      expect(remaining(response)).toBe(left);
    }
    expectRateLimited(await api.post('/api/v1/auth/login', {}, client), 3);
    // The budget covers the whole API, not one route.
    expectRateLimited(await api.post('/api/v1/auth/register', {}, client), 3);
  });

  it('keeps other addresses on their own budget, grouping an IPv6 /64 as one client', async () => {
    for (let i = 0; i < 3; i++) expect((await api.post('/api/v1/auth/login', {}, from('2001:db8:1:2::1'))).status).toBe(400);
    // Rotating addresses inside the same /64 does not buy a fresh budget.
    expectRateLimited(await api.post('/api/v1/auth/login', {}, from('2001:db8:1:2::ffff')), 3);
    expect((await api.post('/api/v1/auth/login', {}, from('2001:db8:1:3::1'))).status).toBe(400);
    expect((await api.post('/api/v1/auth/login', {}, from('198.51.100.2'))).status).toBe(400);
  });

  it('counts rejected credentials, so guessing tokens or keys is limited too', async () => {
    const client = { headers: { ...from('198.51.100.3').headers, authorization: 'Bearer not-a-real-token' } };
    for (let i = 0; i < 3; i++) expect((await api.get('/api/v1/auth/me', client)).status).toBe(401);
    expectRateLimited(await api.get('/api/v1/auth/me', client), 3);
    expectRateLimited(await api.get('/api/v1/auth/me', { headers: { ...client.headers, authorization: 'Bearer gk_invalid' } }), 3);
  });

  it('never limits health probes', async () => {
    const client = from('198.51.100.4');
    for (let i = 0; i < 3; i++) await api.post('/api/v1/auth/login', {}, client);
    expectRateLimited(await api.post('/api/v1/auth/login', {}, client), 3);
    for (let i = 0; i < 5; i++) {
      const live = await api.get('/health/live', client);
      expect(live.status).toBe(200);
      expect(live.headers.get('x-ratelimit-limit')).toBeNull();
    }
  });
});

describe('rate limits: without TRUST_PROXY', () => {
  let testApp: TestApp;
  let api: ApiClient;

  beforeAll(async () => {
    testApp = await startTestApp({ env: { RATE_LIMIT_ANONYMOUS_PER_HOUR: '2' } });
    api = new ApiClient(testApp.baseUrl);
  });
  afterAll(() => testApp?.close());

  it('ignores a forged X-Forwarded-For: the socket address is the client', async () => {
    await api.post('/api/v1/auth/login', {});
    await api.post('/api/v1/auth/login', {});
    expectRateLimited(await api.post('/api/v1/auth/login', {}), 2);
    expectRateLimited(await api.post('/api/v1/auth/login', {}, { headers: { 'x-forwarded-for': '203.0.113.77' } }), 2);
  });
});

describe('rate limits: authenticated callers', () => {
  const LIMIT = 4;
  let testApp: TestApp;
  let api: ApiClient;
  let admin: Awaited<ReturnType<ApiClient['register']>>;

  beforeAll(async () => {
    testApp = await startTestApp({ env: { RATE_LIMIT_AUTHENTICATED_PER_HOUR: String(LIMIT) } });
    api = new ApiClient(testApp.baseUrl);
    admin = await api.register('admin@example.com'); // first user: instance admin; 1 request spent
  });
  afterAll(() => testApp?.close());

  it('gives each user a budget of their own', async () => {
    const alice = await api.register('alice@example.com'); // register() reads /auth/me: 1 spent
    const bob = await api.register('bob@example.com');
    for (const left of [2, 1, 0]) {
      const me = await api.get('/api/v1/auth/me', { token: alice.accessToken });
      expect(me.status).toBe(200);
      expect(me.headers.get('x-ratelimit-limit')).toBe(String(LIMIT));
      expect(remaining(me)).toBe(left);
    }
    expectRateLimited(await api.get('/api/v1/auth/me', { token: alice.accessToken }), LIMIT);
    // Same IP, different user: unaffected.
    const bobsMe = await api.get('/api/v1/auth/me', { token: bob.accessToken });
    expect(bobsMe.status).toBe(200);
    expect(remaining(bobsMe)).toBe(2);
    // A second session of the same user shares the user's budget.
    const relogin = await api.post('/api/v1/auth/login', { email: 'alice@example.com', password: alice.password });
    expect(relogin.status).toBe(200);
    expectRateLimited(await api.get('/api/v1/auth/me', { token: relogin.body.accessToken }), LIMIT);
  });

  it('gives each API key a budget apart from its owner sessions', async () => {
    const carol = await api.register('carol@example.com'); // 1 spent
    const created = await api.post('/api/v1/api-keys', { name: 'ci' }, { token: carol.accessToken }); // 2 spent
    expect(created.status).toBe(201);
    const other = await api.post('/api/v1/api-keys', { name: 'other' }, { token: carol.accessToken }); // 3 spent
    await api.get('/api/v1/auth/me', { token: carol.accessToken }); // 4 spent
    expectRateLimited(await api.get('/api/v1/auth/me', { token: carol.accessToken }), LIMIT);

    for (const left of [3, 2, 1, 0]) {
      const me = await api.get('/api/v1/auth/me', { apiKey: created.body.key });
      expect(me.status).toBe(200);
      expect(remaining(me)).toBe(left);
    }
    expectRateLimited(await api.get('/api/v1/auth/me', { apiKey: created.body.key }), LIMIT);
    // The same key as a bearer token is the same key, not a new budget.
    expectRateLimited(await api.get('/api/v1/auth/me', { token: created.body.key }), LIMIT);
    // Another key of the same user has its own.
    expect((await api.get('/api/v1/auth/me', { apiKey: other.body.key })).status).toBe(200);
  });

  it('never limits the unlimited tier, and applies a tier change at once', async () => {
    const dave = await api.register('dave@example.com'); // 1 spent
    const key = await api.post('/api/v1/api-keys', { name: 'batch' }, { token: dave.accessToken }); // 2 spent
    const promote = await api.patch(`/api/v1/admin/users/${dave.user.id}`, { rateLimitTier: 'unlimited' }, { token: admin.accessToken });
    expect(promote.status).toBe(200);
    expect(promote.body.rateLimitTier).toBe('unlimited');

    for (let i = 0; i < LIMIT * 3; i++) {
      const me = await api.get('/api/v1/auth/me', { token: dave.accessToken });
      expect(me.status).toBe(200);
      expect(me.headers.get('x-ratelimit-limit')).toBeNull();
      expect((await api.get('/api/v1/auth/me', { apiKey: key.body.key })).status).toBe(200);
    }

    // A key created while its owner was unlimited must not keep that tier after a demotion.
    const keyWhileUnlimited = await api.post('/api/v1/api-keys', { name: 'made while unlimited' }, { token: dave.accessToken });
    expect(keyWhileUnlimited.status).toBe(201);

    const demote = await api.patch(`/api/v1/admin/users/${dave.user.id}`, { rateLimitTier: 'standard' }, { token: admin.accessToken });
    expect(demote.status).toBe(200);
    const viaNewKey = await api.get('/api/v1/auth/me', { apiKey: keyWhileUnlimited.body.key });
    expect(viaNewKey.headers.get('x-ratelimit-limit')).toBe(String(LIMIT));
    // Unlimited requests were not counted: dave resumes where he was (2 of 4 spent).
    expect(remaining(await api.get('/api/v1/auth/me', { token: dave.accessToken }))).toBe(1);
    expect(remaining(await api.get('/api/v1/auth/me', { token: dave.accessToken }))).toBe(0);
    expectRateLimited(await api.get('/api/v1/auth/me', { token: dave.accessToken }), LIMIT);
  });

  it('meters GraphQL from the same budget, one unit per HTTP request', async () => {
    const frank = await api.register('frank@example.com'); // 1 spent
    const query = (token: string) => api.post('/graphql', { query: '{ me { workspaceId } workspaces { id } }' }, { token });
    const first = await query(frank.accessToken);
    expect(first.status).toBe(200);
    expect(first.body.errors).toBeUndefined();
    expect(first.body.data.me.workspaceId).toBe(frank.workspaceId);
    expect(remaining(first)).toBe(2); // two root fields, one unit
    expect(remaining(await api.get('/api/v1/auth/me', { token: frank.accessToken }))).toBe(1);
    expect((await query(frank.accessToken)).body.errors).toBeUndefined();

    const limited = await query(frank.accessToken);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.body.errors.length).toBeGreaterThan(0);
    for (const error of limited.body.errors) {
      expect(error.extensions).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED', details: { limit: LIMIT } });
    }
    expectRateLimited(await api.get('/api/v1/auth/me', { token: frank.accessToken }), LIMIT);
  });

  it('does not let a user raise their own tier', async () => {
    const eve = await api.register('eve@example.com');
    const attempt = await api.patch(`/api/v1/admin/users/${eve.user.id}`, { rateLimitTier: 'unlimited' }, { token: eve.accessToken });
    expect(attempt.status).toBe(403);
    const me = await api.get('/api/v1/auth/me', { token: eve.accessToken });
    expect(me.headers.get('x-ratelimit-limit')).toBe(String(LIMIT));
  });
});

describe('rate limits: replicas sharing Redis', () => {
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  const redis = new Redis(REDIS_URL);
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    const env = { REDIS_KEY_PREFIX: prefix, RATE_LIMIT_ANONYMOUS_PER_HOUR: '3', GREMLINS_TRANSPORT: 'in-process' };
    [first, second] = await Promise.all([startTestApp({ redis: true, env }), startTestApp({ redis: true, env })]);
  });
  afterAll(async () => {
    await Promise.all([first?.close(), second?.close()]);
    await deleteRedisKeys(redis, prefix);
    await redis.quit();
  });

  it('spends one budget whichever replica answers', async () => {
    const a = new ApiClient(first.baseUrl);
    const b = new ApiClient(second.baseUrl);
    expect(remaining(await a.post('/api/v1/auth/login', {}))).toBe(2);
    expect(remaining(await b.post('/api/v1/auth/login', {}))).toBe(1);
    expect(remaining(await a.post('/api/v1/auth/login', {}))).toBe(0);
    expectRateLimited(await b.post('/api/v1/auth/login', {}), 3);
    expectRateLimited(await a.post('/api/v1/auth/login', {}), 3);

    // The counter lives under this deployment's prefix and expires with the window.
    const keys = await redis.keys(`${prefix}rl:*`);
    expect(keys.length).toBeGreaterThan(0);
    const ttl = await redis.pttl(keys[0]);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(HOUR_SECONDS * 1000);
  });
});
