import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppConfig } from 'src/config/app-config';
import { ChatGatewayService } from 'src/modules/model-router/gateway/chat-gateway.service';
import { NodePool } from 'src/modules/model-router/node-pool';
import { UsageService } from 'src/modules/model-router/usage/usage.service';
import type { UsageSubject } from 'src/modules/model-router/usage/usage.contract';
import { EmbedderFactory } from 'src/modules/rag/embeddings/embedder.factory';
import { RagErrorCode } from 'src/modules/rag/rag.exception';
import { ApiClient } from 'test/support/http';
import { OllamaTestServer } from 'test/support/ollama-test-server';
import { startTestApp, TestApp } from 'test/support/test-app';

const EMBEDDER = 'nomic-embed-text';
const CHAT_MODEL = 'llama3.2:3b';

/** The test node embeds a text as [length, 1, 0]; the embedder must hand it back at unit length. */
const unit = (text: string) => {
  const norm = Math.hypot(text.length, 1);
  return [text.length / norm, 1 / norm, 0];
};

describe('embedders: the bundled encoder and router models through the chat gateway', () => {
  let node: OllamaTestServer;
  let testApp: TestApp;
  let api: ApiClient;
  let admin: Awaited<ReturnType<ApiClient['register']>>;
  let subject: UsageSubject;
  let factory: EmbedderFactory;

  beforeAll(async () => {
    node = await new OllamaTestServer({ models: [CHAT_MODEL, EMBEDDER], embeddingModels: [EMBEDDER] }).start();
    testApp = await startTestApp({ env: { OLLAMA_URLS: node.url, RAG_EMBED_BATCH_SIZE: '2' } });
    api = new ApiClient(testApp.baseUrl);
    admin = await api.register('ada@example.com');
    // The chat model is one of the seeded defaults; the embedding model is registered as an admin does.
    const created = await api.post(
      '/api/v1/admin/models',
      {
        name: EMBEDDER,
        tier: 'fast',
        priority: 500,
        providerKind: 'ollama',
        capabilities: { tools: false, vision: false, embeddings: true },
      },
      { token: admin.accessToken },
    );
    expect(created.status).toBe(201);
    const pool = testApp.app.get(NodePool);
    await vi.waitFor(() => expect(pool.nodes.every((each) => each.healthy && (each.models?.size ?? 0) > 0)).toBe(true), { timeout: 5_000 });
    subject = { workspaceId: admin.workspaceId, userId: admin.user.id, apiKeyId: null };
    factory = new EmbedderFactory(testApp.app.get(AppConfig), testApp.app.get(ChatGatewayService));
  });

  afterAll(async () => {
    await factory?.onModuleDestroy();
    await testApp?.close();
    await node?.stop();
  });

  it('discovers a router model’s dimension, embeds in batches and returns unit vectors in input order', async () => {
    const embedder = await factory.create(`router:${EMBEDDER}`, subject);
    expect(embedder).toMatchObject({ id: `router:${EMBEDDER}`, dimension: 3 });
    const before = node.requests.filter((request) => request.path === '/api/embed').length;
    const texts = ['a', 'abc', 'hello', 'four', 'sixteen chars ok'];
    const vectors = await embedder.embed(texts);
    texts.forEach((text, i) => vectors[i].forEach((value, j) => expect(value).toBeCloseTo(unit(text)[j], 6)));
    // RAG_EMBED_BATCH_SIZE=2: five texts take three calls.
    expect(node.requests.filter((request) => request.path === '/api/embed').length - before).toBe(3);
  });

  it("accounts every call to the knowledge base's workspace and user", async () => {
    const embedder = await factory.create(`router:${EMBEDDER}`, subject, { dimension: 3 });
    await embedder.embed(['one', 'two', 'three']);
    await testApp.app.get(UsageService).flush();
    const usage = await api.get(`/api/v1/usage?model=${EMBEDDER}`, { token: admin.accessToken });
    expect(usage.status).toBe(200);
    const embeddings = usage.body.items.filter((item: { kind: string }) => item.kind === 'embedding');
    // The discovery probe (1) and the batches of the two tests (3 + 2).
    expect(embeddings).toHaveLength(6);
    expect(
      embeddings.every((item: { userId: string; outcome: string }) => item.userId === admin.user.id && item.outcome === 'complete'),
    ).toBe(true);
  });

  it('refuses vectors of another dimension than the knowledge base recorded', async () => {
    const embedder = await factory.create(`router:${EMBEDDER}`, subject, { dimension: 768 });
    await expect(embedder.embed(['x'])).rejects.toMatchObject({
      code: RagErrorCode.VectorDimensionMismatch,
      message: expect.stringContaining('now returns 3-dimensional vectors; this knowledge base holds 768-dimensional ones'),
    });
  });

  it('passes on the router’s refusal of a model that cannot embed, and of an unknown one', async () => {
    await expect(factory.create(`router:${CHAT_MODEL}`, subject)).rejects.toMatchObject({ code: 'MODEL_CANNOT_EMBED' });
    await expect(factory.create('router:no-such-model', subject)).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('refuses unknown embedder ids and tiers, whose model may change under a knowledge base', async () => {
    for (const id of ['', 'openai', 'use-768', 'router:', 'router: spaced', `router:${'m'.repeat(201)}`]) {
      await expect(factory.create(id, subject)).rejects.toMatchObject({
        code: RagErrorCode.EmbedderUnknown,
        message: expect.stringContaining('use-512'),
      });
    }
    await expect(factory.create('router:fast', subject)).rejects.toMatchObject({
      code: RagErrorCode.EmbedderUnknown,
      message: expect.stringContaining('names a tier'),
    });
  });

  it('serves the bundled encoder by default, one shared instance, without the router', async () => {
    const embedder = await factory.create('use-512', subject);
    expect(await factory.create('use-512', { workspaceId: admin.workspaceId, userId: admin.user.id }, { dimension: 512 })).toBe(embedder);
    const [vector] = await embedder.embed(['The cat sat on the mat']);
    expect(vector).toHaveLength(512);
    await expect(factory.create('use-512', subject, { dimension: 384 })).rejects.toMatchObject({
      code: RagErrorCode.VectorDimensionMismatch,
    });
  });
});
