import { Check, Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { ApiKey } from 'src/modules/auth/api-keys/api-key.entity';
import type { QuotaPeriod, QuotaScope } from 'src/modules/model-router/usage/quota-windows';
import { User } from 'src/modules/users/user.entity';
import { Workspace } from 'src/modules/workspaces/workspace.entity';

/** Limits up to 10^12 tokens are exact in JavaScript numbers and in Redis' Lua. */
const bigintAsNumber = { to: (value: number) => value, from: (value: string | null) => (value === null ? null : Number(value)) };

/**
 * A token limit per UTC day or month for one workspace, user or API key. `subjectId` is what
 * callers see; the one foreign-key column matching the scope repeats it so that deleting the
 * subject deletes its quotas (one polymorphic column could not reference three tables).
 */
@Entity('token_quotas')
@Index('uq_token_quotas_subject_period', ['scope', 'subjectId', 'period'], { unique: true })
@Check(
  'chk_token_quotas_subject',
  "(scope = 'workspace' AND workspace_id = subject_id AND user_id IS NULL AND api_key_id IS NULL) OR " +
    "(scope = 'user' AND user_id = subject_id AND workspace_id IS NULL AND api_key_id IS NULL) OR " +
    "(scope = 'api-key' AND api_key_id = subject_id AND workspace_id IS NULL AND user_id IS NULL)",
)
export class TokenQuota {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'varchar', length: 16 })
  scope: QuotaScope;

  @Column({ type: 'uuid' })
  subjectId: string;

  @Column({ type: 'varchar', length: 8 })
  period: QuotaPeriod;

  @Column({ type: 'bigint', transformer: bigintAsNumber })
  limitTokens: number;

  @Column({ type: 'uuid', nullable: true })
  @ForeignKey(() => Workspace, { onDelete: 'CASCADE' })
  workspaceId: string | null;

  @Column({ type: 'uuid', nullable: true })
  @ForeignKey(() => User, { onDelete: 'CASCADE' })
  userId: string | null;

  @Column({ type: 'uuid', nullable: true })
  @ForeignKey(() => ApiKey, { onDelete: 'CASCADE' })
  apiKeyId: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
