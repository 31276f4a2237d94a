import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { CommonErrors } from 'src/common/errors/app.exception';
import { QuotaStatusDto } from 'src/modules/model-router/usage/dto/quotas.dto';
import { ListUsageQuery, UsagePageDto, UsageRecordDto, UsageTotalsDto } from 'src/modules/model-router/usage/dto/usage.dto';
import { QuotaService } from 'src/modules/model-router/usage/quota.service';
import { UsageErrorCode, UsageException } from 'src/modules/model-router/usage/usage.exception';
import { ModelTotals, UsageFilter, UsageRepository } from 'src/modules/model-router/usage/usage.repository';
import { UsageService } from 'src/modules/model-router/usage/usage.service';

const DAY_MS = 86_400_000;
const DEFAULT_RANGE_MS = 30 * DAY_MS;
/** Bounds the totals query (it scans the range through the workspace/time index). */
const MAX_RANGE_MS = 366 * DAY_MS;

/**
 * Reading usage. Holders of `usage.read` (workspace owners and admins) see the whole
 * workspace; everyone else sees their own calls only, whichever key or session made them.
 */
@Injectable()
export class UsageReportService {
  constructor(
    private readonly repository: UsageRepository,
    private readonly recorder: UsageService,
    private readonly quotas: QuotaService,
  ) {}

  async list(auth: AuthContext, query: ListUsageQuery): Promise<UsagePageDto> {
    const filter = await this.filter(auth, query);
    let before: { createdAt: Date; id: string } | undefined;
    if (query.before) {
      const cursor = await this.repository.findById(auth.workspaceId, query.before);
      if (!cursor) throw CommonErrors.notFound('Usage record');
      before = { createdAt: cursor.createdAt, id: cursor.id };
    }
    // Calls that just ended on this replica are still in the write buffer: a caller reading
    // right after a call should see it.
    await this.recorder.flush();
    const rows = await this.repository.list(auth.workspaceId, filter, { limit: query.limit + 1, before });
    const page = rows.slice(0, query.limit);
    const totals = await this.repository.totalsByModel(auth.workspaceId, filter);
    return {
      from: filter.from,
      to: filter.to,
      items: page.map((row) => UsageRecordDto.from(row)),
      nextCursor: rows.length > query.limit ? page[page.length - 1].id : null,
      totals: summarise(totals),
    };
  }

  /** The caller's quotas (workspace, own user, API key in use) and what is left of each. */
  async quotaStatus(auth: AuthContext): Promise<QuotaStatusDto[]> {
    return this.quotas.status({ workspaceId: auth.workspaceId, userId: auth.userId, apiKeyId: auth.apiKeyId ?? null });
  }

  private async filter(auth: AuthContext, query: ListUsageQuery): Promise<UsageFilter> {
    const to = query.to ? new Date(query.to) : new Date();
    const from = query.from ? new Date(query.from) : new Date(to.getTime() - DEFAULT_RANGE_MS);
    if (from >= to) throw new UsageException(UsageErrorCode.InvalidUsageQuery, '`from` must be before `to`');
    if (to.getTime() - from.getTime() > MAX_RANGE_MS)
      throw new UsageException(UsageErrorCode.InvalidUsageQuery, 'The range may span at most 366 days');

    const wholeWorkspace = auth.permissions.has(Permission.UsageRead);
    let userId = query.userId;
    if (!wholeWorkspace) {
      if (userId !== undefined && userId !== auth.userId) throw CommonErrors.forbidden(`Missing permission ${Permission.UsageRead}`);
      userId = auth.userId;
    } else if (userId !== undefined && !(await this.repository.isMember(auth.workspaceId, userId))) {
      throw CommonErrors.notFound('User');
    }
    if (query.apiKeyId !== undefined) {
      const owner = await this.repository.findApiKeyOwner(auth.workspaceId, query.apiKeyId);
      if (owner === undefined || (!wholeWorkspace && owner !== auth.userId)) throw CommonErrors.notFound('API key');
    }
    return { from, to, userId, apiKeyId: query.apiKeyId, model: query.model };
  }
}

function summarise(byModel: ModelTotals[]): UsageTotalsDto {
  const rows = byModel.map((row) => ({ ...row, totalTokens: row.promptTokens + row.completionTokens }));
  return {
    calls: rows.reduce((sum, row) => sum + row.calls, 0),
    promptTokens: rows.reduce((sum, row) => sum + row.promptTokens, 0),
    completionTokens: rows.reduce((sum, row) => sum + row.completionTokens, 0),
    totalTokens: rows.reduce((sum, row) => sum + row.totalTokens, 0),
    byModel: rows,
  };
}
