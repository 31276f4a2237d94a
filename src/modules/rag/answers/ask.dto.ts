import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  ArrayMinSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsNumber,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import type { RoutingDecision } from 'src/modules/model-router/gateway/chat-gateway.types';
import { SEARCH_MODES, SearchMode } from 'src/modules/rag/dto/search.dto';

export const MAX_QUESTION_CHARS = 4_000;
export const MAX_ASK_SOURCES = 20;
export const DEFAULT_ASK_SOURCES = 6;

export class AskDto {
  @ApiProperty({ minLength: 1, maxLength: MAX_QUESTION_CHARS })
  @IsString()
  @Matches(/\S/, { message: 'question must not be empty' })
  @MaxLength(MAX_QUESTION_CHARS)
  question: string;

  @ApiPropertyOptional({ default: 'auto', description: 'A model name, an alias, a tier (fast, balanced, powerful) or auto' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  model?: string;

  @ApiPropertyOptional({ enum: SEARCH_MODES, default: 'hybrid', description: 'How the sources are retrieved' })
  @IsOptional()
  @IsIn(SEARCH_MODES)
  mode?: SearchMode;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_ASK_SOURCES, default: DEFAULT_ASK_SOURCES, description: 'How many sources to retrieve' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_ASK_SOURCES)
  limit?: number;

  @ApiPropertyOptional({ type: [String], format: 'uuid', description: 'Only these documents' })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(100)
  @ArrayUnique()
  @IsUUID('all', { each: true })
  documentIds?: string[];

  @ApiPropertyOptional({ minimum: 0, maximum: 2 })
  @IsOptional()
  @IsNumber()
  @Min(0)
  @Max(2)
  temperature?: number;

  @ApiPropertyOptional({ minimum: 1, description: 'At most CHAT_MAX_COMPLETION_TOKENS' })
  @IsOptional()
  @IsInt()
  @Min(1)
  maxTokens?: number;
}

export class AskSourceDto {
  @ApiProperty({ description: 'The number the answer cites as [n]' }) n: number;
  @ApiProperty({ description: '`<documentId>:<chunk index>`' }) chunkId: string;
  @ApiProperty({ format: 'uuid' }) documentId: string;
  @ApiProperty() documentName: string;
  @ApiProperty({ nullable: true, type: Number, description: '1-based page, for formats with pages' }) page: number | null;
  @ApiProperty({ description: 'The text the model was given (trimmed when the prompt limit cut it)' }) text: string;
}

export class AskCitationDto {
  @ApiProperty() n: number;
  @ApiProperty() chunkId: string;
  @ApiProperty({ format: 'uuid' }) documentId: string;
  @ApiProperty() documentName: string;
  @ApiProperty({ nullable: true, type: Number }) page: number | null;
}

export class AskUsageDto {
  @ApiProperty() promptTokens: number;
  @ApiProperty() completionTokens: number;
}

export class AskResponseDto {
  @ApiProperty() answer: string;
  @ApiProperty({ type: [AskCitationDto], description: 'Each source the answer cites, in order of first citation' })
  citations: AskCitationDto[];
  @ApiProperty({ type: [AskSourceDto] }) sources: AskSourceDto[];
  @ApiProperty({
    nullable: true,
    type: 'object',
    additionalProperties: true,
    description: 'How the router chose the model; null when no source was found and no model was asked',
  })
  routing: RoutingDecision | null;
  @ApiProperty({ type: AskUsageDto }) usage: AskUsageDto;
}
