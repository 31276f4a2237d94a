import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { io, Socket } from 'socket.io-client';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VectorStore } from 'src/modules/rag/rag.contracts';
import { GraphqlClient, nextSubscriptionTo, Subscription } from 'test/support/graphql';
import { ApiClient } from 'test/support/http';
import { makeDocx, makePdf } from 'test/support/rag-documents';
import { startTestApp, TestApp } from 'test/support/test-app';

const MAX_UPLOAD = 512 * 1024;

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

const DOCX_BLOCKS = [
  { heading: 1 as const, text: 'Coffee brewing' },
  { text: 'Espresso forces hot water through finely ground coffee at nine bars of pressure for about twenty-five seconds.' },
  { heading: 1 as const, text: 'Bicycle maintenance' },
  { text: 'Clean and lubricate the chain every few hundred kilometres, and check the tyre pressure before each ride.' },
];

/** Every file under a folder, as paths relative to it. */
function filesUnder(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((entry) => statSync(join(root, entry)).isFile());
}

// Ingestion runs the CPU sentence encoder; under a loaded 2-core machine a test can take longer than the default 30 s.
describe('RAG: knowledge bases, documents, ingestion and search', { timeout: 90_000 }, () => {
  let testApp: TestApp;
  let api: ApiClient;
  let owner: Awaited<ReturnType<ApiClient['register']>>;
  let outsider: Awaited<ReturnType<ApiClient['register']>>;
  let viewer: Awaited<ReturnType<ApiClient['register']>>;
  let teamId: string;
  let kbId: string;
  let pdfBytes: Buffer;
  let docxBytes: Buffer;
  let pdfId: string;
  let docxId: string;
  let objectsDir: string;

  const as = (user: { accessToken: string }, workspaceId = teamId) => ({ token: user.accessToken, workspaceId });
  const kbPath = (id = kbId) => `/api/v1/knowledge-bases/${id}`;

  async function upload(
    knowledgeBaseId: string,
    file: { bytes: Buffer | string; name: string; type?: string },
    user: { accessToken: string } = owner,
    workspaceId = teamId,
  ) {
    const form = new FormData();
    form.append('file', new Blob([file.bytes], { type: file.type ?? 'application/octet-stream' }), file.name);
    const response = await fetch(`${testApp.baseUrl}${kbPath(knowledgeBaseId)}/documents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.accessToken}`, 'x-workspace-id': workspaceId },
      body: form,
    });
    return { status: response.status, body: (await response.json()) as any };
  }

  async function waitForIngestion(documentId: string, knowledgeBaseId = kbId): Promise<any> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const response = await api.get(`${kbPath(knowledgeBaseId)}/documents/${documentId}`, as(owner));
      expect(response.status).toBe(200);
      if (response.body.status === 'indexed' || response.body.status === 'failed') return response.body;
      if (Date.now() > deadline) throw new Error(`document ${documentId} still ${response.body.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  const chunkRows = (documentId: string) =>
    testApp.app
      .get(DataSource)
      .query<{ id: string; chunk_index: number; page: number | null }[]>(
        'SELECT id, chunk_index, page FROM rag_chunks WHERE document_id = $1 ORDER BY chunk_index',
        [documentId],
      );
  const vectorIds = (documentId: string, knowledgeBaseId = kbId) =>
    testApp.app.get(VectorStore).listIds({ workspaceId: teamId, knowledgeBaseId }, documentId);

  beforeAll(async () => {
    testApp = await startTestApp({ env: { RAG_MAX_UPLOAD_BYTES: String(MAX_UPLOAD) } });
    api = new ApiClient(testApp.baseUrl);
    objectsDir = join(testApp.dataDir, 'objects');
    owner = await api.register('owner@example.com');
    outsider = await api.register('outsider@example.com');
    viewer = await api.register('viewer@example.com');
    teamId = (await api.post('/api/v1/workspaces', { name: 'Team' }, { token: owner.accessToken })).body.id;
    await api.post(`/api/v1/workspaces/${teamId}/members`, { email: 'viewer@example.com', role: 'viewer' }, { token: owner.accessToken });
    [pdfBytes, docxBytes] = await Promise.all([makePdf(PDF_PAGES), makeDocx(DOCX_BLOCKS)]);
  });
  afterAll(() => testApp?.close());

  describe('knowledge bases', () => {
    it('creates one with the bundled embedder and default chunking', async () => {
      const created = await api.post('/api/v1/knowledge-bases', { name: 'Handbook', description: 'Everything' }, as(owner));
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        name: 'Handbook',
        workspaceId: teamId,
        embedderId: 'use-512',
        dimension: 512,
        chunkTokens: 400,
        overlapTokens: 60,
        createdBy: owner.user.id,
      });
      kbId = created.body.id;
      expect((await api.get('/api/v1/knowledge-bases', as(owner))).body.map((kb: any) => kb.id)).toEqual([kbId]);
      expect((await api.get(kbPath(), as(viewer))).body.name).toBe('Handbook');
    });

    it('refuses a duplicate name, bad chunking, an unknown embedder and unknown fields', async () => {
      expect((await api.post('/api/v1/knowledge-bases', { name: 'Handbook' }, as(owner))).body.code).toBe('RAG_KNOWLEDGE_BASE_NAME_TAKEN');
      const badOverlap = await api.post('/api/v1/knowledge-bases', { name: 'X', chunkTokens: 100, overlapTokens: 50 }, as(owner));
      expect(badOverlap).toMatchObject({ status: 400, body: { code: 'RAG_INVALID_CHUNKING_SETTINGS' } });
      expect((await api.post('/api/v1/knowledge-bases', { name: 'X', chunkTokens: 5 }, as(owner))).status).toBe(400);
      expect((await api.post('/api/v1/knowledge-bases', { name: 'X', embedderId: 'openai:ada' }, as(owner))).status).toBe(400);
      const smuggled = await api.post('/api/v1/knowledge-bases', { name: 'X', workspaceId: outsider.workspaceId, dimension: 3 }, as(owner));
      expect(smuggled).toMatchObject({ status: 400, body: { code: 'VALIDATION_FAILED' } });
      expect((await api.post('/api/v1/knowledge-bases', undefined, { ...as(owner), rawBody: '{"name": "broken", ' })).body.code).toBe(
        'MALFORMED_BODY',
      );
      expect((await api.get('/api/v1/knowledge-bases', as(owner))).body).toHaveLength(1);
    });

    it('lets a viewer read but not write', async () => {
      expect((await api.post('/api/v1/knowledge-bases', { name: 'Viewer KB' }, as(viewer))).status).toBe(403);
      expect((await api.patch(kbPath(), { name: 'Renamed' }, as(viewer))).status).toBe(403);
      expect((await upload(kbId, { bytes: 'hello', name: 'a.txt', type: 'text/plain' }, viewer)).status).toBe(403);
    });
  });

  describe('documents and ingestion', () => {
    it('ingests a PDF with progress pushed to the uploader over Socket.IO', async () => {
      const socket: Socket = io(`${testApp.baseUrl}/realtime`, {
        transports: ['websocket'],
        reconnection: false,
        forceNew: true,
        auth: { token: owner.accessToken },
        extraHeaders: { 'x-workspace-id': teamId },
      });
      const events: any[] = [];
      socket.on('rag:document.progress', (event) => events.push(event));
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('connect_error', reject);
      });
      try {
        const uploaded = await upload(kbId, { bytes: pdfBytes, name: 'nature.pdf', type: 'application/pdf' });
        expect(uploaded.status).toBe(201);
        expect(uploaded.body).toMatchObject({ name: 'nature.pdf', format: 'pdf', status: 'queued', sizeBytes: pdfBytes.length });
        pdfId = uploaded.body.id;
        const done = await waitForIngestion(pdfId);
        expect(done).toMatchObject({ status: 'indexed', progress: 100, pageCount: 3, errorCode: null });
        expect(done.chunkCount).toBeGreaterThanOrEqual(3);
        await expect.poll(() => events.at(-1)?.status).toBe('indexed');
        expect(events.map((event) => event.status)).toEqual(expect.arrayContaining(['extracting', 'chunking', 'embedding', 'indexed']));
        expect(events.every((event) => event.documentId === pdfId && event.knowledgeBaseId === kbId)).toBe(true);
        const progress = events.map((event) => event.progress);
        expect(progress).toEqual([...progress].sort((a, b) => a - b));
      } finally {
        socket.close();
      }
      const rows = await chunkRows(pdfId);
      expect(rows.map((row) => row.id)).toEqual(rows.map((_, index) => `${pdfId}:${index}`));
      expect(new Set(rows.map((row) => row.page))).toEqual(new Set([1, 2, 3]));
      expect((await vectorIds(pdfId)).sort()).toEqual(rows.map((row) => row.id).sort());
    });

    it('ingests a DOCX, keeping its headings', async () => {
      const uploaded = await upload(kbId, {
        bytes: docxBytes,
        name: 'howto.docx',
        type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      });
      expect(uploaded.status).toBe(201);
      docxId = uploaded.body.id;
      expect(await waitForIngestion(docxId)).toMatchObject({ status: 'indexed', format: 'docx' });
      const listed = await api.get(`${kbPath()}/documents`, as(viewer));
      expect(listed.body.map((document: any) => [document.id, document.status])).toEqual([
        [docxId, 'indexed'],
        [pdfId, 'indexed'],
      ]);
    });

    it('keeps one document and one copy of each chunk when the same file is uploaded again', async () => {
      const before = await chunkRows(pdfId);
      const filesBefore = filesUnder(objectsDir);
      const again = await upload(kbId, { bytes: pdfBytes, name: 'copy-of-nature.pdf', type: 'application/pdf' });
      expect(again.status).toBe(200);
      expect(again.body).toMatchObject({ id: pdfId, name: 'nature.pdf' });
      expect((await api.get(`${kbPath()}/documents`, as(owner))).body).toHaveLength(2);
      expect(filesUnder(objectsDir)).toEqual(filesBefore);
      expect(await chunkRows(pdfId)).toEqual(before);
      expect((await vectorIds(pdfId)).length).toBe(before.length);
    });

    it('re-ingests from the stored file without duplicating chunks or vectors', async () => {
      const before = await chunkRows(pdfId);
      const reingested = await api.post(`${kbPath()}/documents/${pdfId}/reingest`, undefined, as(owner));
      expect(reingested.status).toBe(202);
      expect(reingested.body.status).toBe('queued');
      expect(await waitForIngestion(pdfId)).toMatchObject({ status: 'indexed', chunkCount: before.length });
      expect(await chunkRows(pdfId)).toEqual(before);
      expect((await vectorIds(pdfId)).sort()).toEqual(before.map((row) => row.id).sort());
    });

    it('re-indexes every document when the chunking changes, dropping chunks that no longer exist', async () => {
      const before = (await chunkRows(pdfId)).length;
      const patched = await api.patch(kbPath(), { chunkTokens: 32, overlapTokens: 8 }, as(owner));
      expect(patched.status).toBe(200);
      expect(patched.body).toMatchObject({ chunkTokens: 32, overlapTokens: 8 });
      const finer = await waitForIngestion(pdfId);
      await waitForIngestion(docxId);
      expect(finer.chunkCount).toBeGreaterThan(before);
      expect((await chunkRows(pdfId)).length).toBe(finer.chunkCount);
      expect((await vectorIds(pdfId)).length).toBe(finer.chunkCount);

      await api.patch(kbPath(), { chunkTokens: 400, overlapTokens: 60 }, as(owner));
      const coarser = await waitForIngestion(pdfId);
      await waitForIngestion(docxId);
      expect(coarser.chunkCount).toBe(before);
      expect((await chunkRows(pdfId)).map((row) => row.chunk_index)).toEqual([...Array(before).keys()]);
      expect((await vectorIds(pdfId)).sort()).toEqual((await chunkRows(pdfId)).map((row) => row.id).sort());
    });
  });

  describe('search', () => {
    const search = (body: Record<string, unknown>, user = owner) => api.post(`${kbPath()}/search`, body, as(user));

    it.each([
      ['keyword', 'magma lava eruption'],
      ['vector', 'molten rock bursting out of a mountain'],
      ['hybrid', 'volcano lava'],
    ])('finds the right page in %s mode', async (mode, query) => {
      const response = await search({ query, mode, limit: 3 });
      expect(response.status).toBe(200);
      expect(response.body.mode).toBe(mode);
      const [top] = response.body.results;
      expect(top).toMatchObject({ documentId: pdfId, documentName: 'nature.pdf', page: 2 });
      expect(top.chunkId).toMatch(new RegExp(`^${pdfId}:\\d+$`));
      expect(top.text).toContain('magma');
      expect(top.end).toBeGreaterThan(top.start);
      expect(top.score).toBeGreaterThan(0);
    });

    it('finds DOCX text with its heading, by default in hybrid mode', async () => {
      const response = await search({ query: 'how should I make espresso coffee' }, viewer);
      expect(response.body.mode).toBe('hybrid');
      expect(response.body.results[0]).toMatchObject({ documentId: docxId, headings: ['Coffee brewing'], page: null });
    });

    it('filters by document, format and page', async () => {
      const onlyDocx = await search({ query: 'lava or espresso or chain', mode: 'keyword', documentIds: [docxId] });
      expect(onlyDocx.body.results.length).toBeGreaterThan(0);
      expect(onlyDocx.body.results.every((hit: any) => hit.documentId === docxId)).toBe(true);
      for (const mode of ['keyword', 'vector', 'hybrid']) {
        const pdfOnly = await search({ query: 'lava or espresso or chain or castle', mode, filters: { formats: ['pdf'] } });
        expect(pdfOnly.body.results.length).toBeGreaterThan(0);
        expect(pdfOnly.body.results.every((hit: any) => hit.documentId === pdfId)).toBe(true);
        const page3 = await search({ query: 'castle or battlements or lava', mode, filters: { pageFrom: 3, pageTo: 3 } });
        expect(page3.body.results.length).toBeGreaterThan(0);
        expect(page3.body.results.every((hit: any) => hit.page === 3)).toBe(true);
      }
    });

    it('refuses empty and oversized queries, bad limits, modes and filters', async () => {
      for (const body of [
        { query: '' },
        { query: '   ' },
        { query: 'x'.repeat(2001) },
        { query: 'lava', limit: 0 },
        { query: 'lava', limit: 51 },
        { query: 'lava', mode: 'semantic' },
        { query: 'lava', documentIds: ['not-a-uuid'] },
        { query: 'lava', filters: { formats: ['exe'] } },
        { query: 'lava', filters: { pageFrom: 3, pageTo: 1 } },
        { query: 'lava', filters: { owner: 'x' } },
        { query: 'lava', workspaceId: outsider.workspaceId },
      ]) {
        const response = await search(body);
        expect(response.status, JSON.stringify(body)).toBe(400);
        expect(response.body.code).toBe('VALIDATION_FAILED');
      }
    });
  });

  describe('GraphQL', () => {
    const PROGRESS = `subscription ($kb: ID!, $ws: ID) { documentProgress(knowledgeBaseId: $kb, workspaceId: $ws) { documentId knowledgeBaseId status progress } }`;

    it('streams documentProgress to a reader of the knowledge base while another member uploads', async () => {
      const gql = new GraphqlClient(testApp.baseUrl);
      const socket = gql.socket({ authorization: `Bearer ${viewer.accessToken}` });
      try {
        const subscribed = nextSubscriptionTo(testApp.app, 'rag-document-progress');
        const progress = new Subscription(socket, PROGRESS, { kb: kbId, ws: teamId });
        const first = progress.next();
        await subscribed;
        const uploaded = await upload(kbId, { bytes: 'Tides rise and fall twice a day.', name: 'tides.md', type: 'text/markdown' });
        expect(uploaded.status).toBe(201);
        const statuses: string[] = [];
        let result = await first;
        for (;;) {
          expect(result.value?.errors).toBeUndefined();
          const event = result.value?.data?.documentProgress;
          expect(event).toMatchObject({ documentId: uploaded.body.id, knowledgeBaseId: kbId });
          statuses.push(event.status);
          if (event.status === 'indexed') break;
          result = await progress.next();
        }
        expect(statuses).toEqual(expect.arrayContaining(['extracting', 'chunking', 'embedding', 'indexed']));
        await progress.close();
        await api.delete(`${kbPath()}/documents/${uploaded.body.id}`, as(owner));
      } finally {
        await socket.dispose();
      }
    });

    it("refuses documentProgress for another workspace's knowledge base", async () => {
      const gql = new GraphqlClient(testApp.baseUrl);
      const socket = gql.socket({ authorization: `Bearer ${outsider.accessToken}` });
      try {
        const { value } = await new Subscription(socket, PROGRESS, { kb: kbId, ws: outsider.workspaceId }).next();
        expect(value?.errors?.[0].extensions?.code).toBe('KNOWLEDGE_BASE_NOT_FOUND');
      } finally {
        await socket.dispose();
      }
    });

    it('searches and lists over GraphQL', async () => {
      const gql = new GraphqlClient(testApp.baseUrl);
      const response = await gql.request(
        `query ($kb: ID!) {
          knowledgeBase(id: $kb) { name dimension }
          knowledgeBaseDocuments(knowledgeBaseId: $kb) { id status }
          searchKnowledgeBase(knowledgeBaseId: $kb, input: { query: "lava", mode: "keyword", limit: 1 }) { mode results { documentId page } }
        }`,
        { kb: kbId },
        as(viewer),
      );
      expect(response.errors).toBeUndefined();
      expect(response.data.knowledgeBase).toEqual({ name: 'Handbook', dimension: 512 });
      expect(response.data.searchKnowledgeBase).toEqual({ mode: 'keyword', results: [{ documentId: pdfId, page: 2 }] });
      const bad = await gql.request(
        `{ searchKnowledgeBase(knowledgeBaseId: "${kbId}", input: { query: "", mode: "fuzzy" }) { mode } }`,
        {},
        as(viewer),
      );
      expect(bad.errors?.[0].extensions.code).toBe('VALIDATION_FAILED');
    });
  });

  describe("another workspace's ids", () => {
    it('answers 404 for its knowledge base, on every route, as for one that does not exist', async () => {
      const missing = '00000000-0000-4000-8000-000000000000';
      const foreign = await api.get(kbPath(), as(outsider, outsider.workspaceId));
      expect(foreign).toMatchObject({ status: 404, body: { code: 'KNOWLEDGE_BASE_NOT_FOUND' } });
      expect(foreign.body).toEqual((await api.get(kbPath(missing), as(outsider, outsider.workspaceId))).body);
      const asOutsider = as(outsider, outsider.workspaceId);
      for (const response of [
        await api.patch(kbPath(), { name: 'Mine now' }, asOutsider),
        await api.delete(kbPath(), asOutsider),
        await api.get(`${kbPath()}/documents`, asOutsider),
        await api.post(`${kbPath()}/search`, { query: 'lava', mode: 'keyword' }, asOutsider),
        await upload(kbId, { bytes: 'sneaky', name: 'x.txt', type: 'text/plain' }, outsider, outsider.workspaceId),
      ]) {
        expect(response).toMatchObject({ status: 404, body: { code: 'KNOWLEDGE_BASE_NOT_FOUND' } });
      }
      // The outsider cannot act in the team workspace at all.
      expect((await api.get(kbPath(), as(outsider))).status).toBe(404);
      expect((await api.get(kbPath(), as(owner))).body.name).toBe('Handbook');
    });

    it("answers 404 for a document through the caller's own knowledge base", async () => {
      const own = await api.post('/api/v1/knowledge-bases', { name: 'Outsider KB' }, as(outsider, outsider.workspaceId));
      const asOutsider = as(outsider, outsider.workspaceId);
      const path = `/api/v1/knowledge-bases/${own.body.id}/documents/${pdfId}`;
      for (const response of [
        await api.get(path, asOutsider),
        await api.delete(path, asOutsider),
        await api.post(`${path}/reingest`, undefined, asOutsider),
      ]) {
        expect(response).toMatchObject({ status: 404, body: { code: 'DOCUMENT_NOT_FOUND' } });
      }
      expect((await api.get(`${kbPath()}/documents/${pdfId}`, as(owner))).body.status).toBe('indexed');
      const foreignDocs = await api.post(
        `/api/v1/knowledge-bases/${own.body.id}/search`,
        { query: 'lava', mode: 'keyword', documentIds: [pdfId] },
        asOutsider,
      );
      expect(foreignDocs.body.results).toEqual([]);
    });
  });

  describe('bad uploads', () => {
    it('stores a path-traversal file name only as the display name', async () => {
      const uploaded = await upload(kbId, { bytes: 'The secret ingredient is saffron.', name: '../../etc/passwd', type: 'text/plain' });
      expect(uploaded.status).toBe(201);
      expect(uploaded.body.name).toBe('../../etc/passwd');
      const files = filesUnder(objectsDir);
      expect(files).toContain(join('workspaces', teamId, 'kb', kbId, uploaded.body.id));
      expect(files.every((file) => !file.includes('passwd') && !file.includes('..'))).toBe(true);
      expect(await waitForIngestion(uploaded.body.id)).toMatchObject({ status: 'indexed' });
      await api.delete(`${kbPath()}/documents/${uploaded.body.id}`, as(owner));
    });

    it('refuses an oversized upload with 413 and keeps nothing', async () => {
      const filesBefore = filesUnder(objectsDir);
      const response = await upload(kbId, { bytes: 'lorem ipsum '.repeat(MAX_UPLOAD / 4), name: 'huge.txt', type: 'text/plain' });
      expect(response).toMatchObject({ status: 413, body: { code: 'PAYLOAD_TOO_LARGE' } });
      expect(filesUnder(objectsDir)).toEqual(filesBefore);
      expect((await api.get(`${kbPath()}/documents`, as(owner))).body).toHaveLength(2);
    });

    it('accepts a file of exactly the limit', async () => {
      const response = await upload(kbId, { bytes: 'a'.repeat(MAX_UPLOAD - 1) + '\n', name: 'edge.txt', type: 'text/plain' });
      expect(response.status).toBe(201);
      expect(response.body.sizeBytes).toBe(MAX_UPLOAD);
      await api.delete(`${kbPath()}/documents/${response.body.id}`, as(owner));
    });

    it('refuses unsupported formats, empty files and bodies that are not multipart', async () => {
      const filesBefore = filesUnder(objectsDir);
      const png = Buffer.from(
        '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000a49444154789c6360000000020001e221bc330000000049454e44ae426082',
        'hex',
      );
      expect(await upload(kbId, { bytes: png, name: 'image.png', type: 'image/png' })).toMatchObject({
        status: 415,
        body: { code: 'RAG_UNSUPPORTED_FORMAT' },
      });
      expect(await upload(kbId, { bytes: png, name: 'notes.txt', type: 'text/plain' })).toMatchObject({ status: 415 });
      expect(await upload(kbId, { bytes: '', name: 'empty.txt', type: 'text/plain' })).toMatchObject({
        status: 422,
        body: { code: 'RAG_DOCUMENT_EMPTY' },
      });
      const json = await api.post(`${kbPath()}/documents`, { file: 'aGVsbG8=' }, as(owner));
      expect(json).toMatchObject({ status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
      const text = await api.post(`${kbPath()}/documents`, undefined, {
        ...as(owner),
        rawBody: 'hello',
        headers: { 'content-type': 'text/plain' },
      });
      expect(text.status).toBe(415);
      expect(filesUnder(objectsDir)).toEqual(filesBefore);
      expect((await api.get(`${kbPath()}/documents`, as(owner))).body).toHaveLength(2);
    });

    it('refuses a multipart body without the file part, with extra parts, or broken', async () => {
      const send = (body: FormData | string, headers: Record<string, string> = {}) =>
        fetch(`${testApp.baseUrl}${kbPath()}/documents`, {
          method: 'POST',
          headers: { authorization: `Bearer ${owner.accessToken}`, 'x-workspace-id': teamId, ...headers },
          body,
        }).then(async (response) => ({ status: response.status, body: (await response.json()) as any }));
      const noFile = new FormData();
      noFile.append('name', 'hello');
      expect(await send(noFile)).toMatchObject({ status: 400, body: { code: 'RAG_UPLOAD_MISSING_FILE' } });
      const wrongField = new FormData();
      wrongField.append('document', new Blob(['hello']), 'a.txt');
      expect(await send(wrongField)).toMatchObject({ status: 400, body: { code: 'RAG_UPLOAD_MISSING_FILE' } });
      const extra = new FormData();
      extra.append('workspaceId', outsider.workspaceId);
      extra.append('file', new Blob(['hello']), 'a.txt');
      expect((await send(extra)).status).toBe(400);
      const broken = await send('--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello wor', {
        'content-type': 'multipart/form-data; boundary=xyz',
      });
      expect(broken.status).toBe(400);
      expect((await api.get(`${kbPath()}/documents`, as(owner))).body).toHaveLength(2);
    });

    it('refuses multipart bodies on routes that take JSON', async () => {
      const form = new FormData();
      form.append('name', 'Sneaky');
      const response = await fetch(`${testApp.baseUrl}/api/v1/knowledge-bases`, {
        method: 'POST',
        headers: { authorization: `Bearer ${owner.accessToken}`, 'x-workspace-id': teamId },
        body: form,
      });
      expect(response.status).toBe(415);
      expect(((await response.json()) as any).code).toBe('UNSUPPORTED_MEDIA_TYPE');
    });
  });

  describe('deletion', () => {
    it('deletes a document with its chunks, vectors and file', async () => {
      const key = join('workspaces', teamId, 'kb', kbId, docxId);
      expect(filesUnder(objectsDir)).toContain(key);
      expect((await api.delete(`${kbPath()}/documents/${docxId}`, as(owner))).status).toBe(204);
      expect(await chunkRows(docxId)).toEqual([]);
      expect(await vectorIds(docxId)).toEqual([]);
      expect(filesUnder(objectsDir)).not.toContain(key);
      expect((await api.get(`${kbPath()}/documents/${docxId}`, as(owner))).body.code).toBe('DOCUMENT_NOT_FOUND');
      const search = await api.post(`${kbPath()}/search`, { query: 'espresso coffee', mode: 'hybrid' }, as(owner));
      expect(search.body.results.every((hit: any) => hit.documentId !== docxId)).toBe(true);
    });

    it('deletes a knowledge base with its documents, chunks, vectors and files', async () => {
      expect((await api.delete(kbPath(), as(owner))).status).toBe(204);
      expect((await api.get(kbPath(), as(owner))).status).toBe(404);
      expect(await chunkRows(pdfId)).toEqual([]);
      expect(await vectorIds(pdfId)).toEqual([]);
      expect(filesUnder(join(objectsDir, 'workspaces', teamId))).toEqual([]);
      expect(filesUnder(join(objectsDir, '.incoming'))).toEqual([]);
    });
  });
});
