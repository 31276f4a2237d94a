import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import { User } from 'src/modules/users/user.entity';
import { Workspace } from 'src/modules/workspaces/workspace.entity';

export const DEFAULT_EMBEDDER_ID = 'use-512';
export const DEFAULT_CHUNK_TOKENS = 400;
export const DEFAULT_OVERLAP_TOKENS = 60;

/** A searchable collection of documents in one workspace, with the embedder and chunking its index was built with. */
@Entity('knowledge_bases')
@Index('uq_knowledge_bases_workspace_name', ['workspaceId', 'name'], { unique: true })
export class KnowledgeBase {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => Workspace, { onDelete: 'CASCADE' })
  workspaceId: string;

  @Column({ type: 'varchar', length: 120 })
  name: string;

  @Column({ type: 'text', nullable: true })
  description: string | null;

  /** `use-512` (bundled encoder) or `router:<model>`; changing it re-indexes every document. */
  @Column({ type: 'varchar', length: 200, default: DEFAULT_EMBEDDER_ID })
  embedderId: string;

  /** Length of the embedder's vectors; the vector store keeps one collection per knowledge base and dimension. */
  @Column({ type: 'int' })
  dimension: number;

  @Column({ type: 'int', default: DEFAULT_CHUNK_TOKENS })
  chunkTokens: number;

  @Column({ type: 'int', default: DEFAULT_OVERLAP_TOKENS })
  overlapTokens: number;

  @Column({ type: 'uuid', nullable: true })
  @ForeignKey(() => User, { onDelete: 'SET NULL' })
  createdBy: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
