import { Injectable, Logger } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { CommonErrors } from 'src/common/errors/app.exception';
import { AuditAction, AuditEvent } from 'src/modules/audit/audit-event.entity';
import { AuditRepository } from 'src/modules/audit/audit.repository';

export interface AuditEntry {
  action: AuditAction;
  actor?: Pick<AuthContext, 'userId' | 'apiKeyId'> | { userId: string | null; apiKeyId?: string };
  target?: { type: string; id: string };
  workspaceId?: string | null;
  ip?: string;
  metadata?: Record<string, unknown>;
}

@Injectable()
export class AuditService {
  private readonly logger = new Logger(AuditService.name);

  constructor(private readonly repository: AuditRepository) {}

  /**
   * Writes the event before returning: the caller's action and its audit record stand or
   * fall together (a failed write fails the request rather than leaving a silent gap).
   */
  async record(entry: AuditEntry): Promise<void> {
    await this.repository.insert({
      action: entry.action,
      actorUserId: entry.actor?.userId ?? null,
      actorApiKeyId: entry.actor?.apiKeyId ?? null,
      targetType: entry.target?.type ?? null,
      targetId: entry.target?.id ?? null,
      workspaceId: entry.workspaceId ?? null,
      ip: entry.ip?.slice(0, 64) ?? null,
      metadata: entry.metadata ?? {},
    });
    this.logger.log({ audit: entry.action, actor: entry.actor?.userId, target: entry.target });
  }

  async list(query: { action?: AuditAction; actorUserId?: string; before?: string; limit: number }): Promise<AuditEvent[]> {
    let before: { createdAt: Date; id: string } | undefined;
    if (query.before) {
      const cursor = await this.repository.findById(query.before);
      if (!cursor) throw CommonErrors.notFound('Audit event');
      before = { createdAt: cursor.createdAt, id: cursor.id };
    }
    return this.repository.find({ action: query.action, actorUserId: query.actorUserId, before, limit: query.limit });
  }
}
