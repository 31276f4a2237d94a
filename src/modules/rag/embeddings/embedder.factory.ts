import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { AppConfig } from 'src/config/app-config';
import { ChatGatewayService } from 'src/modules/model-router/gateway/chat-gateway.service';
import type { ChatGateway } from 'src/modules/model-router/gateway/chat-gateway.types';
import type { UsageSubject } from 'src/modules/model-router/usage/usage.contract';
import type { Embedder } from 'src/modules/rag/rag.contracts';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';
import { GATEWAY_EMBEDDER_PREFIX, GatewayEmbedder } from 'src/modules/rag/embeddings/gateway.embedder';
import {
  UNIVERSAL_SENTENCE_ENCODER_ID,
  UniversalSentenceEncoderEmbedder,
} from 'src/modules/rag/embeddings/universal-sentence-encoder.embedder';

/** What a knowledge base may name as its embedder (for DTO validation): `use-512` or `router:<model>`. */
export const EMBEDDER_ID_PATTERN = /^(use-512|router:[A-Za-z0-9][A-Za-z0-9._:/@-]{0,199})$/;
export const DEFAULT_EMBEDDER_ID = UNIVERSAL_SENTENCE_ENCODER_ID;

/*
 * A tier or `auto` may resolve to a different model from one call to the next; vectors from
 * two models do not compare even when their dimensions agree, so a knowledge base must name
 * a concrete model.
 */
const MOVING_TARGETS = new Set(['auto', 'fast', 'balanced', 'powerful']);

export interface EmbedderOptions {
  /** The dimension the knowledge base recorded; unset for a new one, when it is asked of the model. */
  dimension?: number;
  signal?: AbortSignal;
}

/** Turns a knowledge base's embedder id into an embedder, charged to the given subject. */
@Injectable()
export class EmbedderFactory implements OnModuleDestroy {
  private readonly batchSize: number;
  private sentenceEncoder: UniversalSentenceEncoderEmbedder | null = null;

  constructor(
    config: AppConfig,
    @Inject(ChatGatewayService) private readonly gateway: Pick<ChatGateway, 'embed'>,
  ) {
    this.batchSize = config.embeddings.batchSize;
  }

  async create(embedderId: string, subject: UsageSubject, options: EmbedderOptions = {}): Promise<Embedder> {
    const model = EmbedderFactory.routerModel(embedderId);
    if (model === null) {
      // One encoder per process: its model weights and worker thread are shared by every knowledge base.
      this.sentenceEncoder ??= new UniversalSentenceEncoderEmbedder(this.batchSize);
      if (options.dimension !== undefined && options.dimension !== this.sentenceEncoder.dimension) {
        throw new RagException(
          RagErrorCode.VectorDimensionMismatch,
          `${embedderId} produces ${this.sentenceEncoder.dimension}-dimensional vectors, not ${options.dimension}`,
        );
      }
      return this.sentenceEncoder;
    }
    if (options.dimension !== undefined) return new GatewayEmbedder(this.gateway, model, subject, options.dimension, this.batchSize);
    return GatewayEmbedder.discover(this.gateway, model, subject, this.batchSize, options.signal);
  }

  /** The router model an id names, null for the bundled encoder; throws for anything else. */
  static routerModel(embedderId: string): string | null {
    if (!EMBEDDER_ID_PATTERN.test(embedderId)) {
      throw new RagException(
        RagErrorCode.EmbedderUnknown,
        `unknown embedder ${JSON.stringify(embedderId.slice(0, 64))}: use ${UNIVERSAL_SENTENCE_ENCODER_ID} (bundled) or ${GATEWAY_EMBEDDER_PREFIX}<model> (a model of the router marked for embeddings)`,
      );
    }
    if (embedderId === UNIVERSAL_SENTENCE_ENCODER_ID) return null;
    const model = embedderId.slice(GATEWAY_EMBEDDER_PREFIX.length);
    if (MOVING_TARGETS.has(model)) {
      throw new RagException(
        RagErrorCode.EmbedderUnknown,
        `${embedderId} names a tier, whose model may change; name a concrete embedding model such as ${GATEWAY_EMBEDDER_PREFIX}nomic-embed-text`,
      );
    }
    return model;
  }

  async onModuleDestroy(): Promise<void> {
    await this.sentenceEncoder?.close();
  }
}
