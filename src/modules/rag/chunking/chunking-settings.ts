import type { ChunkingSettings } from 'src/modules/rag/rag.contracts';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';

export const MIN_CHUNK_TOKENS = 32;
export const MAX_CHUNK_TOKENS = 4096;

/** Overlap must stay under half a chunk, so every chunk adds more new text than it repeats. */
export function validateChunkingSettings({ chunkTokens, overlapTokens }: ChunkingSettings): void {
  if (!Number.isInteger(chunkTokens) || chunkTokens < MIN_CHUNK_TOKENS || chunkTokens > MAX_CHUNK_TOKENS) {
    throw new RagException(
      RagErrorCode.InvalidChunkingSettings,
      `chunkTokens must be an integer from ${MIN_CHUNK_TOKENS} to ${MAX_CHUNK_TOKENS} (got ${chunkTokens})`,
    );
  }
  if (!Number.isInteger(overlapTokens) || overlapTokens < 0 || overlapTokens * 2 >= chunkTokens) {
    throw new RagException(
      RagErrorCode.InvalidChunkingSettings,
      `overlapTokens must be an integer from 0 to less than half of chunkTokens (got ${overlapTokens} for ${chunkTokens})`,
    );
  }
}
