import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { GraphQLSchemaHost } from '@nestjs/graphql';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_METADATA, AuthMetadata } from 'src/common/auth/auth.decorator';
import { printSchemaFile, SCHEMA_FILE } from 'src/graphql/schema-file';
import { GraphqlClient, nextSubscriptionTo, Subscription } from 'test/support/graphql';
import { ApiClient } from 'test/support/http';
import { createScratchDatabase, REDIS_URL, startTestApp, TestApp } from 'test/support/test-app';

type Account = Awaited<ReturnType<ApiClient['register']>>;

const ME = 'query { me { user { id email instanceRole } workspaceId permissions apiKeyId } }';
const MEMBERS = 'query($workspaceId: ID) { members(workspaceId: $workspaceId) { userId email role } }';
const MEMBER_CHANGED = `subscription($workspaceId: ID!) {
  workspaceMemberChanged(workspaceId: $workspaceId) { workspaceId userId change role actorUserId changedAt }
}`;
const ADD_MEMBER = `mutation($workspaceId: ID, $input: AddMemberInput!) {
  addMember(workspaceId: $workspaceId, input: $input) { userId role }
}`;

describe('GraphQL API (embedded database, in-process pub/sub)', () => {
  let testApp: TestApp;
  let api: ApiClient;
  let gql: GraphqlClient;
  let admin: Account;
  let owner: Account;
  let viewer: Account;
  let outsider: Account;
  let teamId: string;

  beforeAll(async () => {
    testApp = await startTestApp();
    api = new ApiClient(testApp.baseUrl);
    gql = new GraphqlClient(testApp.baseUrl);
    admin = await api.register('admin@example.com');
    owner = await api.register('owner@example.com');
    viewer = await api.register('viewer@example.com');
    outsider = await api.register('outsider@example.com');
    const team = await gql.request('mutation { createWorkspace(input: { name: "Team" }) { id role } }', {}, { token: owner.accessToken });
    expect(team.data.createWorkspace.role).toBe('Owner');
    teamId = team.data.createWorkspace.id;
    const added = await gql.request(
      ADD_MEMBER,
      { workspaceId: teamId, input: { email: 'viewer@example.com', role: 'Viewer' } },
      { token: owner.accessToken },
    );
    expect(added.data.addMember).toEqual({ userId: viewer.user.id, role: 'Viewer' });
  });
  afterAll(() => testApp?.close());

  describe('contract', () => {
    it('matches the committed docs/schema.graphql (run `npm run graphql:schema` if this fails)', () => {
      const schema = testApp.app.get(GraphQLSchemaHost).schema;
      expect(printSchemaFile(schema)).toBe(readFileSync(SCHEMA_FILE, 'utf8'));
    });

    it('every query, mutation and subscription declares its access, as recorded in the snapshot', async () => {
      const discovery = testApp.app.get(DiscoveryService);
      const scanner = testApp.app.get(MetadataScanner);
      const reflector = testApp.app.get(Reflector);
      const lines: string[] = [];
      for (const wrapper of discovery.getProviders()) {
        const type = wrapper.metatype as (new (...args: unknown[]) => unknown) | undefined;
        if (!type?.prototype || !wrapper.instance) continue;
        for (const name of scanner.getAllMethodNames(type.prototype as object)) {
          const handler = (type.prototype as Record<string, unknown>)[name] as () => unknown;
          const operation = Reflect.getMetadata('graphql:resolver_type', handler) as string | undefined;
          if (!operation || !['Query', 'Mutation', 'Subscription'].includes(operation)) continue;
          const field = (Reflect.getMetadata('graphql:resolver_name', handler) as string | undefined) ?? name;
          const rule = reflector.getAllAndOverride<AuthMetadata | undefined>(AUTH_METADATA, [handler, type]);
          const access = !rule
            ? 'UNDECLARED'
            : rule.public
              ? 'public'
              : `${rule.permission ?? 'any signed-in caller'}${rule.sessionOnly ? ' (no API keys)' : ''}`;
          lines.push(`${operation.padEnd(12)} ${field.padEnd(24)} ${access}`);
        }
      }
      lines.sort();
      expect(lines.filter((line) => line.endsWith('UNDECLARED'))).toEqual([]);
      await expect(`${lines.join('\n')}\n`).toMatchFileSnapshot('__snapshots__/graphql-permissions.txt');
    });

    it('allows introspection outside production but serves no GraphiQL page outside development', async () => {
      const introspection = await gql.request('{ __schema { queryType { name } } }');
      expect(introspection.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
      const page = await fetch(`${testApp.baseUrl}/graphql`, { headers: { accept: 'text/html' } });
      expect(await page.text()).not.toMatch(/graphiql/i);
    });
  });

  describe('authentication', () => {
    it('logs in with a mutation and answers `me` with the token', async () => {
      const login = await gql.request(
        'mutation($input: LoginInput!) { login(input: $input) { accessToken refreshToken expiresIn tokenType } }',
        {
          input: { email: 'OWNER@example.com', password: owner.password },
        },
      );
      expect(login.errors).toBeUndefined();
      expect(login.data.login).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
      const me = await gql.request(ME, {}, { token: login.data.login.accessToken });
      expect(me.data.me).toMatchObject({
        user: { id: owner.user.id, email: 'owner@example.com' },
        workspaceId: owner.workspaceId,
        apiKeyId: null,
      });
      expect(me.data.me.permissions).toContain('MemberManage');
    });

    it('registers, refreshes with rotation and logs out through mutations', async () => {
      const registered = await gql.request('mutation($input: RegisterInput!) { register(input: $input) { accessToken refreshToken } }', {
        input: { email: 'graphql-user@example.com', password: 'a long enough password', name: 'GraphQL User' },
      });
      expect(registered.errors).toBeUndefined();
      const { accessToken, refreshToken } = registered.data.register;
      const refreshed = await gql.request(
        'mutation($token: String!) { refresh(input: { refreshToken: $token }) { accessToken refreshToken } }',
        {
          token: refreshToken,
        },
      );
      expect(refreshed.data.refresh.refreshToken).not.toBe(refreshToken);
      const reused = await gql.request('mutation($token: String!) { refresh(input: { refreshToken: $token }) { accessToken } }', {
        token: refreshToken,
      });
      expect(reused.errors?.[0].extensions.code).toBe('AUTH_REFRESH_TOKEN_REUSED');

      const other = await gql.request('mutation($input: LoginInput!) { login(input: $input) { accessToken } }', {
        input: { email: 'graphql-user@example.com', password: 'a long enough password' },
      });
      const loggedOut = await gql.request('mutation { logout }', {}, { token: other.data.login.accessToken });
      expect(loggedOut.data).toEqual({ logout: true });
      const after = await gql.request(ME, {}, { token: other.data.login.accessToken });
      expect(after.errors?.[0].extensions.code).toBe('AUTH_INVALID_TOKEN');
      expect((await gql.request(ME, {}, { token: accessToken })).errors?.[0].extensions.code).toBe('AUTH_INVALID_TOKEN');
    });

    it('creates an API key with a session and answers queries made with the key', async () => {
      const created = await gql.request(
        'mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { id key permissions workspaceId } }',
        { input: { name: 'ci', permissions: ['WorkspaceRead', 'MemberRead', 'ApiKeyCreate'] } },
        { token: owner.accessToken },
      );
      expect(created.errors).toBeUndefined();
      const { id, key, workspaceId } = created.data.createApiKey;
      expect(workspaceId).toBe(owner.workspaceId);

      const me = await gql.request(ME, {}, { apiKey: key });
      expect(me.data.me).toMatchObject({
        apiKeyId: id,
        workspaceId: owner.workspaceId,
        permissions: ['ApiKeyCreate', 'MemberRead', 'WorkspaceRead'],
      });
      const bearer = await gql.request(ME, {}, { token: key });
      expect(bearer.data.me.apiKeyId).toBe(id);

      // Keys cannot mint keys, even with the permission: the mutation is session-only.
      const minted = await gql.request('mutation { createApiKey(input: { name: "child" }) { id } }', {}, { apiKey: key });
      expect(minted.errors?.[0].extensions).toMatchObject({ code: 'AUTH_API_KEY_NOT_ALLOWED', statusCode: 403 });
      // A key acts in its own workspace only.
      const elsewhere = await gql.request(MEMBERS, { workspaceId: teamId }, { apiKey: key });
      expect(elsewhere.errors?.[0].extensions.code).toBe('NOT_FOUND');

      const listed = await gql.request('{ apiKeys { id name } }', {}, { token: owner.accessToken });
      expect(listed.data.apiKeys).toContainEqual({ id, name: 'ci' });
      const revoked = await gql.request('mutation($id: ID!) { revokeApiKey(keyId: $id) }', { id }, { token: owner.accessToken });
      expect(revoked.data).toEqual({ revokeApiKey: true });
      expect((await gql.request(ME, {}, { apiKey: key })).errors?.[0].extensions.code).toBe('AUTH_INVALID_API_KEY');
    });

    it('rejects a forged or missing credential with a coded error and nothing internal', async () => {
      const forged = await gql.request(ME, {}, { token: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.forged-signature' });
      expect(forged.status).toBe(200);
      expect(forged.data).toBeNull();
      expect(forged.errors).toEqual([
        {
          message: expect.any(String),
          locations: expect.any(Array),
          path: ['me'],
          extensions: { statusCode: 401, code: 'AUTH_INVALID_TOKEN', message: forged.errors?.[0].message },
        },
      ]);
      const missing = await gql.request(ME);
      expect(missing.errors?.[0].extensions).toEqual({ statusCode: 401, code: 'UNAUTHENTICATED', message: 'Authentication required' });
      const malformed = await gql.request(ME, {}, { headers: { authorization: 'Basic abc' } });
      expect(malformed.errors?.[0].extensions.code).toBe('AUTH_INVALID_TOKEN');
    });

    it('records the caller IP of a GraphQL login in the audit log', async () => {
      const events = await gql.request(
        '{ auditEvents(action: LoginSucceeded, limit: 5) { action actorUserId ip metadata } }',
        {},
        { token: admin.accessToken },
      );
      expect(events.data.auditEvents).toContainEqual({
        action: 'LoginSucceeded',
        actorUserId: owner.user.id,
        ip: '127.0.0.1',
        metadata: { method: 'password' },
      });
    });
  });

  describe('authorization', () => {
    it('lets a viewer read the workspace but answers FORBIDDEN to its mutations', async () => {
      const members = await gql.request(MEMBERS, { workspaceId: teamId }, { token: viewer.accessToken });
      expect(members.data.members.map((m: { email: string }) => m.email).sort()).toEqual(['owner@example.com', 'viewer@example.com']);
      const rename = await gql.request(
        'mutation($id: ID!) { renameWorkspace(workspaceId: $id, input: { name: "Mine now" }) { name } }',
        { id: teamId },
        { token: viewer.accessToken },
      );
      expect(rename.data).toBeNull();
      expect(rename.errors?.[0].extensions).toEqual({ statusCode: 403, code: 'FORBIDDEN', message: 'Missing permission workspace.update' });
      const add = await gql.request(
        ADD_MEMBER,
        { workspaceId: teamId, input: { email: 'outsider@example.com', role: 'Admin' } },
        { token: viewer.accessToken },
      );
      expect(add.errors?.[0].extensions.code).toBe('FORBIDDEN');
    });

    it("answers NOT_FOUND for another workspace's id, by argument or header, and for a malformed one", async () => {
      const byArgument = await gql.request(MEMBERS, { workspaceId: teamId }, { token: outsider.accessToken });
      expect(byArgument.errors?.[0].extensions).toEqual({ statusCode: 404, code: 'NOT_FOUND', message: 'Workspace not found' });
      const byHeader = await gql.request(MEMBERS, {}, { token: outsider.accessToken, workspaceId: teamId });
      expect(byHeader.errors?.[0].extensions.code).toBe('NOT_FOUND');
      const workspace = await gql.request(
        'query($id: ID!) { workspace(workspaceId: $id) { name } }',
        { id: teamId },
        { token: outsider.accessToken },
      );
      expect(workspace.errors?.[0].extensions.code).toBe('NOT_FOUND');
      const malformed = await gql.request(MEMBERS, { workspaceId: "1' OR '1'='1" }, { token: outsider.accessToken });
      expect(malformed.errors?.[0].extensions.code).toBe('NOT_FOUND');
    });

    it('resolves each field in its own workspace when one request names several', async () => {
      const query = `query($team: ID!, $own: ID!) {
        team: members(workspaceId: $team) { email }
        own: members(workspaceId: $own) { email }
        me { workspaceId }
      }`;
      const both = await gql.request(query, { team: teamId, own: viewer.workspaceId }, { token: viewer.accessToken });
      expect(both.errors).toBeUndefined();
      expect(both.data.team).toHaveLength(2);
      expect(both.data.own).toEqual([{ email: 'viewer@example.com' }]);
      expect(both.data.me.workspaceId).toBe(viewer.workspaceId);

      // Only the foreign field fails (root fields are non-null, so `data` is null as a whole).
      const mixed = await gql.request(query, { team: teamId, own: outsider.workspaceId }, { token: outsider.accessToken });
      expect(mixed.data).toBeNull();
      expect(mixed.errors?.map((error) => [error.path, error.extensions.code])).toEqual([[['team'], 'NOT_FOUND']]);
    });

    it('keeps admin operations to instance administrators', async () => {
      const listed = await gql.request('{ users(limit: 2) { total items { email } } }', {}, { token: admin.accessToken });
      expect(listed.data.users.items).toHaveLength(2);
      expect(listed.data.users.total).toBeGreaterThanOrEqual(4);
      for (const query of ['{ users { total } }', '{ auditEvents { id } }', 'mutation($id: ID!) { suspendUser(userId: $id) { id } }']) {
        const denied = await gql.request(query, { id: admin.user.id }, { token: owner.accessToken });
        expect(denied.errors?.[0].extensions.code).toBe('FORBIDDEN');
      }

      const suspended = await gql.request(
        'mutation($id: ID!) { suspendUser(userId: $id) { status } }',
        { id: outsider.user.id },
        { token: admin.accessToken },
      );
      expect(suspended.data.suspendUser.status).toBe('Suspended');
      expect((await gql.request(ME, {}, { token: outsider.accessToken })).errors?.[0].extensions.code).toBe('AUTH_INVALID_TOKEN');
      const reactivated = await gql.request(
        'mutation($id: ID!) { reactivateUser(userId: $id) { status } }',
        { id: outsider.user.id },
        { token: admin.accessToken },
      );
      expect(reactivated.data.reactivateUser.status).toBe('Active');
      outsider = {
        ...outsider,
        ...(await api.post('/api/v1/auth/login', { email: 'outsider@example.com', password: outsider.password })).body,
      };
    });
  });

  describe('input validation', () => {
    it('rejects fields the input type does not declare, inline or in variables', async () => {
      const inline = await gql.request(
        'mutation { createWorkspace(input: { name: "x", personal: true }) { id } }',
        {},
        { token: owner.accessToken },
      );
      expect(inline.status).toBe(400);
      expect(inline.errors?.[0].extensions).toMatchObject({ statusCode: 400, code: 'GRAPHQL_VALIDATION_FAILED' });
      const variables = await gql.request(
        'mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) { id } }',
        { input: { name: 'x', personal: true } },
        { token: owner.accessToken },
      );
      expect(variables.errors?.[0].extensions).toMatchObject({ statusCode: 400, code: 'BAD_USER_INPUT' });
    });

    it('applies the same class-validator rules as REST', async () => {
      const badEmail = await gql.request(
        ADD_MEMBER,
        { workspaceId: teamId, input: { email: 'not-an-email', role: 'Member' } },
        { token: owner.accessToken },
      );
      expect(badEmail.errors?.[0].extensions).toEqual({ statusCode: 400, code: 'VALIDATION_FAILED', message: 'email must be an email' });
      const longName = await gql.request(
        'mutation($name: String!) { createWorkspace(input: { name: $name }) { id } }',
        { name: 'x'.repeat(121) },
        { token: owner.accessToken },
      );
      expect(longName.errors?.[0].extensions.code).toBe('VALIDATION_FAILED');
      const shortPassword = await gql.request(
        'mutation { register(input: { email: "short@example.com", password: "short", name: "S" }) { accessToken } }',
      );
      expect(shortPassword.errors?.[0].extensions.message).toBe('password must be between 10 and 256 characters');
      const nullName = await gql.request(
        'mutation($ws: ID, $id: ID!) { updateRole(workspaceId: $ws, roleId: $id, input: { name: null }) { id } }',
        { ws: teamId, id: '00000000-0000-4000-8000-000000000000' },
        { token: owner.accessToken },
      );
      expect(nullName.errors?.[0].extensions.code).toBe('VALIDATION_FAILED');
      const badId = await gql.request(
        'mutation($ws: ID) { removeMember(workspaceId: $ws, userId: "../../etc") }',
        { ws: teamId },
        { token: owner.accessToken },
      );
      expect(badId.errors?.[0].extensions.code).toBe('VALIDATION_FAILED');
      const json = await gql.request('{ auditEvents(limit: 1000) { id } }', {}, { token: admin.accessToken });
      expect(json.errors?.[0].extensions.code).toBe('VALIDATION_FAILED');
    });

    it('refuses documents that would cost many requests in one: aliases and oversized queries', async () => {
      const aliases = Array.from(
        { length: 11 },
        (_, index) => `a${index}: login(input: { email: "a@example.com", password: "x" }) { accessToken }`,
      );
      const many = await gql.request(`mutation { ${aliases.join(' ')} }`);
      expect(many.status).toBe(400);
      expect(many.errors?.[0]).toMatchObject({
        message: 'Too many aliases: at most 10 per document',
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      });
      const overHttp = await gql.request('subscription { auditEventRecorded { id } }', {}, { token: admin.accessToken });
      expect(overHttp.errors?.[0]).toMatchObject({
        message: expect.stringMatching(/WebSocket/),
        extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
      });
      const huge = await gql.request(`{ ${'me { workspaceId } '.repeat(2_000)} }`, {}, { token: owner.accessToken });
      expect(huge.status).toBe(400);
      expect(huge.errors?.[0].extensions.code).toBe('GRAPHQL_PARSE_FAILED');
    });
  });

  describe('subscriptions over graphql-ws', () => {
    it('delivers workspaceMemberChanged to a member when a member is added over REST', async () => {
      const socket = gql.socket({ authorization: `Bearer ${owner.accessToken}` });
      try {
        const subscribed = nextSubscriptionTo(testApp.app, 'workspace-member-changed');
        const changes = new Subscription(socket, MEMBER_CHANGED, { workspaceId: teamId });
        const first = changes.next();
        await subscribed;
        const added = await api.post(
          `/api/v1/workspaces/${teamId}/members`,
          { email: 'outsider@example.com', role: 'member' },
          { token: owner.accessToken },
        );
        expect(added.status).toBe(201);
        const { value } = await first;
        expect(value?.errors).toBeUndefined();
        expect(value?.data).toEqual({
          workspaceMemberChanged: {
            workspaceId: teamId,
            userId: outsider.user.id,
            change: 'Added',
            role: 'Member',
            actorUserId: owner.user.id,
            changedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          },
        });
        await changes.close();
      } finally {
        await socket.dispose();
      }
    });

    it('ends a member’s subscription with NOT_FOUND once they are removed, and tells the others', async () => {
      const ownerSocket = gql.socket({ authorization: `Bearer ${owner.accessToken}` });
      const memberSocket = gql.socket({ authorization: `Bearer ${await freshToken(outsider)}` });
      try {
        let subscribed = nextSubscriptionTo(testApp.app, 'workspace-member-changed');
        const ownerFeed = new Subscription(ownerSocket, MEMBER_CHANGED, { workspaceId: teamId });
        const ownerFirst = ownerFeed.next();
        await subscribed;
        subscribed = nextSubscriptionTo(testApp.app, 'workspace-member-changed');
        const memberFeed = new Subscription(memberSocket, MEMBER_CHANGED, { workspaceId: teamId });
        const memberFirst = memberFeed.next();
        await subscribed;

        const removed = await gql.request(
          'mutation($ws: ID, $id: ID!) { removeMember(workspaceId: $ws, userId: $id) }',
          { ws: teamId, id: outsider.user.id },
          { token: owner.accessToken },
        );
        expect(removed.data).toEqual({ removeMember: true });

        expect((await ownerFirst).value?.data?.workspaceMemberChanged).toMatchObject({
          change: 'Removed',
          userId: outsider.user.id,
          role: null,
        });
        await expect(memberFirst).rejects.toEqual([
          expect.objectContaining({ extensions: { statusCode: 404, code: 'NOT_FOUND', message: 'Workspace not found' } }),
        ]);
        await ownerFeed.close();
      } finally {
        await ownerSocket.dispose();
        await memberSocket.dispose();
      }
    });

    it('refuses to subscribe a non-member (NOT_FOUND) and a non-admin to the audit feed (FORBIDDEN)', async () => {
      const socket = gql.socket({ authorization: `Bearer ${outsider.accessToken}` });
      try {
        const foreign = await new Subscription(socket, MEMBER_CHANGED, { workspaceId: teamId }).next();
        expect(foreign.value?.errors?.[0].extensions).toEqual({ statusCode: 404, code: 'NOT_FOUND', message: 'Workspace not found' });
        const audit = await new Subscription(socket, 'subscription { auditEventRecorded { id } }').next();
        expect(audit.value?.errors?.[0].extensions.code).toBe('FORBIDDEN');
        const invalid = new Subscription(socket, 'subscription { auditEventRecorded { nope } }').next();
        await expect(invalid).rejects.toEqual([
          expect.objectContaining({ extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }) }),
        ]);
      } finally {
        await socket.dispose();
      }
    });

    it('streams audit events to instance administrators as they are recorded', async () => {
      const socket = gql.socket({ authorization: `Bearer ${admin.accessToken}` });
      try {
        const subscribed = nextSubscriptionTo(testApp.app, 'audit-event-recorded');
        const feed = new Subscription(socket, 'subscription { auditEventRecorded { action actorUserId metadata createdAt } }');
        const first = feed.next();
        await subscribed;
        await api.post('/api/v1/auth/login', { email: 'viewer@example.com', password: 'wrong password!' });
        // Anything else the app audits meanwhile (a maintenance run) may come first.
        let event = (await first).value?.data?.auditEventRecorded;
        while (event?.action !== 'LoginFailed') event = (await feed.next()).value?.data?.auditEventRecorded;
        expect(event).toEqual({
          action: 'LoginFailed',
          actorUserId: viewer.user.id,
          metadata: { email: 'viewer@example.com' },
          createdAt: expect.stringMatching(/^\d{4}-/),
        });
        await feed.close();
      } finally {
        await socket.dispose();
      }
    });

    it('closes a connection whose credential is forged, missing or for a foreign workspace', async () => {
      const forged = await gql.handshake({ authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.forged' });
      expect(forged).toMatchObject({ acknowledged: false, code: 4401 });
      expect(forged.reason).toMatch(/^AUTH_INVALID_TOKEN: /);
      const badKey = await gql.handshake({ 'x-api-key': 'gk_notarealkey_0000000000000000000000000000000000' });
      expect(badKey).toMatchObject({ acknowledged: false, code: 4401 });
      expect(badKey.reason).toMatch(/^AUTH_INVALID_API_KEY: /);
      const none = await gql.handshake({});
      expect(none).toMatchObject({ acknowledged: false, code: 4401 });
      expect(none.reason).toMatch(/^UNAUTHENTICATED: /);
      const foreign = await gql.handshake({ authorization: `Bearer ${viewer.accessToken}`, 'x-workspace-id': outsider.workspaceId });
      expect(foreign).toMatchObject({ acknowledged: false, code: 4400, reason: 'NOT_FOUND: Workspace not found' });
      expect(await gql.handshake({ Authorization: `Bearer ${viewer.accessToken}` })).toEqual({ acknowledged: true });
      const key = await gql.request('mutation { createApiKey(input: { name: "socket" }) { key } }', {}, { token: admin.accessToken });
      expect(await gql.handshake({ 'x-api-key': key.data.createApiKey.key })).toEqual({ acknowledged: true });
    });
  });

  async function freshToken(account: Account): Promise<string> {
    const login = await api.post('/api/v1/auth/login', { email: account.user.email, password: account.password });
    return login.body.accessToken as string;
  }
});

describe('GraphQL by configuration', () => {
  const secret = { JWT_SECRET: randomBytes(32).toString('base64url') };

  it('in development, serves the GraphiQL page at /graphql', async () => {
    const testApp = await startTestApp({ env: { NODE_ENV: 'development' } });
    try {
      const page = await fetch(`${testApp.baseUrl}/graphql`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      expect(await page.text()).toMatch(/graphiql/i);
    } finally {
      await testApp.close();
    }
  });

  it('meters operations sent over a WebSocket like requests: a socket is no way around the rate limit', async () => {
    const testApp = await startTestApp({ env: { RATE_LIMIT_AUTHENTICATED_PER_HOUR: '3' } });
    const account = await new ApiClient(testApp.baseUrl).register('metered@example.com'); // its `me` call is the first unit
    const socket = new GraphqlClient(testApp.baseUrl).socket({ authorization: `Bearer ${account.accessToken}` });
    try {
      const codes: unknown[] = [];
      for (let attempt = 0; attempt < 3; attempt++) {
        const result = await new Subscription(socket, '{ me { workspaceId } }').next();
        codes.push(result.value?.errors?.[0].extensions.code ?? 'ok');
      }
      expect(codes).toEqual(['ok', 'ok', 'RATE_LIMITED']);
    } finally {
      await socket.dispose();
      await testApp.close();
    }
  });

  it('in production, refuses introspection and gives no schema hints', async () => {
    const testApp = await startTestApp({ env: { NODE_ENV: 'production', ...secret } });
    try {
      const gql = new GraphqlClient(testApp.baseUrl);
      const introspection = await gql.request('{ __schema { types { name } } }');
      expect(introspection.errors?.[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');
      const typo = await gql.request('{ mee { workspaceId } }');
      expect(typo.errors?.[0].message).not.toMatch(/did you mean/i);
      const page = await fetch(`${testApp.baseUrl}/graphql`, { headers: { accept: 'text/html' } });
      expect(await page.text()).not.toMatch(/graphiql/i);
    } finally {
      await testApp.close();
    }
  });
});

describe('GraphQL subscriptions across replicas (Redis pub/sub)', () => {
  const env = { JWT_SECRET: randomBytes(32).toString('base64url'), REDIS_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:` };
  let database: Awaited<ReturnType<typeof createScratchDatabase>>;
  let first: TestApp;
  let second: TestApp;
  let redis: Redis;

  beforeAll(async () => {
    database = await createScratchDatabase();
    // One database, one Redis, one JWT secret: two replicas of the same deployment.
    first = await startTestApp({ redis: true, env: { ...env, DATABASE_URL: database.url } });
    second = await startTestApp({ redis: true, env: { ...env, DATABASE_URL: database.url } });
    redis = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
    await database?.drop();
    redis?.disconnect();
  });

  it('delivers an event published on one replica to a subscriber on the other', async () => {
    const api = new ApiClient(first.baseUrl);
    const owner = await api.register('owner@example.com');
    const member = await api.register('member@example.com');
    const team = await api.post('/api/v1/workspaces', { name: 'Shared' }, { token: owner.accessToken });

    const socket = new GraphqlClient(second.baseUrl).socket({ authorization: `Bearer ${owner.accessToken}` });
    try {
      const subscribed = nextSubscriptionTo(second.app, 'workspace-member-changed');
      const feed = new Subscription(socket, MEMBER_CHANGED, { workspaceId: team.body.id });
      const next = feed.next();
      await subscribed;
      const channel = `${env.REDIS_KEY_PREFIX}pubsub:workspace-member-changed:${team.body.id as string}`;
      await expect.poll(async () => (await redis.pubsub('NUMSUB', channel))[1], { timeout: 10_000 }).toBe(1);

      const added = await api.post(
        `/api/v1/workspaces/${team.body.id}/members`,
        { email: 'member@example.com', role: 'viewer' },
        { token: owner.accessToken },
      );
      expect(added.status).toBe(201);
      const { value } = await next;
      expect(value?.data?.workspaceMemberChanged).toMatchObject({
        change: 'Added',
        userId: member.user.id,
        role: 'Viewer',
        workspaceId: team.body.id,
      });
      await feed.close();
    } finally {
      await socket.dispose();
    }
  });
});
