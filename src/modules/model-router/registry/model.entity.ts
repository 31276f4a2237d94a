import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { ModelTier } from 'src/modules/model-router/complexity';
import { LlmUpstream } from 'src/modules/model-router/registry/llm-upstream.entity';
import type { LlmProvider } from 'src/modules/model-router/providers/llm-provider';

export type ProviderKind = LlmProvider['kind'];

/** A model callers may name, by its name, one of its aliases, or its tier. */
@Entity('models')
@Index('uq_models_name', ['name'], { unique: true })
export class Model {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  /** The backend's own model name, e.g. `llama3.1:8b`. */
  @Column({ type: 'varchar', length: 128 })
  name: string;

  /** Unique across all names and aliases; enforced by the service (Postgres cannot index array elements uniquely). */
  @Column({ type: 'text', array: true, default: '{}' })
  aliases: string[];

  @Column({ type: 'varchar', length: 16 })
  tier: ModelTier;

  /** Lower first when a tier is requested; ties by name. */
  @Column({ type: 'int', default: 100 })
  priority: number;

  @Column({ type: 'varchar', length: 32 })
  providerKind: ProviderKind;

  @Column({ type: 'uuid', nullable: true })
  @ForeignKey(() => LlmUpstream, { onDelete: 'RESTRICT' })
  upstreamId: string | null;

  @Column({ type: 'boolean', default: true })
  enabled: boolean;

  @Column({ type: 'int', nullable: true })
  contextLength: number | null;

  @Column({ type: 'boolean', default: false })
  supportsTools: boolean;

  @Column({ type: 'boolean', default: false })
  supportsVision: boolean;

  @Column({ type: 'boolean', default: false })
  supportsEmbeddings: boolean;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
