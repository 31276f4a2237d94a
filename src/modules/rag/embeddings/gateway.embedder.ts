import type { ChatGateway } from 'src/modules/model-router/gateway/chat-gateway.types';
import type { UsageSubject } from 'src/modules/model-router/usage/usage.contract';
import type { Embedder } from 'src/modules/rag/rag.contracts';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';
import { inBatches, l2Normalize } from 'src/modules/rag/embeddings/vector-math';

export const GATEWAY_EMBEDDER_PREFIX = 'router:';

/**
 * Embeddings from a model served by the model router (an Ollama embedding model such as
 * `nomic-embed-text`, or an OpenAI-compatible upstream). Going through the gateway rather
 * than a provider directly means placement, failover, token quotas and usage records apply,
 * charged to `subject` (the knowledge base's workspace and the user who asked).
 */
export class GatewayEmbedder implements Embedder {
  readonly id: string;

  constructor(
    private readonly gateway: Pick<ChatGateway, 'embed'>,
    readonly model: string,
    private readonly subject: UsageSubject,
    readonly dimension: number,
    private readonly batchSize: number,
  ) {
    this.id = `${GATEWAY_EMBEDDER_PREFIX}${model}`;
  }

  /**
   * Asks the model for one vector to learn its dimension, for a knowledge base that has none
   * recorded yet. The probe is a real call, accounted to `subject` like any other.
   */
  static async discover(
    gateway: Pick<ChatGateway, 'embed'>,
    model: string,
    subject: UsageSubject,
    batchSize: number,
    signal?: AbortSignal,
  ): Promise<GatewayEmbedder> {
    const { embeddings } = await gateway.embed({ model, input: ['dimension probe'] }, subject, { signal });
    const dimension = embeddings[0]?.length ?? 0;
    if (embeddings.length !== 1 || dimension === 0) {
      throw new RagException(RagErrorCode.EmbeddingFailed, `${model} returned no vector for a probe text`);
    }
    return new GatewayEmbedder(gateway, model, subject, dimension, batchSize);
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    const vectors: number[][] = [];
    for (const batch of inBatches(texts, this.batchSize)) {
      signal?.throwIfAborted();
      const { embeddings } = await this.gateway.embed({ model: this.model, input: batch }, this.subject, { signal });
      if (embeddings.length !== batch.length) {
        throw new RagException(
          RagErrorCode.EmbeddingFailed,
          `${this.model} returned ${embeddings.length} vectors for ${batch.length} texts`,
        );
      }
      for (const vector of embeddings) {
        if (vector.length !== this.dimension) {
          // The model behind the name changed (or an admin re-pointed it): the stored vectors no longer compare.
          throw new RagException(
            RagErrorCode.VectorDimensionMismatch,
            `${this.model} now returns ${vector.length}-dimensional vectors; this knowledge base holds ${this.dimension}-dimensional ones. Re-index it with the new model.`,
          );
        }
        vectors.push(l2Normalize(vector, this.model));
      }
    }
    return vectors;
  }
}
