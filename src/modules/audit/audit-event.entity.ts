import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export enum AuditAction {
  UserRegistered = 'user.registered',
  LoginSucceeded = 'auth.login.succeeded',
  LoginFailed = 'auth.login.failed',
  Logout = 'auth.logout',
  RefreshTokenReused = 'auth.refresh.reused',
  OidcLogin = 'auth.oidc.login',
  UserRoleChanged = 'user.role.changed',
  UserSuspended = 'user.suspended',
  UserReactivated = 'user.reactivated',
  UserRateLimitTierChanged = 'user.rate-limit-tier.changed',
  ApiKeyCreated = 'api-key.created',
  ApiKeyRevoked = 'api-key.revoked',
  MemberAdded = 'workspace.member.added',
  MemberRoleChanged = 'workspace.member.role-changed',
  MemberRemoved = 'workspace.member.removed',
  WorkspaceRoleCreated = 'workspace.role.created',
  WorkspaceRoleUpdated = 'workspace.role.updated',
  WorkspaceRoleDeleted = 'workspace.role.deleted',
  WorkspaceDeleted = 'workspace.deleted',
  SettingsChanged = 'settings.changed',
  MaintenanceRun = 'system.maintenance.run',
  RagReconciled = 'rag.reconcile.run',
  NodeModelPulled = 'model.node.pulled',
  NodeModelLoaded = 'model.node.loaded',
  NodeModelUnloaded = 'model.node.unloaded',
  QuotaSet = 'quota.set',
  QuotaDeleted = 'quota.deleted',
}

/** Append-only record of security-relevant events, readable by instance admins. */
@Entity('audit_events')
@Index('idx_audit_events_created', ['createdAt'])
@Index('idx_audit_events_actor', ['actorUserId', 'createdAt'])
export class AuditEvent {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 64 })
  action: AuditAction;

  @Column({ type: 'uuid', nullable: true })
  actorUserId: string | null;

  @Column({ type: 'uuid', nullable: true })
  actorApiKeyId: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  targetType: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  targetId: string | null;

  @Column({ type: 'uuid', nullable: true })
  workspaceId: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip: string | null;

  /** Extra facts (old and new role, attempted email, ...). Never secrets. */
  @Column({ type: 'jsonb', default: {} })
  metadata: Record<string, unknown>;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
