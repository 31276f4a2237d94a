import { Field, Float, ID, InputType, Int, ObjectType } from '@nestjs/graphql';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  ValidateNested,
} from 'class-validator';
import type { DocumentFormat } from 'src/modules/rag/rag.contracts';

export const SEARCH_MODES = ['keyword', 'vector', 'hybrid'] as const;
export type SearchMode = (typeof SEARCH_MODES)[number];
export const DOCUMENT_FORMATS: DocumentFormat[] = ['text', 'markdown', 'html', 'pdf', 'docx', 'csv', 'json'];
export const MAX_QUERY_CHARS = 2_000;
export const MAX_SEARCH_LIMIT = 50;

@InputType('SearchFiltersInput')
export class SearchFiltersDto {
  @ApiPropertyOptional({ enum: DOCUMENT_FORMATS, isArray: true, description: 'Only documents of these formats' })
  @Field(() => [String], { nullable: true })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayUnique()
  @IsIn(DOCUMENT_FORMATS, { each: true })
  formats?: DocumentFormat[];

  @ApiPropertyOptional({ minimum: 1, description: 'Only chunks on this page or later (formats with pages)' })
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  pageFrom?: number;

  @ApiPropertyOptional({ minimum: 1, description: 'Only chunks on this page or earlier' })
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  pageTo?: number;
}

@InputType('SearchKnowledgeBaseInput')
export class SearchDto {
  @ApiProperty({
    minLength: 1,
    maxLength: MAX_QUERY_CHARS,
    description: 'Words or a question; keyword mode takes web-search syntax ("phrase", -word, or)',
  })
  @Field()
  @IsString()
  @Matches(/\S/, { message: 'query must not be empty' })
  @MaxLength(MAX_QUERY_CHARS)
  query: string;

  @ApiPropertyOptional({ enum: SEARCH_MODES, default: 'hybrid' })
  @Field(() => String, { nullable: true, description: 'keyword, vector or hybrid (default)' })
  @IsOptional()
  @IsIn(SEARCH_MODES)
  mode?: SearchMode;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_SEARCH_LIMIT, default: 10 })
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_SEARCH_LIMIT)
  limit?: number;

  @ApiPropertyOptional({ type: [String], format: 'uuid', description: 'Only these documents' })
  @Field(() => [ID], { nullable: true })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ArrayUnique()
  @IsUUID('all', { each: true })
  documentIds?: string[];

  @ApiPropertyOptional({ type: SearchFiltersDto })
  @Field(() => SearchFiltersDto, { nullable: true })
  @IsOptional()
  @ValidateNested()
  @Type(() => SearchFiltersDto)
  filters?: SearchFiltersDto;
}

@ObjectType('SearchResult')
export class SearchResultDto {
  @ApiProperty({ description: '`<documentId>:<chunk index>`' }) @Field(() => ID) chunkId: string;
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) documentId: string;
  @ApiProperty() @Field() documentName: string;
  @ApiProperty({ description: 'The chunk, as plain text (never HTML)' }) @Field() text: string;
  @ApiProperty({ description: 'keyword: ts_rank_cd; vector: cosine similarity; hybrid: reciprocal rank fusion' })
  @Field(() => Float)
  score: number;
  @ApiProperty({ nullable: true, type: Number, description: '1-based page, for formats with pages' })
  @Field(() => Int, { nullable: true })
  page: number | null;
  @ApiProperty({ type: [String], description: 'Headings above the chunk, outermost first' }) @Field(() => [String]) headings: string[];
  @ApiProperty({ description: "Character offset of the chunk in the document's extracted text" }) @Field(() => Int) start: number;
  @ApiProperty() @Field(() => Int) end: number;
}

@ObjectType('SearchResponse')
export class SearchResponseDto {
  @ApiProperty({ enum: SEARCH_MODES }) @Field(() => String) mode: SearchMode;
  @ApiProperty({ type: [SearchResultDto] }) @Field(() => [SearchResultDto]) results: SearchResultDto[];
}
