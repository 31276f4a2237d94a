import { ArgsType, Field, ID, InputType, Int, ObjectType } from '@nestjs/graphql';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, IsUUID, Length, Matches, Max, Min, ValidateIf } from 'class-validator';
import { Conversation } from 'src/modules/conversations/conversation.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

/** Registry names and aliases (`llama3.1:8b`), tiers (`fast`) and `auto`. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@-]*$/;
export const MODEL_NAME_MESSAGE = 'model must be a model name, alias, tier or auto (letters, digits and . _ : / @ - only)';
const MODEL_DESCRIPTION = 'A model name or alias, a tier (fast, balanced, powerful) or auto';

@ObjectType('Conversation')
export class ConversationDto {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) id: string;
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) workspaceId: string;
  @ApiProperty({ format: 'uuid', description: 'The owner: conversations are private to them' })
  @Field(() => ID, { description: 'The owner: conversations are private to them' })
  userId: string;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) title: string | null;
  @ApiProperty({ description: MODEL_DESCRIPTION }) @Field({ description: MODEL_DESCRIPTION }) model: string;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) systemPrompt: string | null;
  @ApiProperty() @Field(() => Int) messageCount: number;
  @ApiProperty() @Field() createdAt: Date;
  @ApiProperty() @Field() updatedAt: Date;
  @ApiProperty({ nullable: true, type: Date }) @Field(() => Date, { nullable: true }) lastMessageAt: Date | null;

  static from(conversation: Conversation): ConversationDto {
    return {
      id: conversation.id,
      workspaceId: conversation.workspaceId,
      userId: conversation.userId,
      title: conversation.title,
      model: conversation.model,
      systemPrompt: conversation.systemPrompt,
      messageCount: conversation.messageCount,
      createdAt: conversation.createdAt,
      updatedAt: conversation.updatedAt,
      lastMessageAt: conversation.lastMessageAt,
    };
  }
}

@InputType('CreateConversationInput')
export class CreateConversationDto {
  @ApiPropertyOptional({ maxLength: 200, description: 'Defaults to the start of the first message' })
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @Transform(trim)
  @Length(1, 200)
  title?: string;

  @ApiPropertyOptional({ default: 'auto', description: MODEL_DESCRIPTION })
  @Field(() => String, { nullable: true, description: MODEL_DESCRIPTION })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  @Matches(MODEL_NAME_PATTERN, { message: MODEL_NAME_MESSAGE })
  model?: string;

  @ApiPropertyOptional({ description: 'Sent to the model before the conversation; at most CHAT_MAX_PROMPT_CHARS characters' })
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsString()
  @Matches(/\S/, { message: 'systemPrompt must not be blank' })
  systemPrompt?: string;
}

@InputType('UpdateConversationInput')
export class UpdateConversationDto {
  @ApiPropertyOptional({ maxLength: 200, nullable: true, type: String })
  @Field(() => String, { nullable: true })
  @ValidateIf((_, value) => value !== null)
  @IsOptional()
  @IsString()
  @Transform(trim)
  @Length(1, 200)
  title?: string | null;

  @ApiPropertyOptional({ description: MODEL_DESCRIPTION })
  @Field(() => String, { nullable: true, description: MODEL_DESCRIPTION })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  @Matches(MODEL_NAME_PATTERN, { message: MODEL_NAME_MESSAGE })
  model?: string;

  @ApiPropertyOptional({ nullable: true, type: String, description: 'null removes it' })
  @Field(() => String, { nullable: true })
  @ValidateIf((_, value) => value !== null)
  @IsOptional()
  @IsString()
  @Matches(/\S/, { message: 'systemPrompt must not be blank' })
  systemPrompt?: string | null;
}

@ArgsType()
export class PageArgs {
  @ApiPropertyOptional({ format: 'uuid', description: 'Cursor: the id of the last item of the previous page' })
  @Field(() => ID, { nullable: true, description: 'Cursor: the id of the last item of the previous page' })
  @IsOptional()
  @IsUUID()
  before?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @Field(() => Int, { defaultValue: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit: number = 50;
}
