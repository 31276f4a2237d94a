import { randomBytes } from 'node:crypto';
import { io, Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodePool } from 'src/modules/model-router/node-pool';
import { GROUNDING_SYSTEM_PROMPT, NO_SOURCES_NOTE } from 'src/modules/rag/grounding';
import { GraphqlClient, nextSubscriptionTo, Subscription } from 'test/support/graphql';
import { ApiClient } from 'test/support/http';
import { OllamaTestServer } from 'test/support/ollama-test-server';
import { makePdf } from 'test/support/rag-documents';
import { createScratchDatabase, NATS_URL, startTestApp, TestApp } from 'test/support/test-app';

const FAST = 'llama3.2:3b';
const PDF_PAGES = [
  {
    heading: 'Photosynthesis',
    paragraphs: [
      'Green plants capture sunlight with chlorophyll in their leaves. The energy of the light splits water and turns carbon dioxide into glucose, releasing oxygen as a by-product.',
    ],
  },
  {
    heading: 'Volcanoes',
    paragraphs: [
      'A volcano erupts when molten magma rises through cracks in the crust. Lava flows, ash clouds and pyroclastic surges follow, and most eruptions happen where tectonic plates meet.',
    ],
  },
  {
    heading: 'Castles',
    paragraphs: [
      'Medieval castles were defended by moats, drawbridges and battlements. The keep was the last refuge of the lord when the curtain wall fell to a siege.',
    ],
  },
];
const LIGHTHOUSES_MD = [
  '# Lighthouses',
  '',
  'A lighthouse warns ships of rocks and shoals with a rotating lamp behind a Fresnel lens, and in fog with a horn.',
  '',
  '## Keepers',
  '',
  'Keepers trimmed the wicks, wound the clockwork that turned the lens, and logged the weather every four hours.',
].join('\n');
const VOLCANO_QUESTION = 'How do volcanoes erupt?';
const UNKNOWN_ID = '00000000-0000-4000-8000-000000000000';

type User = Awaited<ReturnType<ApiClient['register']>>;

interface StreamEvent {
  event: string;
  data: any;
}

async function readEvents(response: Response): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for (const raw of (await response.text()).split('\n\n')) {
    if (!raw.trim()) continue;
    const event = /^event: (.*)$/m.exec(raw)?.[1] ?? 'message';
    const data = /^data: (.*)$/m.exec(raw)?.[1];
    events.push({ event, data: data === undefined ? undefined : JSON.parse(data) });
  }
  return events;
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Knowledge bases through the REST API of whichever process runs the `rag` role. */
class KnowledgeBases {
  constructor(
    private readonly baseUrl: string,
    private readonly user: User,
    private readonly workspaceId: string,
  ) {}

  private get api() {
    return new ApiClient(this.baseUrl);
  }

  async create(name: string): Promise<string> {
    const created = await this.api.post(
      '/api/v1/knowledge-bases',
      { name },
      { token: this.user.accessToken, workspaceId: this.workspaceId },
    );
    expect(created.status).toBe(201);
    return created.body.id as string;
  }

  /** Uploads a file and waits until it is indexed; returns the document id. */
  async upload(knowledgeBaseId: string, bytes: Uint8Array, fileName: string, type: string): Promise<string> {
    const form = new FormData();
    form.append('file', new Blob([bytes], { type }), fileName);
    const uploaded = await fetch(`${this.baseUrl}/api/v1/knowledge-bases/${knowledgeBaseId}/documents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.user.accessToken}`, 'x-workspace-id': this.workspaceId },
      body: form,
    });
    expect(uploaded.status).toBe(201);
    const documentId = ((await uploaded.json()) as { id: string }).id;
    await until(
      async () => {
        const document = await this.api.get(`/api/v1/knowledge-bases/${knowledgeBaseId}/documents/${documentId}`, {
          token: this.user.accessToken,
          workspaceId: this.workspaceId,
        });
        if (document.body.status === 'failed') throw new Error(`document ${documentId} failed: ${document.body.errorMessage}`);
        return document.body.status === 'indexed';
      },
      60_000,
      `document ${fileName} to be indexed`,
    );
    return documentId;
  }

  /** The chunk a keyword search ranks first, as the search API reports it. */
  async topChunk(knowledgeBaseId: string, query: string): Promise<any> {
    const searched = await this.api.post(
      `/api/v1/knowledge-bases/${knowledgeBaseId}/search`,
      { query, mode: 'keyword', limit: 1 },
      { token: this.user.accessToken, workspaceId: this.workspaceId },
    );
    expect(searched.status).toBe(200);
    return searched.body.results[0];
  }
}

// Ingestion and every grounded turn run the CPU sentence encoder: slow on a loaded 2-core machine.
describe('conversations grounded in knowledge bases', { timeout: 120_000 }, () => {
  let node: OllamaTestServer;
  let testApp: TestApp;
  let api: ApiClient;
  let gql: GraphqlClient;
  let owner: User;
  let chatter: User;
  let viewer: User;
  let outsider: User;
  let teamId: string;
  let chatterRoleId: string;
  let scienceKb: string;
  let scienceDoc: string;
  let lighthouseKb: string;
  let emptyKb: string;
  let outsiderKb: string;

  const team = (user: User = owner) => ({ token: user.accessToken, workspaceId: teamId });
  const lastPrompt = () => node.chats.at(-1)!.messages;
  const newConversation = async (body: Record<string, unknown>, user: User = owner) => {
    const created = await api.post('/api/v1/conversations', { model: FAST, ...body }, team(user));
    expect(created.status).toBe(201);
    return created.body as { id: string; knowledgeBaseIds: string[] };
  };
  const streamSend = (conversationId: string, body: unknown, user: User = owner) =>
    fetch(`${testApp.baseUrl}/api/v1/conversations/${conversationId}/messages`, {
      method: 'POST',
      headers: {
        accept: 'text/event-stream',
        'content-type': 'application/json',
        authorization: `Bearer ${user.accessToken}`,
        'x-workspace-id': teamId,
      },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    node = await new OllamaTestServer({ models: [FAST] }).start();
    testApp = await startTestApp({ env: { OLLAMA_URLS: node.url, ROUTER_CIRCUIT_FAILURE_THRESHOLD: '1000' } });
    api = new ApiClient(testApp.baseUrl);
    gql = new GraphqlClient(testApp.baseUrl);
    const pool = testApp.app.get(NodePool);
    await until(() => pool.nodes.every((n) => n.healthy), 5_000, 'the node to be healthy');
    owner = await api.register('owner@example.com');
    chatter = await api.register('chatter@example.com');
    viewer = await api.register('viewer@example.com');
    outsider = await api.register('outsider@example.com');
    teamId = (await api.post('/api/v1/workspaces', { name: 'Team' }, { token: owner.accessToken })).body.id;
    await api.post(`/api/v1/workspaces/${teamId}/members`, { email: 'viewer@example.com', role: 'viewer' }, { token: owner.accessToken });
    const role = await api.post(
      `/api/v1/workspaces/${teamId}/roles`,
      {
        name: 'chatter',
        permissions: ['workspace.read', 'conversation.read', 'conversation.write', 'model.invoke', 'knowledge-base.read'],
      },
      { token: owner.accessToken },
    );
    expect(role.status).toBe(201);
    chatterRoleId = role.body.id;
    const added = await api.post(
      `/api/v1/workspaces/${teamId}/members`,
      { email: 'chatter@example.com', role: 'custom', customRoleId: chatterRoleId },
      { token: owner.accessToken },
    );
    expect(added.status).toBe(201);

    const kbs = new KnowledgeBases(testApp.baseUrl, owner, teamId);
    scienceKb = await kbs.create('Science');
    scienceDoc = await kbs.upload(scienceKb, await makePdf(PDF_PAGES), 'science.pdf', 'application/pdf');
    lighthouseKb = await kbs.create('Lighthouses');
    await kbs.upload(lighthouseKb, new TextEncoder().encode(LIGHTHOUSES_MD), 'lighthouses.md', 'text/markdown');
    emptyKb = await kbs.create('Empty');
    outsiderKb = await new KnowledgeBases(testApp.baseUrl, outsider, outsider.workspaceId).create('Private');
  });
  afterAll(async () => {
    await testApp?.close();
    await node?.stop();
  });
  afterEach(() => {
    node.answer = undefined;
  });

  it('attaches knowledge bases at creation and changes them later, in order', async () => {
    const conversation = await newConversation({ knowledgeBaseIds: [scienceKb] });
    expect(conversation.knowledgeBaseIds).toEqual([scienceKb]);
    expect((await api.get(`/api/v1/conversations/${conversation.id}`, team())).body.knowledgeBaseIds).toEqual([scienceKb]);

    const changed = await api.patch(`/api/v1/conversations/${conversation.id}`, { knowledgeBaseIds: [lighthouseKb, scienceKb] }, team());
    expect(changed.status).toBe(200);
    expect(changed.body.knowledgeBaseIds).toEqual([lighthouseKb, scienceKb]);
    const listed = (await api.get('/api/v1/conversations', team())).body as { id: string; knowledgeBaseIds: string[] }[];
    expect(listed.find((c) => c.id === conversation.id)?.knowledgeBaseIds).toEqual([lighthouseKb, scienceKb]);
    // Other fields leave them alone; null or [] detaches them all.
    expect((await api.patch(`/api/v1/conversations/${conversation.id}`, { title: 'Renamed' }, team())).body.knowledgeBaseIds).toEqual([
      lighthouseKb,
      scienceKb,
    ]);
    expect((await api.patch(`/api/v1/conversations/${conversation.id}`, { knowledgeBaseIds: null }, team())).body.knowledgeBaseIds).toEqual(
      [],
    );

    const viaGraphql = await gql.request(
      'mutation($id: ID!, $kbs: [ID!]) { updateConversation(id: $id, input: { knowledgeBaseIds: $kbs }) { id knowledgeBaseIds } }',
      { id: conversation.id, kbs: [scienceKb] },
      team(),
    );
    expect(viaGraphql.errors).toBeUndefined();
    expect(viaGraphql.data.updateConversation.knowledgeBaseIds).toEqual([scienceKb]);
    const created = await gql.request(
      'mutation($kbs: [ID!]) { createConversation(input: { knowledgeBaseIds: $kbs }) { knowledgeBaseIds } }',
      { kbs: [lighthouseKb] },
      team(),
    );
    expect(created.data.createConversation.knowledgeBaseIds).toEqual([lighthouseKb]);
  });

  it('grounds a streamed turn: the prompt holds the right source and the citations point at its chunk and page', async () => {
    const { id } = await newConversation({ knowledgeBaseIds: [scienceKb], systemPrompt: 'Answer in one sentence.' });
    node.answer = 'Magma rises through cracks in the crust [1]. Also see [9].';
    const response = await streamSend(id, { content: VOLCANO_QUESTION });
    expect(response.status).toBe(200);
    const events = await readEvents(response);
    const names = events.map((e) => e.event);
    expect(names.slice(0, 2)).toEqual(['message', 'route']);
    expect(names.at(-1)).toBe('done');

    // What the model was given: the grounding rules with the conversation's own prompt, then the sources and the question.
    const [system, user] = lastPrompt();
    expect(system).toEqual({ role: 'system', content: `${GROUNDING_SYSTEM_PROMPT}\n\nAnswer in one sentence.` });
    expect(user.role).toBe('user');
    expect(user.content).toMatch(/\[1\] \(science\.pdf, page 2\)\n[^[]*molten magma rises through cracks/);
    expect(user.content.endsWith(`Question: ${VOLCANO_QUESTION}`)).toBe(true);

    const volcanoChunk = await new KnowledgeBases(testApp.baseUrl, owner, teamId).topChunk(scienceKb, 'volcano magma');
    const expected = {
      n: 1,
      knowledgeBaseId: scienceKb,
      chunkId: volcanoChunk.chunkId,
      documentId: scienceDoc,
      documentName: 'science.pdf',
      page: 2,
      start: volcanoChunk.start,
      end: volcanoChunk.end,
    };
    const done = events.at(-1)!.data.message;
    expect(done).toMatchObject({ status: 'complete', content: 'Magma rises through cracks in the crust [1]. Also see [9].' });
    // [9] names no source and is dropped.
    expect(done.citations).toEqual([expected]);
    expect(done.grounding.knowledgeBases).toEqual([
      { knowledgeBaseId: scienceKb, name: 'Science', status: 'searched', code: null, message: null },
    ]);
    expect(done.grounding.sources[0]).toEqual(expected);
    expect(done.grounding.sources.length).toBe(user.content.match(/^\[\d+\] \(/gm)!.length);

    const stored = (await api.get(`/api/v1/conversations/${id}/messages`, team())).body as any[];
    expect(stored.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(stored[0]).toMatchObject({ content: VOLCANO_QUESTION, citations: null, grounding: null });
    expect(stored[1].citations).toEqual([expected]);
    expect(stored[1].grounding).toEqual(done.grounding);

    // A follow-up: the history goes along as the user wrote it, and the turn is grounded again.
    node.answer = 'Lava flows and ash clouds follow [1].';
    const followUp = await api.post(`/api/v1/conversations/${id}/messages`, { content: 'And what follows?' }, team());
    expect(followUp.status).toBe(200);
    const prompt = lastPrompt();
    expect(prompt.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(prompt[1].content).toBe(VOLCANO_QUESTION);
    expect(prompt[3].content).toContain('(science.pdf, page 2)');
    expect(prompt[3].content.endsWith('Question: And what follows?')).toBe(true);
    expect(followUp.body.assistantMessage.citations).toEqual([
      expect.objectContaining({ n: 1, knowledgeBaseId: scienceKb, chunkId: expect.any(String) }),
    ]);
  });

  it('searches every attached knowledge base and cites the one that answers', async () => {
    const { id } = await newConversation({ knowledgeBaseIds: [scienceKb, lighthouseKb] });
    node.answer = 'A rotating lamp behind a Fresnel lens [1].';
    const sent = await api.post(`/api/v1/conversations/${id}/messages`, { content: 'How does a lighthouse warn ships of rocks?' }, team());
    expect(sent.status).toBe(200);
    const answer = sent.body.assistantMessage;
    expect(answer.grounding.knowledgeBases.map((kb: any) => [kb.name, kb.status])).toEqual([
      ['Science', 'searched'],
      ['Lighthouses', 'searched'],
    ]);
    expect(answer.citations).toEqual([
      expect.objectContaining({ n: 1, knowledgeBaseId: lighthouseKb, documentName: 'lighthouses.md', page: null }),
    ]);
    expect(lastPrompt().at(-1)!.content).toMatch(/\[1\] \(lighthouses\.md\)\n[^[]*Fresnel lens/);
  });

  it('streams the citations at the end of the turn over Socket.IO and the GraphQL subscription', async () => {
    const { id } = await newConversation({ knowledgeBaseIds: [scienceKb] });
    node.answer = 'Magma rises [1].';
    const socket: Socket = io(`${testApp.baseUrl}/realtime`, {
      transports: ['websocket'],
      reconnection: false,
      forceNew: true,
      auth: { token: owner.accessToken, workspaceId: teamId },
    });
    const client = gql.socket({ authorization: `Bearer ${owner.accessToken}`, 'x-workspace-id': teamId });
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      const socketDone = new Promise<any>((resolve) => socket.on('conversation:done', resolve));
      const subscribed = nextSubscriptionTo(testApp.app, 'conversation-stream');
      const feed = new Subscription(
        client,
        `subscription($id: ID!) { conversationTokens(conversationId: $id) {
          type
          message { status citations { n knowledgeBaseId chunkId documentName page start end } grounding { knowledgeBases { name status } } }
        } }`,
        { id },
      );
      const first = feed.next();
      await subscribed;

      const ack = await socket.emitWithAck('conversation:send', { conversationId: id, content: VOLCANO_QUESTION });
      expect(ack.ok).toBe(true);
      const fromSocket = await socketDone;
      expect(fromSocket.messageId).toBe(ack.data.assistantMessageId);
      expect(fromSocket.message.citations).toEqual([expect.objectContaining({ n: 1, knowledgeBaseId: scienceKb, page: 2 })]);

      const events = [(await first).value?.data?.conversationTokens];
      while (!['done', 'error'].includes(events.at(-1)?.type)) events.push((await feed.next()).value?.data?.conversationTokens);
      const done = events.at(-1);
      expect(done.type).toBe('done');
      expect(done.message.citations).toEqual([
        {
          n: 1,
          knowledgeBaseId: scienceKb,
          chunkId: fromSocket.message.citations[0].chunkId,
          documentName: 'science.pdf',
          page: 2,
          start: fromSocket.message.citations[0].start,
          end: fromSocket.message.citations[0].end,
        },
      ]);
      expect(done.message.grounding.knowledgeBases).toEqual([{ name: 'Science', status: 'searched' }]);
      await feed.close();
    } finally {
      socket.disconnect();
      await client.dispose();
    }
  });

  it('still answers when retrieval finds nothing, with a prompt that says so', async () => {
    const { id } = await newConversation({ knowledgeBaseIds: [emptyKb] });
    node.answer = 'The sources do not say.';
    const sent = await api.post(`/api/v1/conversations/${id}/messages`, { content: VOLCANO_QUESTION }, team());
    expect(sent.status).toBe(200);
    expect(sent.body.assistantMessage).toMatchObject({
      status: 'complete',
      content: 'The sources do not say.',
      citations: [],
      grounding: { knowledgeBases: [{ knowledgeBaseId: emptyKb, status: 'searched' }], sources: [] },
    });
    const user = lastPrompt().at(-1)!.content;
    expect(user).toContain(NO_SOURCES_NOTE);
    expect(user).not.toContain('[1]');
  });

  it('searches with the permissions of the sender at the time of the turn: a knowledge base they lost is skipped, and said so', async () => {
    const { id } = await newConversation({ knowledgeBaseIds: [scienceKb] }, chatter);
    node.answer = 'Magma [1].';
    const before = await api.post(`/api/v1/conversations/${id}/messages`, { content: VOLCANO_QUESTION }, team(chatter));
    expect(before.body.assistantMessage.citations).toHaveLength(1);

    const demoted = await api.patch(
      `/api/v1/workspaces/${teamId}/roles/${chatterRoleId}`,
      { permissions: ['workspace.read', 'conversation.read', 'conversation.write', 'model.invoke'] },
      { token: owner.accessToken },
    );
    expect(demoted.status).toBe(200);
    node.answer = 'The sources do not say.';
    const after = await api.post(`/api/v1/conversations/${id}/messages`, { content: VOLCANO_QUESTION }, team(chatter));
    expect(after.status).toBe(200);
    const answer = after.body.assistantMessage;
    expect(answer).toMatchObject({ status: 'complete', citations: [], grounding: { sources: [] } });
    expect(answer.grounding.knowledgeBases).toEqual([
      {
        knowledgeBaseId: scienceKb,
        name: null,
        status: 'skipped',
        code: 'FORBIDDEN',
        message: expect.stringContaining('knowledge-base.read'),
      },
    ]);
    expect(lastPrompt().at(-1)!.content).toContain(NO_SOURCES_NOTE);
    expect(lastPrompt().at(-1)!.content).not.toContain('magma');
    // Nor can they attach knowledge bases any more.
    expectStatus(await api.patch(`/api/v1/conversations/${id}`, { knowledgeBaseIds: [scienceKb] }, team(chatter)), 403, 'FORBIDDEN');

    // An API key narrowed below knowledge-base.read is the same: the owner's conversation, the key's permissions.
    const own = await newConversation({ knowledgeBaseIds: [scienceKb] });
    const key = await api.post(
      '/api/v1/api-keys',
      { name: 'chat only', permissions: ['conversation.read', 'conversation.write', 'model.invoke'] },
      team(),
    );
    expect(key.status).toBe(201);
    const viaKey = await api.post(`/api/v1/conversations/${own.id}/messages`, { content: VOLCANO_QUESTION }, { apiKey: key.body.key });
    expect(viaKey.status).toBe(200);
    expect(viaKey.body.assistantMessage.grounding.knowledgeBases[0]).toMatchObject({ status: 'skipped', code: 'FORBIDDEN' });
  });

  it('refuses bad knowledge base lists, changing nothing', async () => {
    const { id } = await newConversation({ title: 'Kept', knowledgeBaseIds: [scienceKb] });
    const path = `/api/v1/conversations/${id}`;
    const unchanged = async () =>
      expect((await api.get(path, team())).body).toMatchObject({ title: 'Kept', knowledgeBaseIds: [scienceKb] });

    expectStatus(await api.patch(path, { title: 'Changed', knowledgeBaseIds: [UNKNOWN_ID] }, team()), 404, 'KNOWLEDGE_BASE_NOT_FOUND');
    await unchanged();
    // Another workspace's knowledge base is not found either, whoever owns it.
    expectStatus(
      await api.patch(path, { title: 'Changed', knowledgeBaseIds: [scienceKb, outsiderKb] }, team()),
      404,
      'KNOWLEDGE_BASE_NOT_FOUND',
    );
    await unchanged();
    const nine = Array.from({ length: 9 }, (_, i) => `00000000-0000-4000-8000-00000000000${i}`);
    expectStatus(await api.patch(path, { knowledgeBaseIds: nine }, team()), 400, 'VALIDATION_FAILED');
    expectStatus(await api.patch(path, { knowledgeBaseIds: [scienceKb, scienceKb] }, team()), 400, 'VALIDATION_FAILED');
    expectStatus(await api.patch(path, { knowledgeBaseIds: ['not-a-uuid'] }, team()), 400, 'VALIDATION_FAILED');
    expectStatus(await api.patch(path, { knowledgeBaseIds: scienceKb }, team()), 400, 'VALIDATION_FAILED');
    await unchanged();

    // Creation is refused the same way, and creates nothing.
    const count = async () => ((await api.get('/api/v1/conversations?limit=200', team())).body as unknown[]).length;
    const before = await count();
    expectStatus(await api.post('/api/v1/conversations', { knowledgeBaseIds: [outsiderKb] }, team()), 404, 'KNOWLEDGE_BASE_NOT_FOUND');
    expectStatus(await api.post('/api/v1/conversations', { knowledgeBaseIds: nine }, team()), 400, 'VALIDATION_FAILED');
    expect(await count()).toBe(before);
    const foreign = await gql.request(
      'mutation($kbs: [ID!]) { createConversation(input: { knowledgeBaseIds: $kbs }) { id } }',
      { kbs: [outsiderKb] },
      team(),
    );
    expect(foreign.errors?.[0].extensions.code).toBe('KNOWLEDGE_BASE_NOT_FOUND');

    // The owner of that knowledge base cannot use it from their own workspace in the team's conversation either.
    expectStatus(await api.patch(path, { knowledgeBaseIds: [outsiderKb] }, { token: outsider.accessToken }), 404, 'CONVERSATION_NOT_FOUND');
    // Viewers cannot change conversations at all.
    expectStatus(await api.patch(path, { knowledgeBaseIds: [] }, team(viewer)), 403, 'FORBIDDEN');
    const viewerMutation = await gql.request(
      'mutation($id: ID!) { updateConversation(id: $id, input: { knowledgeBaseIds: [] }) { id } }',
      { id },
      team(viewer),
    );
    expect(viewerMutation.errors?.[0].extensions.code).toBe('FORBIDDEN');
    await unchanged();
  });

  it('drops a deleted knowledge base from its conversations', async () => {
    const kbs = new KnowledgeBases(testApp.baseUrl, owner, teamId);
    const doomed = await kbs.create('Doomed');
    const { id } = await newConversation({ knowledgeBaseIds: [doomed, scienceKb] });
    expect((await api.delete(`/api/v1/knowledge-bases/${doomed}`, team())).status).toBe(204);
    expect((await api.get(`/api/v1/conversations/${id}`, team())).body.knowledgeBaseIds).toEqual([scienceKb]);
  });
});

/**
 * The `router` role (conversations) and the `rag` role in two apps sharing one PostgreSQL,
 * talking over NATS: retrieval happens in the rag process; without one, grounding fails clearly.
 */
describe('grounded conversations with the rag role in another process', { timeout: 180_000 }, () => {
  let node: OllamaTestServer;
  let database: Awaited<ReturnType<typeof createScratchDatabase>>;
  let chatApp: TestApp;
  let ragApp: TestApp | undefined;
  let api: ApiClient;
  let owner: User;
  let kbId: string;

  beforeAll(async () => {
    node = await new OllamaTestServer({ models: [FAST] }).start();
    database = await createScratchDatabase();
    const shared = {
      DATABASE_URL: database.url,
      JWT_SECRET: randomBytes(32).toString('base64url'),
      GREMLINS_TRANSPORT: 'nats',
      NATS_URL,
      TRANSPORT_NAMESPACE: `test-${randomBytes(6).toString('hex')}`,
    };
    // The chat app first: it runs the migrations the rag app then finds done.
    chatApp = await startTestApp({
      env: { ...shared, GREMLINS_ROLES: 'api,router', OLLAMA_URLS: node.url, ROUTER_CIRCUIT_FAILURE_THRESHOLD: '1000' },
    });
    ragApp = await startTestApp({ env: { ...shared, GREMLINS_ROLES: 'rag' } });
    api = new ApiClient(chatApp.baseUrl);
    const pool = chatApp.app.get(NodePool);
    await until(() => pool.nodes.every((n) => n.healthy), 5_000, 'the node to be healthy');
    owner = await api.register('split@example.com');
    const kbs = new KnowledgeBases(ragApp.baseUrl, owner, owner.workspaceId);
    kbId = await kbs.create('Science');
    await kbs.upload(kbId, await makePdf(PDF_PAGES), 'science.pdf', 'application/pdf');
  });
  afterAll(async () => {
    await ragApp?.close();
    await chatApp?.close();
    await database?.drop();
    await node?.stop();
  });

  it('retrieves in the rag process, and fails grounding clearly once no rag process is left', async () => {
    const auth = { token: owner.accessToken };
    const created = await api.post('/api/v1/conversations', { model: FAST, knowledgeBaseIds: [kbId] }, auth);
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    expectStatus(await api.post('/api/v1/conversations', { knowledgeBaseIds: [UNKNOWN_ID] }, auth), 404, 'KNOWLEDGE_BASE_NOT_FOUND');

    node.answer = 'Magma rises [1].';
    const sent = await api.post(`/api/v1/conversations/${id}/messages`, { content: VOLCANO_QUESTION }, auth);
    expect(sent.status).toBe(200);
    expect(sent.body.assistantMessage.citations).toEqual([expect.objectContaining({ n: 1, knowledgeBaseId: kbId, page: 2 })]);
    expect(node.chats.at(-1)!.messages.at(-1)!.content).toContain('(science.pdf, page 2)');

    await ragApp!.close();
    ragApp = undefined;
    const refused = await api.post(`/api/v1/conversations/${id}/messages`, { content: VOLCANO_QUESTION }, auth);
    expectStatus(refused, 503, 'CONVERSATION_GROUNDING_UNAVAILABLE');
    expect(refused.body.message).toContain('ROLE_UNAVAILABLE');
    const stored = (await api.get(`/api/v1/conversations/${id}/messages`, auth)).body as any[];
    expect(stored.at(-1)).toMatchObject({
      role: 'assistant',
      status: 'error',
      content: '',
      citations: null,
      error: { code: 'CONVERSATION_GROUNDING_UNAVAILABLE' },
    });
    // Attaching needs the rag role too; detaching does not, and the conversation goes on ungrounded.
    expectStatus(await api.patch(`/api/v1/conversations/${id}`, { knowledgeBaseIds: [kbId] }, auth), 503, 'ROLE_UNAVAILABLE');
    expect((await api.patch(`/api/v1/conversations/${id}`, { knowledgeBaseIds: [] }, auth)).status).toBe(200);
    node.answer = undefined;
    const ungrounded = await api.post(`/api/v1/conversations/${id}/messages`, { content: 'still here' }, auth);
    expect(ungrounded.body.assistantMessage).toMatchObject({ status: 'complete', content: 'still here', citations: null, grounding: null });
  });
});

function expectStatus(response: { status: number; body: any }, status: number, code: string): void {
  expect(response.status, JSON.stringify(response.body)).toBe(status);
  expect(response.body).toMatchObject({ statusCode: status, code });
}
