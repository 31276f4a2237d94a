import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedPostgres } from 'src/database/embedded-postgres';
import { PgVectorStore } from 'src/modules/rag/vector-stores/pg-vector.store';
import { sqlFromDataSource, sqlFromPool } from 'src/modules/rag/vector-stores/sql-database';
import { describeVectorStoreContract } from 'src/modules/rag/vector-stores/vector-store.contract';

/** One throwaway PGlite (with pgvector, as the app starts it) shared by the suites below. */
let embedded: Promise<{ db: EmbeddedPostgres; dataDir: string }> | null = null;
function embeddedDatabase() {
  embedded ??= (async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gremlins-pgvector-'));
    return { db: await EmbeddedPostgres.start({ dataDir, maxConnections: 8 }), dataDir };
  })();
  return embedded;
}

afterAll(async () => {
  if (!embedded) return;
  const { db, dataDir } = await embedded;
  await db.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describeVectorStoreContract('pgvector in PGlite, through a pg pool', async () => {
  const { db } = await embeddedDatabase();
  const pool = new Pool({ ...db.connection, user: db.connection.username, max: 3 });
  const store = new PgVectorStore(sqlFromPool(pool), { efSearch: 40, location: 'the test PGlite', upsertBatchSize: 2 });
  await store.connect();
  return { store, close: () => pool.end() };
});

describeVectorStoreContract("pgvector in PGlite, through the app's TypeORM DataSource", async () => {
  const { db } = await embeddedDatabase();
  const dataSource = await new DataSource({ type: 'postgres', ...db.connection, extra: { max: 3 } }).initialize();
  const store = new PgVectorStore(sqlFromDataSource(dataSource), { efSearch: 40, location: 'the test PGlite' });
  await store.connect();
  return { store, close: () => dataSource.destroy() };
});

describe('pgvector specifics', () => {
  let pool: Pool;
  let store: PgVectorStore;

  beforeAll(async () => {
    const { db } = await embeddedDatabase();
    pool = new Pool({ ...db.connection, user: db.connection.username, max: 2 });
    store = new PgVectorStore(sqlFromPool(pool), { efSearch: 40, location: 'the test PGlite' });
    await store.connect();
  });

  afterAll(() => pool?.end());

  it('creates one table per dimension with an HNSW cosine index and a scope index', async () => {
    const scope = { workspaceId: randomUUID(), knowledgeBaseId: randomUUID() };
    const documentId = randomUUID();
    await store.upsert([{ id: `${documentId}:0`, ...scope, documentId, vector: [1, 2, 3, 4, 5] }], 5);
    const { rows } = await pool.query<{ indexdef: string }>(
      `SELECT indexdef FROM pg_indexes WHERE tablename = 'rag_vectors_5' ORDER BY indexname`,
    );
    expect(rows.map((row) => row.indexdef)).toEqual([
      expect.stringMatching(/USING hnsw \(embedding vector_cosine_ops\) WITH \(m='?16'?, ef_construction='?64'?\)/),
      expect.stringContaining('(id)'),
      expect.stringContaining('(knowledge_base_id, document_id, id)'),
    ]);
  });

  it('indexes more than 2,000 dimensions through a half-precision copy and still ranks by cosine', async () => {
    const scope = { workspaceId: randomUUID(), knowledgeBaseId: randomUUID() };
    const documentId = randomUUID();
    const dimension = 3072;
    const axis = (i: number) => Array.from({ length: dimension }, (_, j) => (j === i ? 1 : 0.001));
    await store.upsert(
      [0, 1, 2].map((i) => ({ id: `${documentId}:${i}`, ...scope, documentId, vector: axis(i) })),
      dimension,
    );
    const hits = await store.search({ ...scope, vector: axis(1), limit: 2 });
    expect(hits[0]).toMatchObject({ id: `${documentId}:1` });
    expect(hits[0].score).toBeCloseTo(1, 2);
    const { rows } = await pool.query<{ indexdef: string }>(`SELECT indexdef FROM pg_indexes WHERE tablename = 'rag_vectors_3072'`);
    expect(rows.map((row) => row.indexdef).join('\n')).toContain('halfvec_cosine_ops');
    await expect(store.upsert([{ id: 'x', ...scope, documentId, vector: new Array<number>(4001).fill(1) }], 4001)).rejects.toMatchObject({
      code: 'RAG_VECTOR_DIMENSION_UNSUPPORTED',
      message: expect.stringContaining('1 to 4000'),
    });
  });

  it('analyses tables as they grow, so large knowledge bases search through HNSW and small ones stay complete', async () => {
    const documentId = randomUUID();
    const target = { workspaceId: randomUUID(), knowledgeBaseId: randomUUID() };
    const noise = { workspaceId: randomUUID(), knowledgeBaseId: randomUUID() };
    const random = () => Array.from({ length: 6 }, () => Math.random() - 0.5);
    await store.upsert(
      Array.from({ length: 2000 }, (_, i) => ({
        id: `${documentId}:${i}`,
        ...(i % 100 === 0 ? target : noise),
        documentId,
        vector: random(),
      })),
      6,
    );
    // A knowledge base holding 1% of a shared table: the filtered scan must still return `limit` rows.
    const hits = await store.search({ ...target, vector: random(), limit: 10 });
    expect(hits).toHaveLength(10);
    expect(hits.every((hit) => Number(hit.id.split(':')[1]) % 100 === 0)).toBe(true);
    const { rows: analysed } = await pool.query<{ count: string }>(
      `SELECT count(*) FROM pg_statistic WHERE starelid = 'rag_vectors_6'::regclass`,
    );
    expect(Number(analysed[0].count)).toBeGreaterThan(0);
    // With statistics, the knowledge base holding 99% of the table is searched through the HNSW index.
    const plan = await pool.query<{ 'QUERY PLAN': string }>(
      `EXPLAIN SELECT id FROM rag_vectors_6 WHERE workspace_id = $1 AND knowledge_base_id = $2 ORDER BY embedding <=> $3::vector(6) LIMIT 10`,
      [noise.workspaceId, noise.knowledgeBaseId, `[${random().join(',')}]`],
    );
    expect(plan.rows.map((row) => row['QUERY PLAN']).join('\n')).toContain('rag_vectors_6_hnsw_idx');
  });
});
