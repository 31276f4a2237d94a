import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigValidationError, loadConfig } from 'src/config/app-config';
import { PgVectorStore } from 'src/modules/rag/vector-stores/pg-vector.store';
import { QdrantStore } from 'src/modules/rag/vector-stores/qdrant.store';
import { openVectorStore } from 'src/modules/rag/vector-stores/vector-store.module';
import { createScratchDatabase, POSTGRES_ADMIN_URL } from 'test/support/test-app';

const JWT_SECRET = 'vector-store-spec-0123456789-abcdefghijklmnop';

async function serverHasPgvector(): Promise<boolean> {
  const client = new Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  const { rows } = await client.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`);
  await client.end();
  return rows.length > 0;
}

describe('choosing and opening the vector store from configuration', () => {
  let dataDir: string;
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  let appDatabase: DataSource;
  let pgvectorOnServer: boolean;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'gremlins-vector-config-'));
    pgvectorOnServer = await serverHasPgvector();
    scratch = await createScratchDatabase();
    appDatabase = await new DataSource({ type: 'postgres', url: scratch.url, extra: { max: 2 } }).initialize();
  });

  afterAll(async () => {
    await appDatabase?.destroy();
    await scratch?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const config = (env: Record<string, string>) => loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, JWT_SECRET, ...env });

  it('validates VECTOR_STORE, PGVECTOR_URL and QDRANT_URL with messages naming the fix', () => {
    expect(() => config({ VECTOR_STORE: 'qdrant' })).toThrow(/VECTOR_STORE: qdrant needs QDRANT_URL/);
    expect(() => config({ VECTOR_STORE: 'milvus' })).toThrow(ConfigValidationError);
    expect(() => config({ PGVECTOR_URL: 'mysql://db' })).toThrow(
      /PGVECTOR_URL: must be a URL starting with postgres:\/\/ .* or the word embedded/,
    );
    expect(() => config({ VECTOR_STORE: 'qdrant', QDRANT_URL: 'qdrant:6333' })).toThrow(
      /QDRANT_URL: must be a URL starting with http:\/\//,
    );
    expect(() => config({ PGVECTOR_EF_SEARCH: '0' })).toThrow(/PGVECTOR_EF_SEARCH/);
    expect(config({}).vectorStore).toEqual({ kind: 'pgvector', url: undefined, efSearch: 100 });
    expect(config({ VECTOR_STORE: 'qdrant', QDRANT_URL: 'http://qdrant:6333', QDRANT_API_KEY: 'k' }).vectorStore).toEqual({
      kind: 'qdrant',
      url: 'http://qdrant:6333',
      apiKey: 'k',
      collectionPrefix: 'gremlins_rag',
    });
  });

  it("fails at boot, naming PGVECTOR_URL and VECTOR_STORE=qdrant, when the app's PostgreSQL lacks pgvector", async (context) => {
    if (pgvectorOnServer) context.skip('this PostgreSQL has pgvector; the next test covers it');
    await expect(openVectorStore(config({ DATABASE_URL: scratch.url }), appDatabase)).rejects.toMatchObject({
      code: 'RAG_VECTOR_STORE_UNAVAILABLE',
      message: expect.stringMatching(/pgvector is not available in the app database \(DATABASE_URL\).*PGVECTOR_URL.*VECTOR_STORE=qdrant/s),
    });
    await expect(openVectorStore(config({ DATABASE_URL: scratch.url, PGVECTOR_URL: scratch.url }), appDatabase)).rejects.toMatchObject({
      message: expect.stringContaining('pgvector is not available in the database at PGVECTOR_URL'),
    });
  });

  it("uses the app's PostgreSQL when it has pgvector", async (context) => {
    if (!pgvectorOnServer) context.skip('this PostgreSQL has no pgvector (see shared/MACHINE.md); the test above covers it');
    const opened = await openVectorStore(config({ DATABASE_URL: scratch.url }), appDatabase);
    expect(opened.store).toBeInstanceOf(PgVectorStore);
    await opened.close();
  });

  it('keeps vectors in an embedded PGlite with PGVECTOR_URL=embedded, beside a PostgreSQL without pgvector', async () => {
    const opened = await openVectorStore(config({ DATABASE_URL: scratch.url, PGVECTOR_URL: 'embedded' }), appDatabase);
    try {
      const scope = { workspaceId: randomUUID(), knowledgeBaseId: randomUUID() };
      const documentId = randomUUID();
      await opened.store.upsert([{ id: `${documentId}:0`, ...scope, documentId, vector: [0.6, 0.8] }], 2);
      expect(await opened.store.search({ ...scope, vector: [0.6, 0.8], limit: 1 })).toEqual([
        { id: `${documentId}:0`, documentId, score: expect.closeTo(1, 5) },
      ]);
      // Nothing was written to the app's database.
      expect(await appDatabase.query(`SELECT tablename FROM pg_tables WHERE tablename LIKE 'rag_vectors_%'`)).toEqual([]);
    } finally {
      await opened.close();
    }
  });

  it('opens Qdrant with VECTOR_STORE=qdrant without needing it up at boot', async () => {
    const opened = await openVectorStore(config({ VECTOR_STORE: 'qdrant', QDRANT_URL: 'http://127.0.0.1:1' }), appDatabase);
    expect(opened.store).toBeInstanceOf(QdrantStore);
    // Down is a clear 503-class error at use, not a crash.
    await expect(
      opened.store.search({ workspaceId: randomUUID(), knowledgeBaseId: randomUUID(), vector: [1, 0], limit: 1 }),
    ).rejects.toMatchObject({ code: 'RAG_VECTOR_STORE_UNAVAILABLE', message: expect.stringContaining('Qdrant request failed') });
    await opened.close();
  });
});
