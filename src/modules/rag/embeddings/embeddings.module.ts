import { Module } from '@nestjs/common';
import { ModelRouterModule } from 'src/modules/model-router/model-router.module';
import { EmbedderFactory } from 'src/modules/rag/embeddings/embedder.factory';

/** Embedders for knowledge bases: the bundled encoder, or router models through the chat gateway. */
@Module({
  imports: [ModelRouterModule],
  providers: [EmbedderFactory],
  exports: [EmbedderFactory],
})
export class EmbeddingsModule {}
