import { Field, ID, InputType, Int, ObjectType } from '@nestjs/graphql';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsInt, IsOptional, IsString, Length, Matches, Max, MaxLength, Min, ValidateIf } from 'class-validator';
import { MAX_CHUNK_TOKENS, MIN_CHUNK_TOKENS } from 'src/modules/rag/chunking';
import { EMBEDDER_ID_PATTERN } from 'src/modules/rag/embeddings/embedder.factory';
import {
  DEFAULT_CHUNK_TOKENS,
  DEFAULT_EMBEDDER_ID,
  DEFAULT_OVERLAP_TOKENS,
  KnowledgeBase,
} from 'src/modules/rag/knowledge-bases/knowledge-base.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

const EMBEDDER_MESSAGE = 'embedderId must be use-512 (the bundled encoder) or router:<model> (a model of the model router)';
const EMBEDDER_DESCRIPTION =
  '`use-512` (bundled Universal Sentence Encoder, 512-d, CPU) or `router:<model>` (an embedding model of the router)';
const CHUNK_DESCRIPTION = `Target chunk size in tokens (${MIN_CHUNK_TOKENS}-${MAX_CHUNK_TOKENS})`;
const OVERLAP_DESCRIPTION = 'Tokens shared by consecutive chunks; less than half of chunkTokens';

@ObjectType('KnowledgeBase')
export class KnowledgeBaseDto {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) id: string;
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) workspaceId: string;
  @ApiProperty() @Field() name: string;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) description: string | null;
  @ApiProperty({ description: EMBEDDER_DESCRIPTION }) @Field({ description: EMBEDDER_DESCRIPTION }) embedderId: string;
  @ApiProperty({ description: 'Length of the vectors of this knowledge base' }) @Field(() => Int) dimension: number;
  @ApiProperty() @Field(() => Int) chunkTokens: number;
  @ApiProperty() @Field(() => Int) overlapTokens: number;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) @Field(() => ID, { nullable: true }) createdBy: string | null;
  @ApiProperty() @Field() createdAt: Date;
  @ApiProperty() @Field() updatedAt: Date;

  static from(kb: KnowledgeBase): KnowledgeBaseDto {
    return {
      id: kb.id,
      workspaceId: kb.workspaceId,
      name: kb.name,
      description: kb.description,
      embedderId: kb.embedderId,
      dimension: kb.dimension,
      chunkTokens: kb.chunkTokens,
      overlapTokens: kb.overlapTokens,
      createdBy: kb.createdBy,
      createdAt: kb.createdAt,
      updatedAt: kb.updatedAt,
    };
  }
}

@InputType('CreateKnowledgeBaseInput')
export class CreateKnowledgeBaseDto {
  @ApiProperty({ minLength: 1, maxLength: 120, description: 'Unique in the workspace' })
  @Field()
  @IsString()
  @Transform(trim)
  @Length(1, 120)
  name: string;

  @ApiPropertyOptional({ maxLength: 2000 })
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string;

  @ApiPropertyOptional({ default: DEFAULT_EMBEDDER_ID, description: EMBEDDER_DESCRIPTION })
  @Field(() => String, { nullable: true, description: EMBEDDER_DESCRIPTION })
  @IsOptional()
  @IsString()
  @Matches(EMBEDDER_ID_PATTERN, { message: EMBEDDER_MESSAGE })
  embedderId?: string;

  @ApiPropertyOptional({
    default: DEFAULT_CHUNK_TOKENS,
    minimum: MIN_CHUNK_TOKENS,
    maximum: MAX_CHUNK_TOKENS,
    description: CHUNK_DESCRIPTION,
  })
  @Field(() => Int, { nullable: true, description: CHUNK_DESCRIPTION })
  @IsOptional()
  @IsInt()
  @Min(MIN_CHUNK_TOKENS)
  @Max(MAX_CHUNK_TOKENS)
  chunkTokens?: number;

  @ApiPropertyOptional({ default: DEFAULT_OVERLAP_TOKENS, minimum: 0, description: OVERLAP_DESCRIPTION })
  @Field(() => Int, { nullable: true, description: OVERLAP_DESCRIPTION })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_CHUNK_TOKENS)
  overlapTokens?: number;
}

@InputType('UpdateKnowledgeBaseInput')
export class UpdateKnowledgeBaseDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 120 })
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @Transform(trim)
  @Length(1, 120)
  name?: string;

  @ApiPropertyOptional({ maxLength: 2000, nullable: true, type: String })
  @Field(() => String, { nullable: true })
  @ValidateIf((_, value) => value !== null)
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  description?: string | null;

  @ApiPropertyOptional({ description: `${EMBEDDER_DESCRIPTION}. Changing it re-indexes every document.` })
  @Field(() => String, { nullable: true, description: `${EMBEDDER_DESCRIPTION}. Changing it re-indexes every document.` })
  @IsOptional()
  @IsString()
  @Matches(EMBEDDER_ID_PATTERN, { message: EMBEDDER_MESSAGE })
  embedderId?: string;

  @ApiPropertyOptional({
    minimum: MIN_CHUNK_TOKENS,
    maximum: MAX_CHUNK_TOKENS,
    description: `${CHUNK_DESCRIPTION}. Changing it re-indexes.`,
  })
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(MIN_CHUNK_TOKENS)
  @Max(MAX_CHUNK_TOKENS)
  chunkTokens?: number;

  @ApiPropertyOptional({ minimum: 0, description: `${OVERLAP_DESCRIPTION}. Changing it re-indexes.` })
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(MAX_CHUNK_TOKENS)
  overlapTokens?: number;
}
