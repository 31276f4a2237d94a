import { Injectable, Logger } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { validateChunkingSettings } from 'src/modules/rag/chunking';
import { DocumentsRepository } from 'src/modules/rag/documents/documents.repository';
import { CreateKnowledgeBaseDto, KnowledgeBaseDto, UpdateKnowledgeBaseDto } from 'src/modules/rag/dto/knowledge-bases.dto';
import { EmbedderFactory } from 'src/modules/rag/embeddings/embedder.factory';
import { IngestionJobs } from 'src/modules/rag/ingestion/ingestion.jobs';
import {
  DEFAULT_CHUNK_TOKENS,
  DEFAULT_EMBEDDER_ID,
  DEFAULT_OVERLAP_TOKENS,
  KnowledgeBase,
} from 'src/modules/rag/knowledge-bases/knowledge-base.entity';
import { KnowledgeBasePatch, KnowledgeBasesRepository } from 'src/modules/rag/knowledge-bases/knowledge-bases.repository';
import { ObjectStore, VectorStore } from 'src/modules/rag/rag.contracts';
import { RagErrorCode, RagException } from 'src/modules/rag/rag.exception';

const UNIQUE_VIOLATION = '23505';

export const knowledgeBaseNotFound = () => new RagException(RagErrorCode.KnowledgeBaseNotFound, 'Knowledge base not found');

/** Knowledge bases of the caller's workspace: another workspace's ids are not found, never forbidden. */
@Injectable()
export class KnowledgeBasesService {
  private readonly logger = new Logger('KnowledgeBases');

  constructor(
    private readonly repository: KnowledgeBasesRepository,
    private readonly documents: DocumentsRepository,
    private readonly embedders: EmbedderFactory,
    private readonly vectors: VectorStore,
    private readonly objects: ObjectStore,
    private readonly jobs: IngestionJobs,
  ) {}

  async create(auth: AuthContext, dto: CreateKnowledgeBaseDto): Promise<KnowledgeBaseDto> {
    const chunking = validChunking(dto.chunkTokens ?? DEFAULT_CHUNK_TOKENS, dto.overlapTokens ?? DEFAULT_OVERLAP_TOKENS);
    const embedderId = dto.embedderId ?? DEFAULT_EMBEDDER_ID;
    const dimension = await this.dimensionOf(auth, embedderId);
    const knowledgeBase = await this.named(() =>
      this.repository.create(auth.workspaceId, {
        name: dto.name,
        description: dto.description ?? null,
        embedderId,
        dimension,
        ...chunking,
        createdBy: auth.userId,
      }),
    );
    return KnowledgeBaseDto.from(knowledgeBase);
  }

  async list(auth: AuthContext): Promise<KnowledgeBaseDto[]> {
    return (await this.repository.list(auth.workspaceId)).map((kb) => KnowledgeBaseDto.from(kb));
  }

  async get(auth: AuthContext, id: string): Promise<KnowledgeBaseDto> {
    return KnowledgeBaseDto.from(await this.require(auth, id));
  }

  async require(auth: Pick<AuthContext, 'workspaceId'>, id: string): Promise<KnowledgeBase> {
    const knowledgeBase = await this.repository.find(auth.workspaceId, id);
    if (!knowledgeBase) throw knowledgeBaseNotFound();
    return knowledgeBase;
  }

  /**
   * A new embedder or new chunking makes every stored chunk stale: each document is queued
   * again at a new generation. A new embedder also drops the old vectors first, since they
   * do not compare with the new ones (and may not even have the same dimension).
   */
  async update(auth: AuthContext, id: string, dto: UpdateKnowledgeBaseDto): Promise<KnowledgeBaseDto> {
    const current = await this.require(auth, id);
    const patch: KnowledgeBasePatch = {};
    if (dto.name !== undefined) patch.name = dto.name;
    if (dto.description !== undefined) patch.description = dto.description;
    const chunking = validChunking(dto.chunkTokens ?? current.chunkTokens, dto.overlapTokens ?? current.overlapTokens);
    const rechunk = chunking.chunkTokens !== current.chunkTokens || chunking.overlapTokens !== current.overlapTokens;
    if (rechunk) Object.assign(patch, chunking);
    const reembed = dto.embedderId !== undefined && dto.embedderId !== current.embedderId;
    if (reembed) {
      patch.embedderId = dto.embedderId;
      patch.dimension = await this.dimensionOf(auth, dto.embedderId!);
    }
    const updated = await this.named(() => this.repository.update(auth.workspaceId, id, patch));
    if (!updated) throw knowledgeBaseNotFound();
    if (reembed) await this.vectors.deleteKnowledgeBase({ workspaceId: auth.workspaceId, knowledgeBaseId: id });
    if (reembed || rechunk) await this.reindexAll(auth.workspaceId, id);
    return KnowledgeBaseDto.from(updated);
  }

  /** The rows go first (what users see); vectors and files follow, and a failure there is logged, not returned. */
  async delete(auth: AuthContext, id: string): Promise<void> {
    const files = await this.documents.storageKeysOf(auth.workspaceId, id);
    if (!(await this.repository.delete(auth.workspaceId, id))) throw knowledgeBaseNotFound();
    const scope = { workspaceId: auth.workspaceId, knowledgeBaseId: id };
    await this.vectors
      .deleteKnowledgeBase(scope)
      .catch((error: unknown) => this.logger.error(`Vectors of knowledge base ${id}: ${String(error)}`));
    for (const file of files) {
      await this.objects
        .delete(file.storageKey)
        .catch((error: unknown) => this.logger.error(`File of document ${file.id}: ${String(error)}`));
    }
  }

  private async reindexAll(workspaceId: string, knowledgeBaseId: string): Promise<void> {
    for (const document of await this.documents.restart({ workspaceId, knowledgeBaseId })) {
      await this.jobs.enqueue(workspaceId, document.id, document.generation);
    }
  }

  /** Also proves the embedder can be used now: a router model that does not exist fails here, not at the first upload. */
  private async dimensionOf(auth: AuthContext, embedderId: string): Promise<number> {
    const embedder = await this.embedders.create(embedderId, {
      workspaceId: auth.workspaceId,
      userId: auth.userId,
      apiKeyId: auth.apiKeyId,
    });
    return embedder.dimension;
  }

  private async named<T>(write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if ((error as { code?: string }).code === UNIQUE_VIOLATION) {
        throw new RagException(RagErrorCode.KnowledgeBaseNameTaken, 'A knowledge base with this name already exists in the workspace');
      }
      throw error;
    }
  }
}

function validChunking(chunkTokens: number, overlapTokens: number): { chunkTokens: number; overlapTokens: number } {
  validateChunkingSettings({ chunkTokens, overlapTokens });
  return { chunkTokens, overlapTokens };
}
