import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ChatGatewayService } from 'src/modules/model-router/gateway/chat-gateway.service';
import { NodePool } from 'src/modules/model-router/node-pool';
import { StaleStreamSweeper } from 'src/modules/conversations/stale-stream.sweeper';
import { DataSource } from 'typeorm';
import { ApiClient } from 'test/support/http';
import { OllamaTestServer } from 'test/support/ollama-test-server';
import { startTestApp, TestApp } from 'test/support/test-app';

const FAST = 'llama3.2:3b';
const MAX_PROMPT_CHARS = 2000;
const MAX_CONTEXT_MESSAGES = 4;

interface StreamEvent {
  event: string;
  data: any;
}

/** Reads server-sent events as they arrive; `stopAfter` lets a test walk away mid-stream. */
async function* readEvents(response: Response): AsyncGenerator<StreamEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const part of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(part, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const raw = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(raw)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(raw)?.[1];
      yield { event, data: data === undefined ? undefined : JSON.parse(data) };
    }
  }
}

describe('conversations (REST and SSE)', () => {
  let node: OllamaTestServer;
  let testApp: TestApp;
  let api: ApiClient;
  let owner: Awaited<ReturnType<ApiClient['register']>>;
  let teammate: Awaited<ReturnType<ApiClient['register']>>;
  let viewer: Awaited<ReturnType<ApiClient['register']>>;
  let teamId: string;

  const streamSend = (conversationId: string, body: unknown, options: { token: string; signal?: AbortSignal; workspaceId?: string }) =>
    fetch(`${testApp.baseUrl}/api/v1/conversations/${conversationId}/messages`, {
      method: 'POST',
      headers: {
        accept: 'text/event-stream',
        'content-type': 'application/json',
        authorization: `Bearer ${options.token}`,
        ...(options.workspaceId && { 'x-workspace-id': options.workspaceId }),
      },
      body: JSON.stringify(body),
      signal: options.signal,
    });

  const collect = async (response: Response) => {
    const events: StreamEvent[] = [];
    for await (const event of readEvents(response)) events.push(event);
    return events;
  };

  const newConversation = async (body: Record<string, unknown> = {}, token = owner.accessToken, workspaceId?: string) => {
    const created = await api.post('/api/v1/conversations', body, { token, workspaceId });
    expect(created.status).toBe(201);
    return created.body as { id: string; title: string | null; model: string; messageCount: number };
  };

  const messagesOf = async (conversationId: string, token = owner.accessToken) => {
    const listed = await api.get(`/api/v1/conversations/${conversationId}/messages`, { token });
    expect(listed.status).toBe(200);
    return listed.body as any[];
  };

  const expectError = (response: { status: number; body: any }, status: number, code: string) => {
    expect(response.status).toBe(status);
    expect(response.body).toMatchObject({ statusCode: status, code });
  };

  beforeAll(async () => {
    node = await new OllamaTestServer({ models: [FAST, 'llama3.1:8b'] }).start();
    testApp = await startTestApp({
      env: {
        OLLAMA_URLS: node.url,
        CHAT_MAX_PROMPT_CHARS: String(MAX_PROMPT_CHARS),
        CONVERSATION_MAX_CONTEXT_MESSAGES: String(MAX_CONTEXT_MESSAGES),
        // Injected node failures must not open the node's circuit for the tests after them.
        ROUTER_CIRCUIT_FAILURE_THRESHOLD: '1000',
      },
    });
    api = new ApiClient(testApp.baseUrl);
    const pool = testApp.app.get(NodePool);
    const deadline = Date.now() + 5_000;
    while (!pool.nodes.every((n) => n.healthy) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));

    owner = await api.register('owner@example.com');
    teammate = await api.register('teammate@example.com');
    viewer = await api.register('viewer@example.com');
    teamId = (await api.post('/api/v1/workspaces', { name: 'Team' }, { token: owner.accessToken })).body.id;
    await api.post(`/api/v1/workspaces/${teamId}/members`, { email: 'teammate@example.com', role: 'member' }, { token: owner.accessToken });
    await api.post(`/api/v1/workspaces/${teamId}/members`, { email: 'viewer@example.com', role: 'viewer' }, { token: owner.accessToken });
  });
  afterAll(async () => {
    await testApp?.close();
    await node?.stop();
  });
  afterEach(() => {
    Object.assign(node.faults, { dropAfterChunks: undefined, interChunkDelayMs: 0, firstTokenDelayMs: 0, status503: false });
    vi.restoreAllMocks();
  });

  describe('CRUD', () => {
    it('creates, lists newest first with a cursor, reads, renames and deletes', async () => {
      const first = await newConversation({ title: '  First  ' });
      expect(first).toMatchObject({
        title: 'First',
        model: 'auto',
        messageCount: 0,
        userId: owner.user.id,
        workspaceId: owner.workspaceId,
      });
      const second = await newConversation({ model: FAST, systemPrompt: 'Answer in French.' });
      expect(second).toMatchObject({ title: null, model: FAST, systemPrompt: 'Answer in French.' });

      const page = await api.get('/api/v1/conversations?limit=1', { token: owner.accessToken });
      expect(page.body.map((c: { id: string }) => c.id)).toEqual([second.id]);
      const next = await api.get(`/api/v1/conversations?limit=1&before=${second.id}`, { token: owner.accessToken });
      expect(next.body.map((c: { id: string }) => c.id)).toEqual([first.id]);

      expect((await api.get(`/api/v1/conversations/${first.id}`, { token: owner.accessToken })).body.title).toBe('First');
      const patched = await api.patch(
        `/api/v1/conversations/${second.id}`,
        { title: 'Renamed', model: 'balanced', systemPrompt: null },
        { token: owner.accessToken },
      );
      expect(patched.body).toMatchObject({ id: second.id, title: 'Renamed', model: 'balanced', systemPrompt: null });
      const unchanged = await api.patch(`/api/v1/conversations/${second.id}`, {}, { token: owner.accessToken });
      expect(unchanged.body).toMatchObject({ id: second.id, title: 'Renamed' });

      expect((await api.delete(`/api/v1/conversations/${first.id}`, { token: owner.accessToken })).status).toBe(204);
      expectError(await api.get(`/api/v1/conversations/${first.id}`, { token: owner.accessToken }), 404, 'CONVERSATION_NOT_FOUND');
      expectError(await api.delete(`/api/v1/conversations/${first.id}`, { token: owner.accessToken }), 404, 'CONVERSATION_NOT_FOUND');
    });

    it('refuses a model the registry does not know, and creates nothing', async () => {
      const before = (await api.get('/api/v1/conversations?limit=200', { token: owner.accessToken })).body.length;
      expectError(await api.post('/api/v1/conversations', { model: 'gpt-17' }, { token: owner.accessToken }), 404, 'MODEL_NOT_FOUND');
      const conversation = await newConversation();
      expectError(
        await api.patch(`/api/v1/conversations/${conversation.id}`, { model: 'nope:1b' }, { token: owner.accessToken }),
        404,
        'MODEL_NOT_FOUND',
      );
      expect((await api.get('/api/v1/conversations?limit=200', { token: owner.accessToken })).body.length).toBe(before + 1);
    });

    it('lets a viewer read but not write', async () => {
      expect((await api.get('/api/v1/conversations', { token: viewer.accessToken, workspaceId: teamId })).status).toBe(200);
      expectError(await api.post('/api/v1/conversations', {}, { token: viewer.accessToken, workspaceId: teamId }), 403, 'FORBIDDEN');
    });
  });

  describe('sending a message', () => {
    it('answers with both messages as JSON, stores them with usage and names the conversation', async () => {
      const conversation = await newConversation();
      const sent = await api.post(
        `/api/v1/conversations/${conversation.id}/messages`,
        { content: 'hello there world' },
        { token: owner.accessToken },
      );
      expect(sent.status).toBe(200);
      expect(sent.body.userMessage).toMatchObject({
        role: 'user',
        content: 'hello there world',
        status: 'complete',
        sequence: 1,
        model: 'auto',
      });
      expect(sent.body.assistantMessage).toMatchObject({
        role: 'assistant',
        content: 'hello there world',
        status: 'complete',
        sequence: 2,
        model: FAST,
        nodeId: `ollama:${node.url}`,
        finishReason: 'stop',
        usage: { promptTokens: 3, completionTokens: 3 },
        error: null,
        routing: { requested: 'auto', model: FAST, tier: 'fast', via: 'auto' },
      });

      expect(await messagesOf(conversation.id)).toEqual([sent.body.userMessage, sent.body.assistantMessage]);
      const stored = (await api.get(`/api/v1/conversations/${conversation.id}`, { token: owner.accessToken })).body;
      expect(stored).toMatchObject({ title: 'hello there world', messageCount: 2 });
      expect(stored.lastMessageAt).not.toBeNull();
    });

    it('streams message, route, tokens and done over SSE, and stores the complete answer', async () => {
      const conversation = await newConversation({ model: FAST });
      const response = await streamSend(conversation.id, { content: 'one two three four' }, { token: owner.accessToken });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      const events = await collect(response);

      expect(events.map((e) => e.event)).toEqual(['message', 'route', 'token', 'token', 'token', 'token', 'done']);
      const [message, route] = events;
      const assistantId = message.data.messageId;
      expect(message.data.userMessage).toMatchObject({ conversationId: conversation.id, role: 'user', content: 'one two three four' });
      expect(route.data).toMatchObject({ messageId: assistantId, routing: { requested: FAST, model: FAST, via: 'name' } });
      expect(events.filter((e) => e.event === 'token').map((e) => e.data.delta)).toEqual(['one', ' two', ' three', ' four']);
      const done = events[events.length - 1].data;
      expect(done.message).toMatchObject({
        id: assistantId,
        status: 'complete',
        content: 'one two three four',
        usage: { completionTokens: 4 },
      });
      expect((await messagesOf(conversation.id))[1]).toEqual(done.message);
    });

    it('sends the system prompt and recent answered turns as context, trimmed to the configured size', async () => {
      const conversation = await newConversation({ model: FAST, systemPrompt: 'Be brief.' });
      for (const content of ['first question', 'second question', 'third question']) {
        expect(
          (await api.post(`/api/v1/conversations/${conversation.id}/messages`, { content }, { token: owner.accessToken })).status,
        ).toBe(200);
      }
      const stream = vi.spyOn(testApp.app.get(ChatGatewayService), 'stream');
      await api.post(`/api/v1/conversations/${conversation.id}/messages`, { content: 'fourth question' }, { token: owner.accessToken });

      const request = stream.mock.calls[0][0];
      // At most four earlier messages: the first turn no longer fits.
      expect(request.messages).toEqual([
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'second question' },
        { role: 'assistant', content: 'second question' },
        { role: 'user', content: 'third question' },
        { role: 'assistant', content: 'third question' },
        { role: 'user', content: 'fourth question' },
      ]);
      expect(stream.mock.calls[0][1]).toEqual({ workspaceId: owner.workspaceId, userId: owner.user.id, apiKeyId: null });
    });

    it('passes temperature and maxTokens through, within the configured limit', async () => {
      const conversation = await newConversation({ model: FAST });
      const stream = vi.spyOn(testApp.app.get(ChatGatewayService), 'stream');
      const sent = await api.post(
        `/api/v1/conversations/${conversation.id}/messages`,
        { content: 'a b c d e', temperature: 0.5, maxTokens: 2 },
        { token: owner.accessToken },
      );
      expect(sent.body.assistantMessage).toMatchObject({ content: 'a b', finishReason: 'length', status: 'complete' });
      expect(stream.mock.calls[0][0]).toMatchObject({ temperature: 0.5, maxTokens: 2 });
    });
  });

  describe('failures', () => {
    it('an interruption after the first token is an error event, and the partial answer is stored as incomplete', async () => {
      const conversation = await newConversation({ model: FAST });
      // Spaced out, so the node dies after its first chunks reached the router.
      Object.assign(node.faults, { dropAfterChunks: 2, interChunkDelayMs: 30 });
      const events = await collect(await streamSend(conversation.id, { content: 'alpha beta gamma delta' }, { token: owner.accessToken }));

      expect(events.map((e) => e.event)).toEqual(['message', 'route', 'token', 'token', 'error']);
      const error = events[4].data;
      expect(error.error).toMatchObject({ code: 'ROUTER_STREAM_INTERRUPTED', statusCode: 502 });
      expect(error.message).toMatchObject({ status: 'incomplete', content: 'alpha beta', error: { code: 'ROUTER_STREAM_INTERRUPTED' } });
      const [, assistant] = await messagesOf(conversation.id);
      expect(assistant).toMatchObject({ id: error.messageId, status: 'incomplete', content: 'alpha beta', model: FAST, usage: null });
    });

    it('without streaming, an interruption is an error response naming the stored messages', async () => {
      const conversation = await newConversation({ model: FAST });
      // Spaced out, so the node dies after its first chunks reached the router.
      Object.assign(node.faults, { dropAfterChunks: 1, interChunkDelayMs: 30 });
      const sent = await api.post(
        `/api/v1/conversations/${conversation.id}/messages`,
        { content: 'cut short here' },
        { token: owner.accessToken },
      );
      expectError(sent, 502, 'ROUTER_STREAM_INTERRUPTED');
      const [user, assistant] = await messagesOf(conversation.id);
      expect(sent.body.details).toEqual({ userMessageId: user.id, assistantMessageId: assistant.id });
      expect(assistant).toMatchObject({ status: 'incomplete', content: 'cut' });
    });

    it('a client that goes away stops the model, and what was said so far is stored as incomplete', async () => {
      const conversation = await newConversation({ model: FAST });
      node.faults.interChunkDelayMs = 150;
      const controller = new AbortController();
      const response = await streamSend(
        conversation.id,
        { content: 'w1 w2 w3 w4 w5 w6 w7 w8 w9 w10' },
        { token: owner.accessToken, signal: controller.signal },
      );
      for await (const event of readEvents(response)) {
        if (event.event === 'token') break;
      }
      controller.abort();

      await expect.poll(async () => (await messagesOf(conversation.id))[1].status, { timeout: 5000 }).toBe('incomplete');
      const [, assistant] = await messagesOf(conversation.id);
      expect(assistant.error.code).toBe('CONVERSATION_GENERATION_ABORTED');
      expect(assistant.content.startsWith('w1')).toBe(true);
      expect(assistant.content.length).toBeLessThan('w1 w2 w3 w4 w5 w6 w7 w8 w9 w10'.length);
      await expect.poll(() => node.active, { timeout: 2000 }).toBe(0);
    });

    it('a failure before the first token is an ordinary error response; the answer is stored as error, never left streaming', async () => {
      // Registered, but no node has it.
      const conversation = await newConversation({ model: 'llama3.1:70b' });
      const response = await streamSend(conversation.id, { content: 'anyone there?' }, { token: owner.accessToken });
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toContain('application/json');
      expect(await response.json()).toMatchObject({ code: 'ROUTER_NO_NODE' });

      const [user, assistant] = await messagesOf(conversation.id);
      expect(user).toMatchObject({ status: 'complete', content: 'anyone there?' });
      expect(assistant).toMatchObject({ status: 'error', content: '', error: { code: 'ROUTER_NO_NODE' } });
    });

    it('an unknown model in a message stores nothing', async () => {
      const conversation = await newConversation();
      const sent = await streamSend(conversation.id, { content: 'hi', model: 'mystery:7b' }, { token: owner.accessToken });
      expect(sent.status).toBe(404);
      expect(await sent.json()).toMatchObject({ code: 'MODEL_NOT_FOUND' });
      expect(await messagesOf(conversation.id)).toEqual([]);
      expect((await api.get(`/api/v1/conversations/${conversation.id}`, { token: owner.accessToken })).body.messageCount).toBe(0);
    });

    it('deleting a conversation stops its answer', async () => {
      const conversation = await newConversation({ model: FAST });
      node.faults.interChunkDelayMs = 150;
      const response = await streamSend(conversation.id, { content: 'a b c d e f g h i j' }, { token: owner.accessToken });
      const events: StreamEvent[] = [];
      for await (const event of readEvents(response)) {
        events.push(event);
        if (event.event === 'token' && events.filter((e) => e.event === 'token').length === 1) {
          expect((await api.delete(`/api/v1/conversations/${conversation.id}`, { token: owner.accessToken })).status).toBe(204);
        }
      }
      const last = events[events.length - 1];
      expect(last).toMatchObject({ event: 'error', data: { error: { code: 'CONVERSATION_GENERATION_ABORTED' }, message: null } });
      expect(events.filter((e) => e.event === 'token').length).toBeLessThan(10);
      await expect.poll(() => node.active, { timeout: 2000 }).toBe(0);
    });
  });

  describe('answers left behind by a crashed process', () => {
    it('are marked incomplete (GENERATION_LOST) once old enough; recent ones are left alone', async () => {
      const conversation = await newConversation({ model: FAST });
      const [{ id: stale }]: { id: string }[] = await testApp.app.get(DataSource).query(
        `INSERT INTO conversation_messages (conversation_id, sequence, role, content, status, created_at)
         VALUES ($1, 100, 'assistant', 'half an ans', 'streaming', now() - interval '3 hours') RETURNING id`,
        [conversation.id],
      );
      const [{ id: fresh }]: { id: string }[] = await testApp.app
        .get(DataSource)
        .query(
          `INSERT INTO conversation_messages (conversation_id, sequence, role, content, status) VALUES ($1, 101, 'assistant', '', 'streaming') RETURNING id`,
          [conversation.id],
        );
      expect(await testApp.app.get(StaleStreamSweeper).sweep()).toBe(1);
      const messages = await messagesOf(conversation.id);
      expect(messages.find((message: { id: string }) => message.id === stale)).toMatchObject({
        status: 'incomplete',
        content: 'half an ans',
        error: { code: 'GENERATION_LOST' },
      });
      expect(messages.find((message: { id: string }) => message.id === fresh)).toMatchObject({ status: 'streaming' });
      await testApp.app.get(DataSource).query(`DELETE FROM conversation_messages WHERE id = $1`, [fresh]);
    });
  });

  describe('bad input', () => {
    it("another user's conversation in the same workspace is not found, whatever the operation", async () => {
      const mine = await newConversation({}, owner.accessToken, teamId);
      const as = { token: teammate.accessToken, workspaceId: teamId };
      expectError(await api.get(`/api/v1/conversations/${mine.id}`, as), 404, 'CONVERSATION_NOT_FOUND');
      expectError(await api.patch(`/api/v1/conversations/${mine.id}`, { title: 'mine now' }, as), 404, 'CONVERSATION_NOT_FOUND');
      expectError(await api.delete(`/api/v1/conversations/${mine.id}`, as), 404, 'CONVERSATION_NOT_FOUND');
      expectError(await api.get(`/api/v1/conversations/${mine.id}/messages`, as), 404, 'CONVERSATION_NOT_FOUND');
      expectError(await api.post(`/api/v1/conversations/${mine.id}/messages`, { content: 'hi' }, as), 404, 'CONVERSATION_NOT_FOUND');
      const streamed = await streamSend(mine.id, { content: 'hi' }, as);
      expect(streamed.status).toBe(404);
      expect((await api.get('/api/v1/conversations', as)).body).toEqual([]);
      expect((await api.get(`/api/v1/conversations/${mine.id}`, { token: owner.accessToken, workspaceId: teamId })).body.messageCount).toBe(
        0,
      );
    });

    it("the owner's own conversation is not found from another workspace", async () => {
      const personal = await newConversation();
      const fromTeam = { token: owner.accessToken, workspaceId: teamId };
      expectError(await api.get(`/api/v1/conversations/${personal.id}`, fromTeam), 404, 'CONVERSATION_NOT_FOUND');
      expectError(
        await api.post(`/api/v1/conversations/${personal.id}/messages`, { content: 'hi' }, fromTeam),
        404,
        'CONVERSATION_NOT_FOUND',
      );
      const listed = (await api.get('/api/v1/conversations?limit=200', fromTeam)).body as { id: string }[];
      expect(listed.map((c) => c.id)).not.toContain(personal.id);
      // A cursor from elsewhere pages nothing rather than leaking its position.
      expect((await api.get(`/api/v1/conversations?before=${personal.id}`, fromTeam)).body).toEqual([]);
    });

    it('refuses oversized, empty and malformed messages and stores nothing', async () => {
      const conversation = await newConversation({ model: FAST });
      const path = `/api/v1/conversations/${conversation.id}/messages`;
      const as = { token: owner.accessToken };
      expectError(await api.post(path, { content: 'x'.repeat(MAX_PROMPT_CHARS + 1) }, as), 413, 'PROMPT_TOO_LARGE');
      expectError(await api.post(path, { content: '   \n ' }, as), 400, 'VALIDATION_FAILED');
      expectError(await api.post(path, {}, as), 400, 'VALIDATION_FAILED');
      expectError(await api.post(path, { content: 42 }, as), 400, 'VALIDATION_FAILED');
      expectError(await api.post(path, { content: 'hi', role: 'assistant' }, as), 400, 'VALIDATION_FAILED');
      expectError(await api.post(path, { content: 'hi', temperature: 7 }, as), 400, 'VALIDATION_FAILED');
      expectError(await api.post(path, { content: 'hi', maxTokens: 10_000_000 }, as), 400, 'VALIDATION_FAILED');
      expectError(await api.post(path, { content: 'hi', model: 'bad model name' }, as), 400, 'VALIDATION_FAILED');
      expectError(await api.post(path, undefined, { ...as, rawBody: '{"content": "hi",' }), 400, 'MALFORMED_BODY');
      expectError(await api.post('/api/v1/conversations/not-a-uuid/messages', { content: 'hi' }, as), 400, 'VALIDATION_FAILED');
      expect(await messagesOf(conversation.id)).toEqual([]);

      // With a system prompt the two together must fit.
      const prompted = await newConversation({ model: FAST, systemPrompt: 's'.repeat(MAX_PROMPT_CHARS - 5) });
      expectError(await api.post(`/api/v1/conversations/${prompted.id}/messages`, { content: 'six ch' }, as), 413, 'PROMPT_TOO_LARGE');
      expect(await messagesOf(prompted.id)).toEqual([]);
    });

    it('refuses malformed conversation bodies and queries', async () => {
      const as = { token: owner.accessToken };
      expectError(await api.post('/api/v1/conversations', { title: '' }, as), 400, 'VALIDATION_FAILED');
      expectError(await api.post('/api/v1/conversations', { title: 'x'.repeat(201) }, as), 400, 'VALIDATION_FAILED');
      expectError(await api.post('/api/v1/conversations', { workspaceId: teamId }, as), 400, 'VALIDATION_FAILED');
      expectError(await api.post('/api/v1/conversations', { systemPrompt: 'x'.repeat(MAX_PROMPT_CHARS + 1) }, as), 413, 'PROMPT_TOO_LARGE');
      expectError(await api.get('/api/v1/conversations?limit=0', as), 400, 'VALIDATION_FAILED');
      expectError(await api.get('/api/v1/conversations?limit=201', as), 400, 'VALIDATION_FAILED');
      expectError(await api.get('/api/v1/conversations?before=abc', as), 400, 'VALIDATION_FAILED');
      expectError(await api.get('/api/v1/conversations?userId=x', as), 400, 'VALIDATION_FAILED');
    });

    it('sending needs model.invoke as well as conversation.write', async () => {
      const conversation = await newConversation({ model: FAST });
      const key = await api.post(
        '/api/v1/api-keys',
        { name: 'no models', permissions: ['conversation.read', 'conversation.write'] },
        { token: owner.accessToken },
      );
      const sent = await api.post(`/api/v1/conversations/${conversation.id}/messages`, { content: 'hi' }, { apiKey: key.body.key });
      expectError(sent, 403, 'FORBIDDEN');
      expect(sent.body.message).toContain('model.invoke');
      expect(await messagesOf(conversation.id)).toEqual([]);
    });
  });
});
