import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from 'src/app';
import { loadConfig } from 'src/config/app-config';
import { VectorStore, type VectorRecord } from 'src/modules/rag/rag.contracts';
import { RagReconciler } from 'src/modules/rag/reconciliation/rag-reconciler.service';
import { ApiClient } from 'test/support/http';
import { startTestApp, TestApp } from 'test/support/test-app';

const TOPICS = ['harbour', 'glacier', 'orchard', 'lighthouse', 'foundry', 'observatory', 'vineyard', 'monastery'];
const textAbout = (seed: number, sentences: number) =>
  Array.from(
    { length: sentences },
    (_, i) => `Sentence ${seed}-${i} tells how the ${TOPICS[(seed + i) % TOPICS.length]} keepers worked on day ${i} of season ${seed}.`,
  ).join(' ');

/** A unit vector of `dimension` pointing somewhere of its own. */
const someVector = (dimension: number, seed: number) => {
  const raw = Array.from({ length: dimension }, (_, i) => Math.sin(seed * 7919 + i * 104729));
  const norm = Math.hypot(...raw);
  return raw.map((value) => value / norm);
};

type Api = ApiClient;
type User = Awaited<ReturnType<ApiClient['register']>>;

async function uploadText(baseUrl: string, user: User, knowledgeBaseId: string, text: string, name: string): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([text], { type: 'text/plain' }), name);
  const response = await fetch(`${baseUrl}/api/v1/knowledge-bases/${knowledgeBaseId}/documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${user.accessToken}` },
    body: form,
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

async function indexed(api: Api, user: User, knowledgeBaseId: string, documentId: string): Promise<{ chunkCount: number }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { body } = await api.get(`/api/v1/knowledge-bases/${knowledgeBaseId}/documents/${documentId}`, { token: user.accessToken });
    if (body.status === 'indexed') return body;
    if (body.status === 'failed' || Date.now() > deadline) throw new Error(`document ${documentId}: ${JSON.stringify(body)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('RAG reconciliation: chunk rows against stored vectors', { timeout: 120_000 }, () => {
  let testApp: TestApp;
  let api: ApiClient;
  let admin: User;
  let member: User;
  let vectors: VectorStore;
  let db: DataSource;
  let kbA: string;
  let kbB: string;
  let doc1: string;
  let doc2: string;
  let doc3: string;
  let doc4: string;
  const ghostDocument = randomUUID();
  const deletedScope = { workspaceId: randomUUID(), knowledgeBaseId: randomUUID() };
  let chunkCounts: Record<string, number>;

  const scopeA = () => ({ workspaceId: admin.workspaceId, knowledgeBaseId: kbA });
  const scopeB = () => ({ workspaceId: member.workspaceId, knowledgeBaseId: kbB });
  const reconcile = (body: Record<string, unknown> = {}, token = admin.accessToken) =>
    api.post('/api/v1/admin/rag/reconcile', body, { token });
  const chunkIds = (documentId: string) => Array.from({ length: chunkCounts[documentId] }, (_, i) => `${documentId}:${i}`);
  const record = (
    scope: { workspaceId: string; knowledgeBaseId: string },
    documentId: string,
    index: number,
    dimension = 512,
  ): VectorRecord => ({
    id: `${documentId}:${index}`,
    ...scope,
    documentId,
    vector: someVector(dimension, index + 1),
  });

  beforeAll(async () => {
    testApp = await startTestApp();
    api = new ApiClient(testApp.baseUrl);
    admin = await api.register('admin@example.com'); // the first account is the instance admin
    member = await api.register('member@example.com');
    vectors = testApp.app.get(VectorStore);
    db = testApp.app.get(DataSource);
    const small = { chunkTokens: 32, overlapTokens: 0 };
    kbA = (await api.post('/api/v1/knowledge-bases', { name: 'A', ...small }, { token: admin.accessToken })).body.id;
    kbB = (await api.post('/api/v1/knowledge-bases', { name: 'B', ...small }, { token: member.accessToken })).body.id;
    doc1 = await uploadText(testApp.baseUrl, admin, kbA, textAbout(1, 12), 'one.txt');
    doc2 = await uploadText(testApp.baseUrl, admin, kbA, textAbout(2, 4), 'two.txt');
    doc4 = await uploadText(testApp.baseUrl, admin, kbA, textAbout(4, 2), 'four.txt');
    doc3 = await uploadText(testApp.baseUrl, member, kbB, textAbout(3, 6), 'three.txt');
    chunkCounts = {};
    for (const [user, kb, doc] of [
      [admin, kbA, doc1],
      [admin, kbA, doc2],
      [admin, kbA, doc4],
      [member, kbB, doc3],
    ] as const) {
      chunkCounts[doc] = (await indexed(api, user, kb, doc)).chunkCount;
    }
    expect(chunkCounts[doc1]).toBeGreaterThanOrEqual(4);
  });
  afterAll(() => testApp?.close());

  it('finds no difference in a consistent store', async () => {
    const response = await reconcile({ dryRun: true });
    expect(response.status).toBe(200);
    const rows = Object.values(chunkCounts).reduce((sum, count) => sum + count, 0);
    expect(response.body).toMatchObject({
      dryRun: true,
      knowledgeBaseId: null,
      totals: { knowledgeBases: 2, vectors: rows, chunks: rows, differences: 0, orphanVectors: 0, missingVectors: 0, skippedDocuments: 0 },
      knowledgeBases: [],
      deletedKnowledgeBases: [],
    });
  });

  describe('with drift made behind the app’s back', () => {
    beforeAll(async () => {
      // Two chunks of doc1 lose their vectors.
      await vectors.deleteIds(scopeA(), [`${doc1}:1`, `${doc1}:3`]);
      // Vectors of a document that does not exist (deleted, its vectors left behind).
      await vectors.upsert(
        [0, 1, 2].map((i) => record(scopeA(), ghostDocument, i)),
        512,
      );
      // A tail vector past doc2's last chunk (re-ingested shorter).
      await vectors.upsert([record(scopeA(), doc2, 99)], 512);
      // doc3's first chunk has its vector at another dimension (an old embedder's).
      await vectors.upsert([record(scopeB(), doc3, 0, 8)], 8);
      // A knowledge base that no longer exists still has vectors.
      await vectors.upsert(
        [0, 1].map((i) => record(deletedScope, randomUUID(), i)),
        512,
      );
      // doc4 is being ingested: its vector without a row is work in progress, not an orphan.
      await db.query(`UPDATE rag_documents SET status = 'embedding' WHERE id = $1`, [doc4]);
      await vectors.upsert([record(scopeA(), doc4, 50)], 512);
    });

    const state = async () => ({
      doc1: await vectors.listIds(scopeA(), doc1),
      ghost: await vectors.listIds(scopeA(), ghostDocument),
      doc2: await vectors.listIds(scopeA(), doc2),
      doc3: await vectors.findVectors(scopeB(), chunkIds(doc3)),
      doc4: await vectors.listIds(scopeA(), doc4),
      scopes: await vectors.listKnowledgeBaseScopes(),
    });

    it('reports every difference in a dry run and changes nothing', async () => {
      const before = await state();
      const response = await reconcile({ dryRun: true });
      expect(response.status).toBe(200);
      expect(response.body.totals).toEqual({
        knowledgeBases: 2,
        vectors: expect.any(Number),
        chunks: Object.values(chunkCounts).reduce((sum, count) => sum + count, 0),
        orphanVectors: 3 + 1 + 2,
        missingVectors: 2 + 1,
        wrongDimension: 1,
        deletedVectors: 0,
        reembeddedChunks: 0,
        skippedDocuments: 1,
        failedChunks: 0,
        differences: 9,
      });
      const byKb = Object.fromEntries(response.body.knowledgeBases.map((kb: any) => [kb.knowledgeBaseId, kb]));
      expect(byKb[kbA]).toMatchObject({
        workspaceId: admin.workspaceId,
        dimension: 512,
        orphanVectors: 4,
        missingVectors: 2,
        wrongDimension: 0,
        skippedDocuments: 1,
        skippedDocumentIds: [doc4],
        errors: [],
      });
      expect(byKb[kbB]).toMatchObject({ workspaceId: member.workspaceId, orphanVectors: 0, missingVectors: 1, wrongDimension: 1 });
      expect(response.body.deletedKnowledgeBases).toEqual([{ ...deletedScope, orphanVectors: 2, deletedVectors: 0 }]);
      expect(await state()).toEqual(before);
    });

    it('reports one knowledge base when asked, wherever its workspace', async () => {
      const response = await reconcile({ dryRun: true, knowledgeBaseId: kbB });
      expect(response.status).toBe(200);
      expect(response.body.totals).toMatchObject({ knowledgeBases: 1, orphanVectors: 0, missingVectors: 1, differences: 1 });
      expect(response.body.knowledgeBases.map((kb: any) => kb.knowledgeBaseId)).toEqual([kbB]);
      expect(response.body.deletedKnowledgeBases).toEqual([]);
    });

    it('repairs: deletes orphans, embeds missing chunks again, leaves the document being ingested alone', async () => {
      const response = await reconcile({});
      expect(response.status).toBe(200);
      expect(response.body.totals).toMatchObject({
        orphanVectors: 6,
        missingVectors: 3,
        deletedVectors: 6,
        reembeddedChunks: 3,
        skippedDocuments: 1,
        failedChunks: 0,
      });
      expect(response.body.deletedKnowledgeBases).toEqual([{ ...deletedScope, orphanVectors: 2, deletedVectors: 2 }]);
      const after = await state();
      expect(after.doc1).toEqual(chunkIds(doc1).sort());
      expect(after.ghost).toEqual([]);
      expect(after.doc2).toEqual(chunkIds(doc2).sort());
      expect(after.doc3).toEqual(
        chunkIds(doc3)
          .map((id) => ({ id, documentId: doc3, dimension: 512 }))
          .sort((a, b) => a.id.localeCompare(b.id)),
      );
      expect(after.doc4).toEqual([...chunkIds(doc4), `${doc4}:50`].sort());
      expect(after.scopes).not.toContainEqual(deletedScope);
    });

    it('restores vectors that are the chunks’ real embeddings: a chunk’s own text finds it first', async () => {
      const [row] = await db.query<{ text: string }[]>('SELECT text FROM rag_chunks WHERE id = $1', [`${doc1}:3`]);
      const search = await api.post(
        `/api/v1/knowledge-bases/${kbA}/search`,
        { query: row.text, mode: 'vector', limit: 3 },
        { token: admin.accessToken },
      );
      expect(search.status).toBe(200);
      expect(search.body.results[0]).toMatchObject({ chunkId: `${doc1}:3` });
      expect(search.body.results[0].score).toBeGreaterThan(0.99);
      const member3 = await api.post(
        `/api/v1/knowledge-bases/${kbB}/search`,
        {
          query: (await db.query<{ text: string }[]>('SELECT text FROM rag_chunks WHERE id = $1', [`${doc3}:0`]))[0].text,
          mode: 'vector',
          limit: 1,
        },
        { token: member.accessToken },
      );
      expect(member3.body.results[0]).toMatchObject({ chunkId: `${doc3}:0` });
    });

    it('finishes once the ingestion is over, and a further run finds nothing', async () => {
      await db.query(`UPDATE rag_documents SET status = 'indexed' WHERE id = $1`, [doc4]);
      const single = await reconcile({ knowledgeBaseId: kbA });
      expect(single.body.totals).toMatchObject({ orphanVectors: 1, deletedVectors: 1, missingVectors: 0, skippedDocuments: 0 });
      expect(await vectors.listIds(scopeA(), doc4)).toEqual(chunkIds(doc4).sort());
      const final = await reconcile({});
      expect(final.status).toBe(200);
      expect(final.body.totals).toMatchObject({ differences: 0, skippedDocuments: 0, deletedVectors: 0, reembeddedChunks: 0 });
      expect(final.body.knowledgeBases).toEqual([]);
      expect(final.body.deletedKnowledgeBases).toEqual([]);
    });
  });

  it('cleans the vectors of a deleted knowledge base named by id, and answers 404 for an id with nothing', async () => {
    const gone = { workspaceId: admin.workspaceId, knowledgeBaseId: randomUUID() };
    await vectors.upsert([record(gone, randomUUID(), 0)], 512);
    const response = await reconcile({ knowledgeBaseId: gone.knowledgeBaseId });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      knowledgeBaseId: gone.knowledgeBaseId,
      totals: { knowledgeBases: 0, orphanVectors: 1, deletedVectors: 1 },
      deletedKnowledgeBases: [{ ...gone, orphanVectors: 1, deletedVectors: 1 }],
    });
    const unknown = await reconcile({ knowledgeBaseId: randomUUID() });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('KNOWLEDGE_BASE_NOT_FOUND');
  });

  it('records each run in the audit log', async () => {
    const audit = await api.get('/api/v1/admin/audit-events?action=rag.reconcile.run', { token: admin.accessToken });
    expect(audit.status).toBe(200);
    const events = (audit.body.items ?? audit.body) as any[];
    expect(events.length).toBeGreaterThanOrEqual(5);
    expect(events).toContainEqual(
      expect.objectContaining({
        action: 'rag.reconcile.run',
        actorUserId: admin.user.id,
        metadata: expect.objectContaining({ dryRun: true }),
      }),
    );
  });

  it('refuses bad input, non-admins, API keys and anonymous callers', async () => {
    for (const body of [{ knowledgeBaseId: 'not-a-uuid' }, { dryRun: 'yes' }, { dryRun: true, force: true }]) {
      const response = await reconcile(body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body).toMatchObject({ statusCode: 400, code: 'VALIDATION_FAILED' });
    }
    expect((await reconcile({ dryRun: true }, member.accessToken)).status).toBe(403);
    const key = (await api.post('/api/v1/api-keys', { name: 'ops' }, { token: admin.accessToken })).body.key;
    expect((await api.post('/api/v1/admin/rag/reconcile', { dryRun: true }, { apiKey: key })).status).toBe(403);
    expect((await api.post('/api/v1/admin/rag/reconcile', { dryRun: true })).status).toBe(401);
  });

  it('runs one reconciliation at a time per process', async () => {
    const reconciler = testApp.app.get(RagReconciler);
    const first = reconciler.run({ dryRun: true });
    await expect(reconciler.run({ dryRun: true })).rejects.toMatchObject({ status: 409, code: 'RAG_RECONCILE_RUNNING' });
    expect((await first).totals.differences).toBe(0);
  });
});

describe('RAG reconciliation from the command line', { timeout: 240_000 }, () => {
  const run = promisify(execFile);
  let dataDir: string;
  let env: Record<string, string>;
  const cli = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, ['-r', '@swc-node/register', 'src/cli.ts', ...args], {
        env: { ...process.env, ...env },
        timeout: 180_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };

  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'gremlins-cli-'));
    env = { NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('refuses bad arguments with the usage', async () => {
    const bad = await cli('rag:reconcile', '--knowledge-base', 'nope');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--knowledge-base needs a knowledge base id');
    expect(bad.stderr).toContain('Usage: node dist/src/cli.js');
    expect((await cli('rag:explode')).code).toBe(2);
  });

  it('reports drift with --dry-run, repairs it, then finds none; refuses while the server owns the embedded database', async () => {
    let app: NestFastifyApplication | null = await createApp(loadConfig(env));
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.getHttpServer().address();
    const api = new ApiClient(`http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`);
    try {
      const user = await api.register('admin@example.com');
      const kb = (
        await api.post('/api/v1/knowledge-bases', { name: 'CLI', chunkTokens: 32, overlapTokens: 0 }, { token: user.accessToken })
      ).body.id as string;
      const documentId = await uploadText(api.baseUrl, user, kb, textAbout(5, 6), 'five.txt');
      const { chunkCount } = await indexed(api, user, kb, documentId);
      const scope = { workspaceId: user.workspaceId, knowledgeBaseId: kb };
      await app.get(VectorStore).deleteIds(scope, [`${documentId}:0`]);
      await app.get(VectorStore).upsert([{ id: `${documentId}:77`, ...scope, documentId, vector: someVector(512, 3) }], 512);

      const locked = await cli('rag:reconcile', '--dry-run');
      expect(locked.code).toBe(1);
      expect(locked.stderr).toContain('POST /api/v1/admin/rag/reconcile');
      await app.close();
      app = null;

      const dry = await cli('rag:reconcile', '--dry-run', '--knowledge-base', kb);
      expect(dry.code, dry.stderr).toBe(0);
      expect(JSON.parse(dry.stdout)).toMatchObject({
        dryRun: true,
        knowledgeBaseId: kb,
        totals: { chunks: chunkCount, orphanVectors: 1, missingVectors: 1, deletedVectors: 0, reembeddedChunks: 0, differences: 2 },
      });
      const repair = await cli('rag:reconcile');
      expect(repair.code, repair.stderr).toBe(0);
      expect(JSON.parse(repair.stdout).totals).toMatchObject({ deletedVectors: 1, reembeddedChunks: 1, differences: 2 });
      const again = await cli('rag:reconcile', '--dry-run');
      expect(again.code, again.stderr).toBe(0);
      expect(JSON.parse(again.stdout).totals).toMatchObject({ knowledgeBases: 1, chunks: chunkCount, vectors: chunkCount, differences: 0 });
    } finally {
      await app?.close();
    }
  });
});
