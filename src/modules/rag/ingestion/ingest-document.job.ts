/** Payload of `JobName.IngestDocument`: one document at one generation (see RagDocument.generation). */
export interface IngestDocumentJob {
  workspaceId: string;
  documentId: string;
  generation: number;
}

/** Deterministic, so enqueueing the same document version twice is one job (BullMQ ids may not contain ':'). */
export const ingestJobId = (documentId: string, generation: number) => `ingest-${documentId}-${generation}`;

/** Transient failures (an embedding server restarting) are retried this many times in all, with backoff. */
export const INGEST_ATTEMPTS = 4;
export const INGEST_BACKOFF = { type: 'exponential', delayMs: 2_000 } as const;
