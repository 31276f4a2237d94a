import { Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { join } from 'node:path';
import { Pool } from 'pg';
import { DataSource } from 'typeorm';
import { AppConfig } from 'src/config/app-config';
import { EmbeddedPostgres } from 'src/database/embedded-postgres';
import { VectorStore } from 'src/modules/rag/rag.contracts';
import { PgVectorStore } from 'src/modules/rag/vector-stores/pg-vector.store';
import { QdrantStore } from 'src/modules/rag/vector-stores/qdrant.store';
import { sqlFromDataSource, sqlFromPool, type SqlDatabase } from 'src/modules/rag/vector-stores/sql-database';

const OPENED_VECTOR_STORE = Symbol('OPENED_VECTOR_STORE');
const VECTOR_POOL_SIZE = 5;

export interface OpenedVectorStore {
  store: VectorStore;
  /** Releases what the store opened for itself (a pool, an embedded database); the app's pool is not its to close. */
  close(): Promise<void>;
}

/**
 * Chooses and opens the vector store from configuration. pgvector (the default) uses the
 * app's own database unless PGVECTOR_URL names another; it fails here, at boot, when that
 * database lacks the extension, rather than at the first upload.
 */
export async function openVectorStore(config: AppConfig, appDatabase: DataSource): Promise<OpenedVectorStore> {
  const settings = config.vectorStore;
  if (settings.kind === 'qdrant') {
    const store = await QdrantStore.open({ url: settings.url, apiKey: settings.apiKey, collectionPrefix: settings.collectionPrefix });
    await store.connect();
    return { store, close: () => Promise.resolve() };
  }

  let db: SqlDatabase;
  let location: string;
  let close = (): Promise<void> => Promise.resolve();
  if (settings.url === 'embedded') {
    const embedded = await EmbeddedPostgres.start({ dataDir: join(config.dataDir, 'vectors'), maxConnections: VECTOR_POOL_SIZE });
    const pool = newPool({ ...embedded.connection, user: embedded.connection.username, max: VECTOR_POOL_SIZE });
    db = sqlFromPool(pool);
    location = 'the embedded vector database (DATA_DIR/vectors)';
    close = async () => {
      await pool.end();
      await embedded.stop();
    };
  } else if (settings.url) {
    const pool = newPool({ connectionString: settings.url, max: VECTOR_POOL_SIZE });
    db = sqlFromPool(pool);
    location = 'the database at PGVECTOR_URL';
    close = () => pool.end();
  } else {
    db = sqlFromDataSource(appDatabase);
    location = config.isEmbeddedDatabase ? 'the embedded database' : 'the app database (DATABASE_URL)';
  }

  const store = new PgVectorStore(db, { efSearch: settings.efSearch, location });
  try {
    await store.connect();
  } catch (error) {
    await close();
    throw error;
  }
  return { store, close };
}

function newPool(options: ConstructorParameters<typeof Pool>[0]): Pool {
  const pool = new Pool(options);
  // An idle connection dropped by the server must not crash the process; the next query reconnects.
  pool.on('error', (error) => new Logger('VectorStore').warn(`vector database connection lost: ${error.message}`));
  return pool;
}

@Injectable()
class VectorStoreLifecycle implements OnApplicationShutdown {
  constructor(@Inject(OPENED_VECTOR_STORE) private readonly opened: OpenedVectorStore) {}

  async onApplicationShutdown(): Promise<void> {
    await this.opened.close();
  }
}

/** Provides the configured `VectorStore` (VECTOR_STORE, PGVECTOR_URL, QDRANT_URL). */
@Module({
  providers: [
    { provide: OPENED_VECTOR_STORE, inject: [AppConfig, DataSource], useFactory: openVectorStore },
    { provide: VectorStore, inject: [OPENED_VECTOR_STORE], useFactory: (opened: OpenedVectorStore) => opened.store },
    VectorStoreLifecycle,
  ],
  exports: [VectorStore],
})
export class VectorStoreModule {}
