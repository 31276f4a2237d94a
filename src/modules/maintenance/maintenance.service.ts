import { Injectable, Logger } from '@nestjs/common';
import { ProcessInfo } from 'src/common/transport/process-identity';
import { AppConfig } from 'src/config/app-config';
import { AuditRepository } from 'src/modules/audit/audit.repository';
import { ApiKeysRepository } from 'src/modules/auth/api-keys/api-keys.repository';
import { SessionsRepository } from 'src/modules/auth/tokens/sessions.repository';
import { MaintenanceRunRequest, MaintenanceRunResult } from 'src/modules/maintenance/maintenance.messages';

const DAY_MS = 24 * 3600 * 1000;

/** Housekeeping: forgets credentials long dead and audit events past their retention. */
@Injectable()
export class MaintenanceService {
  private readonly logger = new Logger('Maintenance');

  constructor(
    private readonly config: AppConfig,
    private readonly sessions: SessionsRepository,
    private readonly apiKeys: ApiKeysRepository,
    private readonly audit: AuditRepository,
    private readonly processInfo: ProcessInfo,
  ) {}

  async run(request: MaintenanceRunRequest = {}): Promise<MaintenanceRunResult> {
    const started = new Date();
    const { credentialRetentionDays, auditRetentionDays } = this.config.maintenance;
    const credentialsCutoff = new Date(started.getTime() - credentialRetentionDays * DAY_MS);
    const auditCutoff = new Date(started.getTime() - auditRetentionDays * DAY_MS);

    const sessions = await this.sessions.deleteExpired(credentialsCutoff);
    const apiKeys = await this.apiKeys.deleteExpired(credentialsCutoff);
    const auditEvents = await this.audit.deleteOlderThan(auditCutoff);

    const result: MaintenanceRunResult = {
      deleted: { sessions, apiKeys, auditEvents },
      cutoffs: { credentials: credentialsCutoff.toISOString(), auditEvents: auditCutoff.toISOString() },
      startedAt: started.toISOString(),
      durationMs: Date.now() - started.getTime(),
      ranBy: this.processInfo.identity,
    };
    this.logger.log({ maintenance: result.deleted, requestedBy: request.requestedBy ?? 'schedule', durationMs: result.durationMs });
    return result;
  }
}
