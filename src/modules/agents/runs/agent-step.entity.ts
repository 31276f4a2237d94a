import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { ChatToolCall, FinishReason } from 'src/modules/model-router/providers/llm-provider';
import { AgentRun } from 'src/modules/agents/runs/agent-run.entity';
import { AgentTask } from 'src/modules/agents/runs/agent-task.entity';

export type StepType = 'model' | 'tool';

/**
 * A tool step is `completed` (it ran), `failed` (it ran and threw: the model reads the error)
 * or `rejected` (the call was malformed or not allowed: it never ran, the model is corrected).
 */
export type StepStatus = 'completed' | 'failed' | 'rejected';

/** What the routing decision of a model step keeps: which model and node answered. */
export interface StepRouting {
  requested: string;
  model: string;
  nodeId: string;
  provider: string;
  cached: boolean;
}

/**
 * One model call or one tool call, committed before the next starts: a task retried after a
 * crash rebuilds its conversation from these rows and goes on from the last one.
 */
@Entity('agent_run_steps')
@Index('uq_agent_run_steps_sequence', ['taskId', 'sequence'], { unique: true })
@Index('idx_agent_run_steps_run', ['runId', 'createdAt'])
export class AgentStep {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => AgentRun, { onDelete: 'CASCADE' })
  runId: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => AgentTask, { onDelete: 'CASCADE' })
  taskId: string;

  /** 1, 2, 3... within the task; unique, so a duplicate execution cannot add the same step twice. */
  @Column({ type: 'int' })
  sequence: number;

  @Column({ type: 'varchar', length: 8 })
  type: StepType;

  @Column({ type: 'varchar', length: 16 })
  status: StepStatus;

  @Column({ type: 'varchar', length: 128, nullable: true })
  model: string | null;

  @Column({ type: 'jsonb', nullable: true })
  routing: StepRouting | null;

  /** Model steps: the text the model wrote (in JSON tool mode, its raw JSON). */
  @Column({ type: 'text', nullable: true })
  content: string | null;

  /** Model steps: the tool calls it asked for, as the model wrote them. */
  @Column({ type: 'jsonb', nullable: true })
  toolCalls: ChatToolCall[] | null;

  @Column({ type: 'varchar', length: 16, nullable: true })
  finishReason: FinishReason | null;

  @Column({ type: 'int', nullable: true })
  promptTokens: number | null;

  @Column({ type: 'int', nullable: true })
  completionTokens: number | null;

  @Column({ type: 'varchar', length: 40, nullable: true })
  toolName: string | null;

  /** Tool steps: which call of the preceding model step this answers. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  toolCallId: string | null;

  @Column({ type: 'jsonb', nullable: true })
  arguments: Record<string, unknown> | null;

  /** Tool steps: exactly what went back to the model (the result, the error, or the correction). */
  @Column({ type: 'text', nullable: true })
  result: string | null;

  /** Tool steps: the tool's structured result, for clients. */
  @Column({ type: 'jsonb', nullable: true })
  data: unknown;

  @Column({ type: 'varchar', length: 64, nullable: true })
  errorCode: string | null;

  @Column({ type: 'text', nullable: true })
  errorMessage: string | null;

  @Column({ type: 'timestamptz' })
  startedAt: Date;

  @Column({ type: 'int' })
  durationMs: number;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;
}
