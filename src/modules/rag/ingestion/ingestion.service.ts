import { Injectable, Logger } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { AppException } from 'src/common/errors/app.exception';
import { PermanentJobError, QueueJob } from 'src/common/queue/job-queue';
import { JobName } from 'src/common/queue/queue.constants';
import { chunkDocument } from 'src/modules/rag/chunking';
import { ChunksRepository } from 'src/modules/rag/documents/chunks.repository';
import { DocumentsRepository, StageUpdate } from 'src/modules/rag/documents/documents.repository';
import { RagDocument } from 'src/modules/rag/documents/rag-document.entity';
import { EmbedderFactory } from 'src/modules/rag/embeddings/embedder.factory';
import { extractText } from 'src/modules/rag/extraction';
import { DocumentProgressPublisher } from 'src/modules/rag/ingestion/document-progress.publisher';
import { IngestDocumentJob } from 'src/modules/rag/ingestion/ingest-document.job';
import { KnowledgeBase } from 'src/modules/rag/knowledge-bases/knowledge-base.entity';
import { KnowledgeBasesRepository } from 'src/modules/rag/knowledge-bases/knowledge-bases.repository';
import { ObjectStore, TextChunk, VectorRecord, VectorStore } from 'src/modules/rag/rag.contracts';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';

/** Chunks embedded, stored and reported per step: progress moves at least this often. */
const EMBED_STEP = 64;
const FOREIGN_KEY_VIOLATION = '23503';

/** Where each stage starts on the 0-100 scale; embedding fills the rest up to indexed. */
const PROGRESS = { extracting: 5, chunking: 20, embedding: 25, indexed: 100 } as const;

export type IngestOutcome = { outcome: 'indexed'; chunks: number } | { outcome: 'superseded' };

/** The document was deleted or re-ingested while this job ran: a newer job (or none) owns it now. */
class Superseded extends Error {}

/**
 * One document through extract → chunk → embed → index. Every write is keyed by the chunk's
 * deterministic id, so a retry after a crash at any point overwrites what the first try left
 * and the document ends with exactly one copy of each chunk, in the rows and in the vector store.
 */
@Injectable()
export class IngestionService {
  private readonly logger = new Logger('Ingestion');

  constructor(
    private readonly documents: DocumentsRepository,
    private readonly knowledgeBases: KnowledgeBasesRepository,
    private readonly chunks: ChunksRepository,
    private readonly objects: ObjectStore,
    private readonly vectors: VectorStore,
    private readonly embedders: EmbedderFactory,
    private readonly progress: DocumentProgressPublisher,
  ) {}

  async run(job: QueueJob<JobName.IngestDocument, IngestDocumentJob>): Promise<IngestOutcome> {
    const { workspaceId, documentId, generation } = job.payload;
    const document = await this.documents.findForJob(workspaceId, documentId);
    const knowledgeBase = document && (await this.knowledgeBases.find(workspaceId, document.knowledgeBaseId));
    if (!document || !knowledgeBase || document.generation !== generation) return { outcome: 'superseded' };
    try {
      const chunks = await this.index(document, knowledgeBase);
      return { outcome: 'indexed', chunks };
    } catch (error) {
      if (error instanceof Superseded) {
        await this.cleanUpIfDeleted(document);
        return { outcome: 'superseded' };
      }
      const final = isPermanent(error) || job.attempt >= job.maxAttempts;
      const { code, message } = describe(error);
      if (!(error instanceof AppException))
        this.logger.error(`Ingesting document ${documentId}: ${(error as Error)?.stack ?? String(error)}`);
      if (final) {
        this.logger.warn(`Document ${documentId} failed: ${code} ${message}`);
        await this.report(document, { status: 'failed', errorCode: code, errorMessage: message }).catch(() => undefined);
        throw new PermanentJobError(`${code}: ${message}`);
      }
      // Leaves the stage as it was and says why it is slow; the queue retries with backoff.
      await this.report(document, { errorCode: code, errorMessage: `Retrying (attempt ${job.attempt} failed): ${message}` }).catch(
        () => undefined,
      );
      throw error;
    }
  }

  private async index(document: RagDocument, knowledgeBase: KnowledgeBase): Promise<number> {
    const scope = { workspaceId: document.workspaceId, knowledgeBaseId: document.knowledgeBaseId };

    await this.report(document, { status: 'extracting', progress: PROGRESS.extracting, errorCode: null, errorMessage: null });
    const bytes = await readAll(await this.objects.get(document.storageKey));
    const extracted = await extractText({ bytes, format: document.format });

    await this.report(document, { status: 'chunking', progress: PROGRESS.chunking, pageCount: extracted.pageCount });
    const chunks = chunkDocument(extracted, { chunkTokens: knowledgeBase.chunkTokens, overlapTokens: knowledgeBase.overlapTokens });
    if (chunks.length === 0) throw new RagException(RagErrorCode.DocumentEmpty, 'The document contains no text to index');

    await this.report(document, { status: 'embedding', progress: PROGRESS.embedding });
    const embedder = await this.embedders.create(
      knowledgeBase.embedderId,
      { workspaceId: document.workspaceId, userId: document.createdBy ?? knowledgeBase.createdBy ?? '' },
      { dimension: knowledgeBase.dimension },
    );
    await this.dropVectorsBeyond(scope, document.id, chunks.length);
    for (let done = 0; done < chunks.length; done += EMBED_STEP) {
      const step = chunks.slice(done, done + EMBED_STEP);
      const vectors = await embedder.embed(step.map((chunk) => chunk.text));
      await this.vectors.upsert(toRecords(scope, document.id, step, vectors), knowledgeBase.dimension);
      await this.writeRows(scope, document.id, step);
      const embedded = done + step.length;
      const progress = PROGRESS.embedding + Math.floor(((PROGRESS.indexed - PROGRESS.embedding - 1) * embedded) / chunks.length);
      await this.report(document, { progress });
    }
    await this.chunks.deleteFrom(document.id, chunks.length);
    await this.report(document, {
      status: 'indexed',
      progress: PROGRESS.indexed,
      chunkCount: chunks.length,
      errorCode: null,
      errorMessage: null,
    });
    return chunks.length;
  }

  /**
   * A re-ingestion that yields fewer chunks must not leave the old tail's vectors behind. The
   * store deletes by document only, so when any stored id is past the new end, the document's
   * vectors are dropped and rewritten in full below.
   */
  private async dropVectorsBeyond(scope: { workspaceId: string; knowledgeBaseId: string }, documentId: string, count: number) {
    const stored = await this.vectors.listIds(scope, documentId);
    if (stored.some((id) => chunkIndexOf(id) >= count)) await this.vectors.deleteDocument(scope, documentId);
  }

  private async writeRows(scope: { workspaceId: string; knowledgeBaseId: string }, documentId: string, step: TextChunk[]) {
    try {
      await this.chunks.upsert(scope, documentId, step);
    } catch (error) {
      // The document row went away between two steps: it was deleted.
      if ((error as { code?: string }).code === FOREIGN_KEY_VIOLATION) throw new Superseded();
      throw error;
    }
  }

  /** Records the stage if this job's generation still owns the document, and tells the uploader. */
  private async report(document: RagDocument, update: StageUpdate): Promise<void> {
    if (!(await this.documents.advance(document.workspaceId, document.id, document.generation, update))) throw new Superseded();
    Object.assign(document, update);
    this.progress.publish(document.createdBy, {
      documentId: document.id,
      knowledgeBaseId: document.knowledgeBaseId,
      status: document.status,
      progress: document.progress,
      errorCode: document.errorCode,
      errorMessage: document.errorMessage,
    });
  }

  /** Vectors this job wrote after the document's deletion removed its vectors would otherwise stay forever. */
  private async cleanUpIfDeleted(document: RagDocument): Promise<void> {
    if (await this.documents.findForJob(document.workspaceId, document.id)) return;
    await this.vectors.deleteDocument({ workspaceId: document.workspaceId, knowledgeBaseId: document.knowledgeBaseId }, document.id);
  }
}

function toRecords(
  scope: { workspaceId: string; knowledgeBaseId: string },
  documentId: string,
  chunks: TextChunk[],
  vectors: number[][],
): VectorRecord[] {
  if (vectors.length !== chunks.length) {
    throw new RagException(RagErrorCode.EmbeddingFailed, `The embedder returned ${vectors.length} vectors for ${chunks.length} chunks`);
  }
  return chunks.map((chunk, i) => ({ id: `${documentId}:${chunk.index}`, ...scope, documentId, vector: vectors[i] }));
}

function chunkIndexOf(id: string): number {
  return Number(id.slice(id.lastIndexOf(':') + 1));
}

/** Client errors (a corrupt or unsupported file, a dimension that no longer fits) cannot succeed on retry. */
function isPermanent(error: unknown): boolean {
  return error instanceof AppException && Number(error.status) < 500;
}

/** What the document records and its uploader sees: our own messages, never an internal error's (SQL, paths). */
function describe(error: unknown): { code: string; message: string } {
  if (error instanceof AppException) return { code: error.code, message: error.message };
  return { code: RagErrorCode.IngestionFailed, message: 'Ingestion failed unexpectedly; the server log has the details' };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream) parts.push(part as Buffer);
  return Buffer.concat(parts);
}
