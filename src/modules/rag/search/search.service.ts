import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { AppException, CommonErrors } from 'src/common/errors/app.exception';
import { ChunkFilters, ChunkHit, ChunksRepository, ChunkScope } from 'src/modules/rag/documents/chunks.repository';
import { SearchDto, SearchMode, SearchResponseDto, SearchResultDto } from 'src/modules/rag/dto/search.dto';
import { EmbedderFactory } from 'src/modules/rag/embeddings/embedder.factory';
import { KnowledgeBase } from 'src/modules/rag/knowledge-bases/knowledge-base.entity';
import { KnowledgeBasesService } from 'src/modules/rag/knowledge-bases/knowledge-bases.service';
import { VectorStore } from 'src/modules/rag/rag.contracts';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';
import { reciprocalRankFusion } from 'src/modules/rag/search/reciprocal-rank-fusion';

export const DEFAULT_SEARCH_LIMIT = 10;
/** Each side of a hybrid search fetches this many times the limit, so fusion has overlap to work with. */
const HYBRID_POOL_FACTOR = 4;
/** Vector hits can be dropped by the page filter (applied after the store's search): fetch more then. */
const PAGE_FILTER_POOL_FACTOR = 4;

/** Who searches: the workspace that scopes every lookup, and whom the query's embedding is charged to. */
export type SearchCaller = Pick<AuthContext, 'workspaceId' | 'userId' | 'apiKeyId'>;

@Injectable()
export class SearchService {
  constructor(
    private readonly knowledgeBases: KnowledgeBasesService,
    private readonly chunks: ChunksRepository,
    private readonly vectors: VectorStore,
    private readonly embedders: EmbedderFactory,
  ) {}

  async search(auth: SearchCaller, knowledgeBaseId: string, dto: SearchDto): Promise<SearchResponseDto> {
    const knowledgeBase = await this.knowledgeBases.require(auth, knowledgeBaseId);
    const mode: SearchMode = dto.mode ?? 'hybrid';
    const limit = dto.limit ?? DEFAULT_SEARCH_LIMIT;
    const query = dto.query.trim();
    const scope = { workspaceId: auth.workspaceId, knowledgeBaseId };
    const filters: ChunkFilters = { documentIds: dto.documentIds, ...dto.filters };
    if (filters.pageFrom !== undefined && filters.pageTo !== undefined && filters.pageFrom > filters.pageTo) {
      throw CommonErrors.validation('filters.pageFrom must not be after filters.pageTo');
    }

    switch (mode) {
      case 'keyword':
        return { mode, results: (await this.chunks.keyword(scope, query, filters, limit)).map(toResult) };
      case 'vector':
        return { mode, results: (await this.vector(auth, knowledgeBase, scope, query, filters, limit)).map(toResult) };
      case 'hybrid': {
        const pool = limit * HYBRID_POOL_FACTOR;
        const [keyword, vector] = await Promise.all([
          this.chunks.keyword(scope, query, filters, pool),
          this.vector(auth, knowledgeBase, scope, query, filters, pool),
        ]);
        const byId = new Map([...keyword, ...vector].map((hit) => [hit.chunkId, hit]));
        const fused = reciprocalRankFusion([keyword.map((hit) => hit.chunkId), vector.map((hit) => hit.chunkId)]);
        return { mode, results: fused.slice(0, limit).map(({ id, score }) => toResult({ ...byId.get(id)!, score })) };
      }
    }
  }

  private async vector(
    auth: SearchCaller,
    knowledgeBase: KnowledgeBase,
    scope: ChunkScope,
    query: string,
    filters: ChunkFilters,
    limit: number,
  ): Promise<ChunkHit[]> {
    const vector = await this.embedQuery(auth, knowledgeBase, query);
    // The store filters by document only; formats become document ids, pages are checked on the rows.
    const documentIds = filters.formats ? await this.chunks.documentIdsMatching(scope, filters) : filters.documentIds;
    if (documentIds?.length === 0) return [];
    const pageFiltered = filters.pageFrom !== undefined || filters.pageTo !== undefined;
    const hits = await this.vectors.search({
      ...scope,
      vector,
      limit: pageFiltered ? limit * PAGE_FILTER_POOL_FACTOR : limit,
      documentIds,
    });
    const rows = await this.chunks.findByIds(
      scope,
      hits.map((hit) => hit.id),
      filters,
    );
    const similarity = new Map(hits.map((hit) => [hit.id, hit.score]));
    return rows.slice(0, limit).map((row) => ({ ...row, score: similarity.get(row.chunkId) ?? 0 }));
  }

  /**
   * An embedder that cannot answer (a router model removed, every node down) makes vector
   * search impossible for now, which is a 503 for this request: keyword search does not need
   * it and keeps working.
   */
  private async embedQuery(auth: SearchCaller, knowledgeBase: KnowledgeBase, query: string): Promise<number[]> {
    try {
      const embedder = await this.embedders.create(
        knowledgeBase.embedderId,
        { workspaceId: auth.workspaceId, userId: auth.userId, apiKeyId: auth.apiKeyId },
        { dimension: knowledgeBase.dimension },
      );
      const [vector] = await embedder.embed([query]);
      return vector;
    } catch (error) {
      // The caller's own limits (token quota, rate) are theirs to see as they are.
      if (error instanceof AppException && Number(error.status) === 429) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new RagException(
        RagErrorCode.EmbedderUnavailable,
        `The embedder ${knowledgeBase.embedderId} of this knowledge base is unavailable (${reason}); keyword search still works`,
      );
    }
  }
}

function toResult(hit: ChunkHit): SearchResultDto {
  return {
    chunkId: hit.chunkId,
    documentId: hit.documentId,
    documentName: hit.documentName,
    text: hit.text,
    score: hit.score,
    page: hit.page,
    headings: hit.headings,
    start: hit.start,
    end: hit.end,
  };
}
