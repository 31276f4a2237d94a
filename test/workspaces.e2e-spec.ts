import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'test/support/http';
import { startTestApp, TestApp } from 'test/support/test-app';

describe('workspaces, members and roles', () => {
  let testApp: TestApp;
  let api: ApiClient;
  let owner: Awaited<ReturnType<ApiClient['register']>>;
  let admin: Awaited<ReturnType<ApiClient['register']>>;
  let analyst: Awaited<ReturnType<ApiClient['register']>>;
  let teamId: string;

  beforeAll(async () => {
    testApp = await startTestApp();
    api = new ApiClient(testApp.baseUrl);
    owner = await api.register('owner@example.com');
    admin = await api.register('admin@example.com');
    analyst = await api.register('analyst@example.com');
    teamId = (await api.post('/api/v1/workspaces', { name: 'Team' }, { token: owner.accessToken })).body.id;
  });
  afterAll(() => testApp?.close());

  it('gives every user a personal workspace they own, which cannot be deleted', async () => {
    const mine = await api.get('/api/v1/workspaces', { token: analyst.accessToken });
    expect(mine.body).toEqual([expect.objectContaining({ id: analyst.workspaceId, personal: true, role: 'owner' })]);
    const deleted = await api.delete(`/api/v1/workspaces/${analyst.workspaceId}`, { token: analyst.accessToken });
    expect(deleted.status).toBe(409);
    expect(deleted.body.code).toBe('WORKSPACES_PERSONAL_WORKSPACE');
  });

  it('lets an admin manage members but not create owners or touch the owner', async () => {
    await api.post(`/api/v1/workspaces/${teamId}/members`, { email: 'admin@example.com', role: 'admin' }, { token: owner.accessToken });
    const makeOwner = await api.post(
      `/api/v1/workspaces/${teamId}/members`,
      { email: 'analyst@example.com', role: 'owner' },
      { token: admin.accessToken },
    );
    expect(makeOwner.status).toBe(403);
    expect(makeOwner.body.code).toBe('WORKSPACES_ROLE_ABOVE_OWN');
    const demoteOwner = await api.put(
      `/api/v1/workspaces/${teamId}/members/${owner.user.id}/role`,
      { role: 'viewer' },
      { token: admin.accessToken },
    );
    expect(demoteOwner.status).toBe(403);
    const lastOwner = await api.put(
      `/api/v1/workspaces/${teamId}/members/${owner.user.id}/role`,
      { role: 'admin' },
      { token: owner.accessToken },
    );
    expect(lastOwner.status).toBe(409);
    expect(lastOwner.body.code).toBe('WORKSPACES_LAST_OWNER');
  });

  it('custom roles grant exactly their permissions, and only workspace permissions', async () => {
    const instanceLevel = await api.post(
      `/api/v1/workspaces/${teamId}/roles`,
      { name: 'root', permissions: ['admin.user.manage'] },
      { token: owner.accessToken },
    );
    expect(instanceLevel.status).toBe(400);
    const role = await api.post(
      `/api/v1/workspaces/${teamId}/roles`,
      { name: 'analyst', permissions: ['workspace.read', 'member.read'] },
      { token: owner.accessToken },
    );
    expect(role.status).toBe(201);
    const duplicate = await api.post(
      `/api/v1/workspaces/${teamId}/roles`,
      { name: 'analyst', permissions: [] },
      { token: owner.accessToken },
    );
    expect(duplicate.body.code).toBe('WORKSPACES_ROLE_NAME_TAKEN');

    const added = await api.post(
      `/api/v1/workspaces/${teamId}/members`,
      { email: 'analyst@example.com', role: 'custom', customRoleId: role.body.id },
      { token: admin.accessToken },
    );
    expect(added.status).toBe(201);
    const me = await api.get('/api/v1/auth/me', { token: analyst.accessToken, workspaceId: teamId });
    expect(me.body.permissions).toEqual(['member.read', 'workspace.read']);
    expect((await api.get(`/api/v1/workspaces/${teamId}/members`, { token: analyst.accessToken })).status).toBe(200);
    expect((await api.get(`/api/v1/workspaces/${teamId}/roles`, { token: analyst.accessToken })).status).toBe(403);

    // Changing the role changes what its holders can do on their next request.
    await api.patch(
      `/api/v1/workspaces/${teamId}/roles/${role.body.id}`,
      { permissions: ['workspace.read', 'role.read'] },
      { token: owner.accessToken },
    );
    expect((await api.get(`/api/v1/workspaces/${teamId}/roles`, { token: analyst.accessToken })).status).toBe(200);
    expect((await api.get(`/api/v1/workspaces/${teamId}/members`, { token: analyst.accessToken })).status).toBe(403);

    const inUse = await api.delete(`/api/v1/workspaces/${teamId}/roles/${role.body.id}`, { token: owner.accessToken });
    expect(inUse.body.code).toBe('WORKSPACES_ROLE_IN_USE');
  });

  it('an admin cannot hand out a custom role holding permissions the admin lacks', async () => {
    const deleter = await api.post(
      `/api/v1/workspaces/${teamId}/roles`,
      { name: 'deleter', permissions: ['workspace.delete'] },
      { token: owner.accessToken },
    );
    const viaAdmin = await api.put(
      `/api/v1/workspaces/${teamId}/members/${analyst.user.id}/role`,
      { role: 'custom', customRoleId: deleter.body.id },
      { token: admin.accessToken },
    );
    expect(viaAdmin.status).toBe(403);
    const adminCreates = await api.post(
      `/api/v1/workspaces/${teamId}/roles`,
      { name: 'x', permissions: ['workspace.delete'] },
      { token: admin.accessToken },
    );
    expect(adminCreates.status).toBe(403);
  });

  it('removing a member ends their access to the workspace on the next request', async () => {
    expect((await api.get(`/api/v1/workspaces/${teamId}`, { token: analyst.accessToken })).status).toBe(200);
    expect((await api.delete(`/api/v1/workspaces/${teamId}/members/${analyst.user.id}`, { token: admin.accessToken })).status).toBe(204);
    expect((await api.get(`/api/v1/workspaces/${teamId}`, { token: analyst.accessToken })).status).toBe(404);
  });

  it('only the owner can delete a shared workspace', async () => {
    expect((await api.delete(`/api/v1/workspaces/${teamId}`, { token: admin.accessToken })).status).toBe(403);
    expect((await api.delete(`/api/v1/workspaces/${teamId}`, { token: owner.accessToken })).status).toBe(204);
    expect((await api.get(`/api/v1/workspaces/${teamId}`, { token: owner.accessToken })).status).toBe(404);
  });
});
