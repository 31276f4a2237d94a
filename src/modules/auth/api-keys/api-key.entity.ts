import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';
import { Permission } from 'src/common/auth/permission.enum';
import { RateLimitTier, User } from 'src/modules/users/user.entity';
import { Workspace } from 'src/modules/workspaces/workspace.entity';

/**
 * A scoped credential for programs. The key is `gai_<prefix>_<secret>`: the prefix is the
 * indexed lookup, the secret is checked against a SHA-256 in constant time.
 */
@Entity('api_keys')
@Index('idx_api_keys_workspace', ['workspaceId'])
export class ApiKey {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Index('uq_api_keys_prefix', { unique: true })
  @Column({ type: 'varchar', length: 16 })
  prefix: string;

  @Column({ type: 'char', length: 64, select: false })
  secretHash: string;

  @Column({ type: 'varchar', length: 100 })
  name: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => User, { onDelete: 'CASCADE' })
  userId: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => Workspace, { onDelete: 'CASCADE' })
  workspaceId: string;

  /** Never wider than the creator's permissions; at use it is intersected with them again. */
  @Column({ type: 'text', array: true })
  permissions: Permission[];

  @Column({ type: 'varchar', length: 16, default: RateLimitTier.Standard })
  rateLimitTier: RateLimitTier;

  @Column({ type: 'timestamptz', nullable: true })
  expiresAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  revokedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  lastUsedAt: Date | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
