import { Logger } from '@nestjs/common';
import {
  VectorStore,
  type StoredVectorPage,
  type StoredVectorRef,
  type VectorHit,
  type VectorQuery,
  type VectorRecord,
} from 'src/modules/rag/rag.contracts';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';
import type { SqlDatabase, SqlSession } from 'src/modules/rag/vector-stores/sql-database';
import {
  checkDimension,
  checkIds,
  checkPageLimit,
  checkQuery,
  checkRecords,
  checkScope,
  decodeCursor,
  encodeCursor,
  isDimension,
  isUuid,
  isVectorId,
  type VectorScope,
} from 'src/modules/rag/vector-stores/vector-input';

const TABLE_PREFIX = 'rag_vectors_';
const TABLE_PATTERN = /^rag_vectors_(\d+)$/;
/** pgvector indexes `vector` up to 2,000 dimensions and `halfvec` up to 4,000. */
const MAX_FULL_PRECISION_INDEX = 2000;
export const PGVECTOR_MAX_DIMENSION = 4000;
/** pgvector's own defaults; see docs/adr/0017-rag-vectors.md for why they stay. */
export const HNSW_M = 16;
export const HNSW_EF_CONSTRUCTION = 64;
const UNDEFINED_TABLE = '42P01';
/** Rows written before the first ANALYZE of a table, and the least between later ones. */
const ANALYZE_MIN_ROWS = 1000;
/** Later ANALYZEs once this share of the table has been written since the last (autovacuum's default). */
const ANALYZE_FRACTION = 0.1;

export interface PgVectorStoreOptions {
  /** `hnsw.ef_search`: candidates examined per search; raised to the requested limit when lower. */
  efSearch: number;
  /** Rows per INSERT: each statement holds PGlite's single session, so they stay small. */
  upsertBatchSize?: number;
  /** Names the database in error messages, e.g. "the app database (DATABASE_URL)". */
  location: string;
}

/** pgvector 0.8 can continue an HNSW scan until enough rows pass the filter; older servers cannot. */
function supportsIterativeScan(version: string): boolean {
  const [major, minor] = version.split('.').map(Number);
  return major > 0 || minor >= 8;
}

const tableName = (dimension: number) => `${TABLE_PREFIX}${dimension}`;

/** Above 2,000 dimensions the index (and so the ORDER BY, which must match it) works on a half-precision copy. */
function distanceExpression(dimension: number, parameter: string): string {
  return dimension <= MAX_FULL_PRECISION_INDEX
    ? `embedding <=> ${parameter}::vector(${dimension})`
    : `embedding::halfvec(${dimension}) <=> ${parameter}::halfvec(${dimension})`;
}

const toVectorLiteral = (vector: number[]) => `[${vector.join(',')}]`;

/** Where a walk over a knowledge base's vectors stopped: the last (document, id, dimension) returned. */
type PgCursor = [documentId: string, id: string, dimension: number];
const isPgCursor = (value: unknown): value is PgCursor =>
  Array.isArray(value) && value.length === 3 && isUuid(value[0]) && isVectorId(value[1]) && isDimension(value[2]);

interface RefRow {
  id: string;
  document_id: string;
  dimension: number;
}
const toRef = (row: RefRow): StoredVectorRef => ({ id: row.id, documentId: row.document_id, dimension: Number(row.dimension) });

/**
 * Vectors in PostgreSQL with pgvector (the embedded PGlite has it; plain PostgreSQL may not),
 * one table per dimension created on first use, each with an HNSW cosine index. Relational
 * data (chunks, their text) stays with the module's entities; this table holds only what the
 * index needs, so the same data can live in Qdrant instead. See docs/adr/0017-rag-vectors.md.
 */
export class PgVectorStore extends VectorStore {
  readonly kind = 'pgvector' as const;
  private readonly logger = new Logger(PgVectorStore.name);
  private readonly tables = new Map<number, Promise<void>>();
  private readonly writesSinceAnalyze = new Map<number, { written: number; threshold: number }>();
  private readonly upsertBatchSize: number;
  private iterativeScan = false;

  constructor(
    private readonly db: SqlDatabase,
    private readonly options: PgVectorStoreOptions,
  ) {
    super();
    this.upsertBatchSize = options.upsertBatchSize ?? 128;
  }

  /** Makes sure pgvector is there (creating it when allowed); called once at boot. */
  async connect(): Promise<void> {
    let version = await this.extensionVersion();
    if (version === null) {
      try {
        await this.db.query('CREATE EXTENSION IF NOT EXISTS vector');
      } catch (error) {
        throw new RagException(
          RagErrorCode.VectorStoreUnavailable,
          `pgvector is not available in ${this.options.location}: ${(error as Error).message}. ` +
            'Install the pgvector extension there, set PGVECTOR_URL to a PostgreSQL that has it ' +
            '(or PGVECTOR_URL=embedded for an embedded PGlite in DATA_DIR/vectors), or set VECTOR_STORE=qdrant with QDRANT_URL.',
        );
      }
      version = (await this.extensionVersion()) ?? '0';
    }
    this.iterativeScan = supportsIterativeScan(version);
    if (!this.iterativeScan) {
      this.logger.warn(
        `pgvector ${version} cannot continue filtered HNSW scans; upgrade to 0.8+ for complete results in large shared tables`,
      );
    }
  }

  async upsert(records: VectorRecord[], dimension: number): Promise<void> {
    checkRecords(records, dimension, PGVECTOR_MAX_DIMENSION, 'pgvector');
    if (records.length === 0) return;
    await this.ensureTable(dimension);
    const table = tableName(dimension);
    const otherTables = (await this.existingDimensions()).filter((other) => other !== dimension).map(tableName);
    for (let start = 0; start < records.length; start += this.upsertBatchSize) {
      const batch = records.slice(start, start + this.upsertBatchSize);
      const ids = batch.map((record) => record.id);
      // The guard keeps an id that belongs to another knowledge base untouched; RETURNING shows which were.
      const written = await this.db.query<{ id: string }>(
        `INSERT INTO ${table} (id, workspace_id, knowledge_base_id, document_id, embedding)
         SELECT id, workspace_id, knowledge_base_id, document_id, embedding::vector(${dimension})
         FROM unnest($1::text[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[]) AS input(id, workspace_id, knowledge_base_id, document_id, embedding)
         ON CONFLICT (id) DO UPDATE SET document_id = EXCLUDED.document_id, embedding = EXCLUDED.embedding
         WHERE ${table}.workspace_id = EXCLUDED.workspace_id AND ${table}.knowledge_base_id = EXCLUDED.knowledge_base_id
         RETURNING id`,
        [
          ids,
          batch.map((record) => record.workspaceId),
          batch.map((record) => record.knowledgeBaseId),
          batch.map((record) => record.documentId),
          batch.map((record) => toVectorLiteral(record.vector)),
        ],
      );
      if (written.length !== batch.length) {
        const done = new Set(written.map((row) => row.id));
        const refused = ids.filter((id) => !done.has(id));
        throw new RagException(
          RagErrorCode.VectorIdConflict,
          `vector ids already stored for another knowledge base: ${refused.slice(0, 5).join(', ')}${refused.length > 5 ? ', ...' : ''}`,
        );
      }
      await this.analyzeWhenStale(dimension, batch.length);
      // An id keeps one vector whatever the dimension: re-embedding with another model replaces, never duplicates.
      for (const other of otherTables) {
        await this.db.query(
          `DELETE FROM ${other} USING unnest($1::text[], $2::uuid[]) AS input(id, knowledge_base_id)
           WHERE ${other}.id = input.id AND ${other}.knowledge_base_id = input.knowledge_base_id`,
          [ids, batch.map((record) => record.knowledgeBaseId)],
        );
      }
    }
  }

  async search(query: VectorQuery): Promise<VectorHit[]> {
    checkQuery(query, PGVECTOR_MAX_DIMENSION, 'pgvector');
    const dimension = query.vector.length;
    const params: unknown[] = [toVectorLiteral(query.vector), query.workspaceId, query.knowledgeBaseId, query.limit];
    let documentFilter = '';
    if (query.documentIds) {
      if (query.documentIds.length === 0) return [];
      params.push(query.documentIds);
      documentFilter = 'AND document_id = ANY($5::uuid[])';
    }
    const sql = `SELECT id, document_id, ${distanceExpression(dimension, '$1')} AS distance
      FROM ${tableName(dimension)}
      WHERE workspace_id = $2 AND knowledge_base_id = $3 ${documentFilter}
      ORDER BY distance LIMIT $4`;
    let rows: { id: string; document_id: string; distance: number }[];
    try {
      rows = await this.db.transaction(async (session) => {
        await this.tuneScan(session, query.limit);
        return session.query<{ id: string; document_id: string; distance: number }>(sql, params);
      });
    } catch (error) {
      if ((error as { code?: string }).code !== UNDEFINED_TABLE) throw error;
      rows = [];
    }
    if (rows.length === 0) await this.refuseOtherDimension(query, dimension);
    return rows.map((row) => ({ id: row.id, documentId: row.document_id, score: 1 - Number(row.distance) }));
  }

  async deleteDocument(scope: VectorScope, documentId: string): Promise<void> {
    checkScope(scope, documentId);
    for (const dimension of await this.existingDimensions()) {
      await this.db.query(`DELETE FROM ${tableName(dimension)} WHERE workspace_id = $1 AND knowledge_base_id = $2 AND document_id = $3`, [
        scope.workspaceId,
        scope.knowledgeBaseId,
        documentId,
      ]);
    }
  }

  async deleteKnowledgeBase(scope: VectorScope): Promise<void> {
    checkScope(scope);
    for (const dimension of await this.existingDimensions()) {
      await this.db.query(`DELETE FROM ${tableName(dimension)} WHERE workspace_id = $1 AND knowledge_base_id = $2`, [
        scope.workspaceId,
        scope.knowledgeBaseId,
      ]);
    }
  }

  async listIds(scope: VectorScope, documentId: string): Promise<string[]> {
    checkScope(scope, documentId);
    const ids: string[] = [];
    for (const dimension of await this.existingDimensions()) {
      const rows = await this.db.query<{ id: string }>(
        `SELECT id FROM ${tableName(dimension)} WHERE workspace_id = $1 AND knowledge_base_id = $2 AND document_id = $3`,
        [scope.workspaceId, scope.knowledgeBaseId, documentId],
      );
      ids.push(...rows.map((row) => row.id));
    }
    return ids.sort();
  }

  /**
   * Keyset pagination in (document, id, dimension) order over every dimension's table, so the
   * scope index serves each page and deletions between pages never skip a row.
   */
  async listKnowledgeBaseVectors(scope: VectorScope, page: { cursor?: string | null; limit: number }): Promise<StoredVectorPage> {
    checkScope(scope);
    checkPageLimit(page.limit);
    const after = page.cursor ? decodeCursor(page.cursor, isPgCursor) : null;
    const dimensions = await this.existingDimensions();
    if (dimensions.length === 0) return { vectors: [], cursor: null };
    const params: unknown[] = [scope.workspaceId, scope.knowledgeBaseId, page.limit];
    if (after) params.push(after[0], after[1]);
    const selects = dimensions.map((dimension) => {
      // The same (document, id) at a higher dimension than the cursor's still comes after it.
      const position = after ? `AND (document_id, id) ${dimension > after[2] ? '>=' : '>'} ($4::uuid, $5::text)` : '';
      return `(SELECT id, document_id, ${dimension} AS dimension FROM ${tableName(dimension)}
        WHERE workspace_id = $1 AND knowledge_base_id = $2 ${position} ORDER BY document_id, id LIMIT $3)`;
    });
    const rows = await this.db.query<RefRow>(
      `SELECT id, document_id, dimension FROM (${selects.join(' UNION ALL ')}) AS stored ORDER BY document_id, id, dimension LIMIT $3`,
      params,
    );
    const vectors = rows.map(toRef);
    const last = vectors[vectors.length - 1];
    return { vectors, cursor: vectors.length < page.limit ? null : encodeCursor([last.documentId, last.id, last.dimension]) };
  }

  async findVectors(scope: VectorScope, ids: string[]): Promise<StoredVectorRef[]> {
    checkScope(scope);
    checkIds(ids);
    if (ids.length === 0) return [];
    const found: StoredVectorRef[] = [];
    for (const dimension of await this.existingDimensions()) {
      const rows = await this.db.query<RefRow>(
        `SELECT id, document_id, ${dimension} AS dimension FROM ${tableName(dimension)}
         WHERE id = ANY($1::text[]) AND workspace_id = $2 AND knowledge_base_id = $3`,
        [ids, scope.workspaceId, scope.knowledgeBaseId],
      );
      found.push(...rows.map(toRef));
    }
    return found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.dimension - b.dimension));
  }

  async deleteIds(scope: VectorScope, ids: string[]): Promise<void> {
    checkScope(scope);
    checkIds(ids);
    if (ids.length === 0) return;
    for (const dimension of await this.existingDimensions()) {
      await this.db.query(
        `DELETE FROM ${tableName(dimension)} WHERE id = ANY($1::text[]) AND workspace_id = $2 AND knowledge_base_id = $3`,
        [ids, scope.workspaceId, scope.knowledgeBaseId],
      );
    }
  }

  async listKnowledgeBaseScopes(): Promise<VectorScope[]> {
    const dimensions = await this.existingDimensions();
    if (dimensions.length === 0) return [];
    const rows = await this.db.query<{ workspace_id: string; knowledge_base_id: string }>(
      `SELECT DISTINCT workspace_id, knowledge_base_id FROM (${dimensions
        .map((dimension) => `SELECT DISTINCT workspace_id, knowledge_base_id FROM ${tableName(dimension)}`)
        .join(' UNION ALL ')}) AS stored ORDER BY workspace_id, knowledge_base_id`,
    );
    return rows.map((row) => ({ workspaceId: row.workspace_id, knowledgeBaseId: row.knowledge_base_id }));
  }

  /**
   * Settings for this search only (`is_local`): PGlite shares one session between all pool
   * connections, so a plain SET would leak to every other query.
   */
  private async tuneScan(session: SqlSession, limit: number): Promise<void> {
    const efSearch = String(Math.max(this.options.efSearch, limit));
    if (this.iterativeScan) {
      // strict_order: a filtered scan continues until `limit` rows pass, still in exact distance order.
      await session.query(`SELECT set_config('hnsw.ef_search', $1, true), set_config('hnsw.iterative_scan', 'strict_order', true)`, [
        efSearch,
      ]);
    } else {
      await session.query(`SELECT set_config('hnsw.ef_search', $1, true)`, [efSearch]);
    }
  }

  /**
   * The planner picks between the HNSW index (large knowledge bases) and the scope index with
   * an exact sort (small ones) from table statistics. PGlite runs no autovacuum, so without
   * this a table is never analysed and every search would sort its whole knowledge base.
   */
  private async analyzeWhenStale(dimension: number, written: number): Promise<void> {
    const state = this.writesSinceAnalyze.get(dimension) ?? { written: 0, threshold: ANALYZE_MIN_ROWS };
    state.written += written;
    this.writesSinceAnalyze.set(dimension, state);
    if (state.written < state.threshold) return;
    await this.db.query(`ANALYZE ${tableName(dimension)}`);
    const [stats] = await this.db.query<{ rows: number }>(`SELECT reltuples::float8 AS rows FROM pg_class WHERE relname = $1`, [
      tableName(dimension),
    ]);
    state.written = 0;
    state.threshold = Math.max(ANALYZE_MIN_ROWS, Math.round(Number(stats?.rows ?? 0) * ANALYZE_FRACTION));
  }

  /** An empty result because the knowledge base was indexed at another dimension is a mistake worth naming. */
  private async refuseOtherDimension(query: VectorQuery, dimension: number): Promise<void> {
    for (const other of await this.existingDimensions()) {
      if (other === dimension) continue;
      const found = await this.db.query(`SELECT 1 FROM ${tableName(other)} WHERE workspace_id = $1 AND knowledge_base_id = $2 LIMIT 1`, [
        query.workspaceId,
        query.knowledgeBaseId,
      ]);
      if (found.length > 0) {
        throw new RagException(
          RagErrorCode.VectorDimensionMismatch,
          `this knowledge base holds ${other}-dimensional vectors; the query vector has ${dimension} dimensions`,
        );
      }
    }
  }

  /** Read from the catalog each time: another replica may have created a table since. */
  private async existingDimensions(): Promise<number[]> {
    const rows = await this.db.query<{ tablename: string }>(
      `SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename LIKE '${TABLE_PREFIX}%'`,
    );
    return rows.flatMap((row) => {
      const match = TABLE_PATTERN.exec(row.tablename);
      return match ? [Number(match[1])] : [];
    });
  }

  private async extensionVersion(): Promise<string | null> {
    const rows = await this.db.query<{ extversion: string }>(`SELECT extversion FROM pg_extension WHERE extname = 'vector'`);
    return rows[0]?.extversion ?? null;
  }

  private ensureTable(dimension: number): Promise<void> {
    checkDimension(dimension, PGVECTOR_MAX_DIMENSION, 'pgvector');
    let ready = this.tables.get(dimension);
    if (!ready) {
      ready = this.createTable(dimension);
      this.tables.set(dimension, ready);
      ready.catch(() => this.tables.delete(dimension));
    }
    return ready;
  }

  private async createTable(dimension: number): Promise<void> {
    const table = tableName(dimension);
    const indexed =
      dimension <= MAX_FULL_PRECISION_INDEX ? 'embedding vector_cosine_ops' : `(embedding::halfvec(${dimension})) halfvec_cosine_ops`;
    await this.db.transaction(async (session) => {
      // Two workers creating the same table at once would collide in the catalog; the lock lines them up.
      await session.query('SELECT pg_advisory_xact_lock(hashtext($1))', [table]);
      await session.query(`CREATE TABLE IF NOT EXISTS ${table} (
        id text PRIMARY KEY,
        workspace_id uuid NOT NULL,
        knowledge_base_id uuid NOT NULL,
        document_id uuid NOT NULL,
        embedding vector(${dimension}) NOT NULL
      )`);
      // Serves document deletes and the reconciliation walk in (document, id) order; ids last so
      // that a page resumes inside the index instead of sorting the rest of the knowledge base.
      await session.query(`CREATE INDEX IF NOT EXISTS ${table}_scope_id_idx ON ${table} (knowledge_base_id, document_id, id)`);
      await session.query(
        `CREATE INDEX IF NOT EXISTS ${table}_hnsw_idx ON ${table} USING hnsw (${indexed}) WITH (m = ${HNSW_M}, ef_construction = ${HNSW_EF_CONSTRUCTION})`,
      );
    });
  }
}
