import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'test/support/http';
import { startTestApp, TestApp } from 'test/support/test-app';

describe('instance administration', () => {
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

  it('lists and searches users, for admins only', async () => {
    const all = await api.get('/api/v1/admin/users', { token: admin.accessToken });
    expect(all.body.total).toBe(2);
    const found = await api.get('/api/v1/admin/users?search=USER%40', { token: admin.accessToken });
    expect(found.body.items.map((u: any) => u.email)).toEqual(['user@example.com']);
    const wildcard = await api.get('/api/v1/admin/users?search=%25', { token: admin.accessToken });
    expect(wildcard.body.total).toBe(0);
    const denied = await api.get('/api/v1/admin/users', { token: user.accessToken });
    expect(denied.status).toBe(403);
  });

  it('suspension stops access tokens, refresh tokens and API keys at once; reactivation needs a new login', async () => {
    const victim = await api.register('victim@example.com');
    const key = (await api.post('/api/v1/api-keys', { name: 'k' }, { token: victim.accessToken })).body.key;
    expect((await api.get('/api/v1/auth/me', { apiKey: key })).status).toBe(200);

    const suspended = await api.post(`/api/v1/admin/users/${victim.user.id}/suspend`, undefined, { token: admin.accessToken });
    expect(suspended.body.status).toBe('suspended');

    for (const response of [
      await api.get('/api/v1/auth/me', { token: victim.accessToken }),
      await api.get('/api/v1/auth/me', { apiKey: key }),
      await api.post('/api/v1/auth/refresh', { refreshToken: victim.refreshToken }),
      await api.post('/api/v1/auth/login', { email: 'victim@example.com', password: victim.password }),
    ]) {
      expect(response.status).toBeGreaterThanOrEqual(401);
      expect(response.status).toBeLessThanOrEqual(403);
    }
    const login = await api.post('/api/v1/auth/login', { email: 'victim@example.com', password: victim.password });
    expect(login.body.code).toBe('AUTH_ACCOUNT_SUSPENDED');

    await api.post(`/api/v1/admin/users/${victim.user.id}/reactivate`, undefined, { token: admin.accessToken });
    // Sessions revoked at suspension stay dead; the key works again with the account.
    expect((await api.get('/api/v1/auth/me', { token: victim.accessToken })).status).toBe(401);
    expect((await api.get('/api/v1/auth/me', { apiKey: key })).status).toBe(200);
    expect((await api.post('/api/v1/auth/login', { email: 'victim@example.com', password: victim.password })).status).toBe(200);
  });

  it('changes instance roles but never removes the last admin or lets admins change themselves', async () => {
    const self = await api.patch(`/api/v1/admin/users/${admin.user.id}`, { instanceRole: 'user' }, { token: admin.accessToken });
    expect(self.status).toBe(409);
    expect((await api.post(`/api/v1/admin/users/${admin.user.id}/suspend`, undefined, { token: admin.accessToken })).status).toBe(409);

    const promoted = await api.patch(`/api/v1/admin/users/${user.user.id}`, { instanceRole: 'admin' }, { token: admin.accessToken });
    expect(promoted.body.instanceRole).toBe('admin');
    const me = await api.get('/api/v1/auth/me', { token: user.accessToken });
    expect(me.body.permissions).toContain('admin.user.manage');
    await api.patch(`/api/v1/admin/users/${user.user.id}`, { instanceRole: 'user' }, { token: admin.accessToken });
    expect((await api.get('/api/v1/admin/users', { token: user.accessToken })).status).toBe(403);
  });

  it('closes sign-up: later registrations are refused', async () => {
    const closed = await api.patch('/api/v1/admin/settings', { signupMode: 'closed' }, { token: admin.accessToken });
    expect(closed.body).toEqual({ signupMode: 'closed' });
    const refused = await api.post('/api/v1/auth/register', {
      email: 'late@example.com',
      password: 'correct horse battery staple',
      name: 'Late',
    });
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('AUTH_SIGNUP_CLOSED');
    await api.patch('/api/v1/admin/settings', { signupMode: 'open' }, { token: admin.accessToken });
    expect((await api.patch('/api/v1/admin/settings', { signupMode: 'invite-only' }, { token: admin.accessToken })).status).toBe(400);
  });

  it('keeps an audit log of security events, readable by admins and paginated', async () => {
    await api.post('/api/v1/auth/login', { email: 'user@example.com', password: 'wrong password here' });
    const events = await api.get('/api/v1/admin/audit-events?limit=200', { token: admin.accessToken });
    const actions = new Set(events.body.map((event: any) => event.action));
    for (const action of [
      'user.registered',
      'auth.login.failed',
      'user.suspended',
      'user.reactivated',
      'user.role.changed',
      'api-key.created',
      'settings.changed',
    ]) {
      expect(actions).toContain(action);
    }
    const failed = await api.get('/api/v1/admin/audit-events?action=auth.login.failed', { token: admin.accessToken });
    expect(failed.body[0].metadata).toEqual({ email: 'user@example.com' });
    expect(JSON.stringify(events.body)).not.toContain('wrong password here');

    const firstPage = await api.get('/api/v1/admin/audit-events?limit=2', { token: admin.accessToken });
    const secondPage = await api.get(`/api/v1/admin/audit-events?limit=2&before=${firstPage.body[1].id}`, { token: admin.accessToken });
    expect(secondPage.body[0].id).toBe(events.body[2].id);
    expect((await api.get('/api/v1/admin/audit-events', { token: user.accessToken })).status).toBe(403);
  });
});
