import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, In, MoreThan, Not } from 'typeorm';
import { DocumentStatus, RagDocument } from 'src/modules/rag/documents/rag-document.entity';

export interface DocumentScope {
  workspaceId: string;
  knowledgeBaseId: string;
}

export type NewDocument = Pick<
  RagDocument,
  'id' | 'name' | 'format' | 'contentType' | 'sizeBytes' | 'sha256' | 'storageKey' | 'sourceUrl' | 'createdBy'
>;

export type StageUpdate = Partial<Pick<RagDocument, 'status' | 'progress' | 'errorCode' | 'errorMessage' | 'chunkCount' | 'pageCount'>>;

export type DocumentState = Pick<RagDocument, 'id' | 'status' | 'generation' | 'createdBy'>;

const UNIQUE_VIOLATION = '23505';

/** Documents of knowledge bases; every method is scoped by workspace (and knowledge base where one is named). */
@Injectable()
export class DocumentsRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private get repository() {
    return this.dataSource.getRepository(RagDocument);
  }

  /** The new document, or null when the knowledge base already holds one with the same bytes. */
  async insert(scope: DocumentScope, document: NewDocument): Promise<RagDocument | null> {
    try {
      return await this.repository.save(this.repository.create({ ...scope, ...document, status: 'queued', progress: 0 }));
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) return null;
      throw error;
    }
  }

  find(scope: DocumentScope, id: string): Promise<RagDocument | null> {
    return this.repository.findOneBy({ id, ...scope });
  }

  /** For the ingestion job, which is given ids it created itself. */
  findForJob(workspaceId: string, id: string): Promise<RagDocument | null> {
    return this.repository.findOneBy({ id, workspaceId });
  }

  findBySha256(scope: DocumentScope, sha256: string): Promise<RagDocument | null> {
    return this.repository.findOneBy({ ...scope, sha256 });
  }

  list(scope: DocumentScope): Promise<RagDocument[]> {
    return this.repository.find({ where: scope, order: { createdAt: 'DESC', id: 'DESC' } });
  }

  storageKeysOf(workspaceId: string, knowledgeBaseId: string): Promise<Pick<RagDocument, 'id' | 'storageKey'>[]> {
    return this.repository.find({ select: { id: true, storageKey: true }, where: { workspaceId, knowledgeBaseId } });
  }

  async delete(scope: DocumentScope, id: string): Promise<boolean> {
    const result = await this.repository.delete({ id, ...scope });
    return (result.affected ?? 0) > 0;
  }

  /**
   * Starts a new generation for the named documents (all of the knowledge base when none
   * are named): queued, progress 0, no error. Returns each document's new generation.
   */
  async restart(scope: DocumentScope, ids?: string[]): Promise<Pick<RagDocument, 'id' | 'generation' | 'createdBy'>[]> {
    const query = this.dataSource
      .createQueryBuilder()
      .update(RagDocument)
      .set({ generation: () => 'generation + 1', status: 'queued', progress: 0, errorCode: null, errorMessage: null })
      .where('workspace_id = :workspaceId AND knowledge_base_id = :knowledgeBaseId', scope)
      .returning(['id', 'generation', 'created_by']);
    if (ids) query.andWhere('id IN (:...ids)', { ids });
    const result = await query.execute();
    return (result.raw as { id: string; generation: number; created_by: string | null }[]).map((row) => ({
      id: row.id,
      generation: row.generation,
      createdBy: row.created_by,
    }));
  }

  /**
   * Moves a document of this generation on; false when it was deleted or re-ingested since
   * (the job holding the old generation must stop).
   */
  async advance(workspaceId: string, id: string, generation: number, update: StageUpdate): Promise<boolean> {
    const result = await this.repository.update({ id, workspaceId, generation }, update);
    return (result.affected ?? 0) > 0;
  }

  /** Every document of the knowledge base, `limit` at a time in id order: status and generation only. */
  pageOfStates(scope: DocumentScope, afterId: string | null, limit: number): Promise<DocumentState[]> {
    return this.repository.find({
      select: { id: true, status: true, generation: true, createdBy: true },
      where: { ...scope, ...(afterId !== null && { id: MoreThan(afterId) }) },
      order: { id: 'ASC' },
      take: limit,
    });
  }

  /** Status and generation of these documents (those that still exist), by id. */
  async statesOf(scope: DocumentScope, ids: string[]): Promise<Map<string, DocumentState>> {
    if (ids.length === 0) return new Map();
    const documents = await this.repository.find({
      select: { id: true, status: true, generation: true, createdBy: true },
      where: { ...scope, id: In(ids) },
    });
    return new Map(documents.map((document) => [document.id, document]));
  }

  /** Documents whose ingestion has not ended: what an in-memory queue lost when its process stopped. */
  unfinished(): Promise<Pick<RagDocument, 'id' | 'workspaceId' | 'generation'>[]> {
    return this.repository.find({
      select: { id: true, workspaceId: true, generation: true },
      where: { status: Not(In(['indexed', 'failed'] satisfies DocumentStatus[])) },
    });
  }
}
