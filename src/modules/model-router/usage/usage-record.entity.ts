import { Column, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';
import { ApiKey } from 'src/modules/auth/api-keys/api-key.entity';
import type { UsageKind, UsageOutcome } from 'src/modules/model-router/usage/usage.contract';
import { User } from 'src/modules/users/user.entity';
import { Workspace } from 'src/modules/workspaces/workspace.entity';

/**
 * One model call (or cached answer), written by the chat gateway when the call ends. Rows
 * of a deleted workspace or user go with it; a deleted API key leaves its rows to the user.
 */
@Entity('usage_records')
@Index('idx_usage_records_workspace_created', ['workspaceId', 'createdAt'])
@Index('idx_usage_records_workspace_user_created', ['workspaceId', 'userId', 'createdAt'])
export class UsageRecord {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** When the call ended (set by the app, not at insert: inserts are batched). */
  @Column({ type: 'timestamptz', default: () => 'now()' })
  createdAt: Date;

  @Column({ type: 'uuid' })
  @ForeignKey(() => Workspace, { onDelete: 'CASCADE' })
  workspaceId: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => User, { onDelete: 'CASCADE' })
  userId: string;

  @Column({ type: 'uuid', nullable: true })
  @ForeignKey(() => ApiKey, { onDelete: 'SET NULL' })
  apiKeyId: string | null;

  @Column({ type: 'varchar', length: 16 })
  kind: UsageKind;

  @Column({ type: 'varchar', length: 128 })
  requestedModel: string;

  @Column({ type: 'varchar', length: 128, nullable: true })
  model: string | null;

  @Column({ type: 'varchar', length: 32, nullable: true })
  provider: string | null;

  @Column({ type: 'varchar', length: 255, nullable: true })
  nodeId: string | null;

  @Column({ type: 'int' })
  promptTokens: number;

  @Column({ type: 'int' })
  completionTokens: number;

  @Column({ type: 'int', nullable: true })
  timeToFirstTokenMs: number | null;

  @Column({ type: 'int' })
  durationMs: number;

  @Column({ type: 'varchar', length: 16 })
  outcome: UsageOutcome;

  @Column({ type: 'boolean', default: false })
  cached: boolean;

  @Column({ type: 'varchar', length: 64, nullable: true })
  errorCode: string | null;
}
