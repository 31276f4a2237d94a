import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export enum UserStatus {
  Active = 'active',
  Suspended = 'suspended',
}

/** Instance-wide role, separate from the per-workspace roles. */
export enum InstanceRole {
  Admin = 'admin',
  User = 'user',
}

/** Request budget a user or API key gets; the hourly numbers come from configuration. */
export enum RateLimitTier {
  Standard = 'standard',
  Unlimited = 'unlimited',
}

@Entity('users')
export class User {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** Stored lower-cased; the unique index makes sign-up races safe. */
  @Index('uq_users_email', { unique: true })
  @Column({ type: 'varchar', length: 320 })
  email: string;

  @Column({ type: 'varchar', length: 120 })
  name: string;

  /** argon2id hash; null for accounts that only sign in through OIDC. */
  @Column({ type: 'varchar', length: 255, nullable: true, select: false })
  passwordHash: string | null;

  @Column({ type: 'varchar', length: 16, default: InstanceRole.User })
  instanceRole: InstanceRole;

  @Column({ type: 'varchar', length: 16, default: UserStatus.Active })
  status: UserStatus;

  @Column({ type: 'varchar', length: 16, default: RateLimitTier.Standard })
  rateLimitTier: RateLimitTier;

  @Column({ type: 'uuid', nullable: true })
  personalWorkspaceId: string | null;

  /** `issuer|subject` of a linked OIDC identity. */
  @Index('uq_users_oidc_subject', { unique: true, where: 'oidc_subject IS NOT NULL' })
  @Column({ type: 'varchar', length: 512, nullable: true })
  oidcSubject: string | null;

  @Column({ type: 'timestamptz', nullable: true })
  suspendedAt: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
