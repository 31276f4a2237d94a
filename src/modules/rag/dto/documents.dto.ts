import { Field, Float, ID, Int, ObjectType } from '@nestjs/graphql';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { DOCUMENT_STATUSES, type DocumentStatus, RagDocument } from 'src/modules/rag/documents/rag-document.entity';

@ObjectType('RagDocument')
export class DocumentDto {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) id: string;
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) knowledgeBaseId: string;
  @ApiProperty({ description: 'The uploaded file name, for display only' }) @Field() name: string;
  @ApiProperty({ enum: ['text', 'markdown', 'html', 'pdf', 'docx', 'csv', 'json'] }) @Field() format: string;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) contentType: string | null;
  @ApiProperty() @Field(() => Float) sizeBytes: number;
  @ApiProperty({ description: 'Hex SHA-256 of the file' }) @Field() sha256: string;
  @ApiProperty({ enum: DOCUMENT_STATUSES }) @Field(() => String, { description: DOCUMENT_STATUSES.join(', ') }) status: DocumentStatus;
  @ApiProperty({ minimum: 0, maximum: 100 }) @Field(() => Int) progress: number;
  @ApiProperty({ nullable: true, type: String, description: 'Why ingestion failed (or is being retried)' })
  @Field(() => String, { nullable: true })
  errorCode: string | null;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) errorMessage: string | null;
  @ApiProperty() @Field(() => Int) chunkCount: number;
  @ApiProperty({ nullable: true, type: Number }) @Field(() => Int, { nullable: true }) pageCount: number | null;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) sourceUrl: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) @Field(() => ID, { nullable: true }) createdBy: string | null;
  @ApiProperty() @Field() createdAt: Date;
  @ApiProperty() @Field() updatedAt: Date;

  static from(document: RagDocument): DocumentDto {
    return {
      id: document.id,
      knowledgeBaseId: document.knowledgeBaseId,
      name: document.name,
      format: document.format,
      contentType: document.contentType,
      sizeBytes: document.sizeBytes,
      sha256: document.sha256,
      status: document.status,
      progress: document.progress,
      errorCode: document.errorCode,
      errorMessage: document.errorMessage,
      chunkCount: document.chunkCount,
      pageCount: document.pageCount,
      sourceUrl: document.sourceUrl,
      createdBy: document.createdBy,
      createdAt: document.createdAt,
      updatedAt: document.updatedAt,
    };
  }
}

/** What the uploader (Socket.IO `rag:document.progress`) and `documentProgress` subscribers receive at each stage. */
@ObjectType('DocumentProgress')
export class DocumentProgressDto {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) documentId: string;
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) knowledgeBaseId: string;
  @ApiProperty({ enum: DOCUMENT_STATUSES }) @Field(() => String, { description: DOCUMENT_STATUSES.join(', ') }) status: DocumentStatus;
  @ApiProperty({ minimum: 0, maximum: 100 }) @Field(() => Int) progress: number;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) errorCode: string | null;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) errorMessage: string | null;
}

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

/** `POST …/documents/from-url`: the page or file to fetch; the SSRF guard decides whether it may be. */
export class IngestUrlDto {
  @ApiProperty({ description: 'An http(s) URL whose host resolves to public addresses only', maxLength: 2048 })
  @Transform(trim)
  @IsString()
  @IsNotEmpty()
  @MaxLength(2048)
  url: string;

  @ApiPropertyOptional({ description: 'Display name; defaults to the last segment of the URL path', maxLength: 255 })
  @Transform(trim)
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(255)
  name?: string;
}
