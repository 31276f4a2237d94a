/**
 * The RAG module's public surface for grounding chats in knowledge bases. Other modules import
 * from here only: the retriever seam and its module, the prompt with numbered sources, and
 * citation parsing, shared with `POST /knowledge-bases/:id/ask`.
 */
export {
  ANSWER_SYSTEM_PROMPT as GROUNDING_SYSTEM_PROMPT,
  NO_SOURCES_NOTE,
  SOURCES_FRAME_CHARS,
  sourcedQuestion,
} from 'src/modules/rag/answers/answer-prompt';
export type { NumberedSource, PromptSource, SourcedQuestion } from 'src/modules/rag/answers/answer-prompt';
export { citedInOrder } from 'src/modules/rag/answers/citations';
export { knowledgeBaseNotFound } from 'src/modules/rag/knowledge-bases/knowledge-bases.service';
export {
  KnowledgeRetriever,
  MAX_CHECKED_KNOWLEDGE_BASES,
  MAX_GROUNDING_KNOWLEDGE_BASES,
  MAX_GROUNDING_QUERIES,
  MAX_GROUNDING_QUERY_CHARS,
  MAX_GROUNDING_SOURCES,
  MAX_READ_DOCUMENT_BYTES,
  MAX_SEARCH_DOCUMENT_IDS,
} from 'src/modules/rag/grounding/grounding.contract';
export type {
  DocumentRead,
  DocumentReadRequest,
  GroundingCaller,
  GroundingRequest,
  GroundingResult,
  GroundingSource,
  KnowledgeBaseSearch,
  KnowledgeBaseSearchStatus,
  KnowledgeSearchRequest,
  KnowledgeSearchResult,
} from 'src/modules/rag/grounding/grounding.contract';
export { RagGroundingModule } from 'src/modules/rag/grounding/rag-grounding.module';
