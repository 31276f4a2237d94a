import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config';
import { ConfigModule } from 'src/config/config.module';
import { DatabaseModule } from 'src/database/database.module';
import { ChatGatewayService } from 'src/modules/model-router/gateway/chat-gateway.service';
import type { ChatGateway } from 'src/modules/model-router/gateway/chat-gateway.types';
import { ChunksRepository } from 'src/modules/rag/documents/chunks.repository';
import { DocumentsRepository } from 'src/modules/rag/documents/documents.repository';
import { EmbedderFactory } from 'src/modules/rag/embeddings/embedder.factory';
import { KnowledgeBasesRepository } from 'src/modules/rag/knowledge-bases/knowledge-bases.repository';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';
import { RagReconciler } from 'src/modules/rag/reconciliation/rag-reconciler.service';
import { VectorStoreModule } from 'src/modules/rag/vector-stores/vector-store.module';

/**
 * The model router (node pool, quotas, usage) is a role of its own that a one-shot command
 * does not start; knowledge bases on a router model are repaired by the admin endpoint.
 */
const noRouter: Pick<ChatGateway, 'embed'> = {
  embed: () =>
    Promise.reject(
      new RagException(
        RagErrorCode.EmbedderUnavailable,
        'router:<model> embedders need the model router, which the CLI does not start; repair this knowledge base with POST /api/v1/admin/rag/reconcile',
      ),
    ),
};

/**
 * What `cli.js rag:reconcile` boots: the database (migrations included), the vector store,
 * the bundled encoder and the reconciler. No HTTP, no queue workers, no other role, so the
 * command never takes an ingestion job or a schedule from a running deployment.
 */
@Module({})
export class ReconcileCliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ReconcileCliModule,
      imports: [ConfigModule.forRoot(config), DatabaseModule, VectorStoreModule],
      providers: [
        KnowledgeBasesRepository,
        DocumentsRepository,
        ChunksRepository,
        { provide: ChatGatewayService, useValue: noRouter },
        EmbedderFactory,
        RagReconciler,
      ],
    };
  }
}
