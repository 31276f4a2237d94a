import { Injectable } from '@nestjs/common';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { CommonErrors } from 'src/common/errors/app.exception';
import { AppEvents } from 'src/common/events/app-events';
import { AuditAction } from 'src/modules/audit/audit-event.entity';
import { AuditService } from 'src/modules/audit/audit.service';
import { generateApiKey } from 'src/modules/auth/api-keys/api-key-format';
import { ApiKeyDto, CreateApiKeyDto, CreatedApiKeyDto } from 'src/modules/auth/api-keys/api-keys.dto';
import { ApiKeysRepository } from 'src/modules/auth/api-keys/api-keys.repository';
import { AuthErrorCode, AuthException } from 'src/modules/auth/auth.exception';
import { sha256Hex } from 'src/modules/auth/tokens/opaque-token';
import { RateLimitTier } from 'src/modules/users/user.entity';

@Injectable()
export class ApiKeysService {
  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly audit: AuditService,
    private readonly events: AppEvents,
  ) {}

  async create(auth: AuthContext, dto: CreateApiKeyDto): Promise<CreatedApiKeyDto> {
    const permissions = [...new Set(dto.permissions ?? [...auth.permissions])].sort();
    const wider = permissions.filter((permission) => !auth.permissions.has(permission));
    if (wider.length > 0) {
      throw new AuthException(AuthErrorCode.PermissionEscalation, `A key cannot have permissions you lack: ${wider.join(', ')}`);
    }
    if (dto.expiresAt && dto.expiresAt.getTime() <= Date.now()) throw CommonErrors.validation('expiresAt must be in the future');
    const { key, prefix, secret } = generateApiKey();
    const saved = await this.keys.create({
      name: dto.name,
      prefix,
      secretHash: sha256Hex(secret),
      userId: auth.userId,
      workspaceId: auth.workspaceId,
      permissions,
      // A key follows its owner's current tier; only an explicit key-level grant lifts it.
      rateLimitTier: RateLimitTier.Standard,
      expiresAt: dto.expiresAt ?? null,
    });
    await this.audit.record({
      action: AuditAction.ApiKeyCreated,
      actor: auth,
      target: { type: 'api-key', id: saved.id },
      workspaceId: auth.workspaceId,
      metadata: { name: dto.name, permissions, expiresAt: dto.expiresAt ?? null },
    });
    return { ...ApiKeyDto.from(saved), key };
  }

  /** Own keys; workspace managers see every key in the workspace. */
  async list(auth: AuthContext): Promise<ApiKeyDto[]> {
    const all = auth.permissions.has(Permission.MemberManage);
    const keys = await this.keys.list(auth.workspaceId, all ? undefined : auth.userId);
    return keys.map((key) => ApiKeyDto.from(key));
  }

  async revoke(auth: AuthContext, id: string): Promise<void> {
    const key = await this.keys.findInWorkspace(auth.workspaceId, id);
    // Someone else's key is "not found" unless you manage the workspace.
    if (!key || (key.userId !== auth.userId && !auth.permissions.has(Permission.MemberManage))) throw CommonErrors.notFound('API key');
    if (!(await this.keys.revoke(auth.workspaceId, id))) return;
    await this.events.emit('api-key.revoked', { keyId: id, userId: key.userId, workspaceId: key.workspaceId });
    await this.audit.record({
      action: AuditAction.ApiKeyRevoked,
      actor: auth,
      target: { type: 'api-key', id },
      workspaceId: auth.workspaceId,
    });
  }
}
