import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { Permission } from 'src/common/auth/permission.enum';
import type { ComplexityDecision } from 'src/modules/model-router/complexity';
import { User } from 'src/modules/users/user.entity';
import { Workspace } from 'src/modules/workspaces/workspace.entity';

export type RunMode = 'auto' | 'single' | 'multi';

/**
 * `queued` until admitted (the workspace's concurrent-run limit), `planning` while the mode
 * and tasks are decided, `running` while tasks execute; it always ends in one of the last three.
 */
export type RunStatus = 'queued' | 'planning' | 'running' | 'completed' | 'failed' | 'cancelled';

export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cancelled'];
export const ACTIVE_RUN_STATUSES: readonly RunStatus[] = ['planning', 'running'];

export interface RunLimits {
  maxSteps: number;
  maxToolCalls: number;
  /** Prompt plus completion tokens over every model call of the run. */
  tokenBudget: number;
  timeoutMs: number;
}

/** The plan as the planner made it (after validation), kept for clients; tasks are their own rows. */
export interface RunPlan {
  mode: 'single' | 'multi';
  tasks: { key: string; agent: string; instruction: string; dependsOn: string[] }[];
}

/** One workflow run, private to the user who started it. */
@Entity('agent_runs')
@Index('idx_agent_runs_owner', ['workspaceId', 'userId', 'createdAt'])
@Index('idx_agent_runs_status', ['status', 'workspaceId'])
export class AgentRun {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => Workspace, { onDelete: 'CASCADE' })
  workspaceId: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => User, { onDelete: 'CASCADE' })
  userId: string;

  /** The API key the run was started with: tools act with its permissions, re-checked at every step. */
  @Column({ type: 'uuid', nullable: true })
  apiKeyId: string | null;

  /** The starter's permissions when the run began: a tool never gets more, even if the role grows meanwhile. */
  @Column({ type: 'text', array: true })
  permissions: Permission[];

  @Column({ type: 'text' })
  query: string;

  @Column({ type: 'varchar', length: 8 })
  mode: RunMode;

  /** What `auto` became, once decided. */
  @Column({ type: 'varchar', length: 8, nullable: true })
  resolvedMode: 'single' | 'multi' | null;

  /** Agents the caller allowed (empty: any). */
  @Column({ type: 'text', array: true, default: '{}' })
  agents: string[];

  @Column({ type: 'uuid', array: true, default: '{}' })
  knowledgeBaseIds: string[];

  /** 1 to 10, higher starts first. */
  @Column({ type: 'int' })
  priority: number;

  @Column({ type: 'jsonb' })
  limits: RunLimits;

  @Column({ type: 'varchar', length: 16 })
  status: RunStatus;

  @Column({ type: 'jsonb', nullable: true })
  complexity: ComplexityDecision | null;

  @Column({ type: 'jsonb', nullable: true })
  plan: RunPlan | null;

  @Column({ type: 'text', nullable: true })
  result: string | null;

  @Column({ type: 'int', default: 0 })
  stepCount: number;

  @Column({ type: 'int', default: 0 })
  toolCallCount: number;

  @Column({ type: 'int', default: 0 })
  promptTokens: number;

  @Column({ type: 'int', default: 0 })
  completionTokens: number;

  /** Start jobs so far: each admission attempt has its own job id. */
  @Column({ type: 'int', default: 0 })
  admissions: number;

  /** Refused a slot by the workspace's concurrent-run limit; admitted when one frees up. */
  @Column({ type: 'boolean', default: false })
  waitingForSlot: boolean;

  /** Times the sweeper re-queued work whose jobs were lost. */
  @Column({ type: 'int', default: 0 })
  recoveries: number;

  @Column({ type: 'varchar', length: 64, nullable: true })
  errorCode: string | null;

  @Column({ type: 'text', nullable: true })
  errorMessage: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  /** Bumped by every step and transition: the sweeper's measure of progress. */
  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;

  @Column({ type: 'timestamptz', nullable: true })
  startedAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  deadlineAt: Date | null;

  @Column({ type: 'timestamptz', nullable: true })
  finishedAt: Date | null;
}
