import { ArgsType, Field, ID, InputType, Int, ObjectType } from '@nestjs/graphql';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  Min,
  ValidateIf,
} from 'class-validator';
import { MAX_GROUNDING_KNOWLEDGE_BASES } from 'src/modules/rag/grounding';
import { Conversation } from 'src/modules/conversations/conversation.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

/** Registry names and aliases (`llama3.1:8b`), tiers (`fast`) and `auto`. */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:/@-]*$/;
export const MODEL_NAME_MESSAGE = 'model must be a model name, alias, tier or auto (letters, digits and . _ : / @ - only)';
const MODEL_DESCRIPTION = 'A model name or alias, a tier (fast, balanced, powerful) or auto';

/** A conversation is grounded in at most this many knowledge bases (each turn searches them all). */
export const MAX_CONVERSATION_KNOWLEDGE_BASES = MAX_GROUNDING_KNOWLEDGE_BASES;
const KNOWLEDGE_BASES_DESCRIPTION = `Knowledge bases of the workspace that ground every turn (at most ${MAX_CONVERSATION_KNOWLEDGE_BASES}; needs knowledge-base.read)`;

/** The same checks for create and update; `null` is taken as `[]` by the service. */
function KnowledgeBaseIds(use: 'create' | 'update'): PropertyDecorator {
  const description =
    use === 'update' ? `${KNOWLEDGE_BASES_DESCRIPTION}. Replaces the list; [] or null detaches them all` : KNOWLEDGE_BASES_DESCRIPTION;
  const decorators: PropertyDecorator[] = [
    ApiPropertyOptional({
      type: [String],
      format: 'uuid',
      maxItems: MAX_CONVERSATION_KNOWLEDGE_BASES,
      nullable: use === 'update',
      description,
    }),
    Field(() => [ID], { nullable: true, description }),
    ValidateIf((_, value) => value !== null),
    IsOptional(),
    IsArray(),
    ArrayMaxSize(MAX_CONVERSATION_KNOWLEDGE_BASES, {
      message: `knowledgeBaseIds must have at most ${MAX_CONVERSATION_KNOWLEDGE_BASES} entries`,
    }),
    ArrayUnique({ message: 'knowledgeBaseIds must not repeat an id' }),
    IsUUID('all', { each: true, message: 'each of knowledgeBaseIds must be a UUID' }),
  ];
  return (target, key) => decorators.forEach((decorate) => decorate(target, key));
}

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
  @ApiProperty({ type: [String], format: 'uuid', description: 'The knowledge bases every turn is grounded in; empty when none' })
  @Field(() => [ID], { description: 'The knowledge bases every turn is grounded in; empty when none' })
  knowledgeBaseIds: string[];

  static from(conversation: Conversation, knowledgeBaseIds: string[]): ConversationDto {
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
      knowledgeBaseIds,
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

  @KnowledgeBaseIds('create')
  knowledgeBaseIds?: string[];
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

  @KnowledgeBaseIds('update')
  knowledgeBaseIds?: string[] | null;
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
