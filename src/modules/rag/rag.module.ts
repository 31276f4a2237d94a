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
import { DocumentProgressPublisher } from 'src/modules/rag/ingestion/document-progress.publisher';
import { IngestionJobs } from 'src/modules/rag/ingestion/ingestion.jobs';
import { IngestionService } from 'src/modules/rag/ingestion/ingestion.service';
import { KnowledgeBasesController } from 'src/modules/rag/knowledge-bases/knowledge-bases.controller';
import { KnowledgeBasesRepository } from 'src/modules/rag/knowledge-bases/knowledge-bases.repository';
import { KnowledgeBasesResolver } from 'src/modules/rag/knowledge-bases/knowledge-bases.resolver';
import { KnowledgeBasesService } from 'src/modules/rag/knowledge-bases/knowledge-bases.service';
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
  controllers: [KnowledgeBasesController, DocumentsController, AnswersController],
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
    IngestionService,
    IngestionJobs,
    DocumentProgressPublisher,
    KnowledgeBasesResolver,
  ],
  exports: [ObjectStore],
})
export class RagModule {}
