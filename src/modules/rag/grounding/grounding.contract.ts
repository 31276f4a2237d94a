/**
 * Grounding other modules' chats in knowledge bases: what they send and get back. Retrieval
 * runs in the `rag` role; callers reach it through `KnowledgeRetriever`, which goes through the
 * role transport, so a caller in another process (the `router` role) works the same way.
 */

import { MAX_QUERY_CHARS } from 'src/modules/rag/dto/search.dto';

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
}
