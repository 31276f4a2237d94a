import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { AppException } from 'src/common/errors/app.exception';
import { ProcessInfo } from 'src/common/transport/process-identity';
import { RoleClient } from 'src/common/transport/role-client.service';
import { pingPattern } from 'src/common/transport/role-messages';
import { AppVersion } from 'src/common/transport/transport.tokens';
import { AppConfig } from 'src/config/app-config';
import { ALL_ROLES, GremlinsRole } from 'src/config/roles';
import { AuditAction } from 'src/modules/audit/audit-event.entity';
import { AuditService } from 'src/modules/audit/audit.service';
import { MaintenanceRunResult } from 'src/modules/maintenance/maintenance.messages';
import { RoleStatusDto, SystemStatusDto } from 'src/modules/system/system.dto';

/** A status page must answer quickly even when a role is down. */
const PING_TIMEOUT_MS = 1_500;

@Injectable()
export class SystemService {
  constructor(
    private readonly config: AppConfig,
    private readonly roles: RoleClient,
    private readonly processInfo: ProcessInfo,
    private readonly version: AppVersion,
    private readonly audit: AuditService,
  ) {}

  async status(): Promise<SystemStatusDto> {
    return {
      version: this.version.value,
      transport: this.config.transport,
      transportNamespace: this.config.transportNamespace,
      queue: this.config.redisUrl ? 'bullmq' : 'in-memory',
      process: this.processInfo.identity,
      roles: await Promise.all(ALL_ROLES.map((role) => this.ping(role))),
    };
  }

  async runMaintenance(auth: AuthContext): Promise<MaintenanceRunResult> {
    const result = await this.roles.send('scheduler.maintenance.run', { requestedBy: auth.userId });
    await this.audit.record({
      action: AuditAction.MaintenanceRun,
      actor: auth,
      metadata: { ...result.deleted, ranBy: result.ranBy.instanceId },
    });
    return result;
  }

  private async ping(role: GremlinsRole): Promise<RoleStatusDto> {
    const local = this.config.hasRole(role);
    const started = Date.now();
    try {
      const answer = await this.roles.send(pingPattern(role), {}, { timeoutMs: Math.min(PING_TIMEOUT_MS, this.config.roleCallTimeoutMs) });
      return { role, local, reachable: true, latencyMs: Date.now() - started, answeredBy: answer.process };
    } catch (error) {
      return { role, local, reachable: false, error: error instanceof AppException ? error.code : 'INTERNAL_ERROR' };
    }
  }
}
