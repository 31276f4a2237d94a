import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource, SelectQueryBuilder } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { ApiKey } from 'src/modules/auth/api-keys/api-key.entity';
import { UsageRecord } from 'src/modules/model-router/usage/usage-record.entity';
import { WorkspaceMember } from 'src/modules/workspaces/workspace-member.entity';

export type UsageRow = Omit<UsageRecord, 'id'>;

export interface UsageFilter {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  userId?: string;
  apiKeyId?: string;
  model?: string;
}

export interface ModelTotals {
  model: string | null;
  calls: number;
  promptTokens: number;
  completionTokens: number;
}

/** Usage rows are tenant data: every read takes the workspace id. */
@Injectable()
export class UsageRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  async insert(rows: readonly UsageRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(UsageRecord)
      .values([...rows] as QueryDeepPartialEntity<UsageRecord>[])
      .updateEntity(false)
      .execute();
  }

  findById(workspaceId: string, id: string): Promise<UsageRecord | null> {
    return this.dataSource.getRepository(UsageRecord).findOneBy({ workspaceId, id });
  }

  /** Newest first; keyset pagination on (createdAt, id) strictly before `before`. */
  list(
    workspaceId: string,
    filter: UsageFilter,
    page: { limit: number; before?: { createdAt: Date; id: string } },
  ): Promise<UsageRecord[]> {
    const query = this.filtered(workspaceId, filter).orderBy('u.createdAt', 'DESC').addOrderBy('u.id', 'DESC').take(page.limit);
    if (page.before)
      query.andWhere('(u.createdAt, u.id) < (:beforeAt, :beforeId)', { beforeAt: page.before.createdAt, beforeId: page.before.id });
    return query.getMany();
  }

  async totalsByModel(workspaceId: string, filter: UsageFilter): Promise<ModelTotals[]> {
    const rows = await this.filtered(workspaceId, filter)
      .select('u.model', 'model')
      .addSelect('COUNT(*)', 'calls')
      .addSelect('COALESCE(SUM(u.promptTokens), 0)', 'promptTokens')
      .addSelect('COALESCE(SUM(u.completionTokens), 0)', 'completionTokens')
      .groupBy('u.model')
      .orderBy('model', 'ASC', 'NULLS LAST')
      .getRawMany<{ model: string | null; calls: string; promptTokens: string; completionTokens: string }>();
    // COUNT and SUM of integers come back as bigint strings.
    return rows.map((row) => ({
      model: row.model,
      calls: Number(row.calls),
      promptTokens: Number(row.promptTokens),
      completionTokens: Number(row.completionTokens),
    }));
  }

  isMember(workspaceId: string, userId: string): Promise<boolean> {
    return this.dataSource.getRepository(WorkspaceMember).existsBy({ workspaceId, userId });
  }

  /** The key's owner when the key belongs to the workspace. */
  async findApiKeyOwner(workspaceId: string, apiKeyId: string): Promise<string | undefined> {
    const key = await this.dataSource
      .getRepository(ApiKey)
      .findOne({ where: { workspaceId, id: apiKeyId }, select: { id: true, userId: true } });
    return key?.userId;
  }

  private filtered(workspaceId: string, filter: UsageFilter): SelectQueryBuilder<UsageRecord> {
    const query = this.dataSource
      .createQueryBuilder(UsageRecord, 'u')
      .where('u.workspaceId = :workspaceId', { workspaceId })
      .andWhere('u.createdAt >= :from AND u.createdAt < :to', { from: filter.from, to: filter.to });
    if (filter.userId) query.andWhere('u.userId = :userId', { userId: filter.userId });
    if (filter.apiKeyId) query.andWhere('u.apiKeyId = :apiKeyId', { apiKeyId: filter.apiKeyId });
    if (filter.model) query.andWhere('u.model = :model', { model: filter.model });
    return query;
  }
}
