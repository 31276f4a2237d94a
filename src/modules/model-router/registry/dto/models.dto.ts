import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  Min,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { MODEL_TIERS, type ModelTier } from 'src/modules/model-router/complexity';
import { Model, ProviderKind } from 'src/modules/model-router/registry/model.entity';

export const PROVIDER_KINDS: ProviderKind[] = ['ollama', 'openai-compatible', 'llama-cpp'];
// Ollama names (`llama3.1:8b`, `library/qwen2.5:7b-instruct-q4_K_M`), OpenAI names (`gpt-4o-mini`).
const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@-]*$/;
const NAME_MESSAGE = 'must be letters, digits and . _ : / @ - only';

// GraphQL enums need objects; the values match the REST strings.
const ModelTierEnum = { fast: 'fast', balanced: 'balanced', powerful: 'powerful' } as const satisfies Record<ModelTier, ModelTier>;
const ProviderKindEnum = { ollama: 'ollama', openaiCompatible: 'openai-compatible', llamaCpp: 'llama-cpp' } as const;
registerEnumType(ModelTierEnum, { name: 'ModelTier' });
registerEnumType(ProviderKindEnum, { name: 'ProviderKind' });

@ObjectType('ModelCapabilities')
export class ModelCapabilitiesDto {
  @ApiProperty() @Field() @IsBoolean() tools: boolean;
  @ApiProperty() @Field() @IsBoolean() vision: boolean;
  @ApiProperty() @Field() @IsBoolean() embeddings: boolean;
}

@ObjectType('Model')
export class ModelDto {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) id: string;
  @ApiProperty() @Field() name: string;
  @ApiProperty({ type: [String] }) @Field(() => [String]) aliases: string[];
  @ApiProperty({ enum: MODEL_TIERS, enumName: 'ModelTier' }) @Field(() => ModelTierEnum) tier: ModelTier;
  @ApiProperty() @Field(() => Int) priority: number;
  @ApiProperty({ enum: PROVIDER_KINDS, enumName: 'ProviderKind' }) @Field(() => ProviderKindEnum) providerKind: ProviderKind;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) @Field(() => ID, { nullable: true }) upstreamId: string | null;
  @ApiProperty() @Field() enabled: boolean;
  @ApiProperty({ nullable: true, type: Number }) @Field(() => Int, { nullable: true }) contextLength: number | null;
  @ApiProperty({ type: ModelCapabilitiesDto }) @Field(() => ModelCapabilitiesDto) capabilities: ModelCapabilitiesDto;
  @ApiProperty() @Field() createdAt: Date;

  static from(model: Model): ModelDto {
    return {
      id: model.id,
      name: model.name,
      aliases: model.aliases,
      tier: model.tier,
      priority: model.priority,
      providerKind: model.providerKind,
      upstreamId: model.upstreamId,
      enabled: model.enabled,
      contextLength: model.contextLength,
      capabilities: { tools: model.supportsTools, vision: model.supportsVision, embeddings: model.supportsEmbeddings },
      createdAt: model.createdAt,
    };
  }
}

export class CreateModelDto {
  @ApiProperty({ example: 'llama3.1:8b', maxLength: 128 })
  @IsString()
  @Length(1, 128)
  @Matches(MODEL_NAME_PATTERN, { message: `name ${NAME_MESSAGE}` })
  name: string;

  @ApiPropertyOptional({ type: [String], maxItems: 16 })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(16)
  @ArrayUnique()
  @IsString({ each: true })
  @Length(1, 128, { each: true })
  @Matches(MODEL_NAME_PATTERN, { each: true, message: `each alias ${NAME_MESSAGE}` })
  aliases?: string[];

  @ApiProperty({ enum: MODEL_TIERS, enumName: 'ModelTier' })
  @IsIn(MODEL_TIERS)
  tier: ModelTier;

  @ApiPropertyOptional({ minimum: 0, maximum: 10000, default: 100 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10000)
  priority?: number;

  @ApiProperty({ enum: PROVIDER_KINDS, enumName: 'ProviderKind' })
  @IsIn(PROVIDER_KINDS)
  providerKind: ProviderKind;

  @ApiPropertyOptional({ format: 'uuid', nullable: true, type: String, description: 'Required for openai-compatible models' })
  @ValidateIf((_, value) => value !== null)
  @IsOptional()
  @IsUUID()
  upstreamId?: string | null;

  @ApiPropertyOptional({ default: true })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ minimum: 256, maximum: 10_000_000, nullable: true, type: Number })
  @ValidateIf((_, value) => value !== null)
  @IsOptional()
  @IsInt()
  @Min(256)
  @Max(10_000_000)
  contextLength?: number | null;

  @ApiPropertyOptional({ type: ModelCapabilitiesDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ModelCapabilitiesDto)
  capabilities?: ModelCapabilitiesDto;
}

export class UpdateModelDto {
  @ApiPropertyOptional({ maxLength: 128 })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  @Matches(MODEL_NAME_PATTERN, { message: `name ${NAME_MESSAGE}` })
  name?: string;

  @ApiPropertyOptional({ type: [String], maxItems: 16 })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(16)
  @ArrayUnique()
  @IsString({ each: true })
  @Length(1, 128, { each: true })
  @Matches(MODEL_NAME_PATTERN, { each: true, message: `each alias ${NAME_MESSAGE}` })
  aliases?: string[];

  @ApiPropertyOptional({ enum: MODEL_TIERS, enumName: 'ModelTier' })
  @IsOptional()
  @IsIn(MODEL_TIERS)
  tier?: ModelTier;

  @ApiPropertyOptional({ minimum: 0, maximum: 10000 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(10000)
  priority?: number;

  @ApiPropertyOptional({ enum: PROVIDER_KINDS, enumName: 'ProviderKind' })
  @IsOptional()
  @IsIn(PROVIDER_KINDS)
  providerKind?: ProviderKind;

  @ApiPropertyOptional({ format: 'uuid', nullable: true, type: String })
  @ValidateIf((_, value) => value !== null)
  @IsOptional()
  @IsUUID()
  upstreamId?: string | null;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({ minimum: 256, maximum: 10_000_000, nullable: true, type: Number })
  @ValidateIf((_, value) => value !== null)
  @IsOptional()
  @IsInt()
  @Min(256)
  @Max(10_000_000)
  contextLength?: number | null;

  @ApiPropertyOptional({ type: ModelCapabilitiesDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => ModelCapabilitiesDto)
  capabilities?: ModelCapabilitiesDto;
}
