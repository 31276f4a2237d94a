import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';

/** Scales a vector to unit length, so that cosine similarity is a plain dot product. */
export function l2Normalize(vector: ArrayLike<number>, source: string): number[] {
  let sumOfSquares = 0;
  for (let i = 0; i < vector.length; i++) sumOfSquares += vector[i] * vector[i];
  const norm = Math.sqrt(sumOfSquares);
  // A zero (or NaN) vector has no direction: cosine against it is undefined, so it must not be stored.
  if (!Number.isFinite(norm) || norm === 0) {
    throw new RagException(RagErrorCode.EmbeddingFailed, `${source} returned a vector with no direction (zero or not finite)`);
  }
  return Array.from(vector, (value) => value / norm);
}

export function inBatches<T>(items: readonly T[], size: number): T[][] {
  const batches: T[][] = [];
  for (let start = 0; start < items.length; start += size) batches.push(items.slice(start, start + size));
  return batches;
}
