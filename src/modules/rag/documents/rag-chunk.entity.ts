import { Column, Entity, ForeignKey, Index, PrimaryColumn } from 'typeorm';
import { RagDocument } from 'src/modules/rag/documents/rag-document.entity';

/**
 * A chunk of a document's text with its full-text index. Its id is `${documentId}:${index}`,
 * the same id its vector has in the vector store, so a repeated ingestion overwrites rather
 * than duplicates.
 */
@Entity('rag_chunks')
@Index('idx_rag_chunks_scope', ['workspaceId', 'knowledgeBaseId'])
@Index('idx_rag_chunks_document', ['documentId', 'chunkIndex'])
@Index('idx_rag_chunks_tsv', ['tsv'], { type: 'gin' })
export class RagChunk {
  @PrimaryColumn({ type: 'text' })
  id: string;

  @Column({ type: 'uuid' })
  @ForeignKey(() => RagDocument, { onDelete: 'CASCADE' })
  documentId: string;

  @Column({ type: 'uuid' })
  knowledgeBaseId: string;

  @Column({ type: 'uuid' })
  workspaceId: string;

  @Column({ type: 'int' })
  chunkIndex: number;

  @Column({ type: 'text' })
  text: string;

  @Column({ type: 'int', nullable: true })
  page: number | null;

  @Column({ type: 'text', array: true, default: '{}' })
  headings: string[];

  @Column({ type: 'int' })
  startOffset: number;

  @Column({ type: 'int' })
  endOffset: number;

  @Column({ type: 'int' })
  tokenCount: number;

  /**
   * `to_tsvector('english', text)`, written by the one statement that writes chunks
   * (ChunksRepository.upsert). Not a generated column: TypeORM tracks those in a
   * `typeorm_metadata` table keyed by database name, which its migrations neither create nor
   * match across databases.
   */
  @Column({ type: 'tsvector', select: false })
  tsv: string;
}
