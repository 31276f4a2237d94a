import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { Brackets, DataSource } from 'typeorm';
import { ApiKey } from 'src/modules/auth/api-keys/api-key.entity';
import type { QuotaPeriod, QuotaScope } from 'src/modules/model-router/usage/quota-windows';
import { TokenQuota } from 'src/modules/model-router/usage/token-quota.entity';
import { User } from 'src/modules/users/user.entity';
import { Workspace } from 'src/modules/workspaces/workspace.entity';

export interface QuotaSubjectRef {
  scope: QuotaScope;
  subjectId: string;
}

export interface QuotaListFilter {
  scope?: QuotaScope;
  subjectId?: string;
  period?: QuotaPeriod;
  limit: number;
  offset: number;
}

/** Quotas are instance-wide settings made by instance admins: no workspace argument here. */
@Injectable()
export class QuotasRepository {
  constructor(@InjectDataSource() private readonly dataSource: DataSource) {}

  /** Every quota of any of `subjects` (one query for the workspace, user and key of a call). */
  findForSubjects(subjects: readonly QuotaSubjectRef[]): Promise<TokenQuota[]> {
    if (subjects.length === 0) return Promise.resolve([]);
    return this.dataSource
      .createQueryBuilder(TokenQuota, 'q')
      .where(
        new Brackets((where) => {
          subjects.forEach((subject, index) =>
            where.orWhere(`(q.scope = :scope${index} AND q.subjectId = :subject${index})`, {
              [`scope${index}`]: subject.scope,
              [`subject${index}`]: subject.subjectId,
            }),
          );
        }),
      )
      .getMany();
  }

  list(filter: QuotaListFilter): Promise<[TokenQuota[], number]> {
    const query = this.dataSource
      .createQueryBuilder(TokenQuota, 'q')
      .orderBy('q.scope', 'ASC')
      .addOrderBy('q.subjectId', 'ASC')
      .addOrderBy('q.period', 'ASC')
      .take(filter.limit)
      .skip(filter.offset);
    if (filter.scope) query.andWhere('q.scope = :scope', { scope: filter.scope });
    if (filter.subjectId) query.andWhere('q.subjectId = :subjectId', { subjectId: filter.subjectId });
    if (filter.period) query.andWhere('q.period = :period', { period: filter.period });
    return query.getManyAndCount();
  }

  find(scope: QuotaScope, subjectId: string, period: QuotaPeriod): Promise<TokenQuota | null> {
    return this.dataSource.getRepository(TokenQuota).findOneBy({ scope, subjectId, period });
  }

  /** Insert or change the limit of (scope, subject, period) in one statement, safe against a concurrent upsert. */
  async upsert(scope: QuotaScope, subjectId: string, period: QuotaPeriod, limitTokens: number): Promise<TokenQuota> {
    await this.dataSource
      .createQueryBuilder()
      .insert()
      .into(TokenQuota)
      .values({
        scope,
        subjectId,
        period,
        limitTokens,
        workspaceId: scope === 'workspace' ? subjectId : null,
        userId: scope === 'user' ? subjectId : null,
        apiKeyId: scope === 'api-key' ? subjectId : null,
      })
      .orUpdate(['limit_tokens', 'updated_at'], ['scope', 'subject_id', 'period'])
      .execute();
    return (await this.find(scope, subjectId, period))!;
  }

  async delete(id: string): Promise<void> {
    await this.dataSource.getRepository(TokenQuota).delete({ id });
  }

  /** The workspace a subject belongs to (null for a user), or undefined when there is no such subject. */
  async findSubject(scope: QuotaScope, subjectId: string): Promise<{ workspaceId: string | null } | undefined> {
    switch (scope) {
      case 'workspace':
        return (await this.dataSource.getRepository(Workspace).existsBy({ id: subjectId })) ? { workspaceId: subjectId } : undefined;
      case 'user':
        return (await this.dataSource.getRepository(User).existsBy({ id: subjectId })) ? { workspaceId: null } : undefined;
      case 'api-key': {
        const key = await this.dataSource
          .getRepository(ApiKey)
          .findOne({ where: { id: subjectId }, select: { id: true, workspaceId: true, revokedAt: true } });
        return key && !key.revokedAt ? { workspaceId: key.workspaceId } : undefined;
      }
    }
  }
}
