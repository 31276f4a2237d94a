import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NodePool } from 'src/modules/model-router/node-pool';
import { ApiClient } from 'test/support/http';
import { OllamaTestServer } from 'test/support/ollama-test-server';
import { startTestApp, TestApp } from 'test/support/test-app';

const EMBEDDER = 'nomic-embed-text';

/** A knowledge base embedded by a router model: what happens when that model's server is down. */
describe('RAG with a router embedder that becomes unavailable', { timeout: 90_000 }, () => {
  let node: OllamaTestServer;
  let testApp: TestApp;
  let api: ApiClient;
  let owner: Awaited<ReturnType<ApiClient['register']>>;
  let kbId: string;

  const upload = async (text: string, name: string) => {
    const form = new FormData();
    form.append('file', new Blob([text], { type: 'text/plain' }), name);
    const response = await fetch(`${testApp.baseUrl}/api/v1/knowledge-bases/${kbId}/documents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.accessToken}` },
      body: form,
    });
    expect(response.status).toBe(201);
    return ((await response.json()) as { id: string }).id;
  };
  const documentOf = async (id: string) =>
    (await api.get(`/api/v1/knowledge-bases/${kbId}/documents/${id}`, { token: owner.accessToken })).body;
  const search = (mode: string) =>
    api.post(`/api/v1/knowledge-bases/${kbId}/search`, { query: 'granite quarry', mode }, { token: owner.accessToken });

  beforeAll(async () => {
    node = await new OllamaTestServer({ models: [EMBEDDER], embeddingModels: [EMBEDDER] }).start();
    testApp = await startTestApp({
      env: { OLLAMA_URLS: node.url, OLLAMA_HEALTH_INTERVAL_MS: '200', ROUTER_CIRCUIT_OPEN_MS: '300', ROUTER_MAX_ATTEMPTS: '1' },
    });
    api = new ApiClient(testApp.baseUrl);
    owner = await api.register('admin@example.com');
    const model = await api.post(
      '/api/v1/admin/models',
      { name: EMBEDDER, tier: 'fast', providerKind: 'ollama', capabilities: { tools: false, vision: false, embeddings: true } },
      { token: owner.accessToken },
    );
    expect(model.status).toBe(201);
    const pool = testApp.app.get(NodePool);
    await vi.waitFor(() => expect(pool.nodes.every((n) => n.healthy && (n.models?.size ?? 0) > 0)).toBe(true), { timeout: 5_000 });
  });
  afterAll(async () => {
    await testApp?.close();
    await node?.stop();
  });

  it('records the dimension the router model reports', async () => {
    const kb = await api.post(
      '/api/v1/knowledge-bases',
      { name: 'Routed', embedderId: `router:${EMBEDDER}` },
      { token: owner.accessToken },
    );
    expect(kb.status).toBe(201);
    expect(kb.body).toMatchObject({ embedderId: `router:${EMBEDDER}`, dimension: 3 });
    kbId = kb.body.id;
    const id = await upload('The granite quarry closed in 1950 after the last seam ran out.', 'quarry.txt');
    await vi.waitFor(async () => expect((await documentOf(id)).status).toBe('indexed'), { timeout: 30_000, interval: 100 });
    expect((await search('vector')).body.results[0].documentId).toBe(id);
  });

  it('fails vector and hybrid search with 503 while keyword search keeps working', async () => {
    node.faults.status503 = true;
    try {
      for (const mode of ['vector', 'hybrid']) {
        const response = await search(mode);
        expect(response.status, mode).toBe(503);
        expect(response.body.code).toBe('RAG_EMBEDDER_UNAVAILABLE');
        expect(response.body.message).toMatch(/keyword search still works/);
      }
      const keyword = await search('keyword');
      expect(keyword.status).toBe(200);
      expect(keyword.body.results[0].text).toContain('granite quarry');
    } finally {
      node.faults.status503 = false;
    }
  });

  it('retries ingestion through an outage and indexes the document once the embedder is back', async () => {
    node.faults.status503 = true;
    const id = await upload('A second quarry of slate opened in the valley in 1962.', 'slate.txt');
    await vi.waitFor(
      async () => {
        const document = await documentOf(id);
        expect(document.status).toBe('embedding');
        expect(document.errorMessage).toMatch(/^Retrying \(attempt 1 failed\)/);
      },
      { timeout: 15_000, interval: 100 },
    );
    node.faults.status503 = false;
    await vi.waitFor(async () => expect(await documentOf(id)).toMatchObject({ status: 'indexed', errorCode: null, errorMessage: null }), {
      timeout: 30_000,
      interval: 200,
    });
  });

  it('re-indexes every document with the new embedder when it changes', async () => {
    const patched = await api.patch(`/api/v1/knowledge-bases/${kbId}`, { embedderId: 'use-512' }, { token: owner.accessToken });
    expect(patched.body).toMatchObject({ embedderId: 'use-512', dimension: 512 });
    const documents = (await api.get(`/api/v1/knowledge-bases/${kbId}/documents`, { token: owner.accessToken })).body;
    expect(documents).toHaveLength(2);
    for (const document of documents) {
      await vi.waitFor(async () => expect((await documentOf(document.id)).status).toBe('indexed'), { timeout: 30_000, interval: 100 });
    }
    // The router is down again: the knowledge base no longer needs it.
    node.faults.status503 = true;
    try {
      const vector = await api.post(
        `/api/v1/knowledge-bases/${kbId}/search`,
        { query: 'slate mining in a valley', mode: 'vector', limit: 1 },
        { token: owner.accessToken },
      );
      expect(vector.status).toBe(200);
      expect(vector.body.results[0].text).toContain('slate');
    } finally {
      node.faults.status503 = false;
    }
  });
});
