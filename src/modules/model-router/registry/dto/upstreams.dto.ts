import { Field, ID, ObjectType } from '@nestjs/graphql';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Length, Matches, MaxLength, ValidateIf } from 'class-validator';
import { LlmUpstream, UpstreamKind } from 'src/modules/model-router/registry/llm-upstream.entity';

const UPSTREAM_KINDS: UpstreamKind[] = ['openai-compatible'];
const NAME_PATTERN = /^[a-z0-9][a-z0-9._-]*$/;

/** An upstream as the API shows it: the key itself never leaves the server. */
@ObjectType('LlmUpstream')
export class UpstreamDto {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) id: string;
  @ApiProperty() @Field() name: string;
  @ApiProperty({ enum: UPSTREAM_KINDS }) @Field(() => String) kind: UpstreamKind;
  @ApiProperty() @Field() baseUrl: string;
  @ApiProperty({ description: 'Whether an API key is stored; the key is never returned' })
  @Field({ description: 'Whether an API key is stored; the key is never returned' })
  hasApiKey: boolean;
  @ApiProperty() @Field() createdAt: Date;
  @ApiProperty() @Field() updatedAt: Date;

  static from(upstream: LlmUpstream): UpstreamDto {
    return {
      id: upstream.id,
      name: upstream.name,
      kind: upstream.kind,
      baseUrl: upstream.baseUrl,
      hasApiKey: upstream.apiKeyEncrypted !== null,
      createdAt: upstream.createdAt,
      updatedAt: upstream.updatedAt,
    };
  }
}

export class CreateUpstreamDto {
  @ApiProperty({ pattern: NAME_PATTERN.source, maxLength: 64 })
  @IsString()
  @Length(1, 64)
  @Matches(NAME_PATTERN, { message: 'name must be lower-case letters, digits, dots, dashes or underscores' })
  name: string;

  @ApiProperty({ enum: UPSTREAM_KINDS })
  @IsIn(UPSTREAM_KINDS)
  kind: UpstreamKind;

  @ApiProperty({ example: 'http://vllm:8000/v1', maxLength: 2048 })
  @IsString()
  @MaxLength(2048)
  baseUrl: string;

  @ApiPropertyOptional({ maxLength: 1024, writeOnly: true })
  @IsOptional()
  @IsString()
  @Length(1, 1024)
  apiKey?: string;
}

export class UpdateUpstreamDto {
  @ApiPropertyOptional({ pattern: NAME_PATTERN.source, maxLength: 64 })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  @Matches(NAME_PATTERN, { message: 'name must be lower-case letters, digits, dots, dashes or underscores' })
  name?: string;

  @ApiPropertyOptional({ maxLength: 2048 })
  @IsOptional()
  @IsString()
  @MaxLength(2048)
  baseUrl?: string;

  @ApiPropertyOptional({ maxLength: 1024, nullable: true, type: String, writeOnly: true, description: 'null removes the stored key' })
  @ValidateIf((_, value) => value !== null)
  @IsOptional()
  @IsString()
  @Length(1, 1024)
  apiKey?: string | null;
}
