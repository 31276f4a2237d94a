import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { AuditAction } from 'src/modules/audit/audit-event.entity';
import { AuditService } from 'src/modules/audit/audit.service';
import { ListQuotasQuery, QuotaDto, QuotaKeyParams, QuotaPageDto } from 'src/modules/model-router/usage/dto/quotas.dto';
import { QuotaDefinitions } from 'src/modules/model-router/usage/quota-definitions';
import { quotaWindow } from 'src/modules/model-router/usage/quota-windows';
import { QuotaService } from 'src/modules/model-router/usage/quota.service';
import { QuotasRepository } from 'src/modules/model-router/usage/quotas.repository';
import { TokenQuota } from 'src/modules/model-router/usage/token-quota.entity';
import { UsageErrorCode, UsageException } from 'src/modules/model-router/usage/usage.exception';

const SUBJECT_WORD = { workspace: 'Workspace', user: 'User', 'api-key': 'API key' } as const;

/** Instance admins set, list and remove quotas; every change reaches every replica before it returns. */
@Injectable()
export class AdminQuotasService {
  constructor(
    private readonly repository: QuotasRepository,
    private readonly definitions: QuotaDefinitions,
    private readonly quotas: QuotaService,
    private readonly audit: AuditService,
  ) {}

  async list(query: ListQuotasQuery): Promise<QuotaPageDto> {
    const [rows, total] = await this.repository.list(query);
    // Limits stay manageable while Redis is away: usage shows as unknown instead of failing the page.
    const usage = await this.quotas.statusOf(rows).catch(() => undefined);
    return { items: rows.map((row, index) => toDto(row, usage?.[index].usedTokens ?? null)), total };
  }

  async set(auth: AuthContext, key: QuotaKeyParams, limitTokens: number): Promise<QuotaDto> {
    const subject = await this.repository.findSubject(key.scope, key.subjectId);
    if (!subject) throw new UsageException(UsageErrorCode.QuotaSubjectNotFound, `${SUBJECT_WORD[key.scope]} not found`);
    const previous = await this.repository.find(key.scope, key.subjectId, key.period);
    const quota = await this.repository.upsert(key.scope, key.subjectId, key.period, limitTokens);
    await this.definitions.invalidate();
    await this.audit.record({
      action: AuditAction.QuotaSet,
      actor: auth,
      target: { type: 'quota', id: quota.id },
      workspaceId: subject.workspaceId,
      metadata: { ...key, from: previous?.limitTokens ?? null, to: limitTokens },
    });
    const [status] = await this.quotas.statusOf([quota]).catch(() => [undefined]);
    return toDto(quota, status?.usedTokens ?? null);
  }

  async delete(auth: AuthContext, key: QuotaKeyParams): Promise<void> {
    const quota = await this.repository.find(key.scope, key.subjectId, key.period);
    if (!quota) throw new UsageException(UsageErrorCode.QuotaNotFound, 'Quota not found');
    await this.repository.delete(quota.id);
    await this.definitions.invalidate();
    await this.audit.record({
      action: AuditAction.QuotaDeleted,
      actor: auth,
      target: { type: 'quota', id: quota.id },
      workspaceId: quota.workspaceId ?? null,
      metadata: { ...key, limitTokens: quota.limitTokens },
    });
  }
}

function toDto(quota: TokenQuota, usedTokens: number | null): QuotaDto {
  return {
    id: quota.id,
    scope: quota.scope,
    subjectId: quota.subjectId,
    period: quota.period,
    limitTokens: quota.limitTokens,
    usedTokens,
    resetAt: quotaWindow(quota.period, new Date()).resetsAt,
    createdAt: quota.createdAt,
    updatedAt: quota.updatedAt,
  };
}
