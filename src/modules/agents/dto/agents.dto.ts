import { Field, ID, InputType, Int, ObjectType } from '@nestjs/graphql';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Length,
  Matches,
  MaxLength,
  Min,
  ValidateIf,
} from 'class-validator';
import { MODEL_TIERS, ModelTier } from 'src/modules/model-router/complexity';
import { MODEL_NAME_MESSAGE, MODEL_NAME_PATTERN } from 'src/modules/conversations/dto/conversations.dto';
import { AgentDefinition } from 'src/modules/agents/definitions/agent-definition.entity';
import { AGENT_TOOL_NAMES, AgentSpec } from 'src/modules/agents/definitions/agent-spec';
import type { AgentToolName } from 'src/modules/agents/tools/agent-tool';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export const AGENT_NAME_PATTERN = /^[a-z][a-z0-9_-]{1,39}$/;
const AGENT_NAME_MESSAGE = 'name must be 2 to 40 lowercase letters, digits, _ or -, starting with a letter';
/** A custom agent's system prompt; long prompts belong in a knowledge base. */
export const MAX_AGENT_PROMPT_CHARS = 20_000;
const TOOLS_DESCRIPTION = `Tools the agent may call, from: ${AGENT_TOOL_NAMES.join(', ')}`;

@ObjectType('Agent')
export class AgentDto {
  @ApiProperty({ format: 'uuid', nullable: true, type: String, description: 'null for built-in agents' })
  @Field(() => ID, { nullable: true, description: 'null for built-in agents' })
  id: string | null;
  @ApiProperty() @Field() name: string;
  @ApiProperty() @Field() builtIn: boolean;
  @ApiProperty() @Field() description: string;
  @ApiProperty() @Field() systemPrompt: string;
  @ApiProperty({ description: 'A tier (fast, balanced, powerful) or a model name or alias' })
  @Field({ description: 'A tier (fast, balanced, powerful) or a model name or alias' })
  model: string;
  @ApiProperty({ type: [String], enum: AGENT_TOOL_NAMES }) @Field(() => [String]) tools: AgentToolName[];
  @ApiProperty({ description: 'Most steps (model and tool calls) of one task' }) @Field(() => Int) maxSteps: number;
  @ApiProperty({ description: 'Most tool calls of one task' }) @Field(() => Int) maxToolCalls: number;
  @ApiProperty({ nullable: true, type: Date }) @Field(() => Date, { nullable: true }) createdAt: Date | null;
  @ApiProperty({ nullable: true, type: Date }) @Field(() => Date, { nullable: true }) updatedAt: Date | null;

  static fromSpec(spec: AgentSpec, definition?: AgentDefinition): AgentDto {
    return {
      id: definition?.id ?? null,
      name: spec.name,
      builtIn: spec.builtIn,
      description: spec.description,
      systemPrompt: spec.systemPrompt,
      model: spec.model,
      tools: [...spec.tools],
      maxSteps: spec.maxSteps,
      maxToolCalls: spec.maxToolCalls,
      createdAt: definition?.createdAt ?? null,
      updatedAt: definition?.updatedAt ?? null,
    };
  }
}

@InputType('CreateAgentInput')
export class CreateAgentDto {
  @ApiProperty({ pattern: AGENT_NAME_PATTERN.source, description: 'Unique in the workspace; not a built-in name' })
  @Field()
  @IsString()
  @Matches(AGENT_NAME_PATTERN, { message: AGENT_NAME_MESSAGE })
  name: string;

  @ApiProperty({ maxLength: 500, description: 'What the planner reads when it picks agents for tasks' })
  @Field()
  @IsString()
  @Transform(trim)
  @Length(1, 500)
  description: string;

  @ApiProperty({ maxLength: MAX_AGENT_PROMPT_CHARS })
  @Field()
  @IsString()
  @Matches(/\S/, { message: 'systemPrompt must not be blank' })
  @MaxLength(MAX_AGENT_PROMPT_CHARS)
  systemPrompt: string;

  @ApiPropertyOptional({ enum: MODEL_TIERS, description: 'Give a tier or a model, not both; default balanced' })
  @Field(() => String, { nullable: true, description: 'fast, balanced or powerful; give a tier or a model, not both' })
  @IsOptional()
  @IsIn(MODEL_TIERS)
  tier?: ModelTier;

  @ApiPropertyOptional({ description: 'A registered model name or alias' })
  @Field(() => String, { nullable: true, description: 'A registered model name or alias' })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  @Matches(MODEL_NAME_PATTERN, { message: MODEL_NAME_MESSAGE })
  model?: string;

  @ApiPropertyOptional({ type: [String], enum: AGENT_TOOL_NAMES, description: TOOLS_DESCRIPTION })
  @Field(() => [String], { nullable: true, description: TOOLS_DESCRIPTION })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(AGENT_TOOL_NAMES.length)
  @ArrayUnique()
  @IsString({ each: true })
  @MaxLength(40, { each: true })
  tools?: string[];

  @ApiPropertyOptional({ minimum: 1, description: 'Most steps of one task; at most AGENTS_MAX_STEPS' })
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  maxSteps?: number;

  @ApiPropertyOptional({ minimum: 0, description: 'Most tool calls of one task; at most AGENTS_MAX_TOOL_CALLS' })
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(0)
  maxToolCalls?: number;
}

@InputType('UpdateAgentInput')
export class UpdateAgentDto {
  @ApiPropertyOptional({ maxLength: 500 })
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @Transform(trim)
  @Length(1, 500)
  description?: string;

  @ApiPropertyOptional({ maxLength: MAX_AGENT_PROMPT_CHARS })
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @Matches(/\S/, { message: 'systemPrompt must not be blank' })
  @MaxLength(MAX_AGENT_PROMPT_CHARS)
  systemPrompt?: string;

  @ApiPropertyOptional({ enum: MODEL_TIERS, description: 'Setting a tier clears the model' })
  @Field(() => String, { nullable: true, description: 'Setting a tier clears the model' })
  @IsOptional()
  @IsIn(MODEL_TIERS)
  tier?: ModelTier;

  @ApiPropertyOptional({ description: 'Setting a model clears the tier' })
  @Field(() => String, { nullable: true, description: 'Setting a model clears the tier' })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  @Matches(MODEL_NAME_PATTERN, { message: MODEL_NAME_MESSAGE })
  model?: string;

  @ApiPropertyOptional({ type: [String], enum: AGENT_TOOL_NAMES, description: TOOLS_DESCRIPTION })
  @Field(() => [String], { nullable: true, description: TOOLS_DESCRIPTION })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(AGENT_TOOL_NAMES.length)
  @ArrayUnique()
  @IsString({ each: true })
  @MaxLength(40, { each: true })
  tools?: string[];

  @ApiPropertyOptional({ minimum: 1, nullable: true, type: Number, description: 'null: the default' })
  @Field(() => Int, { nullable: true })
  @ValidateIf((_, value) => value !== null)
  @IsOptional()
  @IsInt()
  @Min(1)
  maxSteps?: number | null;

  @ApiPropertyOptional({ minimum: 0, nullable: true, type: Number, description: 'null: the default' })
  @Field(() => Int, { nullable: true })
  @ValidateIf((_, value) => value !== null)
  @IsOptional()
  @IsInt()
  @Min(0)
  maxToolCalls?: number | null;
}
