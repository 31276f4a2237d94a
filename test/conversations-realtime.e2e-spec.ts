import { io, Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodePool } from 'src/modules/model-router/node-pool';
import { GraphqlClient, nextSubscriptionTo, Subscription } from 'test/support/graphql';
import { ApiClient } from 'test/support/http';
import { OllamaTestServer } from 'test/support/ollama-test-server';
import { startTestApp, TestApp } from 'test/support/test-app';

const FAST = 'llama3.2:3b';

/** Every socket a test opens, closed after each test. */
const opened: Socket[] = [];

interface Recorded {
  event: string;
  payload: any;
}

/** Records every `conversation:*` event a socket receives, in order. */
function recordConversationEvents(socket: Socket): Recorded[] {
  const seen: Recorded[] = [];
  socket.onAny((event: string, payload: unknown) => {
    if (event.startsWith('conversation:')) seen.push({ event, payload });
  });
  return seen;
}

async function until(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const ended = (events: Recorded[]) => events.some((e) => e.event === 'conversation:done' || e.event === 'conversation:error');

// Redis carries both fan-outs (Socket.IO adapter, GraphQL pub/sub), as between replicas in production.
describe('conversations over Socket.IO and GraphQL', () => {
  let node: OllamaTestServer;
  let testApp: TestApp;
  let api: ApiClient;
  let gql: GraphqlClient;
  let owner: Awaited<ReturnType<ApiClient['register']>>;
  let other: Awaited<ReturnType<ApiClient['register']>>;

  const connect = async (token: string, workspaceId?: string): Promise<Socket> => {
    const socket = io(`${testApp.baseUrl}/realtime`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token, ...(workspaceId && { workspaceId }) },
    });
    opened.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return socket;
  };

  const newConversation = async (token: string, body: Record<string, unknown> = { model: FAST }) => {
    const created = await api.post('/api/v1/conversations', body, { token });
    expect(created.status).toBe(201);
    return created.body.id as string;
  };

  beforeAll(async () => {
    node = await new OllamaTestServer({ models: [FAST] }).start();
    testApp = await startTestApp({ redis: true, env: { OLLAMA_URLS: node.url, ROUTER_CIRCUIT_FAILURE_THRESHOLD: '1000' } });
    api = new ApiClient(testApp.baseUrl);
    gql = new GraphqlClient(testApp.baseUrl);
    const pool = testApp.app.get(NodePool);
    await until(() => pool.nodes.every((n) => n.healthy));
    owner = await api.register('owner@example.com');
    other = await api.register('other@example.com');
  });
  afterAll(async () => {
    await testApp?.close();
    await node?.stop();
  });
  afterEach(() => {
    opened.splice(0).forEach((socket) => socket.disconnect());
    Object.assign(node.faults, { dropAfterChunks: undefined, interChunkDelayMs: 0 });
  });

  describe('Socket.IO', () => {
    it('chats: the ack names both messages, then message, route, tokens and done reach the conversation room', async () => {
      const conversationId = await newConversation(owner.accessToken);
      const sender = await connect(owner.accessToken);
      const watcher = await connect(owner.accessToken);
      const outsider = await connect(other.accessToken);
      const sent = recordConversationEvents(sender);
      const watched = recordConversationEvents(watcher);
      const overheard = recordConversationEvents(outsider);
      expect(await watcher.timeout(5_000).emitWithAck('conversation:join', { conversationId })).toEqual({
        ok: true,
        data: { conversationId },
      });

      const ack = await sender.timeout(5_000).emitWithAck('conversation:send', { conversationId, content: 'over the socket' });
      expect(ack).toEqual({ ok: true, data: { userMessageId: expect.any(String), assistantMessageId: expect.any(String) } });
      await until(() => ended(sent) && ended(watched));

      expect(sent.map((e) => e.event)).toEqual([
        'conversation:message',
        'conversation:route',
        'conversation:token',
        'conversation:token',
        'conversation:token',
        'conversation:done',
      ]);
      expect(watched).toEqual(sent);
      const { assistantMessageId, userMessageId } = ack.data;
      expect(sent[0].payload).toMatchObject({
        conversationId,
        messageId: assistantMessageId,
        userMessage: { id: userMessageId, content: 'over the socket' },
      });
      expect(
        sent
          .slice(2, 5)
          .map((e) => e.payload.delta)
          .join(''),
      ).toBe('over the socket');
      expect(sent[5].payload.message).toMatchObject({
        id: assistantMessageId,
        status: 'complete',
        content: 'over the socket',
        usage: { completionTokens: 3 },
      });
      expect(overheard).toEqual([]);

      const stored = await api.get(`/api/v1/conversations/${conversationId}/messages`, { token: owner.accessToken });
      expect(stored.body.map((m: { id: string; status: string }) => [m.id, m.status])).toEqual([
        [userMessageId, 'complete'],
        [assistantMessageId, 'complete'],
      ]);
    });

    it('reports an interruption as conversation:error with the incomplete answer', async () => {
      const conversationId = await newConversation(owner.accessToken);
      const sender = await connect(owner.accessToken);
      const events = recordConversationEvents(sender);
      Object.assign(node.faults, { dropAfterChunks: 1, interChunkDelayMs: 30 });
      const ack = await sender.timeout(5_000).emitWithAck('conversation:send', { conversationId, content: 'one two three' });
      expect(ack.ok).toBe(true);
      await until(() => ended(events));
      const last = events[events.length - 1];
      expect(last).toMatchObject({
        event: 'conversation:error',
        payload: {
          messageId: ack.data.assistantMessageId,
          error: { code: 'ROUTER_STREAM_INTERRUPTED' },
          message: { status: 'incomplete', content: 'one' },
        },
      });
    });

    it("refuses another user's conversation, unknown models, missing permissions and malformed requests through the ack", async () => {
      const theirs = await newConversation(other.accessToken);
      const mine = await newConversation(owner.accessToken);
      const socket = await connect(owner.accessToken);
      const events = recordConversationEvents(socket);
      const refused = (response: any, code: string) => expect(response).toMatchObject({ ok: false, error: { code } });

      refused(await socket.timeout(5_000).emitWithAck('conversation:join', { conversationId: theirs }), 'CONVERSATION_NOT_FOUND');
      refused(
        await socket.timeout(5_000).emitWithAck('conversation:send', { conversationId: theirs, content: 'hi' }),
        'CONVERSATION_NOT_FOUND',
      );
      refused(
        await socket.timeout(5_000).emitWithAck('conversation:send', { conversationId: mine, content: 'hi', model: 'nope:1b' }),
        'MODEL_NOT_FOUND',
      );
      refused(await socket.timeout(5_000).emitWithAck('conversation:send', { conversationId: mine, content: '' }), 'VALIDATION_FAILED');
      refused(await socket.timeout(5_000).emitWithAck('conversation:send', { conversationId: 'x', content: 'hi' }), 'VALIDATION_FAILED');
      refused(
        await socket.timeout(5_000).emitWithAck('conversation:send', { conversationId: mine, content: 'hi', extra: 1 }),
        'VALIDATION_FAILED',
      );

      const key = await api.post(
        '/api/v1/api-keys',
        { name: 'read only', permissions: ['conversation.read'] },
        { token: owner.accessToken },
      );
      const readOnly = await connect(key.body.key);
      refused(await readOnly.timeout(5_000).emitWithAck('conversation:send', { conversationId: mine, content: 'hi' }), 'FORBIDDEN');
      expect(await readOnly.timeout(5_000).emitWithAck('conversation:join', { conversationId: mine })).toMatchObject({ ok: true });

      const stored = await api.get(`/api/v1/conversations/${mine}/messages`, { token: owner.accessToken });
      expect(stored.body).toEqual([]);
      expect(events).toEqual([]);
      expect(socket.connected).toBe(true);
    });
  });

  describe('GraphQL', () => {
    const EVENTS = `subscription($id: ID!) {
      conversationTokens(conversationId: $id) {
        type conversationId messageId delta routing
        message { id role content status usage { promptTokens completionTokens } error { code } }
        error { statusCode code message }
      }
    }`;

    it('chats: sendMessage answers at once, the subscription streams the answer, and the query shows it stored', async () => {
      const created = await gql.request(
        'mutation { createConversation(input: { model: "llama3.2:3b", title: "Over GraphQL" }) { id title model messageCount } }',
        {},
        { token: owner.accessToken },
      );
      expect(created.errors).toBeUndefined();
      const conversationId = created.data.createConversation.id;
      expect(created.data.createConversation).toMatchObject({ title: 'Over GraphQL', model: FAST, messageCount: 0 });

      const socket = gql.socket({ authorization: `Bearer ${owner.accessToken}` });
      try {
        const subscribed = nextSubscriptionTo(testApp.app, 'conversation-stream');
        const feed = new Subscription(socket, EVENTS, { id: conversationId });
        const first = feed.next();
        await subscribed;

        const sent = await gql.request(
          'mutation($id: ID!) { sendMessage(conversationId: $id, input: { content: "graph ql works" }) { assistantMessageId userMessage { id role content status sequence } } }',
          { id: conversationId },
          { token: owner.accessToken },
        );
        expect(sent.errors).toBeUndefined();
        const { assistantMessageId, userMessage } = sent.data.sendMessage;
        expect(userMessage).toMatchObject({ role: 'user', content: 'graph ql works', status: 'complete', sequence: 1 });

        const events = [(await first).value?.data?.conversationTokens];
        while (!['done', 'error'].includes(events[events.length - 1]?.type))
          events.push((await feed.next()).value?.data?.conversationTokens);
        expect(events.map((e) => e.type)).toEqual(['message', 'route', 'token', 'token', 'token', 'done']);
        expect(events.every((e) => e.conversationId === conversationId && e.messageId === assistantMessageId)).toBe(true);
        expect(events[0].message).toMatchObject({ id: userMessage.id, role: 'user' });
        expect(events[1].routing).toMatchObject({ model: FAST, via: 'name' });
        expect(
          events
            .slice(2, 5)
            .map((e) => e.delta)
            .join(''),
        ).toBe('graph ql works');
        expect(events[5].message).toMatchObject({ id: assistantMessageId, status: 'complete', content: 'graph ql works', error: null });

        // A turn started over REST reaches the same subscribers.
        const rest = await api.post(
          `/api/v1/conversations/${conversationId}/messages`,
          { content: 'from rest' },
          { token: owner.accessToken },
        );
        expect(rest.status).toBe(200);
        const next = (await feed.next()).value?.data?.conversationTokens;
        expect(next).toMatchObject({ type: 'message', messageId: rest.body.assistantMessage.id, message: { content: 'from rest' } });
        await feed.close();
      } finally {
        await socket.dispose();
      }

      const read = await gql.request(
        'query($id: ID!) { conversation(id: $id) { id title messageCount messages(limit: 2) { role content status usage { completionTokens } } } }',
        { id: conversationId },
        { token: owner.accessToken },
      );
      expect(read.errors).toBeUndefined();
      expect(read.data.conversation).toMatchObject({
        id: conversationId,
        title: 'Over GraphQL',
        messageCount: 4,
        messages: [
          { role: 'user', content: 'from rest', status: 'complete', usage: null },
          { role: 'assistant', content: 'from rest', status: 'complete', usage: { completionTokens: 2 } },
        ],
      });
      const listed = await gql.request('{ conversations(limit: 50) { id } }', {}, { token: owner.accessToken });
      expect(listed.data.conversations.map((c: { id: string }) => c.id)).toContain(conversationId);

      const deleted = await gql.request(
        'mutation($id: ID!) { deleteConversation(id: $id) }',
        { id: conversationId },
        { token: owner.accessToken },
      );
      expect(deleted.data).toEqual({ deleteConversation: true });
    });

    it("refuses another user's conversation everywhere, and bad input, storing nothing", async () => {
      const theirs = await newConversation(other.accessToken);
      const notFound = (response: { errors?: { extensions: Record<string, unknown> }[] }) =>
        expect(response.errors?.[0].extensions).toMatchObject({ statusCode: 404, code: 'CONVERSATION_NOT_FOUND' });
      const as = { token: owner.accessToken };

      notFound(await gql.request('query($id: ID!) { conversation(id: $id) { id } }', { id: theirs }, as));
      notFound(await gql.request('mutation($id: ID!) { deleteConversation(id: $id) }', { id: theirs }, as));
      notFound(await gql.request('mutation($id: ID!) { updateConversation(id: $id, input: { title: "x" }) { id } }', { id: theirs }, as));
      notFound(
        await gql.request(
          'mutation($id: ID!) { sendMessage(conversationId: $id, input: { content: "hi" }) { assistantMessageId } }',
          { id: theirs },
          as,
        ),
      );

      const socket = gql.socket({ authorization: `Bearer ${owner.accessToken}` });
      try {
        const foreign = await new Subscription(socket, EVENTS, { id: theirs }).next();
        expect(foreign.value?.errors?.[0].extensions).toMatchObject({ statusCode: 404, code: 'CONVERSATION_NOT_FOUND' });
      } finally {
        await socket.dispose();
      }

      const mine = await newConversation(owner.accessToken);
      const send = (input: string) =>
        gql.request(`mutation($id: ID!) { sendMessage(conversationId: $id, input: ${input}) { assistantMessageId } }`, { id: mine }, as);
      expect((await send('{ content: "  " }')).errors?.[0].extensions.code).toBe('VALIDATION_FAILED');
      expect((await send('{ content: "hi", model: "unknown:9b" }')).errors?.[0].extensions.code).toBe('MODEL_NOT_FOUND');
      expect((await send('{ content: "hi", temperature: -1 }')).errors?.[0].extensions.code).toBe('VALIDATION_FAILED');
      const badId = await gql.request('query { conversation(id: "not-a-uuid") { id } }', {}, as);
      expect(badId.errors?.[0].extensions.code).toBe('VALIDATION_FAILED');
      const bigPage = await gql.request('query($id: ID!) { conversation(id: $id) { messages(limit: 1000) { id } } }', { id: mine }, as);
      expect(bigPage.errors?.[0].extensions.code).toBe('VALIDATION_FAILED');

      expect((await api.get(`/api/v1/conversations/${mine}/messages`, as)).body).toEqual([]);
      expect((await api.get(`/api/v1/conversations/${theirs}/messages`, { token: other.accessToken })).body).toEqual([]);
    });
  });
});
