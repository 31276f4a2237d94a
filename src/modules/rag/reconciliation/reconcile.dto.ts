import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsUUID } from 'class-validator';
import type {
  DeletedKnowledgeBaseVectors,
  KnowledgeBaseReconciliation,
  ReconcileError,
  ReconcileReport,
  ReconcileTotals,
} from 'src/modules/rag/reconciliation/reconcile-report';

export class ReconcileRequestDto {
  @ApiPropertyOptional({
    format: 'uuid',
    description: 'One knowledge base, of any workspace; unset: all of them, and vectors of deleted ones',
  })
  @IsOptional()
  @IsUUID()
  knowledgeBaseId?: string;

  @ApiPropertyOptional({ default: false, description: 'Report the differences and change nothing' })
  @IsOptional()
  @IsBoolean()
  dryRun?: boolean;
}

class ReconcileErrorDto implements ReconcileError {
  @ApiProperty({ type: String, nullable: true, format: 'uuid' }) documentId: string | null;
  @ApiProperty({ example: 'RAG_EMBEDDER_UNAVAILABLE' }) code: string;
  @ApiProperty() message: string;
}

class KnowledgeBaseReconciliationDto implements KnowledgeBaseReconciliation {
  @ApiProperty({ format: 'uuid' }) workspaceId: string;
  @ApiProperty({ format: 'uuid' }) knowledgeBaseId: string;
  @ApiProperty({ description: "The knowledge base's embedding dimension" }) dimension: number;
  @ApiProperty({ description: 'Vectors walked' }) vectors: number;
  @ApiProperty({ description: 'Chunk rows walked' }) chunks: number;
  @ApiProperty({ description: 'Vectors without a chunk row' }) orphanVectors: number;
  @ApiProperty({ description: "Chunk rows without a vector at the knowledge base's dimension" }) missingVectors: number;
  @ApiProperty({ description: 'Of missingVectors: stored, but at another dimension' }) wrongDimension: number;
  @ApiProperty({ description: 'Orphans deleted (0 in a dry run)' }) deletedVectors: number;
  @ApiProperty({ description: 'Chunks embedded again from their stored text (0 in a dry run)' }) reembeddedChunks: number;
  @ApiProperty({ description: 'Documents left alone: their ingestion runs or started during the repair; run again later' })
  skippedDocuments: number;
  @ApiProperty({ type: [String], description: 'The first 100 skipped documents' }) skippedDocumentIds: string[];
  @ApiProperty({ description: 'Chunks the repair could not embed (see errors)' }) failedChunks: number;
  @ApiProperty({ type: [ReconcileErrorDto], description: 'At most 20' }) errors: ReconcileErrorDto[];
}

class DeletedKnowledgeBaseVectorsDto implements DeletedKnowledgeBaseVectors {
  @ApiProperty({ format: 'uuid' }) workspaceId: string;
  @ApiProperty({ format: 'uuid' }) knowledgeBaseId: string;
  @ApiProperty() orphanVectors: number;
  @ApiProperty({ description: '0 in a dry run' }) deletedVectors: number;
}

class ReconcileTotalsDto implements ReconcileTotals {
  @ApiProperty({ description: 'Knowledge bases compared' }) knowledgeBases: number;
  @ApiProperty() vectors: number;
  @ApiProperty() chunks: number;
  @ApiProperty({ description: 'Including the vectors of knowledge bases that no longer exist' }) orphanVectors: number;
  @ApiProperty() missingVectors: number;
  @ApiProperty() wrongDimension: number;
  @ApiProperty() deletedVectors: number;
  @ApiProperty() reembeddedChunks: number;
  @ApiProperty() skippedDocuments: number;
  @ApiProperty() failedChunks: number;
  @ApiProperty({ description: 'orphanVectors + missingVectors; 0: chunk rows and vectors agree' }) differences: number;
}

export class ReconcileReportDto implements ReconcileReport {
  @ApiProperty() dryRun: boolean;
  @ApiProperty({ type: String, nullable: true, format: 'uuid' }) knowledgeBaseId: string | null;
  @ApiProperty({ format: 'date-time' }) startedAt: string;
  @ApiProperty() durationMs: number;
  @ApiProperty({ type: ReconcileTotalsDto }) totals: ReconcileTotalsDto;
  @ApiProperty({
    type: [KnowledgeBaseReconciliationDto],
    description: 'Knowledge bases with a difference, a skipped document or an error (the one asked for, always)',
  })
  knowledgeBases: KnowledgeBaseReconciliationDto[];
  @ApiProperty({ type: [DeletedKnowledgeBaseVectorsDto], description: 'Vectors of knowledge bases that no longer exist' })
  deletedKnowledgeBases: DeletedKnowledgeBaseVectorsDto[];
}
