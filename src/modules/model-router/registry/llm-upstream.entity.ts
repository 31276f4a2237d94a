import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, UpdateDateColumn } from 'typeorm';

export type UpstreamKind = 'openai-compatible';

/** An admin-configured upstream model server. Only admins set its URL; callers never do. */
@Entity('llm_upstreams')
@Index('uq_llm_upstreams_name', ['name'], { unique: true })
export class LlmUpstream {
  // Assigned in code before insert: the id is bound into the API key's ciphertext (AAD).
  @PrimaryColumn({ type: 'uuid' })
  id: string;

  @Column({ type: 'varchar', length: 64 })
  name: string;

  @Column({ type: 'varchar', length: 32 })
  kind: UpstreamKind;

  @Column({ type: 'varchar', length: 2048 })
  baseUrl: string;

  /** AES-256-GCM ciphertext (`secret-box.ts`); never leaves the service. */
  @Column({ type: 'text', nullable: true })
  apiKeyEncrypted: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
