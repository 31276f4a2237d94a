import { Column, CreateDateColumn, Entity, ForeignKey, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';
import type { DocumentFormat } from 'src/modules/rag/rag.contracts';
import { KnowledgeBase } from 'src/modules/rag/knowledge-bases/knowledge-base.entity';
import { User } from 'src/modules/users/user.entity';

export const DOCUMENT_STATUSES = ['queued', 'extracting', 'chunking', 'embedding', 'indexed', 'failed'] as const;
export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number];

/** An uploaded file of a knowledge base and where its ingestion stands. */
@Entity('rag_documents')
@Index('uq_rag_documents_kb_sha256', ['knowledgeBaseId', 'sha256'], { unique: true })
@Index('idx_rag_documents_workspace_kb', ['workspaceId', 'knowledgeBaseId'])
export class RagDocument {
  @PrimaryGeneratedColumn('uuid')
  id: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => KnowledgeBase, { onDelete: 'CASCADE' })
  knowledgeBaseId: string;

  /** Copied from the knowledge base so every lookup can be scoped by workspace without a join. */
  @Column({ type: 'uuid' })
  workspaceId: string;

  /** The client's file name, for display only: it never becomes part of a path. */
  @Column({ type: 'varchar', length: 255 })
  name: string;

  @Column({ type: 'varchar', length: 16 })
  format: DocumentFormat;

  @Column({ type: 'varchar', length: 255, nullable: true })
  contentType: string | null;

  @Column({ type: 'bigint', transformer: { to: (value: number) => value, from: (value: string | null) => Number(value) } })
  sizeBytes: number;

  /** Hex SHA-256 of the bytes: the same file twice in one knowledge base is one document. */
  @Column({ type: 'char', length: 64 })
  sha256: string;

  @Column({ type: 'varchar', length: 512 })
  storageKey: string;

  @Column({ type: 'varchar', length: 16, default: 'queued' })
  status: DocumentStatus;

  @Column({ type: 'varchar', length: 64, nullable: true })
  errorCode: string | null;

  @Column({ type: 'text', nullable: true })
  errorMessage: string | null;

  /** 0-100 within the whole pipeline. */
  @Column({ type: 'int', default: 0 })
  progress: number;

  /**
   * Bumped by every re-ingest: it names the job (`ingest-<id>-<generation>`) so a repeated
   * request is one job, and a job of an older generation stops instead of overwriting a newer one.
   */
  @Column({ type: 'int', default: 0 })
  generation: number;

  @Column({ type: 'int', default: 0 })
  chunkCount: number;

  @Column({ type: 'int', nullable: true })
  pageCount: number | null;

  @Column({ type: 'text', nullable: true })
  sourceUrl: string | null;

  @Column({ type: 'uuid', nullable: true })
  @ForeignKey(() => User, { onDelete: 'SET NULL' })
  createdBy: string | null;

  @CreateDateColumn({ type: 'timestamptz' })
  createdAt: Date;

  @UpdateDateColumn({ type: 'timestamptz' })
  updatedAt: Date;
}
