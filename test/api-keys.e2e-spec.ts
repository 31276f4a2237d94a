import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'test/support/http';
import { startTestApp, TestApp } from 'test/support/test-app';

describe('API keys', () => {
  let testApp: TestApp;
  let api: ApiClient;
  let admin: Awaited<ReturnType<ApiClient['register']>>;
  let member: Awaited<ReturnType<ApiClient['register']>>;
  let teamId: string;

  beforeAll(async () => {
    testApp = await startTestApp();
    api = new ApiClient(testApp.baseUrl);
    admin = await api.register('admin@example.com');
    member = await api.register('member@example.com');
    teamId = (await api.post('/api/v1/workspaces', { name: 'Team' }, { token: admin.accessToken })).body.id;
    await api.post(`/api/v1/workspaces/${teamId}/members`, { email: 'member@example.com', role: 'member' }, { token: admin.accessToken });
  });
  afterAll(() => testApp?.close());

  it('shows the secret once, stores only its hash, and accepts it as Bearer and X-API-Key', async () => {
    const created = await api.post(
      '/api/v1/api-keys',
      { name: 'CI', permissions: ['workspace.read'] },
      { token: member.accessToken, workspaceId: teamId },
    );
    expect(created.status).toBe(201);
    expect(created.body.key).toMatch(/^gai_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
    expect(created.body.key.startsWith(`gai_${created.body.prefix}_`)).toBe(true);

    const listed = await api.get('/api/v1/api-keys', { token: member.accessToken, workspaceId: teamId });
    expect(listed.body).toHaveLength(1);
    expect(JSON.stringify(listed.body)).not.toContain(created.body.key.split('_').pop());

    for (const options of [{ token: created.body.key }, { apiKey: created.body.key }]) {
      const me = await api.get('/api/v1/auth/me', options);
      expect(me.status).toBe(200);
      expect(me.body).toMatchObject({ workspaceId: teamId, permissions: ['workspace.read'], apiKeyId: created.body.id });
    }
  });

  it('acts only in its own workspace and only with its own permissions', async () => {
    const key = (
      await api.post(
        '/api/v1/api-keys',
        { name: 'narrow', permissions: ['workspace.read'] },
        { token: member.accessToken, workspaceId: teamId },
      )
    ).body.key;
    expect((await api.get(`/api/v1/workspaces/${teamId}`, { apiKey: key })).status).toBe(200);
    expect((await api.get(`/api/v1/workspaces/${teamId}/members`, { apiKey: key })).status).toBe(403);
    expect((await api.get('/api/v1/auth/me', { apiKey: key, workspaceId: member.workspaceId })).status).toBe(404);
  });

  it('cannot be wider than its creator, cannot mint keys, and shrinks when its owner is demoted', async () => {
    const wider = await api.post(
      '/api/v1/api-keys',
      { name: 'wide', permissions: ['member.manage'] },
      { token: member.accessToken, workspaceId: teamId },
    );
    expect(wider.status).toBe(403);
    expect(wider.body.code).toBe('AUTH_PERMISSION_ESCALATION');

    const key = (await api.post('/api/v1/api-keys', { name: 'all mine' }, { token: member.accessToken, workspaceId: teamId })).body;
    expect(key.permissions).toEqual([
      'agent.read',
      'agent.write',
      'api-key.create',
      'api-key.read',
      'api-key.revoke',
      'conversation.read',
      'conversation.write',
      'knowledge-base.read',
      'knowledge-base.write',
      'member.read',
      'model.invoke',
      'model.read',
      'role.read',
      'workflow.read',
      'workflow.run',
      'workspace.read',
    ]);
    const minted = await api.post('/api/v1/api-keys', { name: 'child' }, { apiKey: key.key });
    expect(minted.status).toBe(403);
    expect(minted.body.code).toBe('AUTH_API_KEY_NOT_ALLOWED');

    await api.put(`/api/v1/workspaces/${teamId}/members/${member.user.id}/role`, { role: 'viewer' }, { token: admin.accessToken });
    const me = await api.get('/api/v1/auth/me', { apiKey: key.key });
    expect(me.body.permissions).toEqual([
      'agent.read',
      'conversation.read',
      'knowledge-base.read',
      'member.read',
      'model.read',
      'role.read',
      'workflow.read',
      'workspace.read',
    ]);
    await api.put(`/api/v1/workspaces/${teamId}/members/${member.user.id}/role`, { role: 'member' }, { token: admin.accessToken });
  });

  it('stops working once revoked or expired', async () => {
    const key = (await api.post('/api/v1/api-keys', { name: 'temp' }, { token: member.accessToken })).body;
    expect((await api.delete(`/api/v1/api-keys/${key.id}`, { token: member.accessToken })).status).toBe(204);
    const revoked = await api.get('/api/v1/auth/me', { apiKey: key.key });
    expect(revoked.status).toBe(401);
    expect(revoked.body.message).toMatch(/revoked/);

    const soon = new Date(Date.now() + 1500).toISOString();
    const expiring = (await api.post('/api/v1/api-keys', { name: 'short', expiresAt: soon }, { token: member.accessToken })).body;
    expect((await api.get('/api/v1/auth/me', { apiKey: expiring.key })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1700));
    const expired = await api.get('/api/v1/auth/me', { apiKey: expiring.key });
    expect(expired.status).toBe(401);
    expect(expired.body.message).toMatch(/expired/);

    const past = await api.post('/api/v1/api-keys', { name: 'past', expiresAt: '2020-01-01T00:00:00Z' }, { token: member.accessToken });
    expect(past.status).toBe(400);
  });

  it("lets workspace managers revoke members' keys, but not members each other's", async () => {
    const memberKey = (await api.post('/api/v1/api-keys', { name: 'm' }, { token: member.accessToken, workspaceId: teamId })).body;
    const adminKey = (await api.post('/api/v1/api-keys', { name: 'a' }, { token: admin.accessToken, workspaceId: teamId })).body;
    expect((await api.delete(`/api/v1/api-keys/${adminKey.id}`, { token: member.accessToken, workspaceId: teamId })).status).toBe(404);
    expect((await api.delete(`/api/v1/api-keys/${memberKey.id}`, { token: admin.accessToken, workspaceId: teamId })).status).toBe(204);
    expect((await api.get('/api/v1/auth/me', { apiKey: memberKey.key })).status).toBe(401);
  });
});
