/** What one reconciliation found and did. Plain data: it goes out as JSON (REST, CLI) and into the audit log. */

export interface ReconcileError {
  documentId: string | null;
  code: string;
  message: string;
}

export interface KnowledgeBaseReconciliation {
  workspaceId: string;
  knowledgeBaseId: string;
  /** The knowledge base's embedding dimension: vectors at another one count as missing. */
  dimension: number;
  /** Vectors and chunk rows walked. */
  vectors: number;
  chunks: number;
  /** Vectors without a chunk row (their document was deleted, or re-ingested shorter, behind their back). */
  orphanVectors: number;
  /** Chunk rows without a vector at the knowledge base's dimension. */
  missingVectors: number;
  /** Of `missingVectors`: those whose vector exists, but at another dimension. */
  wrongDimension: number;
  /** What the repair did (0 in a dry run). */
  deletedVectors: number;
  reembeddedChunks: number;
  /**
   * Documents left alone because their ingestion is running (it writes vectors before rows,
   * so a difference there is work in progress) or started during the repair. Run again later.
   */
  skippedDocuments: number;
  /** The first 100 of them. */
  skippedDocumentIds: string[];
  /** Chunks the repair could not embed again (see `errors`). */
  failedChunks: number;
  errors: ReconcileError[];
}

/** Vectors of a (workspace, knowledge base) that no longer exists. */
export interface DeletedKnowledgeBaseVectors {
  workspaceId: string;
  knowledgeBaseId: string;
  orphanVectors: number;
  deletedVectors: number;
}

export interface ReconcileTotals {
  knowledgeBases: number;
  vectors: number;
  chunks: number;
  orphanVectors: number;
  missingVectors: number;
  wrongDimension: number;
  deletedVectors: number;
  reembeddedChunks: number;
  skippedDocuments: number;
  failedChunks: number;
  /** orphanVectors + missingVectors: 0 means the chunk rows and the vector store agreed. */
  differences: number;
}

export interface ReconcileReport {
  dryRun: boolean;
  /** The knowledge base asked for, or null for all of them. */
  knowledgeBaseId: string | null;
  startedAt: string;
  durationMs: number;
  totals: ReconcileTotals;
  /** Knowledge bases with a difference, a skipped document or an error (all of them when one was asked for). */
  knowledgeBases: KnowledgeBaseReconciliation[];
  deletedKnowledgeBases: DeletedKnowledgeBaseVectors[];
}
