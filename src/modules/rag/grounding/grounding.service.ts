import { HttpStatus, Injectable } from '@nestjs/common';
import { Permission } from 'src/common/auth/permission.enum';
import { AppException, CommonErrorCode, CommonErrors } from 'src/common/errors/app.exception';
import { readCapped } from 'src/common/streams/read-capped';
import type { SearchResultDto } from 'src/modules/rag/dto/search.dto';
import type {
  DocumentRead,
  DocumentReadRequest,
  GroundingCaller,
  GroundingRequest,
  GroundingResult,
  GroundingSource,
  KnowledgeBaseCheck,
  KnowledgeBaseSearch,
  KnowledgeSearchRequest,
  KnowledgeSearchResult,
} from 'src/modules/rag/grounding/grounding.contract';
import { DocumentsRepository } from 'src/modules/rag/documents/documents.repository';
import type { RagDocument } from 'src/modules/rag/documents/rag-document.entity';
import { ObjectStore } from 'src/modules/rag/rag.contracts';
import { KnowledgeBasesRepository } from 'src/modules/rag/knowledge-bases/knowledge-bases.repository';
import { knowledgeBaseNotFound } from 'src/modules/rag/knowledge-bases/knowledge-bases.service';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';
import { reciprocalRankFusion } from 'src/modules/rag/search/reciprocal-rank-fusion';
import { SearchCaller, SearchService } from 'src/modules/rag/search/search.service';

/** Each side fetches this many times the limit, as hybrid search does, so fusion has overlap to work with. */
const POOL_FACTOR = 4;
/** Without its vector side (embedder or vector store down) a knowledge base is still searched by keyword. */
const VECTOR_SIDE_DOWN = new Set<string>([RagErrorCode.EmbedderUnavailable, RagErrorCode.VectorStoreUnavailable]);
/** Deleted between the lookup and the search. */
const GONE: string = RagErrorCode.KnowledgeBaseNotFound;

/** One knowledge base's results: a keyword and a vector ranking per query (none where a side could not run). */
interface Searched {
  search: KnowledgeBaseSearch;
  embedderId: string | null;
  keyword: SearchResultDto[][];
  vector: SearchResultDto[][];
}

/**
 * Retrieval for chats grounded in knowledge bases (conversations): hybrid search across every
 * knowledge base, as the caller. Answers the `rag.grounding.*` role messages (GroundingHandler).
 *
 * Per query, the keyword hits of all knowledge bases make one ranking (ts_rank_cd compares
 * across them: one text configuration) and the vector hits of knowledge bases sharing an
 * embedder make one (their cosines compare); the rankings are then fused by reciprocal rank,
 * as a single knowledge base's hybrid search fuses its two. Fusing per-knowledge-base results
 * by rank instead would put every knowledge base's best chunk on top, relevant or not.
 */
@Injectable()
export class GroundingService {
  constructor(
    private readonly knowledgeBases: KnowledgeBasesRepository,
    private readonly searches: SearchService,
    private readonly documents: DocumentsRepository,
    private readonly objects: ObjectStore,
  ) {}

  async requireKnowledgeBases(check: KnowledgeBaseCheck): Promise<KnowledgeBaseCheck> {
    for (const id of check.knowledgeBaseIds) {
      if (!(await this.knowledgeBases.find(check.workspaceId, id))) throw knowledgeBaseNotFound();
    }
    return check;
  }

  async retrieve(request: GroundingRequest): Promise<GroundingResult> {
    const searched = await Promise.all(request.knowledgeBaseIds.map((id) => this.searchOne(request, id)));
    const byId = new Map<string, GroundingSource>();
    for (const { search, keyword, vector } of searched) {
      for (const hit of [...keyword.flat(), ...vector.flat()]) {
        if (!byId.has(hit.chunkId)) byId.set(hit.chunkId, toSource(search.knowledgeBaseId, hit));
      }
    }
    const embedders = [...new Set(searched.flatMap(({ embedderId }) => (embedderId ? [embedderId] : [])))];
    const rankings = request.queries.flatMap((_, query) => [
      byScore(searched.flatMap(({ keyword }) => keyword[query] ?? [])),
      ...embedders.map((embedderId) =>
        byScore(searched.filter((s) => s.embedderId === embedderId).flatMap(({ vector }) => vector[query] ?? [])),
      ),
    ]);
    const fused = reciprocalRankFusion(rankings.filter((ranking) => ranking.length > 0));
    return {
      sources: fused.slice(0, request.limit).map(({ id, score }) => ({ ...byId.get(id)!, score })),
      knowledgeBases: searched.map(({ search }) => search),
    };
  }

  /** One knowledge base, as the search route searches it; its errors are the route's. */
  async search(request: KnowledgeSearchRequest): Promise<KnowledgeSearchResult> {
    requireRead(request.caller);
    const { query, mode, limit, documentIds } = request;
    const { results } = await this.searches.search(searcherOf(request.caller), request.knowledgeBaseId, {
      query,
      mode,
      limit,
      documentIds,
    });
    return { mode, results };
  }

  async readDocument(request: DocumentReadRequest): Promise<DocumentRead> {
    requireRead(request.caller);
    let document: RagDocument | null = null;
    for (const knowledgeBaseId of request.knowledgeBaseIds) {
      document = await this.documents.find({ workspaceId: request.caller.workspaceId, knowledgeBaseId }, request.documentId);
      if (document) break;
    }
    if (!document) throw new RagException(RagErrorCode.DocumentNotFound, 'Document not found');
    const { id, knowledgeBaseId, name, format, sizeBytes } = document;
    const readable = request.formats.includes(format) && sizeBytes <= request.maxBytes;
    // Capped while reading too: the stored object may be larger than the row says (replaced since).
    const tooLarge = () =>
      new AppException(
        CommonErrorCode.PayloadTooLarge,
        HttpStatus.PAYLOAD_TOO_LARGE,
        `Document "${name}" is larger than ${request.maxBytes} bytes`,
      );
    const content = readable ? await readCapped(await this.objects.get(document.storageKey), request.maxBytes, tooLarge) : null;
    return { documentId: id, knowledgeBaseId, name, format, sizeBytes, contentBase64: content?.toString('base64') ?? null };
  }

  private async searchOne(request: GroundingRequest, knowledgeBaseId: string): Promise<Searched> {
    const { caller } = request;
    const skipped = (code: string, message: string): Searched => ({
      search: { knowledgeBaseId, name: null, status: 'skipped', code, message },
      embedderId: null,
      keyword: [],
      vector: [],
    });
    if (!caller.permissions.includes(Permission.KnowledgeBaseRead)) {
      return skipped(
        CommonErrorCode.Forbidden,
        `Not searched: you may no longer read knowledge bases here (${Permission.KnowledgeBaseRead})`,
      );
    }
    const knowledgeBase = await this.knowledgeBases.find(caller.workspaceId, knowledgeBaseId);
    if (!knowledgeBase) return skipped(RagErrorCode.KnowledgeBaseNotFound, 'Not searched: the knowledge base no longer exists');

    const searcher = searcherOf(caller);
    const limit = request.limit * POOL_FACTOR;
    const searchAll = (mode: 'keyword' | 'vector') =>
      Promise.all(
        request.queries.map(async (query) => (await this.searches.search(searcher, knowledgeBaseId, { query, mode, limit })).results),
      );
    const search: KnowledgeBaseSearch = { knowledgeBaseId, name: knowledgeBase.name, status: 'searched', code: null, message: null };
    try {
      const [keyword, vector] = await Promise.all([searchAll('keyword'), searchAll('vector')]);
      return { search, embedderId: knowledgeBase.embedderId, keyword, vector };
    } catch (error) {
      if (error instanceof AppException && error.code === GONE) {
        return skipped(error.code, 'Not searched: the knowledge base no longer exists');
      }
      if (!(error instanceof AppException) || !VECTOR_SIDE_DOWN.has(error.code)) throw error;
      const degraded: KnowledgeBaseSearch = { ...search, status: 'degraded', code: error.code, message: error.message };
      return { search: degraded, embedderId: null, keyword: await searchAll('keyword'), vector: [] };
    }
  }
}

function searcherOf(caller: GroundingCaller): SearchCaller {
  return { workspaceId: caller.workspaceId, userId: caller.userId, apiKeyId: caller.apiKeyId ?? undefined };
}

function requireRead(caller: GroundingCaller): void {
  if (!caller.permissions.includes(Permission.KnowledgeBaseRead)) {
    throw CommonErrors.forbidden(`Reading knowledge bases needs ${Permission.KnowledgeBaseRead}`);
  }
}

/** Best first; equal scores keep their order. */
function byScore(hits: SearchResultDto[]): string[] {
  return [...hits].sort((a, b) => b.score - a.score).map((hit) => hit.chunkId);
}

function toSource(knowledgeBaseId: string, hit: SearchResultDto): GroundingSource {
  const { chunkId, documentId, documentName, text, page, headings, start, end, score } = hit;
  return { knowledgeBaseId, chunkId, documentId, documentName, text, page, headings, start, end, score };
}
