import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { JobQueue } from 'src/common/queue/job-queue';
import { QueueName } from 'src/common/queue/queue.constants';
import { EmbedderFactory } from 'src/modules/rag/embeddings/embedder.factory';
import { ingestJobId } from 'src/modules/rag/ingestion/ingest-document.job';
import { Embedder, VectorStore } from 'src/modules/rag/rag.contracts';
import { ApiClient } from 'test/support/http';
import { startTestApp, TestApp, TestAppOptions } from 'test/support/test-app';

const TOPICS = ['harbour', 'glacier', 'orchard', 'lighthouse', 'foundry', 'observatory', 'vineyard', 'monastery'];
/** Enough text for well over two embedding steps (64 chunks each) at 32-token chunks. */
const LONG_TEXT = Array.from(
  { length: 300 },
  (_, i) => `Sentence ${i} describes the ${TOPICS[i % TOPICS.length]} number ${i} and what its keepers did on day ${i}.`,
).join(' ');

/**
 * The ingestion job dies in the middle of its embed stage (after some chunks and vectors were
 * written) the first time; the queue retries it and the document must end indexed with
 * exactly one copy of every chunk, in the rows and in the vector store.
 */
function describeCrashDuringEmbedding(name: string, options: TestAppOptions) {
  describe(name, () => {
    let testApp: TestApp;
    let api: ApiClient;
    let owner: Awaited<ReturnType<ApiClient['register']>>;

    beforeAll(async () => {
      testApp = await startTestApp(options);
      api = new ApiClient(testApp.baseUrl);
      owner = await api.register('owner@example.com');
    });
    afterAll(() => testApp?.close());

    it('retries a job killed mid-embedding and ends with exactly one copy of each chunk', async () => {
      const db = testApp.app.get(DataSource);
      const countRows = async (documentId: string) =>
        Number((await db.query('SELECT count(*) AS n FROM rag_chunks WHERE document_id = $1', [documentId]))[0].n);
      const factory = testApp.app.get(EmbedderFactory);
      const create = factory.create.bind(factory);
      let rowsWhenKilled = -1;
      let documentId = '';
      vi.spyOn(factory, 'create').mockImplementation(async (...args) => {
        const real = await create(...args);
        const flaky: Embedder = {
          id: real.id,
          dimension: real.dimension,
          embed: async (texts, signal) => {
            // The first time some chunks are already written: the job dies half-way through.
            if (rowsWhenKilled < 0 && documentId !== '') {
              const rows = await countRows(documentId);
              if (rows > 0) {
                rowsWhenKilled = rows;
                throw new Error('worker killed while embedding');
              }
            }
            return real.embed(texts, signal);
          },
        };
        return flaky;
      });

      const kb = await api.post(
        '/api/v1/knowledge-bases',
        { name: 'Long', chunkTokens: 32, overlapTokens: 0 },
        { token: owner.accessToken },
      );
      expect(kb.status).toBe(201);
      const form = new FormData();
      form.append('file', new Blob([LONG_TEXT], { type: 'text/plain' }), 'long.txt');
      const uploaded = await fetch(`${testApp.baseUrl}/api/v1/knowledge-bases/${kb.body.id}/documents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${owner.accessToken}` },
        body: form,
      });
      expect(uploaded.status).toBe(201);
      documentId = ((await uploaded.json()) as { id: string }).id;

      const reasons = new Set<string>();
      const document = await vi.waitFor(
        async () => {
          const response = await api.get(`/api/v1/knowledge-bases/${kb.body.id}/documents/${documentId}`, { token: owner.accessToken });
          if (response.body.errorMessage) reasons.add(response.body.errorMessage);
          if (response.body.status !== 'indexed') throw new Error(`still ${response.body.status}: ${response.body.errorMessage}`);
          return response.body;
        },
        { timeout: 60_000, interval: 500 },
      );

      // The killed try had written whole steps before it died; a retry finished the job.
      expect(rowsWhenKilled % 64).toBe(0);
      expect(rowsWhenKilled).toBeGreaterThan(0);
      expect(rowsWhenKilled).toBeLessThan(document.chunkCount);
      expect(document.chunkCount).toBeGreaterThan(128);
      expect(document.errorCode).toBeNull();
      const job = await testApp.app.get(JobQueue).getJob(QueueName.Ingestion, ingestJobId(documentId, 0));
      expect(job?.state).toBe('completed');
      // Exactly the killed try and the one that finished: nothing else failed on the way
      // (src/database/pglite-message-batching.ts keeps concurrent statements apart on PGlite).
      expect(job?.attemptsMade, [...reasons].join(' | ')).toBe(2);

      const rows = await db.query<{ id: string }[]>('SELECT id FROM rag_chunks WHERE document_id = $1 ORDER BY chunk_index', [documentId]);
      expect(rows.map((row) => row.id)).toEqual(Array.from({ length: document.chunkCount }, (_, i) => `${documentId}:${i}`));
      const vectorIds = await testApp.app
        .get(VectorStore)
        .listIds({ workspaceId: owner.workspaceId, knowledgeBaseId: kb.body.id }, documentId);
      expect(vectorIds.sort()).toEqual(rows.map((row) => row.id).sort());

      const search = await api.post(
        `/api/v1/knowledge-bases/${kb.body.id}/search`,
        { query: 'what happened at the observatory', mode: 'hybrid', limit: 5 },
        { token: owner.accessToken },
      );
      expect(search.status).toBe(200);
      expect(search.body.results[0].text).toContain('observatory');
      // Hundreds of chunks through the CPU encoder plus a retry backoff, on a shared 2-core machine.
    }, 120_000);
  });
}

describeCrashDuringEmbedding('ingestion retry: in-memory queue, embedded database with pgvector', {});

describeCrashDuringEmbedding('ingestion retry: BullMQ on Redis, PostgreSQL, vectors in an embedded pgvector (PGVECTOR_URL=embedded)', {
  database: 'postgres',
  redis: true,
  env: { PGVECTOR_URL: 'embedded' },
});
