import { Logger } from '@nestjs/common';
import type { QdrantClient, Schemas } from '@qdrant/js-client-rest';
import { createHash } from 'node:crypto';
import {
  VectorStore,
  type StoredVectorPage,
  type StoredVectorRef,
  type VectorHit,
  type VectorQuery,
  type VectorRecord,
} from 'src/modules/rag/rag.contracts';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';
import {
  checkIds,
  checkPageLimit,
  checkQuery,
  checkRecords,
  checkScope,
  decodeCursor,
  encodeCursor,
  isDimension,
  type VectorScope,
} from 'src/modules/rag/vector-stores/vector-input';

export const QDRANT_MAX_DIMENSION = 65_536;
const UPSERT_BATCH_SIZE = 256;
const SCROLL_PAGE = 1_000;
/** Fixed namespace of the point ids (UUID v5 of the record id): the same record id always maps to the same point. */
const POINT_ID_NAMESPACE = Buffer.from('8d0c5a4e6f2b4e1a9c3d7b5e2f1a0c9d', 'hex');
const INDEXED_FIELDS = ['workspace_id', 'knowledge_base_id', 'document_id'] as const;

interface StoredPayload {
  id: string;
  workspace_id: string;
  knowledge_base_id: string;
  document_id: string;
}

export interface QdrantStoreOptions {
  url: string;
  apiKey?: string;
  /** Collections are `<prefix>_<dimension>`. */
  collectionPrefix: string;
  /** Per request, in milliseconds. */
  timeoutMs?: number;
}

/** Qdrant accepts only unsigned integers and UUIDs as point ids; ours are strings, kept in the payload. */
export function qdrantPointId(recordId: string): string {
  const bytes = createHash('sha1').update(POINT_ID_NAMESPACE).update(recordId).digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const match = (key: string, value: string): Schemas['FieldCondition'] => ({ key, match: { value } });
const scopeFilter = (scope: VectorScope, documentId?: string): Schemas['Filter'] => ({
  must: [
    match('workspace_id', scope.workspaceId),
    match('knowledge_base_id', scope.knowledgeBaseId),
    ...(documentId === undefined ? [] : [match('document_id', documentId)]),
  ],
});
const isNotFound = (error: unknown) => (error as { status?: number }).status === 404;
/** Values per facet request; the next request leaves out the values already seen. */
const FACET_PAGE = 1_000;

/** Where a walk over a knowledge base's vectors stopped: a collection (by dimension) and Qdrant's offset in it (null: its start). */
type QdrantCursor = [dimension: number, offset: string | number | null];
const isQdrantCursor = (value: unknown): value is QdrantCursor =>
  Array.isArray(value) &&
  value.length === 2 &&
  isDimension(value[0]) &&
  (value[1] === null || typeof value[1] === 'string' || (Number.isInteger(value[1]) && (value[1] as number) >= 0));

/**
 * Vectors in Qdrant: one cosine collection per dimension, created on first use, with keyword
 * payload indexes on the scope fields so filtered searches stay fast; every query is filtered
 * by workspace and knowledge base.
 */
export class QdrantStore extends VectorStore {
  readonly kind = 'qdrant' as const;
  private readonly logger = new Logger(QdrantStore.name);
  private readonly collections = new Map<number, Promise<void>>();

  constructor(
    private readonly client: QdrantClient,
    private readonly options: QdrantStoreOptions,
  ) {
    super();
  }

  /** The client (~20 MB resident) is loaded only by deployments that choose Qdrant. */
  static async open(options: QdrantStoreOptions): Promise<QdrantStore> {
    const { QdrantClient } = await import('@qdrant/js-client-rest');
    // The client's own version check only console.warns; connect() logs the version instead.
    const client = new QdrantClient({
      url: options.url,
      apiKey: options.apiKey,
      timeout: options.timeoutMs ?? 30_000,
      checkCompatibility: false,
    });
    return new QdrantStore(client, options);
  }

  /** Logs the server's version; an unreachable Qdrant is reported, not fatal (it may come up after the app). */
  async connect(): Promise<void> {
    try {
      const info = await this.client.versionInfo();
      this.logger.log(
        `Qdrant ${info.version} at ${new URL(this.options.url).host}, collections ${this.options.collectionPrefix}_<dimension>`,
      );
    } catch (error) {
      this.logger.warn(`Qdrant at ${new URL(this.options.url).host} did not answer: ${(error as Error).message}`);
    }
  }

  async upsert(records: VectorRecord[], dimension: number): Promise<void> {
    checkRecords(records, dimension, QDRANT_MAX_DIMENSION, 'Qdrant');
    if (records.length === 0) return;
    const collection = await this.ensureCollection(dimension);
    const others = (await this.existingDimensions()).filter((other) => other !== dimension).map((other) => this.collectionName(other));
    for (let start = 0; start < records.length; start += UPSERT_BATCH_SIZE) {
      const batch = records.slice(start, start + UPSERT_BATCH_SIZE);
      await this.call(async () => {
        await this.refuseForeignIds(collection, batch);
        await this.client.upsert(collection, {
          wait: true,
          points: batch.map((record) => ({
            id: qdrantPointId(record.id),
            vector: record.vector,
            payload: {
              id: record.id,
              workspace_id: record.workspaceId,
              knowledge_base_id: record.knowledgeBaseId,
              document_id: record.documentId,
            } satisfies StoredPayload,
          })),
        });
        // An id keeps one vector whatever the dimension: re-embedding with another model replaces, never duplicates.
        for (const other of others) {
          for (const [knowledgeBaseId, ids] of groupIdsByKnowledgeBase(batch)) {
            await this.client.delete(other, {
              wait: true,
              filter: { must: [{ has_id: ids.map(qdrantPointId) }, match('knowledge_base_id', knowledgeBaseId)] },
            });
          }
        }
      });
    }
  }

  async search(query: VectorQuery): Promise<VectorHit[]> {
    checkQuery(query, QDRANT_MAX_DIMENSION, 'Qdrant');
    if (query.documentIds?.length === 0) return [];
    const dimension = query.vector.length;
    const filter = scopeFilter(query);
    if (query.documentIds)
      filter.must = [...(filter.must as Schemas['Condition'][]), { key: 'document_id', match: { any: query.documentIds } }];
    const points = await this.call(async () => {
      try {
        const result = await this.client.query(this.collectionName(dimension), {
          query: query.vector,
          filter,
          limit: query.limit,
          with_payload: ['id', 'document_id'],
        });
        return result.points;
      } catch (error) {
        if (isNotFound(error)) return [];
        throw error;
      }
    });
    if (points.length === 0) await this.refuseOtherDimension(query, dimension);
    return points.map((point) => {
      const payload = point.payload as Pick<StoredPayload, 'id' | 'document_id'>;
      return { id: payload.id, documentId: payload.document_id, score: point.score };
    });
  }

  async deleteDocument(scope: VectorScope, documentId: string): Promise<void> {
    checkScope(scope, documentId);
    await this.deleteWhere(scopeFilter(scope, documentId));
  }

  async deleteKnowledgeBase(scope: VectorScope): Promise<void> {
    checkScope(scope);
    await this.deleteWhere(scopeFilter(scope));
  }

  async listIds(scope: VectorScope, documentId: string): Promise<string[]> {
    checkScope(scope, documentId);
    const ids: string[] = [];
    for (const dimension of await this.existingDimensions()) {
      let offset: Schemas['ExtendedPointId'] | null | undefined;
      do {
        const page = await this.call(() =>
          this.client.scroll(this.collectionName(dimension), {
            filter: scopeFilter(scope, documentId),
            limit: SCROLL_PAGE,
            with_payload: ['id'],
            with_vector: false,
            ...(offset !== undefined && offset !== null && { offset }),
          }),
        );
        ids.push(...page.points.map((point) => (point.payload as Pick<StoredPayload, 'id'>).id));
        offset = page.next_page_offset as Schemas['ExtendedPointId'] | null | undefined;
      } while (offset !== undefined && offset !== null);
    }
    return ids.sort();
  }

  /** Scrolls collection after collection (ascending dimension) in Qdrant's point order; the cursor names both. */
  async listKnowledgeBaseVectors(scope: VectorScope, page: { cursor?: string | null; limit: number }): Promise<StoredVectorPage> {
    checkScope(scope);
    checkPageLimit(page.limit);
    const [fromDimension, fromOffset] = page.cursor ? decodeCursor(page.cursor, isQdrantCursor) : [0, null];
    const dimensions = (await this.existingDimensions()).filter((dimension) => dimension >= fromDimension).sort((a, b) => a - b);
    const vectors: StoredVectorRef[] = [];
    for (const [position, dimension] of dimensions.entries()) {
      let offset: Schemas['ExtendedPointId'] | null = dimension === fromDimension ? fromOffset : null;
      do {
        const found = await this.scrollScope(dimension, scope, page.limit - vectors.length, offset);
        vectors.push(...found.vectors);
        offset = found.next;
      } while (offset !== null && vectors.length < page.limit);
      if (vectors.length >= page.limit) {
        if (offset !== null) return { vectors, cursor: encodeCursor([dimension, offset] satisfies QdrantCursor) };
        const next = dimensions[position + 1];
        return { vectors, cursor: next === undefined ? null : encodeCursor([next, null] satisfies QdrantCursor) };
      }
    }
    return { vectors, cursor: null };
  }

  async findVectors(scope: VectorScope, ids: string[]): Promise<StoredVectorRef[]> {
    checkScope(scope);
    checkIds(ids);
    if (ids.length === 0) return [];
    const pointIds = ids.map(qdrantPointId);
    const found: StoredVectorRef[] = [];
    for (const dimension of await this.existingDimensions()) {
      const points = await this.call(async () => {
        try {
          return await this.client.retrieve(this.collectionName(dimension), {
            ids: pointIds,
            with_payload: ['id', 'workspace_id', 'knowledge_base_id', 'document_id'],
            with_vector: false,
          });
        } catch (error) {
          if (isNotFound(error)) return [];
          throw error;
        }
      });
      for (const point of points) {
        const payload = point.payload as unknown as StoredPayload;
        // Retrieval by id knows no filter: another knowledge base's point with the same id is not ours.
        if (payload.workspace_id === scope.workspaceId && payload.knowledge_base_id === scope.knowledgeBaseId) {
          found.push({ id: payload.id, documentId: payload.document_id, dimension });
        }
      }
    }
    return found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.dimension - b.dimension));
  }

  async deleteIds(scope: VectorScope, ids: string[]): Promise<void> {
    checkScope(scope);
    checkIds(ids);
    if (ids.length === 0) return;
    await this.deleteWhere({ must: [{ has_id: ids.map(qdrantPointId) }, ...(scopeFilter(scope).must as Schemas['Condition'][])] });
  }

  /** Facets over the indexed payload fields: workspaces, then each workspace's knowledge bases. */
  async listKnowledgeBaseScopes(): Promise<VectorScope[]> {
    const scopes = new Map<string, VectorScope>();
    for (const dimension of await this.existingDimensions()) {
      const collection = this.collectionName(dimension);
      for (const workspaceId of await this.facetValues(collection, 'workspace_id', [])) {
        for (const knowledgeBaseId of await this.facetValues(collection, 'knowledge_base_id', [match('workspace_id', workspaceId)])) {
          scopes.set(`${workspaceId}/${knowledgeBaseId}`, { workspaceId, knowledgeBaseId });
        }
      }
    }
    return [...scopes.values()].sort((a, b) =>
      a.workspaceId === b.workspaceId ? a.knowledgeBaseId.localeCompare(b.knowledgeBaseId) : a.workspaceId.localeCompare(b.workspaceId),
    );
  }

  private async scrollScope(
    dimension: number,
    scope: VectorScope,
    limit: number,
    offset: Schemas['ExtendedPointId'] | null,
  ): Promise<{ vectors: StoredVectorRef[]; next: Schemas['ExtendedPointId'] | null }> {
    return this.call(async () => {
      try {
        const page = await this.client.scroll(this.collectionName(dimension), {
          filter: scopeFilter(scope),
          limit,
          with_payload: ['id', 'document_id'],
          with_vector: false,
          ...(offset !== null && { offset }),
        });
        const vectors = page.points.map((point) => {
          const payload = point.payload as Pick<StoredPayload, 'id' | 'document_id'>;
          return { id: payload.id, documentId: payload.document_id, dimension };
        });
        return { vectors, next: (page.next_page_offset as Schemas['ExtendedPointId'] | null | undefined) ?? null };
      } catch (error) {
        // The collection went away since it was listed: nothing more in it.
        if (isNotFound(error)) return { vectors: [], next: null };
        throw error;
      }
    });
  }

  /** Every distinct value of an indexed keyword field among the points matching `must`. */
  private async facetValues(collection: string, key: string, must: Schemas['Condition'][]): Promise<string[]> {
    const seen: string[] = [];
    for (;;) {
      const filter: Schemas['Filter'] = { must, ...(seen.length > 0 && { must_not: [{ key, match: { any: seen } }] }) };
      const { hits } = await this.call(() => this.client.facet(collection, { key, filter, limit: FACET_PAGE, exact: true }));
      seen.push(...hits.map((hit) => String(hit.value)));
      if (hits.length < FACET_PAGE) return seen;
    }
  }

  /** Removes every collection this store created; for tests with a throwaway prefix. */
  async dropCollections(): Promise<void> {
    for (const dimension of await this.existingDimensions())
      await this.call(() => this.client.deleteCollection(this.collectionName(dimension)));
    this.collections.clear();
  }

  private async deleteWhere(filter: Schemas['Filter']): Promise<void> {
    for (const dimension of await this.existingDimensions()) {
      await this.call(() => this.client.delete(this.collectionName(dimension), { wait: true, filter }));
    }
  }

  /** Upserting a point id that another knowledge base owns would silently move it there. */
  private async refuseForeignIds(collection: string, batch: VectorRecord[]): Promise<void> {
    const stored = await this.client.retrieve(collection, {
      ids: batch.map((record) => qdrantPointId(record.id)),
      with_payload: ['id', 'workspace_id', 'knowledge_base_id'],
      with_vector: false,
    });
    const byId = new Map(batch.map((record) => [record.id, record]));
    const refused = stored
      .map((point) => point.payload as Omit<StoredPayload, 'document_id'>)
      .filter((payload) => {
        const record = byId.get(payload.id);
        return record && (record.workspaceId !== payload.workspace_id || record.knowledgeBaseId !== payload.knowledge_base_id);
      })
      .map((payload) => payload.id);
    if (refused.length > 0) {
      throw new RagException(
        RagErrorCode.VectorIdConflict,
        `vector ids already stored for another knowledge base: ${refused.slice(0, 5).join(', ')}${refused.length > 5 ? ', ...' : ''}`,
      );
    }
  }

  private async refuseOtherDimension(query: VectorQuery, dimension: number): Promise<void> {
    for (const other of await this.existingDimensions()) {
      if (other === dimension) continue;
      const { count } = await this.call(() => this.client.count(this.collectionName(other), { filter: scopeFilter(query), exact: true }));
      if (count > 0) {
        throw new RagException(
          RagErrorCode.VectorDimensionMismatch,
          `this knowledge base holds ${other}-dimensional vectors; the query vector has ${dimension} dimensions`,
        );
      }
    }
  }

  private collectionName(dimension: number): string {
    return `${this.options.collectionPrefix}_${dimension}`;
  }

  /** Listed each time: another replica may have created a collection since. */
  private async existingDimensions(): Promise<number[]> {
    const { collections } = await this.call(() => this.client.getCollections());
    const pattern = new RegExp(`^${this.options.collectionPrefix}_(\\d+)$`);
    return collections.flatMap(({ name }) => {
      const found = pattern.exec(name);
      return found ? [Number(found[1])] : [];
    });
  }

  private async ensureCollection(dimension: number): Promise<string> {
    const name = this.collectionName(dimension);
    let ready = this.collections.get(dimension);
    if (!ready) {
      ready = this.call(() => this.createCollection(name, dimension));
      this.collections.set(dimension, ready);
      ready.catch(() => this.collections.delete(dimension));
    }
    await ready;
    return name;
  }

  private async createCollection(name: string, dimension: number): Promise<void> {
    const { exists } = await this.client.collectionExists(name);
    if (!exists) {
      try {
        await this.client.createCollection(name, { vectors: { size: dimension, distance: 'Cosine' } });
      } catch (error) {
        // Another replica created it between our check and our request: that is the state we wanted.
        if ((error as { status?: number }).status !== 409 && !(await this.client.collectionExists(name)).exists) throw error;
      }
    }
    // Idempotent: Qdrant accepts re-creating an index with the same schema.
    for (const field of INDEXED_FIELDS) {
      await this.client.createPayloadIndex(name, {
        wait: true,
        field_name: field,
        field_schema: { type: 'keyword', is_tenant: field === 'workspace_id' },
      });
    }
  }

  /** Qdrant being down or refusing is a 503 with the reason, not an anonymous 500. */
  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof RagException) throw error;
      const detail = (error as { data?: { status?: { error?: string } } }).data?.status?.error ?? (error as Error).message;
      throw new RagException(RagErrorCode.VectorStoreUnavailable, `Qdrant request failed: ${detail}`);
    }
  }
}

function groupIdsByKnowledgeBase(records: VectorRecord[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const record of records) {
    const ids = groups.get(record.knowledgeBaseId) ?? [];
    ids.push(record.id);
    groups.set(record.knowledgeBaseId, ids);
  }
  return groups;
}
