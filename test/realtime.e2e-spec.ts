import { randomBytes, randomUUID } from 'node:crypto';
import { io, Socket } from 'socket.io-client';
import { RealtimeService } from 'src/modules/realtime/realtime.service';
import { ApiClient } from 'test/support/http';
import { createScratchDatabase, startTestApp, TestApp } from 'test/support/test-app';
import { appSecret, decodeClaims, signToken, unsignedToken } from 'test/support/tokens';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

interface ConnectOptions {
  auth?: Record<string, unknown>;
  headers?: Record<string, string>;
}

/** Every socket a test opens, closed after each test so no test leaks connections. */
const opened: Socket[] = [];

function socketTo(baseUrl: string, options: ConnectOptions = {}, namespace = '/realtime'): Socket {
  // Websocket only: a clash with another upgrade handler on the server shows up here.
  const socket = io(`${baseUrl}${namespace}`, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    auth: options.auth ?? {},
    extraHeaders: options.headers,
  });
  opened.push(socket);
  return socket;
}

async function connect(baseUrl: string, options: ConnectOptions = {}): Promise<Socket> {
  const socket = socketTo(baseUrl, options);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('connect_error', (error) => reject(new Error(`connect failed: ${error.message} ${JSON.stringify((error as any).data)}`)));
  });
  return socket;
}

async function refusal(baseUrl: string, options: ConnectOptions = {}, namespace?: string): Promise<{ message: string; data: any }> {
  const socket = socketTo(baseUrl, options, namespace);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => reject(new Error('connected, expected a refusal')));
    socket.once('connect_error', (error) => resolve({ message: error.message, data: (error as any).data }));
  });
}

function next<T = any>(socket: Socket, event: string, timeoutMs = 5_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${timeoutMs} ms`)), timeoutMs);
    socket.once(event, (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

/** Collects every event of a name, to assert later that something did NOT arrive. */
function record(socket: Socket, event: string): unknown[] {
  const seen: unknown[] = [];
  socket.on(event, (payload: unknown) => seen.push(payload));
  return seen;
}

/** A round trip on each socket: anything emitted to them before this call has arrived by now. */
async function settle(...sockets: Socket[]): Promise<void> {
  await Promise.all(sockets.filter((socket) => socket.connected).map((socket) => socket.timeout(5_000).emitWithAck('ping', {})));
}

afterEach(() => {
  opened.splice(0).forEach((socket) => socket.disconnect());
});

describe('realtime (embedded database)', () => {
  let testApp: TestApp;
  let api: ApiClient;
  let admin: Awaited<ReturnType<ApiClient['register']>>;

  beforeAll(async () => {
    testApp = await startTestApp();
    api = new ApiClient(testApp.baseUrl);
    admin = await api.register('admin@example.com');
  });
  afterAll(() => testApp?.close());

  it('connects with a JWT in auth.token and answers ping with the server time', async () => {
    const socket = await connect(testApp.baseUrl, { auth: { token: admin.accessToken } });
    const before = Date.now();
    const response = await socket.timeout(5_000).emitWithAck('ping', { clientTime: before });
    expect(response.ok).toBe(true);
    expect(response.data.clientTime).toBe(before);
    expect(Date.parse(response.data.serverTime)).toBeGreaterThanOrEqual(before - 1_000);
  });

  it('connects with a JWT in the Authorization header and with an API key (auth.token and X-API-Key)', async () => {
    await connect(testApp.baseUrl, { headers: { authorization: `Bearer ${admin.accessToken}` } });
    const key = await api.post('/api/v1/api-keys', { name: 'socket' }, { token: admin.accessToken });
    expect(key.status).toBe(201);
    const viaAuth = await connect(testApp.baseUrl, { auth: { token: key.body.key } });
    const viaHeader = await connect(testApp.baseUrl, { headers: { 'x-api-key': key.body.key } });
    expect((await viaAuth.timeout(5_000).emitWithAck('ping', {})).ok).toBe(true);
    expect((await viaHeader.timeout(5_000).emitWithAck('ping', {})).ok).toBe(true);
  });

  it('refuses a handshake without a credential, with the error shape in err.data', async () => {
    const refused = await refusal(testApp.baseUrl);
    expect(refused.data).toEqual({ statusCode: 401, code: 'UNAUTHENTICATED', message: refused.message });
  });

  it('lets nobody into the main namespace or an unknown one', async () => {
    const root = await refusal(testApp.baseUrl, { auth: { token: admin.accessToken } }, '/');
    expect(root.data).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });
    expect((await refusal(testApp.baseUrl, { auth: { token: admin.accessToken } }, '/admin')).message).toBe('Invalid namespace');
  });

  it('refuses forged, expired, unsigned and malformed tokens', async () => {
    const claims = decodeClaims(admin.accessToken);
    const secret = appSecret(testApp.dataDir);
    const standard = { sub: claims.sub, sid: claims.sid, iss: claims.iss, aud: claims.aud };
    const forged = signToken('a-completely-different-secret-that-is-long-enough', {
      ...standard,
      exp: Math.floor(Date.now() / 1000) + 600,
    });
    const expired = signToken(secret, { ...standard, exp: Math.floor(Date.now() / 1000) - 60 });
    const unsigned = unsignedToken({ ...standard, exp: Math.floor(Date.now() / 1000) + 600 });

    expect((await refusal(testApp.baseUrl, { auth: { token: forged } })).data.code).toBe('AUTH_INVALID_TOKEN');
    expect((await refusal(testApp.baseUrl, { auth: { token: expired } })).data).toMatchObject({
      statusCode: 401,
      code: 'AUTH_TOKEN_EXPIRED',
    });
    expect((await refusal(testApp.baseUrl, { auth: { token: unsigned } })).data.code).toBe('AUTH_INVALID_TOKEN');
    expect((await refusal(testApp.baseUrl, { auth: { token: 42 } })).data.code).toBe('AUTH_INVALID_TOKEN');
    expect((await refusal(testApp.baseUrl, { auth: { token: 'x'.repeat(5_000) } })).data.code).toBe('AUTH_INVALID_TOKEN');
    expect((await refusal(testApp.baseUrl, { headers: { authorization: 'Basic abc' } })).data.code).toBe('AUTH_INVALID_TOKEN');
    expect((await refusal(testApp.baseUrl, { auth: { token: 'gai_notARealKey_x' } })).data.code).toBe('AUTH_INVALID_API_KEY');
  });

  it("refuses another user's workspace as not found, and a malformed workspace id", async () => {
    const other = await api.register('other-workspace@example.com');
    const refused = await refusal(testApp.baseUrl, { auth: { token: admin.accessToken, workspaceId: other.workspaceId } });
    expect(refused.data).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });
    const viaHeader = await refusal(testApp.baseUrl, {
      auth: { token: admin.accessToken },
      headers: { 'x-workspace-id': other.workspaceId },
    });
    expect(viaHeader.data.code).toBe('NOT_FOUND');
    expect((await refusal(testApp.baseUrl, { auth: { token: admin.accessToken, workspaceId: "'; drop table" } })).data.code).toBe(
      'NOT_FOUND',
    );
    expect((await refusal(testApp.baseUrl, { auth: { token: admin.accessToken, workspaceId: 7 } })).data.code).toBe('VALIDATION_FAILED');
  });

  it('answers invalid ping payloads in the ack with the error shape', async () => {
    const socket = await connect(testApp.baseUrl, { auth: { token: admin.accessToken } });
    const wrongType = await socket.timeout(5_000).emitWithAck('ping', { clientTime: 'soon' });
    expect(wrongType).toMatchObject({ ok: false, error: { statusCode: 400, code: 'VALIDATION_FAILED' } });
    const unknownField = await socket.timeout(5_000).emitWithAck('ping', { clientTime: 1, isAdmin: true });
    expect(unknownField.ok).toBe(false);
    expect(unknownField.error.message).toContain('isAdmin');
    const notAnObject = await socket.timeout(5_000).emitWithAck('ping', 'hello');
    expect(notAnObject).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
    // The connection survives bad input.
    expect((await socket.timeout(5_000).emitWithAck('ping', {})).ok).toBe(true);
  });

  it('closes a connection that sends a message over the size limit', async () => {
    const socket = await connect(testApp.baseUrl, { auth: { token: admin.accessToken } });
    const closed = next<string>(socket, 'disconnect');
    socket.emit('ping', { clientTime: 1, padding: 'x'.repeat(100 * 1024) });
    expect(await closed).toBe('transport close');
  });

  it('answers a message flood with RATE_LIMITED instead of processing it', async () => {
    const socket = await connect(testApp.baseUrl, { auth: { token: admin.accessToken } });
    const responses = await Promise.all(Array.from({ length: 60 }, () => socket.timeout(5_000).emitWithAck('ping', {})));
    const limited = responses.filter((response) => !response.ok);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0].error).toMatchObject({ statusCode: 429, code: 'RATE_LIMITED' });
  });

  it("delivers user events to every connection of that user and to nobody else's", async () => {
    const bob = await api.register('bob-user-room@example.com');
    const eve = await api.register('eve-user-room@example.com');
    const bobPhone = await connect(testApp.baseUrl, { auth: { token: bob.accessToken } });
    const bobLaptop = await connect(testApp.baseUrl, { auth: { token: bob.accessToken } });
    const eveSocket = await connect(testApp.baseUrl, { auth: { token: eve.accessToken } });
    const eveSeen = record(eveSocket, 'session.revoked');
    const onPhone = next(bobPhone, 'session.revoked');
    const onLaptop = next(bobLaptop, 'session.revoked');

    const payload = { reason: 'account-suspended' as never, message: 'test push' };
    testApp.app.get(RealtimeService).emitToUser(bob.user.id, 'session.revoked', payload);

    expect(await onPhone).toEqual(payload);
    expect(await onLaptop).toEqual(payload);
    await settle(eveSocket);
    expect(eveSeen).toEqual([]);
  });

  it("disconnects a suspended user's sockets with the reason, and refuses them afterwards", async () => {
    const mallory = await api.register('mallory-suspended@example.com');
    const bystander = await api.register('bystander@example.com');
    const socket = await connect(testApp.baseUrl, { auth: { token: mallory.accessToken } });
    const other = await connect(testApp.baseUrl, { auth: { token: bystander.accessToken } });
    const revoked = next(socket, 'session.revoked');
    const disconnected = next<string>(socket, 'disconnect');

    const suspended = await api.post(`/api/v1/admin/users/${mallory.user.id}/suspend`, undefined, { token: admin.accessToken });
    expect(suspended.status).toBe(200);

    expect(await revoked).toEqual({ reason: 'account-suspended', message: 'This account has been suspended' });
    expect(await disconnected).toBe('io server disconnect');
    expect(other.connected).toBe(true);
    const again = await refusal(testApp.baseUrl, { auth: { token: mallory.accessToken } });
    expect(again.data.statusCode).toBe(401);
  });

  it("disconnects a session's sockets on logout, and only that session's", async () => {
    const carol = await api.register('carol-logout@example.com');
    const otherLogin = await api.post('/api/v1/auth/login', { email: 'carol-logout@example.com', password: carol.password });
    const loggingOut = await connect(testApp.baseUrl, { auth: { token: carol.accessToken } });
    const stays = await connect(testApp.baseUrl, { auth: { token: otherLogin.body.accessToken } });
    const revoked = next(loggingOut, 'session.revoked');
    const disconnected = next<string>(loggingOut, 'disconnect');

    expect((await api.post('/api/v1/auth/logout', undefined, { token: carol.accessToken })).status).toBe(204);

    expect(await revoked).toEqual({ reason: 'session-ended', message: 'The session of this connection has ended; sign in again' });
    expect(await disconnected).toBe('io server disconnect');
    await settle(stays);
    expect(stays.connected).toBe(true);
  });

  it("disconnects only the revoked API key's sockets", async () => {
    const owner = await api.register('key-owner@example.com');
    const key = await api.post('/api/v1/api-keys', { name: 'short-lived' }, { token: owner.accessToken });
    const keySocket = await connect(testApp.baseUrl, { auth: { token: key.body.key } });
    const sessionSocket = await connect(testApp.baseUrl, { auth: { token: owner.accessToken } });
    const sessionSeen = record(sessionSocket, 'session.revoked');
    const revoked = next(keySocket, 'session.revoked');
    const disconnected = next<string>(keySocket, 'disconnect');

    expect((await api.delete(`/api/v1/api-keys/${key.body.id}`, { token: owner.accessToken })).status).toBe(204);

    expect(await revoked).toMatchObject({ reason: 'api-key-revoked' });
    expect(await disconnected).toBe('io server disconnect');
    await settle(sessionSocket);
    expect(sessionSocket.connected).toBe(true);
    expect(sessionSeen).toEqual([]);
    expect((await refusal(testApp.baseUrl, { auth: { token: key.body.key } })).data).toMatchObject({ code: 'AUTH_INVALID_API_KEY' });
  });

  it('pushes member changes to the workspace only, to holders of member.read, and cuts the changed member loose', async () => {
    const owner = await api.register('ws-owner@example.com');
    const joiner = await api.register('ws-joiner@example.com');
    const outsider = await api.register('ws-outsider@example.com');
    const narrowKey = await api.post(
      '/api/v1/api-keys',
      { name: 'no member.read', permissions: ['workspace.read'] },
      { token: owner.accessToken },
    );
    expect(narrowKey.status).toBe(201);

    const ownerSocket = await connect(testApp.baseUrl, { auth: { token: owner.accessToken } });
    const narrowSocket = await connect(testApp.baseUrl, { auth: { token: narrowKey.body.key } });
    const outsiderSocket = await connect(testApp.baseUrl, { auth: { token: outsider.accessToken } });
    const narrowSeen = record(narrowSocket, 'workspace.member.changed');
    const outsiderSeen = record(outsiderSocket, 'workspace.member.changed');

    const added = next(ownerSocket, 'workspace.member.changed');
    const response = await api.post(
      `/api/v1/workspaces/${owner.workspaceId}/members`,
      { email: joiner.user.email, role: 'viewer' },
      { token: owner.accessToken },
    );
    expect(response.status).toBe(201);
    expect(await added).toMatchObject({
      workspaceId: owner.workspaceId,
      userId: joiner.user.id,
      change: 'added',
      role: 'viewer',
      changedBy: owner.user.id,
    });

    // The joiner, connected in the owner's workspace and in their own, has their role changed.
    const joinerInOwners = await connect(testApp.baseUrl, { auth: { token: joiner.accessToken, workspaceId: owner.workspaceId } });
    const joinerAtHome = await connect(testApp.baseUrl, { auth: { token: joiner.accessToken, workspaceId: joiner.workspaceId } });
    const homeRevocations = record(joinerAtHome, 'session.revoked');
    const changeSeenByJoiner = next(joinerInOwners, 'workspace.member.changed');
    const revoked = next(joinerInOwners, 'session.revoked');
    const cut = next<string>(joinerInOwners, 'disconnect');
    const roleChanged = next(ownerSocket, 'workspace.member.changed');
    const put = await api.put(
      `/api/v1/workspaces/${owner.workspaceId}/members/${joiner.user.id}/role`,
      { role: 'member' },
      { token: owner.accessToken },
    );
    expect(put.status).toBe(200);

    expect(await roleChanged).toMatchObject({ change: 'role-changed', role: 'member', userId: joiner.user.id });
    expect(await changeSeenByJoiner).toMatchObject({ change: 'role-changed' });
    expect(await revoked).toMatchObject({ reason: 'workspace-access-changed' });
    expect(await cut).toBe('io server disconnect');

    await settle(ownerSocket, narrowSocket, outsiderSocket, joinerAtHome);
    expect(joinerAtHome.connected).toBe(true);
    expect(homeRevocations).toEqual([]);
    expect(narrowSeen).toEqual([]);
    expect(outsiderSeen).toEqual([]);
  });
});

describe('realtime across two replicas sharing Redis and PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof createScratchDatabase>>;
  let replicaA: TestApp;
  let replicaB: TestApp;
  let apiA: ApiClient;
  let admin: Awaited<ReturnType<ApiClient['register']>>;

  beforeAll(async () => {
    database = await createScratchDatabase();
    const env = {
      DATABASE_URL: database.url,
      JWT_SECRET: randomBytes(48).toString('base64url'),
      REDIS_KEY_PREFIX: `test:${randomUUID().slice(0, 8)}:`,
    };
    // One after the other: the first one runs the migrations.
    replicaA = await startTestApp({ redis: true, env });
    replicaB = await startTestApp({ redis: true, env });
    apiA = new ApiClient(replicaA.baseUrl);
    admin = await apiA.register('replica-admin@example.com');
  });
  afterAll(async () => {
    await replicaB?.close();
    await replicaA?.close();
    await database?.drop();
  });

  it('delivers an event emitted on replica A to a client connected to replica B', async () => {
    const owner = await apiA.register('replica-owner@example.com');
    const joiner = await apiA.register('replica-joiner@example.com');
    const onB = await connect(replicaB.baseUrl, { auth: { token: owner.accessToken } });
    const onA = await connect(replicaA.baseUrl, { auth: { token: owner.accessToken } });
    const fromB = next(onB, 'workspace.member.changed');
    const fromA = next(onA, 'workspace.member.changed');

    const added = await apiA.post(
      `/api/v1/workspaces/${owner.workspaceId}/members`,
      { email: joiner.user.email, role: 'viewer' },
      { token: owner.accessToken },
    );
    expect(added.status).toBe(201);

    expect(await fromB).toMatchObject({ change: 'added', userId: joiner.user.id, workspaceId: owner.workspaceId });
    expect(await fromA).toMatchObject({ change: 'added', userId: joiner.user.id });
  });

  it('disconnects, with the reason, a client on replica B when its user is suspended on replica A', async () => {
    const target = await apiA.register('replica-target@example.com');
    const onB = await connect(replicaB.baseUrl, { auth: { token: target.accessToken } });
    const revoked = next(onB, 'session.revoked');
    const disconnected = next<string>(onB, 'disconnect');

    const suspended = await apiA.post(`/api/v1/admin/users/${target.user.id}/suspend`, undefined, { token: admin.accessToken });
    expect(suspended.status).toBe(200);

    expect(await revoked).toMatchObject({ reason: 'account-suspended' });
    expect(await disconnected).toBe('io server disconnect');
  });
});
