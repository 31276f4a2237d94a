import { Module } from '@nestjs/common';
import { KnowledgeRetriever } from 'src/modules/rag/grounding/grounding.contract';
import { RoleKnowledgeRetriever } from 'src/modules/rag/grounding/role-knowledge-retriever';

/**
 * What another module imports to ground its chats in knowledge bases: only `KnowledgeRetriever`,
 * over the role transport. It loads nothing of RAG itself (no ingestion workers, embedder or
 * vector store), so importing it does not change what a role runs.
 */
@Module({
  providers: [{ provide: KnowledgeRetriever, useClass: RoleKnowledgeRetriever }],
  exports: [KnowledgeRetriever],
})
export class RagGroundingModule {}
