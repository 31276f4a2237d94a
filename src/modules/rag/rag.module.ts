import { Module } from '@nestjs/common';
import { PubSubModule } from 'src/graphql/pubsub.module';
import { ModelRouterModule } from 'src/modules/model-router/model-router.module';
import { AuthModule } from 'src/modules/auth/auth.module';
import { AnswersController } from 'src/modules/rag/answers/answers.controller';
import { AnswersGateway } from 'src/modules/rag/answers/answers.gateway';
import { AnswersService } from 'src/modules/rag/answers/answers.service';
import { ChunksRepository } from 'src/modules/rag/documents/chunks.repository';
import { DocumentsController } from 'src/modules/rag/documents/documents.controller';
import { DocumentsRepository } from 'src/modules/rag/documents/documents.repository';
import { DocumentsService } from 'src/modules/rag/documents/documents.service';
import { EmbeddingsModule } from 'src/modules/rag/embeddings/embeddings.module';
import { GroundingHandler } from 'src/modules/rag/grounding/grounding.handler';
import { GroundingService } from 'src/modules/rag/grounding/grounding.service';
import { DocumentProgressPublisher } from 'src/modules/rag/ingestion/document-progress.publisher';
import { IngestionJobs } from 'src/modules/rag/ingestion/ingestion.jobs';
import { IngestionService } from 'src/modules/rag/ingestion/ingestion.service';
import { KnowledgeBasesController } from 'src/modules/rag/knowledge-bases/knowledge-bases.controller';
import { KnowledgeBasesRepository } from 'src/modules/rag/knowledge-bases/knowledge-bases.repository';
import { KnowledgeBasesResolver } from 'src/modules/rag/knowledge-bases/knowledge-bases.resolver';
import { KnowledgeBasesService } from 'src/modules/rag/knowledge-bases/knowledge-bases.service';
import { RagReconciler } from 'src/modules/rag/reconciliation/rag-reconciler.service';
import { ReconcileController } from 'src/modules/rag/reconciliation/reconcile.controller';
import { SearchService } from 'src/modules/rag/search/search.service';
import { objectStoreProvider } from 'src/modules/rag/storage/object-store.provider';
import { VectorStoreModule } from 'src/modules/rag/vector-stores/vector-store.module';
import { RealtimeModule } from 'src/modules/realtime/realtime.module';
import { ObjectStore } from 'src/modules/rag/rag.contracts';

/**
 * Knowledge bases, documents, the ingestion pipeline (queue workers) and search. Runs as the
 * `rag` role. RealtimeModule is imported so that wherever this runs, the `/realtime`
 * namespace its progress events go to authenticates its connections.
 */
@Module({
  imports: [AuthModule, EmbeddingsModule, VectorStoreModule, PubSubModule, RealtimeModule, ModelRouterModule],
  // GroundingHandler: the `rag.grounding.*` role messages (conversations grounded in knowledge bases).
  controllers: [KnowledgeBasesController, DocumentsController, AnswersController, GroundingHandler, ReconcileController],
  providers: [
    objectStoreProvider,
    KnowledgeBasesRepository,
    DocumentsRepository,
    ChunksRepository,
    KnowledgeBasesService,
    DocumentsService,
    SearchService,
    AnswersService,
    AnswersGateway,
    GroundingService,
    IngestionService,
    IngestionJobs,
    DocumentProgressPublisher,
    KnowledgeBasesResolver,
    RagReconciler,
  ],
  // SearchService and DocumentsRepository: the agents' document_search and data_analyzer tools.
  exports: [ObjectStore, SearchService, DocumentsRepository],
})
export class RagModule {}
