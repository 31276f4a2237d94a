import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, MoreThan } from 'typeorm';
import { KnowledgeBase } from 'src/modules/rag/knowledge-bases/knowledge-base.entity';

export type KnowledgeBaseFields = Pick<
  KnowledgeBase,
  'name' | 'description' | 'embedderId' | 'dimension' | 'chunkTokens' | 'overlapTokens' | 'createdBy'
>;
export type KnowledgeBasePatch = Partial<Omit<KnowledgeBaseFields, 'createdBy'>>;

/** Knowledge bases; every method is scoped by workspace. */
@Injectable()
export class KnowledgeBasesRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  private get repository() {
    return this.dataSource.getRepository(KnowledgeBase);
  }

  create(workspaceId: string, fields: KnowledgeBaseFields): Promise<KnowledgeBase> {
    return this.repository.save(this.repository.create({ workspaceId, ...fields }));
  }

  find(workspaceId: string, id: string): Promise<KnowledgeBase | null> {
    return this.repository.findOneBy({ id, workspaceId });
  }

  /** Instance administration (reconciliation) only: any workspace's knowledge base. */
  findInAnyWorkspace(id: string): Promise<KnowledgeBase | null> {
    return this.repository.findOneBy({ id });
  }

  /** Instance administration only: every knowledge base, `limit` at a time in id order. */
  pageOfAll(afterId: string | null, limit: number): Promise<KnowledgeBase[]> {
    return this.repository.find({ where: afterId ? { id: MoreThan(afterId) } : {}, order: { id: 'ASC' }, take: limit });
  }

  list(workspaceId: string): Promise<KnowledgeBase[]> {
    return this.repository.find({ where: { workspaceId }, order: { name: 'ASC', id: 'ASC' } });
  }

  async update(workspaceId: string, id: string, patch: KnowledgeBasePatch): Promise<KnowledgeBase | null> {
    if (Object.keys(patch).length > 0) await this.repository.update({ id, workspaceId }, patch);
    return this.find(workspaceId, id);
  }

  /** Documents and chunk rows go with it (foreign keys cascade). */
  async delete(workspaceId: string, id: string): Promise<boolean> {
    const result = await this.repository.delete({ id, workspaceId });
    return (result.affected ?? 0) > 0;
  }
}
