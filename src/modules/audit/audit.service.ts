import { Injectable, Logger } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { CommonErrors } from 'src/common/errors/app.exception';
import { PubSubService } from 'src/graphql/pubsub.service';
import { scrubSecrets } from 'src/common/observability/redaction';
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

  constructor(
    private readonly repository: AuditRepository,
    private readonly pubsub: PubSubService,
  ) {}

  /**
   * Writes the event before returning: the caller's action and its audit record stand or
   * fall together (a failed write fails the request rather than leaving a silent gap).
   */
  async record(entry: AuditEntry): Promise<void> {
    const event = await this.repository.insert({
      action: entry.action,
      actorUserId: entry.actor?.userId ?? null,
      actorApiKeyId: entry.actor?.apiKeyId ?? null,
      targetType: entry.target?.type ?? null,
      targetId: entry.target?.id ?? null,
      workspaceId: entry.workspaceId ?? null,
      ip: entry.ip?.slice(0, 64) ?? null,
      // Audit rows are kept long and shown to admins: a credential must never land in one.
      metadata: scrubSecrets(entry.metadata ?? {}),
    });
    this.logger.log({ audit: entry.action, actor: entry.actor?.userId, target: entry.target });
    // Live feed for admins (the `auditEventRecorded` subscription); never delays or fails the action.
    this.pubsub.publish('audit-event-recorded', event);
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
