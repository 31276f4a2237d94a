import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'test/support/http';
import { startTestApp, TestApp } from 'test/support/test-app';

describe('auth (embedded database)', () => {
  let testApp: TestApp;
  let api: ApiClient;

  beforeAll(async () => {
    testApp = await startTestApp();
    api = new ApiClient(testApp.baseUrl);
  });
  afterAll(() => testApp?.close());

  it('makes the first user the instance admin and later ones plain users', async () => {
    const first = await api.register('admin@example.com');
    const second = await api.register('user@example.com');
    expect(first.user.instanceRole).toBe('admin');
    expect(second.user.instanceRole).toBe('user');
  });

  it('logs in, refreshes with rotation and revokes the family when a rotated token is reused', async () => {
    await api.register('rotate@example.com', 'Rotate', 'a long enough password');
    const login = await api.post('/api/v1/auth/login', { email: 'ROTATE@example.com', password: 'a long enough password' });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });

    const refreshed = await api.post('/api/v1/auth/refresh', { refreshToken: login.body.refreshToken });
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.refreshToken).not.toBe(login.body.refreshToken);

    const reused = await api.post('/api/v1/auth/refresh', { refreshToken: login.body.refreshToken });
    expect(reused.status).toBe(401);
    expect(reused.body.code).toBe('AUTH_REFRESH_TOKEN_REUSED');

    // The whole session is gone: the newest refresh token and the access token too.
    const afterReuse = await api.post('/api/v1/auth/refresh', { refreshToken: refreshed.body.refreshToken });
    expect(afterReuse.status).toBe(401);
    const me = await api.get('/api/v1/auth/me', { token: refreshed.body.accessToken });
    expect(me.status).toBe(401);
  });

  it('rejects a wrong password with the error shape and no hint which part was wrong', async () => {
    const response = await api.post('/api/v1/auth/login', { email: 'admin@example.com', password: 'wrong password!' });
    expect(response.status).toBe(401);
    expect(response.body).toEqual({ statusCode: 401, code: 'AUTH_INVALID_CREDENTIALS', message: 'Email or password is incorrect' });
  });

  it('logout ends the session for both tokens', async () => {
    const account = await api.register('logout@example.com');
    expect((await api.post('/api/v1/auth/logout', undefined, { token: account.accessToken })).status).toBe(204);
    expect((await api.get('/api/v1/auth/me', { token: account.accessToken })).status).toBe(401);
    expect((await api.post('/api/v1/auth/refresh', { refreshToken: account.refreshToken })).status).toBe(401);
  });
});
