import { HttpStatus } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';

export enum RagErrorCode {
  EmbedderUnknown = 'RAG_EMBEDDER_UNKNOWN',
  EmbeddingFailed = 'RAG_EMBEDDING_FAILED',
  VectorDimensionMismatch = 'RAG_VECTOR_DIMENSION_MISMATCH',
  VectorDimensionUnsupported = 'RAG_VECTOR_DIMENSION_UNSUPPORTED',
  InvalidVectorInput = 'RAG_INVALID_VECTOR_INPUT',
  VectorIdConflict = 'RAG_VECTOR_ID_CONFLICT',
  VectorStoreUnavailable = 'RAG_VECTOR_STORE_UNAVAILABLE',
  UnsupportedFormat = 'RAG_UNSUPPORTED_FORMAT',
  DocumentTooLarge = 'RAG_DOCUMENT_TOO_LARGE',
  DocumentEmpty = 'RAG_DOCUMENT_EMPTY',
  ExtractionFailed = 'RAG_EXTRACTION_FAILED',
  InvalidChunkingSettings = 'RAG_INVALID_CHUNKING_SETTINGS',
  /** Unknown, deleted or another workspace's knowledge base: the same answer for all. */
  KnowledgeBaseNotFound = 'KNOWLEDGE_BASE_NOT_FOUND',
  DocumentNotFound = 'DOCUMENT_NOT_FOUND',
  KnowledgeBaseNameTaken = 'RAG_KNOWLEDGE_BASE_NAME_TAKEN',
  UploadMissingFile = 'RAG_UPLOAD_MISSING_FILE',
  /** The knowledge base's embedder cannot embed now: vector and hybrid search fail, keyword search works. */
  EmbedderUnavailable = 'RAG_EMBEDDER_UNAVAILABLE',
  /** A storage key that is not one the module generates: a bug, never client input. */
  InvalidObjectKey = 'RAG_INVALID_OBJECT_KEY',
  /** A document's stored file is gone from the object store: re-ingesting it cannot succeed. */
  StoredFileMissing = 'RAG_STORED_FILE_MISSING',
  /** The object store (S3) could not be reached or refused the request; the message names its error. */
  ObjectStoreUnavailable = 'RAG_OBJECT_STORE_UNAVAILABLE',
  /** Another reconciliation runs in this process. */
  ReconcileRunning = 'RAG_RECONCILE_RUNNING',
  /** Recorded on a document whose ingestion hit an unexpected error (details in the server log). */
  IngestionFailed = 'RAG_INGESTION_FAILED',
}

const STATUS: Record<RagErrorCode, HttpStatus> = {
  [RagErrorCode.EmbedderUnknown]: HttpStatus.BAD_REQUEST,
  [RagErrorCode.EmbeddingFailed]: HttpStatus.BAD_GATEWAY,
  [RagErrorCode.VectorDimensionMismatch]: HttpStatus.BAD_REQUEST,
  [RagErrorCode.VectorDimensionUnsupported]: HttpStatus.BAD_REQUEST,
  [RagErrorCode.InvalidVectorInput]: HttpStatus.BAD_REQUEST,
  [RagErrorCode.VectorIdConflict]: HttpStatus.CONFLICT,
  [RagErrorCode.VectorStoreUnavailable]: HttpStatus.SERVICE_UNAVAILABLE,
  [RagErrorCode.UnsupportedFormat]: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
  [RagErrorCode.DocumentTooLarge]: HttpStatus.PAYLOAD_TOO_LARGE,
  [RagErrorCode.DocumentEmpty]: HttpStatus.UNPROCESSABLE_ENTITY,
  [RagErrorCode.ExtractionFailed]: HttpStatus.UNPROCESSABLE_ENTITY,
  [RagErrorCode.InvalidChunkingSettings]: HttpStatus.BAD_REQUEST,
  [RagErrorCode.KnowledgeBaseNotFound]: HttpStatus.NOT_FOUND,
  [RagErrorCode.DocumentNotFound]: HttpStatus.NOT_FOUND,
  [RagErrorCode.KnowledgeBaseNameTaken]: HttpStatus.CONFLICT,
  [RagErrorCode.UploadMissingFile]: HttpStatus.BAD_REQUEST,
  [RagErrorCode.EmbedderUnavailable]: HttpStatus.SERVICE_UNAVAILABLE,
  [RagErrorCode.InvalidObjectKey]: HttpStatus.INTERNAL_SERVER_ERROR,
  [RagErrorCode.StoredFileMissing]: HttpStatus.GONE,
  [RagErrorCode.ObjectStoreUnavailable]: HttpStatus.SERVICE_UNAVAILABLE,
  [RagErrorCode.ReconcileRunning]: HttpStatus.CONFLICT,
  [RagErrorCode.IngestionFailed]: HttpStatus.INTERNAL_SERVER_ERROR,
};

export class RagException extends AppException {
  constructor(code: RagErrorCode, message: string) {
    super(code, STATUS[code], message);
  }
}

export type ExtractionErrorCode =
  RagErrorCode.UnsupportedFormat | RagErrorCode.DocumentTooLarge | RagErrorCode.DocumentEmpty | RagErrorCode.ExtractionFailed;

/** Why a document's text could not be extracted; the ingestion job records the message as the failure reason. */
export class ExtractionError extends RagException {
  constructor(code: ExtractionErrorCode, message: string) {
    super(code, message);
    this.name = 'ExtractionError';
  }
}
