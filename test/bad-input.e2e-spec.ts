import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from 'test/support/http';
import { startTestApp, TestApp } from 'test/support/test-app';
import { appSecret, decodeClaims, signToken, unsignedToken } from 'test/support/tokens';

const BODY_LIMIT = 4096;

/** Every hostile input gets the one error shape and changes nothing. */
describe('bad input', () => {
  let testApp: TestApp;
  let api: ApiClient;
  let owner: Awaited<ReturnType<ApiClient['register']>>;
  let outsider: Awaited<ReturnType<ApiClient['register']>>;
  let viewer: Awaited<ReturnType<ApiClient['register']>>;
  let teamId: string;

  const expectError = (response: { status: number; body: any }, status: number, code: string) => {
    expect(response.status).toBe(status);
    expect(response.body).toMatchObject({ statusCode: status, code });
    expect(typeof response.body.message).toBe('string');
    expect(Object.keys(response.body).sort()).toEqual(expect.arrayContaining(['code', 'message', 'statusCode']));
  };

  beforeAll(async () => {
    testApp = await startTestApp({ env: { BODY_LIMIT_BYTES: String(BODY_LIMIT) } });
    api = new ApiClient(testApp.baseUrl);
    owner = await api.register('owner@example.com');
    outsider = await api.register('outsider@example.com');
    viewer = await api.register('viewer@example.com');
    const team = await api.post('/api/v1/workspaces', { name: 'Team' }, { token: owner.accessToken });
    teamId = team.body.id;
    await api.post(`/api/v1/workspaces/${teamId}/members`, { email: 'viewer@example.com', role: 'viewer' }, { token: owner.accessToken });
  });
  afterAll(() => testApp?.close());

  describe('malformed and oversized bodies', () => {
    it('rejects malformed JSON with 400 MALFORMED_BODY', async () => {
      expectError(await api.post('/api/v1/auth/login', undefined, { rawBody: '{"email": "a@b.c", ' }), 400, 'MALFORMED_BODY');
    });

    it('rejects a body over the limit with 413 before reading it all', async () => {
      const response = await api.post('/api/v1/auth/register', {
        email: 'big@example.com',
        password: 'x'.repeat(BODY_LIMIT * 4),
        name: 'Big',
      });
      expectError(response, 413, 'PAYLOAD_TOO_LARGE');
      expect((await api.post('/api/v1/auth/login', { email: 'big@example.com', password: 'whatever password' })).status).toBe(401);
    });

    it('rejects unknown fields instead of mass-assigning them', async () => {
      const response = await api.post('/api/v1/auth/register', {
        email: 'mass@example.com',
        password: 'correct horse battery staple',
        name: 'Mass',
        instanceRole: 'admin',
        workspaceId: teamId,
      });
      expectError(response, 400, 'VALIDATION_FAILED');
      expect(response.body.message).toMatch(/property instanceRole should not exist/);
      expect((await api.post('/api/v1/auth/login', { email: 'mass@example.com', password: 'correct horse battery staple' })).status).toBe(
        401,
      );
    });

    it('rejects a role smuggled into a workspace rename', async () => {
      const response = await api.patch(`/api/v1/workspaces/${teamId}`, { name: 'Renamed', role: 'owner' }, { token: owner.accessToken });
      expectError(response, 400, 'VALIDATION_FAILED');
      expect((await api.get(`/api/v1/workspaces/${teamId}`, { token: owner.accessToken })).body.name).toBe('Team');
    });

    it('validates field formats with a message naming the field', async () => {
      const response = await api.post('/api/v1/auth/register', { email: 'not-an-email', password: 'short', name: '' });
      expectError(response, 400, 'VALIDATION_FAILED');
      expect(response.body.message).toMatch(/email/);
      expect(response.body.message).toMatch(/password/);
    });
  });

  describe('forged credentials', () => {
    const me = (token: string) => api.get('/api/v1/auth/me', { token });

    it('rejects a token signed with another secret', async () => {
      const claims = decodeClaims(owner.accessToken);
      expectError(await me(signToken('a-completely-different-secret-of-decent-length', claims)), 401, 'AUTH_INVALID_TOKEN');
    });

    it('rejects an alg:none token', async () => {
      expectError(await me(unsignedToken(decodeClaims(owner.accessToken))), 401, 'AUTH_INVALID_TOKEN');
    });

    it('rejects an expired token even when correctly signed', async () => {
      const { sub, sid, iss, aud } = decodeClaims(owner.accessToken);
      const expired = signToken(appSecret(testApp.dataDir), { sub, sid, iss, aud, exp: Math.floor(Date.now() / 1000) - 60 });
      expectError(await me(expired), 401, 'AUTH_TOKEN_EXPIRED');
    });

    it('rejects a correctly signed token whose claims were tampered to another user', async () => {
      const claims = decodeClaims(owner.accessToken);
      const forged = signToken('wrong-secret-wrong-secret-wrong-secret', { ...claims, sub: outsider.user.id });
      expectError(await me(forged), 401, 'AUTH_INVALID_TOKEN');
      // With the real secret but a session that belongs to someone else, the session check catches it.
      const crossed = signToken(appSecret(testApp.dataDir), { ...claims, sub: outsider.user.id });
      expectError(await me(crossed), 401, 'AUTH_INVALID_TOKEN');
    });

    it.each([
      ["Bearer ' OR 1=1 --", 'AUTH_INVALID_TOKEN'],
      ["Bearer gai_x'OR'1'='1", 'AUTH_INVALID_API_KEY'],
      ["Bearer gai_x' OR '1'='1", 'AUTH_INVALID_TOKEN'],
      ['Basic YWRtaW46YWRtaW4=', 'AUTH_INVALID_TOKEN'],
      ['Bearer', 'AUTH_INVALID_TOKEN'],
    ])('rejects the Authorization header %j', async (header, code) => {
      expectError(await api.get('/api/v1/auth/me', { headers: { authorization: header } }), 401, code);
    });

    it('rejects a forged API key and SQL in X-API-Key', async () => {
      expectError(await api.get('/api/v1/auth/me', { apiKey: `gai_AAAAAAAAAAAA_${'a'.repeat(43)}` }), 401, 'AUTH_INVALID_API_KEY');
      expectError(await api.get('/api/v1/auth/me', { apiKey: "'; DROP TABLE users; --" }), 401, 'AUTH_INVALID_API_KEY');
      expect((await api.post('/api/v1/auth/login', { email: 'owner@example.com', password: owner.password })).status).toBe(200);
    });

    it('treats SQL in the workspace header as an unknown workspace', async () => {
      expectError(await api.get('/api/v1/auth/me', { token: owner.accessToken, workspaceId: "x' OR '1'='1" }), 404, 'NOT_FOUND');
    });

    it('requires credentials on protected routes', async () => {
      expectError(await api.get('/api/v1/workspaces'), 401, 'UNAUTHENTICATED');
    });
  });

  describe("another workspace's ids", () => {
    it('answers 404 for a workspace the caller is not in, as for one that does not exist', async () => {
      const foreign = await api.get(`/api/v1/workspaces/${teamId}`, { token: outsider.accessToken });
      const missing = await api.get('/api/v1/workspaces/00000000-0000-4000-8000-000000000000', { token: outsider.accessToken });
      expectError(foreign, 404, 'NOT_FOUND');
      expect(foreign.body).toEqual(missing.body);
    });

    it('does not list, change or remove members of a foreign workspace', async () => {
      expectError(await api.get(`/api/v1/workspaces/${teamId}/members`, { token: outsider.accessToken }), 404, 'NOT_FOUND');
      expectError(
        await api.put(`/api/v1/workspaces/${teamId}/members/${viewer.user.id}/role`, { role: 'owner' }, { token: outsider.accessToken }),
        404,
        'NOT_FOUND',
      );
      expectError(
        await api.delete(`/api/v1/workspaces/${teamId}/members/${owner.user.id}`, { token: outsider.accessToken }),
        404,
        'NOT_FOUND',
      );
      const members = await api.get(`/api/v1/workspaces/${teamId}/members`, { token: owner.accessToken });
      expect(members.body.map((member: any) => [member.email, member.role])).toEqual([
        ['owner@example.com', 'owner'],
        ['viewer@example.com', 'viewer'],
      ]);
    });

    it("cannot revoke another workspace's API key by id", async () => {
      const key = await api.post('/api/v1/api-keys', { name: 'owner key' }, { token: owner.accessToken });
      expectError(await api.delete(`/api/v1/api-keys/${key.body.id}`, { token: outsider.accessToken }), 404, 'NOT_FOUND');
      expect((await api.get('/api/v1/auth/me', { apiKey: key.body.key })).status).toBe(200);
    });

    it("cannot reach another workspace's custom role through its own workspace", async () => {
      const role = await api.post(
        `/api/v1/workspaces/${teamId}/roles`,
        { name: 'reader', permissions: ['workspace.read'] },
        { token: owner.accessToken },
      );
      expect(role.status).toBe(201);
      const ownWorkspace = outsider.workspaceId;
      expectError(
        await api.patch(`/api/v1/workspaces/${ownWorkspace}/roles/${role.body.id}`, { name: 'hijacked' }, { token: outsider.accessToken }),
        404,
        'NOT_FOUND',
      );
      expectError(
        await api.post(
          `/api/v1/workspaces/${ownWorkspace}/members`,
          { email: 'viewer@example.com', role: 'custom', customRoleId: role.body.id },
          { token: outsider.accessToken },
        ),
        404,
        'NOT_FOUND',
      );
    });
  });

  describe('a viewer attempting writes', () => {
    it.each([
      ['PATCH', (id: string) => `/api/v1/workspaces/${id}`, { name: 'Mine now' }],
      ['POST', (id: string) => `/api/v1/workspaces/${id}/members`, { email: 'outsider@example.com', role: 'owner' }],
      ['POST', (id: string) => `/api/v1/workspaces/${id}/roles`, { name: 'sneaky', permissions: ['member.manage'] }],
      ['DELETE', (id: string) => `/api/v1/workspaces/${id}`, undefined],
    ])('%s %s is forbidden and changes nothing', async (method, path, body) => {
      const response = await api.request(method, path(teamId), body, { token: viewer.accessToken });
      expectError(response, 403, 'FORBIDDEN');
      const workspace = await api.get(`/api/v1/workspaces/${teamId}`, { token: owner.accessToken });
      expect(workspace.body.name).toBe('Team');
      const members = await api.get(`/api/v1/workspaces/${teamId}/members`, { token: owner.accessToken });
      expect(members.body).toHaveLength(2);
    });

    it('cannot create an API key at all, nor one wider than its own permissions', async () => {
      expectError(await api.post('/api/v1/api-keys', { name: 'k' }, { token: viewer.accessToken, workspaceId: teamId }), 403, 'FORBIDDEN');
    });
  });
});
