import { Injectable, Logger } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';
import { ChunkPosition, ChunksRepository } from 'src/modules/rag/documents/chunks.repository';
import { DocumentsRepository, DocumentState } from 'src/modules/rag/documents/documents.repository';
import { DocumentStatus } from 'src/modules/rag/documents/rag-document.entity';
import { EmbedderFactory } from 'src/modules/rag/embeddings/embedder.factory';
import { knowledgeBaseNotFound } from 'src/modules/rag/knowledge-bases/knowledge-bases.service';
import { KnowledgeBase } from 'src/modules/rag/knowledge-bases/knowledge-base.entity';
import { KnowledgeBasesRepository } from 'src/modules/rag/knowledge-bases/knowledge-bases.repository';
import { Embedder, StoredVectorRef, VectorStore } from 'src/modules/rag/rag.contracts';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';
import {
  DeletedKnowledgeBaseVectors,
  KnowledgeBaseReconciliation,
  ReconcileReport,
  ReconcileTotals,
} from 'src/modules/rag/reconciliation/reconcile-report';

/** Vectors and chunk rows examined per step: memory stays one page whatever the knowledge base's size. */
const PAGE = 500;
/** Chunks embedded and written per step, as ingestion does. */
const EMBED_STEP = 64;
const KNOWLEDGE_BASE_PAGE = 100;
const DOCUMENT_PAGE = 200;
const MAX_ERRORS = 20;
const MAX_SKIPPED_LISTED = 100;
const SETTLED: readonly DocumentStatus[] = ['indexed', 'failed'];

export interface ReconcileOptions {
  /** One knowledge base (of any workspace); all of them, and vectors of deleted ones, when unset. */
  knowledgeBaseId?: string;
  /** Report only; change nothing. */
  dryRun?: boolean;
}

type Scope = { workspaceId: string; knowledgeBaseId: string };

/**
 * Compares chunk rows with the vector store and repairs the difference:
 *
 * - a vector without a chunk row is deleted (a deleted document or knowledge base whose
 *   vectors stayed, the tail of a document re-ingested shorter);
 * - a chunk row without a vector at the knowledge base's dimension has its stored text
 *   embedded again by the knowledge base's embedder and upserted under the same id. That is
 *   what ingestion would write for it, it touches only what is missing, and it is idempotent;
 *   re-queuing the document would re-read and re-embed all of it, and fail outright when
 *   its file is gone.
 *
 * Documents whose ingestion is running are skipped (ingestion writes vectors before rows,
 * so a difference there is work in progress). Before each write the document's generation
 * is checked again, so a document re-ingested meanwhile is left to its new job.
 */
@Injectable()
export class RagReconciler {
  private readonly logger = new Logger('RagReconciler');
  private running = false;

  constructor(
    private readonly knowledgeBases: KnowledgeBasesRepository,
    private readonly documents: DocumentsRepository,
    private readonly chunks: ChunksRepository,
    private readonly vectors: VectorStore,
    private readonly embedders: EmbedderFactory,
  ) {}

  async run(options: ReconcileOptions = {}): Promise<ReconcileReport> {
    if (this.running) {
      throw new RagException(RagErrorCode.ReconcileRunning, 'A reconciliation is already running in this process; try again when it ends');
    }
    this.running = true;
    try {
      return await this.reconcile(options);
    } finally {
      this.running = false;
    }
  }

  private async reconcile(options: ReconcileOptions): Promise<ReconcileReport> {
    const started = new Date();
    const dryRun = options.dryRun ?? false;
    const reports: KnowledgeBaseReconciliation[] = [];
    const all: KnowledgeBaseReconciliation[] = [];
    let deletedKnowledgeBases: DeletedKnowledgeBaseVectors[];

    if (options.knowledgeBaseId) {
      const knowledgeBase = await this.knowledgeBases.findInAnyWorkspace(options.knowledgeBaseId);
      // Vectors stored under this id in another workspace than the knowledge base's are orphans too.
      const stray = (await this.vectors.listKnowledgeBaseScopes()).filter(
        (scope) => scope.knowledgeBaseId === options.knowledgeBaseId && scope.workspaceId !== knowledgeBase?.workspaceId,
      );
      if (!knowledgeBase && stray.length === 0) throw knowledgeBaseNotFound();
      if (knowledgeBase) {
        const report = await this.reconcileKnowledgeBase(knowledgeBase, dryRun);
        reports.push(report);
        all.push(report);
      }
      deletedKnowledgeBases = await this.removeScopes(stray, dryRun);
    } else {
      let afterId: string | null = null;
      for (;;) {
        const page = await this.knowledgeBases.pageOfAll(afterId, KNOWLEDGE_BASE_PAGE);
        for (const knowledgeBase of page) {
          const report = await this.reconcileKnowledgeBase(knowledgeBase, dryRun);
          all.push(report);
          if (differs(report)) reports.push(report);
        }
        if (page.length < KNOWLEDGE_BASE_PAGE) break;
        afterId = page[page.length - 1].id;
      }
      deletedKnowledgeBases = await this.removeScopes(await this.scopesWithoutKnowledgeBase(), dryRun);
    }

    const report: ReconcileReport = {
      dryRun,
      knowledgeBaseId: options.knowledgeBaseId ?? null,
      startedAt: started.toISOString(),
      durationMs: Date.now() - started.getTime(),
      totals: totalsOf(all, deletedKnowledgeBases),
      knowledgeBases: reports,
      deletedKnowledgeBases,
    };
    this.logger.log({ reconcile: report.totals, dryRun, knowledgeBaseId: report.knowledgeBaseId, durationMs: report.durationMs });
    return report;
  }

  private async reconcileKnowledgeBase(knowledgeBase: KnowledgeBase, dryRun: boolean): Promise<KnowledgeBaseReconciliation> {
    const report: KnowledgeBaseReconciliation = {
      workspaceId: knowledgeBase.workspaceId,
      knowledgeBaseId: knowledgeBase.id,
      dimension: knowledgeBase.dimension,
      vectors: 0,
      chunks: 0,
      orphanVectors: 0,
      missingVectors: 0,
      wrongDimension: 0,
      deletedVectors: 0,
      reembeddedChunks: 0,
      skippedDocuments: 0,
      skippedDocumentIds: [],
      failedChunks: 0,
      errors: [],
    };
    const skipped = new Set<string>();
    try {
      await this.removeOrphanVectors(knowledgeBase, report, skipped, dryRun);
      await this.restoreMissingVectors(knowledgeBase, report, skipped, dryRun);
    } catch (error) {
      // One knowledge base failing (its vector store calls, say) must not stop the others.
      report.errors.push(describe(error, null));
    }
    report.skippedDocuments = skipped.size;
    report.skippedDocumentIds = [...skipped].slice(0, MAX_SKIPPED_LISTED);
    return report;
  }

  /** Vectors whose id has no chunk row, of documents that are gone or settled. */
  private async removeOrphanVectors(
    knowledgeBase: KnowledgeBase,
    report: KnowledgeBaseReconciliation,
    skipped: Set<string>,
    dryRun: boolean,
  ): Promise<void> {
    const scope = scopeOf(knowledgeBase);
    let cursor: string | null = null;
    do {
      const page = await this.vectors.listKnowledgeBaseVectors(scope, { cursor, limit: PAGE });
      report.vectors += page.vectors.length;
      const rows = await this.chunks.existingIds(scope, unique(page.vectors.map((vector) => vector.id)));
      const candidates = page.vectors.filter((vector) => !rows.has(vector.id));
      if (candidates.length > 0) {
        const states = await this.documents.statesOf(scope, unique(candidates.map((vector) => vector.documentId)));
        const orphans = candidates.filter((vector) => {
          const state = states.get(vector.documentId);
          if (state && !SETTLED.includes(state.status)) {
            skipped.add(vector.documentId);
            return false;
          }
          return true;
        });
        report.orphanVectors += orphans.length;
        if (!dryRun && orphans.length > 0) {
          await this.vectors.deleteIds(scope, unique(orphans.map((vector) => vector.id)));
          report.deletedVectors += orphans.length;
          await this.noteChangedDocuments(scope, orphans, states, skipped);
        }
      }
      cursor = page.cursor;
    } while (cursor !== null);
  }

  /**
   * Chunk rows of settled documents without a vector at the knowledge base's dimension. Rows
   * are walked document by document (chunk rows go with their document, so none is missed),
   * each through the (document, index) index, and checked against the store in batches.
   */
  private async restoreMissingVectors(
    knowledgeBase: KnowledgeBase,
    report: KnowledgeBaseReconciliation,
    skipped: Set<string>,
    dryRun: boolean,
  ): Promise<void> {
    const scope = scopeOf(knowledgeBase);
    const embedders = new Map<string, Promise<Embedder>>();
    let batch: ChunkPosition[] = [];
    let states = new Map<string, DocumentState>();
    const flush = async () => {
      if (batch.length > 0) await this.checkBatch(knowledgeBase, batch, states, embedders, report, skipped, dryRun);
      batch = [];
      states = new Map();
    };
    let afterDocument: string | null = null;
    for (;;) {
      const documents = await this.documents.pageOfStates(scope, afterDocument, DOCUMENT_PAGE);
      for (const document of documents) {
        states.set(document.id, document);
        let afterIndex = -1;
        for (;;) {
          const rows = await this.chunks.pageOfDocument(scope, document.id, afterIndex, PAGE);
          report.chunks += rows.length;
          batch.push(...rows);
          if (batch.length >= PAGE) {
            await flush();
            states.set(document.id, document);
          }
          if (rows.length < PAGE) break;
          afterIndex = rows[rows.length - 1].chunkIndex;
        }
      }
      if (documents.length < DOCUMENT_PAGE) break;
      afterDocument = documents[documents.length - 1].id;
    }
    await flush();
  }

  private async checkBatch(
    knowledgeBase: KnowledgeBase,
    rows: ChunkPosition[],
    states: Map<string, DocumentState>,
    embedders: Map<string, Promise<Embedder>>,
    report: KnowledgeBaseReconciliation,
    skipped: Set<string>,
    dryRun: boolean,
  ): Promise<void> {
    const stored = await this.vectors.findVectors(
      scopeOf(knowledgeBase),
      rows.map((row) => row.id),
    );
    const atDimension = new Set(stored.filter((vector) => vector.dimension === knowledgeBase.dimension).map((vector) => vector.id));
    const elsewhere = new Set(stored.filter((vector) => vector.dimension !== knowledgeBase.dimension).map((vector) => vector.id));
    const missing = rows.filter((row) => {
      if (atDimension.has(row.id)) return false;
      if (!SETTLED.includes(states.get(row.documentId)!.status)) {
        skipped.add(row.documentId);
        return false;
      }
      return true;
    });
    report.missingVectors += missing.length;
    report.wrongDimension += missing.filter((row) => elsewhere.has(row.id)).length;
    if (!dryRun && missing.length > 0) await this.reembed(knowledgeBase, missing, states, embedders, report, skipped);
  }

  /** Embeds the stored text again, document by document, and upserts it under the chunk's id. */
  private async reembed(
    knowledgeBase: KnowledgeBase,
    missing: ChunkPosition[],
    states: Map<string, DocumentState>,
    embedders: Map<string, Promise<Embedder>>,
    report: KnowledgeBaseReconciliation,
    skipped: Set<string>,
  ): Promise<void> {
    const scope = scopeOf(knowledgeBase);
    for (const [documentId, chunks] of groupBy(missing, (row) => row.documentId)) {
      const state = states.get(documentId)!;
      try {
        // Charged as ingestion is: to the document's uploader, in the knowledge base's workspace.
        const userId = state.createdBy ?? knowledgeBase.createdBy ?? '';
        let embedder = embedders.get(userId);
        if (!embedder) {
          embedder = this.embedders.create(
            knowledgeBase.embedderId,
            { workspaceId: knowledgeBase.workspaceId, userId },
            {
              dimension: knowledgeBase.dimension,
            },
          );
          embedders.set(userId, embedder);
        }
        for (let done = 0; done < chunks.length; done += EMBED_STEP) {
          const step = chunks.slice(done, done + EMBED_STEP);
          const texts = await this.chunks.textsOf(
            scope,
            step.map((row) => row.id),
          );
          const present = step.filter((row) => texts.has(row.id));
          if (present.length === 0) continue;
          const vectors = await (await embedder).embed(present.map((row) => texts.get(row.id)!));
          if (vectors.length !== present.length) {
            throw new RagException(
              RagErrorCode.EmbeddingFailed,
              `The embedder returned ${vectors.length} vectors for ${present.length} chunks`,
            );
          }
          // A document re-ingested since its rows were read belongs to its new job: write nothing for it.
          if (!(await this.unchanged(scope, state))) {
            skipped.add(documentId);
            break;
          }
          await this.vectors.upsert(
            present.map((row, i) => ({ id: row.id, ...scope, documentId, vector: vectors[i] })),
            knowledgeBase.dimension,
          );
          report.reembeddedChunks += present.length;
        }
      } catch (error) {
        report.failedChunks += chunks.length;
        if (report.errors.length < MAX_ERRORS) report.errors.push(describe(error, documentId));
      }
    }
  }

  /**
   * A document re-ingested between the check and the delete may have had a fresh vector
   * deleted: it is listed as skipped, and the next run restores whatever is missing.
   */
  private async noteChangedDocuments(
    scope: Scope,
    written: StoredVectorRef[],
    before: Map<string, DocumentState>,
    skipped: Set<string>,
  ): Promise<void> {
    const documentIds = unique(written.map((vector) => vector.documentId)).filter((id) => before.has(id));
    const after = await this.documents.statesOf(scope, documentIds);
    for (const id of documentIds) {
      const now = after.get(id);
      if (now && (now.generation !== before.get(id)!.generation || !SETTLED.includes(now.status))) skipped.add(id);
    }
  }

  private async unchanged(scope: Scope, state: DocumentState): Promise<boolean> {
    const now = (await this.documents.statesOf(scope, [state.id])).get(state.id);
    return now !== undefined && now.generation === state.generation && SETTLED.includes(now.status);
  }

  /** Scopes in the vector store without a knowledge base: deleted ones, or ids under the wrong workspace. */
  private async scopesWithoutKnowledgeBase(): Promise<Scope[]> {
    const orphans: Scope[] = [];
    for (const scope of await this.vectors.listKnowledgeBaseScopes()) {
      // A knowledge base's row is written before any of its vectors, so a missing row means it was deleted.
      if (!(await this.knowledgeBases.find(scope.workspaceId, scope.knowledgeBaseId))) orphans.push(scope);
    }
    return orphans;
  }

  private async removeScopes(scopes: Scope[], dryRun: boolean): Promise<DeletedKnowledgeBaseVectors[]> {
    const removed: DeletedKnowledgeBaseVectors[] = [];
    for (const scope of scopes) {
      let count = 0;
      let cursor: string | null = null;
      do {
        const page = await this.vectors.listKnowledgeBaseVectors(scope, { cursor, limit: PAGE * 2 });
        count += page.vectors.length;
        cursor = page.cursor;
      } while (cursor !== null);
      if (!dryRun) await this.vectors.deleteKnowledgeBase(scope);
      removed.push({ ...scope, orphanVectors: count, deletedVectors: dryRun ? 0 : count });
    }
    return removed;
  }
}

const scopeOf = (knowledgeBase: KnowledgeBase): Scope => ({ workspaceId: knowledgeBase.workspaceId, knowledgeBaseId: knowledgeBase.id });
const unique = <T>(values: T[]): T[] => [...new Set(values)];

function groupBy<T>(values: T[], key: (value: T) => string): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const value of values) {
    const group = groups.get(key(value)) ?? [];
    group.push(value);
    groups.set(key(value), group);
  }
  return groups;
}

function differs(report: KnowledgeBaseReconciliation): boolean {
  return report.orphanVectors + report.missingVectors + report.skippedDocuments + report.errors.length > 0;
}

/** Our errors keep their code and message; others are named without internals (the log has them). */
function describe(error: unknown, documentId: string | null): { documentId: string | null; code: string; message: string } {
  if (error instanceof AppException) return { documentId, code: error.code, message: error.message };
  return { documentId, code: RagErrorCode.IngestionFailed, message: `Unexpected error: ${(error as Error)?.message ?? String(error)}` };
}

function totalsOf(reports: KnowledgeBaseReconciliation[], deleted: DeletedKnowledgeBaseVectors[]): ReconcileTotals {
  const sum = (pick: (report: KnowledgeBaseReconciliation) => number) => reports.reduce((total, report) => total + pick(report), 0);
  const deletedOrphans = deleted.reduce((total, scope) => total + scope.orphanVectors, 0);
  const totals = {
    knowledgeBases: reports.length,
    vectors: sum((report) => report.vectors) + deletedOrphans,
    chunks: sum((report) => report.chunks),
    orphanVectors: sum((report) => report.orphanVectors) + deletedOrphans,
    missingVectors: sum((report) => report.missingVectors),
    wrongDimension: sum((report) => report.wrongDimension),
    deletedVectors: sum((report) => report.deletedVectors) + deleted.reduce((total, scope) => total + scope.deletedVectors, 0),
    reembeddedChunks: sum((report) => report.reembeddedChunks),
    skippedDocuments: sum((report) => report.skippedDocuments),
    failedChunks: sum((report) => report.failedChunks),
  };
  return { ...totals, differences: totals.orphanVectors + totals.missingVectors };
}
