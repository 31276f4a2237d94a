/**
 * The app's default vector store for benches: PgVectorStore on a fresh embedded PGlite
 * (pgvector loaded), in a temporary folder removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool } from 'pg';
import { EmbeddedPostgres } from 'src/database/embedded-postgres';
import { PgVectorStore } from 'src/modules/rag/vector-stores/pg-vector.store';
import { sqlFromPool } from 'src/modules/rag/vector-stores/sql-database';

export interface EmbeddedVectorStoreOptions {
  /** PGlite's buffer cache; the app's default is 16MB. */
  sharedBuffers?: string;
  efSearch?: number;
}

/** Runs `work` against a store on a database of its own (so one measurement's HNSW graph does not shape the next). */
export async function withEmbeddedVectorStore<T>(
  work: (store: PgVectorStore, pool: Pool) => Promise<T>,
  { sharedBuffers = '16MB', efSearch = 40 }: EmbeddedVectorStoreOptions = {},
): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gremlins-rag-bench-'));
  const db = await EmbeddedPostgres.start({ dataDir, maxConnections: 2, sharedBuffers });
  const pool = new Pool({ ...db.connection, user: db.connection.username, max: 2 });
  try {
    const store = new PgVectorStore(sqlFromPool(pool), { efSearch, location: 'the bench PGlite' });
    await store.connect();
    return await work(store, pool);
  } finally {
    await pool.end();
    await db.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
