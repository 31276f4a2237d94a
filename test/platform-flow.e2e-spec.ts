import { io, Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphqlClient, nextSubscriptionTo, Subscription } from 'test/support/graphql';
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
  let gql: GraphqlClient;
  let accessToken: string;
  let apiKey: string;
  let teamId: string;

  beforeAll(async () => {
    testApp = await startTestApp({ database, redis });
    api = new ApiClient(testApp.baseUrl);
    gql = new GraphqlClient(testApp.baseUrl);
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

  it('uses GraphQL with the token and with the API key', async () => {
    const created = await gql.request('mutation { createWorkspace(input: { name: "Team" }) { id name role } }', undefined, {
      token: accessToken,
    });
    expect(created.errors).toBeUndefined();
    expect(created.data.createWorkspace).toMatchObject({ name: 'Team', role: 'Owner' });
    teamId = created.data.createWorkspace.id;

    const viaKey = await gql.request('query { me { user { email } permissions apiKeyId } }', undefined, { apiKey });
    expect(viaKey.data.me).toMatchObject({ user: { email: 'founder@example.com' }, apiKeyId: expect.any(String) });
    const denied = await gql.request('mutation { createWorkspace(input: { name: "Nope" }) { id } }', undefined, { apiKey });
    expect(denied.errors?.[0].extensions.code).toBe('AUTH_API_KEY_NOT_ALLOWED');
  });

  it('streams a member change to a Socket.IO client and a GraphQL subscriber', async () => {
    await api.post('/api/v1/auth/register', { email: 'teammate@example.com', password: 'another sturdy one', name: 'Teammate' });
    const socket: Socket = io(`${testApp.baseUrl}/realtime`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token: accessToken, workspaceId: teamId },
    });
    const wsClient = gql.socket({ authorization: `Bearer ${accessToken}` });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      expect(await socket.timeout(5000).emitWithAck('ping', {})).toMatchObject({ ok: true });
      const onSocket = new Promise<any>((resolve) => socket.once('workspace.member.changed', resolve));
      const subscribed = nextSubscriptionTo(testApp.app, 'workspace-member-changed');
      const changes = new Subscription(
        wsClient,
        'subscription($id: ID!) { workspaceMemberChanged(workspaceId: $id) { userId change role } }',
        { id: teamId },
      );
      const onGraphql = changes.next();
      await subscribed;

      const added = await api.post(
        `/api/v1/workspaces/${teamId}/members`,
        { email: 'teammate@example.com', role: 'member' },
        { token: accessToken },
      );
      expect(added.status).toBe(201);
      expect(await onSocket).toMatchObject({ workspaceId: teamId, change: 'added', role: 'member' });
      expect((await onGraphql).value?.data).toMatchObject({ workspaceMemberChanged: { change: 'Added', role: 'Member' } });
      await changes.close();
    } finally {
      socket.disconnect();
      await wsClient.dispose();
    }
  });
});
