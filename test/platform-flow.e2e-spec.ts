import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'test/support/http';
import { DatabaseKind, startTestApp, TestApp } from 'test/support/test-app';

/**
 * The journey a new client takes, on both supported deployments: the embedded default and
 * this machine's real PostgreSQL + Redis.
 */
describe.each<{ label: string; database: DatabaseKind; redis: boolean }>([
  { label: 'embedded PGlite, in-process infrastructure', database: 'embedded', redis: false },
  { label: 'PostgreSQL and Redis', database: 'postgres', redis: true },
])('platform flow on $label', ({ database, redis }) => {
  let testApp: TestApp;
  let api: ApiClient;
  let accessToken: string;
  let apiKey: string;

  beforeAll(async () => {
    testApp = await startTestApp({ database, redis });
    api = new ApiClient(testApp.baseUrl);
  });
  afterAll(() => testApp?.close());

  it('registers the first user as admin', async () => {
    const registered = await api.post('/api/v1/auth/register', {
      email: 'founder@example.com',
      password: 'a sturdy passphrase',
      name: 'Founder',
    });
    expect(registered.status).toBe(201);
    expect(registered.body).toEqual({
      accessToken: expect.any(String),
      refreshToken: expect.stringMatching(/^rt_/),
      expiresIn: 900,
      tokenType: 'Bearer',
    });
  });

  it('logs in and reads its profile', async () => {
    const login = await api.post('/api/v1/auth/login', { email: 'founder@example.com', password: 'a sturdy passphrase' });
    expect(login.status).toBe(200);
    accessToken = login.body.accessToken;
    const me = await api.get('/api/v1/auth/me', { token: accessToken });
    expect(me.body.user).toMatchObject({ email: 'founder@example.com', instanceRole: 'admin', status: 'active' });
  });

  it('creates an API key and uses it', async () => {
    const created = await api.post(
      '/api/v1/api-keys',
      { name: 'automation', permissions: ['workspace.read', 'member.read'] },
      { token: accessToken },
    );
    expect(created.status).toBe(201);
    apiKey = created.body.key;
    const workspaces = await api.get('/api/v1/workspaces', { apiKey });
    expect(workspaces.status).toBe(200);
    expect(workspaces.body[0]).toMatchObject({ personal: true, role: 'owner' });
  });
});
