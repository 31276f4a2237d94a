/**
 * Grounding other modules' chats in knowledge bases: what they send and get back. Retrieval
 * runs in the `rag` role; callers reach it through `KnowledgeRetriever`, which goes through the
 * role transport, so a caller in another process (the `router` role) works the same way.
 */

import { MAX_QUERY_CHARS, type SearchMode, type SearchResultDto } from 'src/modules/rag/dto/search.dto';
import type { DocumentFormat } from 'src/modules/rag/rag.contracts';

/** Longer queries are cut to this many characters (as search takes them). */
export const MAX_GROUNDING_QUERY_CHARS = MAX_QUERY_CHARS;
/** Knowledge bases one request may search; also the most a conversation may attach. */
export const MAX_GROUNDING_KNOWLEDGE_BASES = 8;
/** Queries one request may search with (the message, and the message with its context). */
export const MAX_GROUNDING_QUERIES = 4;
/** Sources one request may return. */
export const MAX_GROUNDING_SOURCES = 20;

/** Whom retrieval acts for: checked and charged as that caller, with their permissions at the time of the request. */
export interface GroundingCaller {
  workspaceId: string;
  userId: string;
  apiKeyId: string | null;
  /** Effective permissions in the workspace now (an API key's narrowing included). */
  permissions: string[];
}

export interface GroundingRequest {
  caller: GroundingCaller;
  knowledgeBaseIds: string[];
  /** Each is searched (hybrid) in every knowledge base; all rankings are fused. */
  queries: string[];
  /** Sources wanted, best first. */
  limit: number;
}

/** A retrieved chunk, with where it sits in its document. */
export interface GroundingSource {
  knowledgeBaseId: string;
  /** `<documentId>:<chunk index>` */
  chunkId: string;
  documentId: string;
  documentName: string;
  text: string;
  /** 1-based, for formats with pages; else null. */
  page: number | null;
  headings: string[];
  /** Character offsets of the chunk in the document's extracted text. */
  start: number;
  end: number;
  /** Reciprocal-rank-fusion score over every ranking it appeared in. */
  score: number;
}

/**
 * How one knowledge base was searched: `searched` (hybrid), `degraded` (by keyword only: its
 * embedder or vector store is unavailable), or `skipped` (the caller may not read it now, or it is gone).
 */
export type KnowledgeBaseSearchStatus = 'searched' | 'degraded' | 'skipped';

export interface KnowledgeBaseSearch {
  knowledgeBaseId: string;
  /** Null when it no longer exists (or may not be read). */
  name: string | null;
  status: KnowledgeBaseSearchStatus;
  /** Why it was skipped or degraded (an error code); null when searched normally. */
  code: string | null;
  message: string | null;
}

export interface GroundingResult {
  /** Best first, at most `limit`. */
  sources: GroundingSource[];
  /** One entry per requested knowledge base, in the order requested. */
  knowledgeBases: KnowledgeBaseSearch[];
}

/** The `rag.grounding.require-knowledge-bases` request and answer (the ids, all found). */
export interface KnowledgeBaseCheck {
  workspaceId: string;
  knowledgeBaseIds: string[];
}

/** Knowledge bases one existence check or one document read may name (a workflow run's most). */
export const MAX_CHECKED_KNOWLEDGE_BASES = 20;
/** Documents one knowledge search may be narrowed to. */
export const MAX_SEARCH_DOCUMENT_IDS = 100;
/** The most bytes of a document `readDocument` hands over (they travel base64 over the role transport). */
export const MAX_READ_DOCUMENT_BYTES = 5 * 1024 * 1024;

/** One knowledge base searched as the caller, as `POST /knowledge-bases/:id/search` searches it (the agents' `document_search`). */
export interface KnowledgeSearchRequest {
  caller: GroundingCaller;
  knowledgeBaseId: string;
  query: string;
  mode: SearchMode;
  limit: number;
  /** Only chunks of these documents. */
  documentIds?: string[];
}

export interface KnowledgeSearchResult {
  mode: SearchMode;
  results: SearchResultDto[];
}

/** A document of one of `knowledgeBaseIds`, read as uploaded (the agents' `data_analyzer`). */
export interface DocumentReadRequest {
  caller: GroundingCaller;
  knowledgeBaseIds: string[];
  documentId: string;
  /** The bytes come only for these formats... */
  formats: DocumentFormat[];
  /** ...and only up to this size; otherwise the answer describes the document without them. */
  maxBytes: number;
}

export interface DocumentRead {
  documentId: string;
  knowledgeBaseId: string;
  name: string;
  format: DocumentFormat;
  sizeBytes: number;
  /** The stored bytes, base64; null when the format or size was outside the request's. */
  contentBase64: string | null;
}

/**
 * The seam other modules depend on (never on RagModule itself, which would bring ingestion
 * workers into their role). Provided by RagGroundingModule.
 */
export abstract class KnowledgeRetriever {
  /**
   * Resolves when every id is a knowledge base of the workspace; otherwise fails with
   * `404 KNOWLEDGE_BASE_NOT_FOUND`, whether the id is unknown or another workspace's.
   */
  abstract requireKnowledgeBases(workspaceId: string, knowledgeBaseIds: string[]): Promise<void>;

  /**
   * Hybrid search of every knowledge base with every query, fused. A knowledge base the caller
   * may not read now, or that is gone, is skipped and reported, not an error.
   */
  abstract retrieve(request: GroundingRequest): Promise<GroundingResult>;

  /**
   * One knowledge base searched in the requested mode. Fails as the search route does (404 for
   * a knowledge base that is not the workspace's; `EMBEDDER_UNAVAILABLE` when vectors cannot be
   * made now), so that the caller can fall back to keyword search.
   */
  abstract search(request: KnowledgeSearchRequest): Promise<KnowledgeSearchResult>;

  /**
   * The document, looked up in the given knowledge bases of the caller's workspace only; fails
   * with `404 DOCUMENT_NOT_FOUND` when none of them holds it.
   */
  abstract readDocument(request: DocumentReadRequest): Promise<DocumentRead>;
}
