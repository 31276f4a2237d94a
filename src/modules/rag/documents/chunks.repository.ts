import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import type { DocumentFormat, TextChunk } from 'src/modules/rag/rag.contracts';

export interface ChunkScope {
  workspaceId: string;
  knowledgeBaseId: string;
}

export interface ChunkPosition {
  id: string;
  documentId: string;
  chunkIndex: number;
}

/** Narrows a search; every field is optional and they combine with AND. */
export interface ChunkFilters {
  documentIds?: string[];
  formats?: DocumentFormat[];
  pageFrom?: number;
  pageTo?: number;
}

export interface ChunkHit {
  chunkId: string;
  documentId: string;
  documentName: string;
  text: string;
  page: number | null;
  headings: string[];
  start: number;
  end: number;
  /** ts_rank_cd for keyword search; 0 where the rows were loaded by id. */
  score: number;
}

interface ChunkRow {
  id: string;
  document_id: string;
  document_name: string;
  text: string;
  page: number | null;
  headings: string[];
  start_offset: number;
  end_offset: number;
  score: number | string;
}

const SELECT_HITS = `SELECT c.id, c.document_id, d.name AS document_name, c.text, c.page, c.headings, c.start_offset, c.end_offset`;

/** Chunk rows and the full-text index; the only code that writes or reads them. */
@Injectable()
export class ChunksRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /**
   * Inserts or overwrites chunks by their deterministic id, with their tsvector computed in
   * the same statement. Callers pass at most a few hundred rows (9 parameters each, under
   * PostgreSQL's 65,535).
   */
  async upsert(scope: ChunkScope, documentId: string, chunks: TextChunk[]): Promise<void> {
    if (chunks.length === 0) return;
    const params: unknown[] = [scope.workspaceId, scope.knowledgeBaseId];
    const values = chunks.map((chunk) => {
      const base = params.length;
      params.push(
        `${documentId}:${chunk.index}`,
        documentId,
        chunk.index,
        chunk.text,
        chunk.page,
        chunk.headings,
        chunk.start,
        chunk.end,
        chunk.tokenCount,
      );
      const p = (offset: number) => `$${base + offset}`;
      return `(${p(1)}, ${p(2)}, $2, $1, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)}::text[], ${p(7)}, ${p(8)}, ${p(9)}, to_tsvector('english', ${p(4)}))`;
    });
    await this.dataSource.query(
      `INSERT INTO rag_chunks (id, document_id, knowledge_base_id, workspace_id, chunk_index, text, page, headings, start_offset, end_offset, token_count, tsv)
       VALUES ${values.join(', ')}
       ON CONFLICT (id) DO UPDATE SET text = EXCLUDED.text, page = EXCLUDED.page, headings = EXCLUDED.headings,
         start_offset = EXCLUDED.start_offset, end_offset = EXCLUDED.end_offset, token_count = EXCLUDED.token_count, tsv = EXCLUDED.tsv`,
      params,
    );
  }

  /** Removes the chunks a shorter re-ingestion no longer produces. */
  async deleteFrom(documentId: string, fromIndex: number): Promise<void> {
    await this.dataSource.query('DELETE FROM rag_chunks WHERE document_id = $1 AND chunk_index >= $2', [documentId, fromIndex]);
  }

  async countOf(documentId: string): Promise<number> {
    const rows = await this.dataSource.query<{ count: string }[]>('SELECT count(*) AS count FROM rag_chunks WHERE document_id = $1', [
      documentId,
    ]);
    return Number(rows[0].count);
  }

  /** A page of one document's chunk ids in index order, after `afterIndex` (reconciliation walks every row this way). */
  async pageOfDocument(scope: ChunkScope, documentId: string, afterIndex: number, limit: number): Promise<ChunkPosition[]> {
    const rows = await this.dataSource.query<{ id: string; chunk_index: number }[]>(
      `SELECT id, chunk_index FROM rag_chunks
       WHERE document_id = $1 AND chunk_index > $2 AND workspace_id = $3 AND knowledge_base_id = $4
       ORDER BY chunk_index LIMIT $5`,
      [documentId, afterIndex, scope.workspaceId, scope.knowledgeBaseId, limit],
    );
    return rows.map((row) => ({ id: row.id, documentId, chunkIndex: row.chunk_index }));
  }

  /** Which of these ids have a chunk row in the scope. */
  async existingIds(scope: ChunkScope, ids: string[]): Promise<Set<string>> {
    if (ids.length === 0) return new Set();
    const rows = await this.dataSource.query<{ id: string }[]>(
      'SELECT id FROM rag_chunks WHERE workspace_id = $1 AND knowledge_base_id = $2 AND id = ANY($3::text[])',
      [scope.workspaceId, scope.knowledgeBaseId, ids],
    );
    return new Set(rows.map((row) => row.id));
  }

  /** The text of these chunks (to embed them again), by id. */
  async textsOf(scope: ChunkScope, ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.dataSource.query<{ id: string; text: string }[]>(
      'SELECT id, text FROM rag_chunks WHERE workspace_id = $1 AND knowledge_base_id = $2 AND id = ANY($3::text[])',
      [scope.workspaceId, scope.knowledgeBaseId, ids],
    );
    return new Map(rows.map((row) => [row.id, row.text]));
  }

  /** Full-text search with PostgreSQL's web-search syntax ("quoted phrases", -excluded, or). */
  async keyword(scope: ChunkScope, query: string, filters: ChunkFilters, limit: number): Promise<ChunkHit[]> {
    const params: unknown[] = [scope.workspaceId, scope.knowledgeBaseId, query];
    const where = filterClauses(filters, params);
    params.push(limit);
    const rows = await this.dataSource.query<ChunkRow[]>(
      `${SELECT_HITS}, ts_rank_cd(c.tsv, q.query) AS score
       FROM rag_chunks c
       JOIN rag_documents d ON d.id = c.document_id
       CROSS JOIN websearch_to_tsquery('english', $3) AS q(query)
       WHERE c.workspace_id = $1 AND c.knowledge_base_id = $2 AND c.tsv @@ q.query ${where}
       ORDER BY score DESC, c.id
       LIMIT $${params.length}`,
      params,
    );
    return rows.map(toHit);
  }

  /** The rows of these chunk ids within the scope and filters, in the order of `ids`; unknown ids are skipped. */
  async findByIds(scope: ChunkScope, ids: string[], filters: ChunkFilters): Promise<ChunkHit[]> {
    if (ids.length === 0) return [];
    const params: unknown[] = [scope.workspaceId, scope.knowledgeBaseId, ids];
    const where = filterClauses(filters, params);
    const rows = await this.dataSource.query<ChunkRow[]>(
      `${SELECT_HITS}, 0 AS score
       FROM rag_chunks c
       JOIN rag_documents d ON d.id = c.document_id
       WHERE c.workspace_id = $1 AND c.knowledge_base_id = $2 AND c.id = ANY($3::text[]) ${where}`,
      params,
    );
    const byId = new Map(rows.map((row) => [row.id, toHit(row)]));
    return ids.flatMap((id) => byId.get(id) ?? []);
  }

  /** Ids of the documents in the scope that pass the document-level filters (for the vector store, which only filters by document). */
  async documentIdsMatching(scope: ChunkScope, filters: Pick<ChunkFilters, 'documentIds' | 'formats'>): Promise<string[]> {
    const params: unknown[] = [scope.workspaceId, scope.knowledgeBaseId];
    const clauses: string[] = [];
    if (filters.documentIds) clauses.push(`AND d.id = ANY($${params.push(filters.documentIds)}::uuid[])`);
    if (filters.formats) clauses.push(`AND d.format = ANY($${params.push(filters.formats)}::text[])`);
    const rows = await this.dataSource.query<{ id: string }[]>(
      `SELECT d.id FROM rag_documents d WHERE d.workspace_id = $1 AND d.knowledge_base_id = $2 ${clauses.join(' ')}`,
      params,
    );
    return rows.map((row) => row.id);
  }
}

function filterClauses(filters: ChunkFilters, params: unknown[]): string {
  const clauses: string[] = [];
  if (filters.documentIds) clauses.push(`AND c.document_id = ANY($${params.push(filters.documentIds)}::uuid[])`);
  if (filters.formats) clauses.push(`AND d.format = ANY($${params.push(filters.formats)}::text[])`);
  if (filters.pageFrom !== undefined) clauses.push(`AND c.page >= $${params.push(filters.pageFrom)}`);
  if (filters.pageTo !== undefined) clauses.push(`AND c.page <= $${params.push(filters.pageTo)}`);
  return clauses.join(' ');
}

function toHit(row: ChunkRow): ChunkHit {
  return {
    chunkId: row.id,
    documentId: row.document_id,
    documentName: row.document_name,
    text: row.text,
    page: row.page,
    headings: row.headings,
    start: row.start_offset,
    end: row.end_offset,
    score: Number(row.score),
  };
}
