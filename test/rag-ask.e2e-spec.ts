import { io, Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodePool } from 'src/modules/model-router/node-pool';
import { NO_SOURCES_ANSWER } from 'src/modules/rag/answers/answers.service';
import { ApiClient } from 'test/support/http';
import { OllamaTestServer } from 'test/support/ollama-test-server';
import { makePdf } from 'test/support/rag-documents';
import { startTestApp, TestApp } from 'test/support/test-app';

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
const QUESTION = 'How do volcanoes erupt?';
/** [7] names no source and must be dropped; [1, 3] cites two at once. */
const CITING_ANSWER = 'Magma rises through cracks in the crust [1]. See also [7] and [1, 3].';

interface StreamEvent {
  event: string;
  data: any;
}

async function readEvents(response: Response): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  const text = await response.text();
  for (const raw of text.split('\n\n')) {
    if (!raw.trim()) continue;
    const event = /^event: (.*)$/m.exec(raw)?.[1] ?? 'message';
    const data = /^data: (.*)$/m.exec(raw)?.[1];
    events.push({ event, data: data === undefined ? undefined : JSON.parse(data) });
  }
  return events;
}

type User = Awaited<ReturnType<ApiClient['register']>>;

/** Creates a knowledge base in the workspace, uploads the PDF and waits until it is indexed. */
async function indexedKnowledgeBase(testApp: TestApp, api: ApiClient, owner: User, workspaceId: string): Promise<string> {
  const created = await api.post('/api/v1/knowledge-bases', { name: 'Handbook' }, { token: owner.accessToken, workspaceId });
  expect(created.status).toBe(201);
  const kbId: string = created.body.id;
  const form = new FormData();
  form.append('file', new Blob([await makePdf(PDF_PAGES)], { type: 'application/pdf' }), 'science.pdf');
  const uploaded = await fetch(`${testApp.baseUrl}/api/v1/knowledge-bases/${kbId}/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${owner.accessToken}`, 'x-workspace-id': workspaceId },
    body: form,
  });
  expect(uploaded.status).toBe(201);
  const documentId = ((await uploaded.json()) as { id: string }).id;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const document = await api.get(`/api/v1/knowledge-bases/${kbId}/documents/${documentId}`, { token: owner.accessToken, workspaceId });
    if (document.body.status === 'indexed') return kbId;
    if (document.body.status === 'failed' || Date.now() > deadline) throw new Error(`document ${documentId}: ${document.body.status}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// Ingestion runs the CPU sentence encoder; on a loaded 2-core machine that takes a while.
describe('RAG answers with citations (ask)', { timeout: 90_000 }, () => {
  describe('with a chat model', () => {
    let node: OllamaTestServer;
    let testApp: TestApp;
    let api: ApiClient;
    let owner: User;
    let outsider: User;
    let viewer: User;
    let teamId: string;
    let kbId: string;

    const askPath = (id = kbId) => `/api/v1/knowledge-bases/${id}/ask`;
    const streamAsk = (body: unknown, user: User = owner, workspaceId = teamId) =>
      fetch(`${testApp.baseUrl}${askPath()}`, {
        method: 'POST',
        headers: {
          accept: 'text/event-stream',
          'content-type': 'application/json',
          authorization: `Bearer ${user.accessToken}`,
          'x-workspace-id': workspaceId,
        },
        body: JSON.stringify(body),
      });
    const expectError = (response: { status: number; body: any }, status: number, code: string) => {
      expect(response.status).toBe(status);
      expect(response.body).toMatchObject({ statusCode: status, code });
    };

    beforeAll(async () => {
      node = await new OllamaTestServer({ models: ['llama3.2:3b', 'llama3.1:8b'] }).start();
      testApp = await startTestApp({ env: { OLLAMA_URLS: node.url, ROUTER_CIRCUIT_FAILURE_THRESHOLD: '1000' } });
      api = new ApiClient(testApp.baseUrl);
      const pool = testApp.app.get(NodePool);
      const deadline = Date.now() + 5_000;
      while (!pool.nodes.every((n) => n.healthy) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
      owner = await api.register('owner@example.com');
      outsider = await api.register('outsider@example.com');
      viewer = await api.register('viewer@example.com');
      teamId = (await api.post('/api/v1/workspaces', { name: 'Team' }, { token: owner.accessToken })).body.id;
      await api.post(`/api/v1/workspaces/${teamId}/members`, { email: 'viewer@example.com', role: 'viewer' }, { token: owner.accessToken });
      kbId = await indexedKnowledgeBase(testApp, api, owner, teamId);
    });
    afterAll(async () => {
      await testApp?.close();
      await node?.stop();
    });
    afterEach(() => {
      node.answer = undefined;
      Object.assign(node.faults, { dropAfterChunks: undefined, interChunkDelayMs: 0 });
    });

    it('streams sources, route, tokens and done, with citations that point at the right page', async () => {
      node.answer = CITING_ANSWER;
      const response = await streamAsk({ question: QUESTION });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      const events = await readEvents(response);
      const names = events.map((e) => e.event);
      expect(names[0]).toBe('sources');
      expect(names[1]).toBe('route');
      expect(names.at(-1)).toBe('done');
      expect(names.slice(2, -1).every((name) => name === 'token')).toBe(true);
      expect(names.length).toBeGreaterThan(4);

      const sources = events[0].data.sources as any[];
      expect(sources.map((s) => s.n)).toEqual(sources.map((_, i) => i + 1));
      expect(sources.length).toBe(3);
      // The volcano page ranks first for a volcano question.
      expect(sources[0]).toMatchObject({ n: 1, page: 2, documentName: 'science.pdf' });
      expect(sources[0].text).toContain('magma');
      expect(events[1].data.routing).toMatchObject({ requested: 'auto', via: 'auto' });

      const tokens = events.filter((e) => e.event === 'token').map((e) => e.data.delta as string);
      const done = events.at(-1)!.data;
      expect(tokens.join('')).toBe(CITING_ANSWER);
      expect(done.answer).toBe(CITING_ANSWER);
      const bySource = (n: number) => {
        const { chunkId, documentId, documentName, page } = sources[n - 1];
        return { n, chunkId, documentId, documentName, page };
      };
      expect(done.citations).toEqual([bySource(1), bySource(3)]);
      expect(done.citations[0].page).toBe(2);
      expect(done.usage.completionTokens).toBeGreaterThan(0);
    });

    it('answers as JSON without an event stream', async () => {
      node.answer = 'Castles had moats [2].';
      const response = await api.post(
        askPath(),
        { question: 'How were castles defended?', model: 'fast', limit: 2 },
        { token: owner.accessToken, workspaceId: teamId },
      );
      expect(response.status).toBe(200);
      const body = response.body;
      expect(body.answer).toBe('Castles had moats [2].');
      expect(body.sources).toHaveLength(2);
      expect(body.routing).toMatchObject({ requested: 'fast', via: 'tier' });
      expect(body.citations).toEqual([
        {
          n: 2,
          chunkId: body.sources[1].chunkId,
          documentId: body.sources[1].documentId,
          documentName: 'science.pdf',
          page: body.sources[1].page,
        },
      ]);
      expect(body.usage).toMatchObject({ completionTokens: 4 });
    });

    it('says that nothing was found without calling a model when retrieval finds no source', async () => {
      const before = node.requests.length;
      const missing = '00000000-0000-4000-8000-000000000000';
      const response = await api.post(
        askPath(),
        { question: QUESTION, documentIds: [missing] },
        { token: owner.accessToken, workspaceId: teamId },
      );
      expect(response.status).toBe(200);
      expect(response.body).toEqual({
        answer: NO_SOURCES_ANSWER,
        citations: [],
        sources: [],
        routing: null,
        usage: { promptTokens: 0, completionTokens: 0 },
      });
      expect(node.requests.length).toBe(before);
    });

    it('ends with an error event when the model stops mid-answer', async () => {
      node.answer = CITING_ANSWER;
      Object.assign(node.faults, { dropAfterChunks: 2, interChunkDelayMs: 30 });
      const events = await readEvents(await streamAsk({ question: QUESTION }));
      const names = events.map((e) => e.event);
      expect(names).toEqual(['sources', 'route', 'token', 'token', 'error']);
      expect(events.at(-1)!.data).toMatchObject({ code: 'ROUTER_STREAM_INTERRUPTED' });
      expect(events.at(-1)!.data.message).toEqual(expect.any(String));
    });

    it('streams over Socket.IO to the asking connection, with failures before the first token in the ack', async () => {
      node.answer = CITING_ANSWER;
      const socket: Socket = io(`${testApp.baseUrl}/realtime`, {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        auth: { token: owner.accessToken, workspaceId: teamId },
      });
      try {
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('connect_error', reject);
        });
        const events: { event: string; payload: any }[] = [];
        const finished = new Promise<void>((resolve) => {
          socket.onAny((event: string, payload: any) => {
            if (!event.startsWith('rag:ask.')) return;
            events.push({ event, payload });
            if (event === 'rag:ask.done' || event === 'rag:ask.error') resolve();
          });
        });
        const ack = await socket.emitWithAck('rag:ask', { knowledgeBaseId: kbId, question: QUESTION });
        expect(ack.ok).toBe(true);
        expect(ack.data.sources[0]).toMatchObject({ n: 1, page: 2 });
        expect(ack.data.routing).toMatchObject({ requested: 'auto' });
        await finished;
        expect(events.every((e) => e.payload.askId === ack.data.askId)).toBe(true);
        const tokens = events.filter((e) => e.event === 'rag:ask.token').map((e) => e.payload.delta as string);
        expect(tokens.join('')).toBe(CITING_ANSWER);
        const done = events.at(-1)!;
        expect(done.event).toBe('rag:ask.done');
        expect(done.payload.citations.map((c: { n: number; chunkId: string }) => [c.n, c.chunkId])).toEqual([
          [1, ack.data.sources[0].chunkId],
          [3, ack.data.sources[2].chunkId],
        ]);

        const refused = await socket.emitWithAck('rag:ask', { knowledgeBaseId: kbId, question: ' ' });
        expect(refused).toMatchObject({ ok: false, error: { code: 'VALIDATION_FAILED' } });
        const elsewhere = await socket.emitWithAck('rag:ask', {
          knowledgeBaseId: '00000000-0000-4000-8000-000000000000',
          question: QUESTION,
        });
        expect(elsewhere).toMatchObject({ ok: false, error: { code: 'KNOWLEDGE_BASE_NOT_FOUND' } });
      } finally {
        socket.disconnect();
      }
    });

    it('refuses bad input and callers without access', async () => {
      const owned = { token: owner.accessToken, workspaceId: teamId };
      expectError(await api.post(askPath(), { question: QUESTION }, { token: outsider.accessToken }), 404, 'KNOWLEDGE_BASE_NOT_FOUND');
      expectError(await api.post(askPath(), { question: '   ' }, owned), 400, 'VALIDATION_FAILED');
      expectError(await api.post(askPath(), {}, owned), 400, 'VALIDATION_FAILED');
      expectError(await api.post(askPath(), { question: 'x'.repeat(4001) }, owned), 400, 'VALIDATION_FAILED');
      expectError(await api.post(askPath(), { question: QUESTION, stream: true }, owned), 400, 'VALIDATION_FAILED');
      expectError(await api.post(askPath(), { question: QUESTION, limit: 21 }, owned), 400, 'VALIDATION_FAILED');
      expectError(await api.post(askPath(), { question: QUESTION, temperature: 3 }, owned), 400, 'VALIDATION_FAILED');
      expectError(await api.post(askPath(), { question: QUESTION, documentIds: ['not-a-uuid'] }, owned), 400, 'VALIDATION_FAILED');
      expectError(await api.post(askPath('not-a-uuid'), { question: QUESTION }, owned), 400, 'VALIDATION_FAILED');
      // Viewers may search but not call models.
      expectError(await api.post(askPath(), { question: QUESTION }, { token: viewer.accessToken, workspaceId: teamId }), 403, 'FORBIDDEN');
      const viewerSearch = await api.post(
        `/api/v1/knowledge-bases/${kbId}/search`,
        { query: 'volcano' },
        { token: viewer.accessToken, workspaceId: teamId },
      );
      expect(viewerSearch.status).toBe(200);
      // A model the caller names that does not exist is their mistake, not a missing configuration.
      expectError(await api.post(askPath(), { question: QUESTION, model: 'no-such-model' }, owned), 404, 'MODEL_NOT_FOUND');
    });
  });

  describe('without any chat model configured', () => {
    let testApp: TestApp;
    let api: ApiClient;
    let owner: User;
    let kbId: string;

    beforeAll(async () => {
      testApp = await startTestApp({});
      api = new ApiClient(testApp.baseUrl);
      owner = await api.register('solo@example.com');
      kbId = await indexedKnowledgeBase(testApp, api, owner, owner.workspaceId);
    });
    afterAll(() => testApp?.close());

    it('answers 503 RAG_NO_CHAT_MODEL with the reason, while search keeps working', async () => {
      const auth = { token: owner.accessToken, workspaceId: owner.workspaceId };
      const asked = await api.post(`/api/v1/knowledge-bases/${kbId}/ask`, { question: QUESTION }, auth);
      expect(asked.status).toBe(503);
      expect(asked.body).toMatchObject({ statusCode: 503, code: 'RAG_NO_CHAT_MODEL' });
      expect(asked.body.message).toContain('Retrieval works');
      expect(asked.body.message).toContain('OLLAMA_URLS');

      const streamed = await fetch(`${testApp.baseUrl}/api/v1/knowledge-bases/${kbId}/ask`, {
        method: 'POST',
        headers: { accept: 'text/event-stream', 'content-type': 'application/json', authorization: `Bearer ${owner.accessToken}` },
        body: JSON.stringify({ question: QUESTION }),
      });
      expect(streamed.status).toBe(503);
      expect(((await streamed.json()) as { code: string }).code).toBe('RAG_NO_CHAT_MODEL');

      for (const mode of ['keyword', 'vector', 'hybrid']) {
        const searched = await api.post(`/api/v1/knowledge-bases/${kbId}/search`, { query: 'volcano magma', mode }, auth);
        expect(searched.status).toBe(200);
        expect(searched.body.results[0]).toMatchObject({ page: 2, documentName: 'science.pdf' });
      }
    });
  });
});
