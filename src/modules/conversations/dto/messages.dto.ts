import { Field, Float, ID, InputType, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsNumber, IsOptional, IsString, Length, Matches, Max, Min } from 'class-validator';
import { JsonObjectScalar } from 'src/graphql/json-object.scalar';
import type { FinishReason } from 'src/modules/model-router/providers/llm-provider';
import type { RoutingDecision } from 'src/modules/model-router/gateway/chat-gateway.types';
import type { KnowledgeBaseSearch, KnowledgeBaseSearchStatus } from 'src/modules/rag/grounding';
import {
  ConversationMessage,
  MessageGrounding,
  MessageRole,
  MessageSource,
  MessageStatus,
} from 'src/modules/conversations/conversation-message.entity';
import { MODEL_NAME_MESSAGE, MODEL_NAME_PATTERN } from 'src/modules/conversations/dto/conversations.dto';

const MESSAGE_ROLES: MessageRole[] = ['user', 'assistant'];
const MESSAGE_STATUSES: MessageStatus[] = ['streaming', 'complete', 'incomplete', 'error'];
const FINISH_REASONS: FinishReason[] = ['stop', 'length', 'tool_calls', 'error'];

// GraphQL enums need objects; the values are the REST strings.
const MessageRoleEnum = { user: 'user', assistant: 'assistant' } as const satisfies Record<MessageRole, MessageRole>;
const MessageStatusEnum = {
  streaming: 'streaming',
  complete: 'complete',
  incomplete: 'incomplete',
  error: 'error',
} as const satisfies Record<MessageStatus, MessageStatus>;
registerEnumType(MessageRoleEnum, { name: 'MessageRole' });
registerEnumType(MessageStatusEnum, {
  name: 'MessageStatus',
  description: 'streaming while generated; complete; incomplete (cut after the first token); error (nothing generated)',
});

@ObjectType('MessageUsage')
export class MessageUsageDto {
  @ApiProperty() @Field(() => Int) promptTokens: number;
  @ApiProperty() @Field(() => Int) completionTokens: number;
}

@ObjectType('MessageError')
export class MessageErrorDto {
  @ApiProperty({ example: 'ROUTER_STREAM_INTERRUPTED' }) @Field() code: string;
  @ApiProperty() @Field() message: string;
}

const SEARCH_STATUSES: KnowledgeBaseSearchStatus[] = ['searched', 'degraded', 'skipped'];
const SearchStatusEnum = {
  searched: 'searched',
  degraded: 'degraded',
  skipped: 'skipped',
} as const satisfies Record<KnowledgeBaseSearchStatus, KnowledgeBaseSearchStatus>;
registerEnumType(SearchStatusEnum, {
  name: 'KnowledgeBaseSearchStatus',
  description:
    'searched (hybrid); degraded (by keyword only: its embedder or vector store is unavailable); skipped (not readable now, or deleted)',
});

@ObjectType('MessageSource', { description: 'What [n] in a grounded answer points at' })
export class MessageSourceDto implements MessageSource {
  @ApiProperty({ description: 'The number the answer cites as [n]' }) @Field(() => Int) n: number;
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) knowledgeBaseId: string;
  @ApiProperty({ description: '`<documentId>:<chunk index>`' }) @Field() chunkId: string;
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) documentId: string;
  @ApiProperty() @Field() documentName: string;
  @ApiProperty({ nullable: true, type: Number, description: '1-based page, for formats with pages' })
  @Field(() => Int, { nullable: true })
  page: number | null;
  @ApiProperty({ description: "Start of the chunk in the document's extracted text (characters)" }) @Field(() => Int) start: number;
  @ApiProperty({ description: 'End of the chunk (exclusive)' }) @Field(() => Int) end: number;
}

@ObjectType('KnowledgeBaseSearch', { description: 'How one knowledge base was searched for a grounded turn' })
export class KnowledgeBaseSearchDto implements KnowledgeBaseSearch {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) knowledgeBaseId: string;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) name: string | null;
  @ApiProperty({ enum: SEARCH_STATUSES, enumName: 'KnowledgeBaseSearchStatus' })
  @Field(() => SearchStatusEnum)
  status: KnowledgeBaseSearchStatus;
  @ApiProperty({ nullable: true, type: String, description: 'Why it was skipped or searched by keyword only', example: 'FORBIDDEN' })
  @Field(() => String, { nullable: true })
  code: string | null;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) message: string | null;
}

@ObjectType('MessageGrounding')
export class MessageGroundingDto implements MessageGrounding {
  @ApiProperty({ type: [KnowledgeBaseSearchDto], description: "One per conversation's knowledge base, in its order" })
  @Field(() => [KnowledgeBaseSearchDto])
  knowledgeBases: KnowledgeBaseSearchDto[];
  @ApiProperty({ type: [MessageSourceDto], description: 'Every source the model was given, numbered as in its prompt' })
  @Field(() => [MessageSourceDto])
  sources: MessageSourceDto[];
}

@ObjectType('ConversationMessage')
export class MessageDto {
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) id: string;
  @ApiProperty({ format: 'uuid' }) @Field(() => ID) conversationId: string;
  @ApiProperty({ description: '1, 2, 3... in the conversation; an answer follows its question' }) @Field(() => Int) sequence: number;
  @ApiProperty({ enum: MESSAGE_ROLES, enumName: 'MessageRole' }) @Field(() => MessageRoleEnum) role: MessageRole;
  @ApiProperty() @Field() content: string;
  @ApiProperty({ enum: MESSAGE_STATUSES, enumName: 'MessageStatus' }) @Field(() => MessageStatusEnum) status: MessageStatus;
  @ApiProperty({ nullable: true, type: String, description: 'User: what was asked for; assistant: the model that answered' })
  @Field(() => String, { nullable: true })
  model: string | null;
  @ApiProperty({ nullable: true, type: String }) @Field(() => String, { nullable: true }) nodeId: string | null;
  @ApiProperty({ nullable: true, type: 'object', additionalProperties: true, description: 'How the router chose the model and node' })
  @Field(() => JsonObjectScalar, { nullable: true })
  routing: RoutingDecision | null;
  @ApiProperty({ nullable: true, enum: FINISH_REASONS, enumName: 'FinishReason' })
  @Field(() => String, { nullable: true })
  finishReason: FinishReason | null;
  @ApiProperty({ nullable: true, type: MessageUsageDto, description: 'Set on complete answers' })
  @Field(() => MessageUsageDto, { nullable: true })
  usage: MessageUsageDto | null;
  @ApiProperty({ nullable: true, type: MessageErrorDto, description: 'Why an answer is incomplete or failed' })
  @Field(() => MessageErrorDto, { nullable: true })
  error: MessageErrorDto | null;
  @ApiProperty({
    nullable: true,
    type: [MessageSourceDto],
    description: 'Grounded answers: the sources cited, in order of first citation; null when the turn was not grounded',
  })
  @Field(() => [MessageSourceDto], {
    nullable: true,
    description: 'Grounded answers: the sources cited, in order of first citation; null when the turn was not grounded',
  })
  citations: MessageSourceDto[] | null;
  @ApiProperty({ nullable: true, type: MessageGroundingDto, description: 'Grounded answers: what was searched and found' })
  @Field(() => MessageGroundingDto, { nullable: true, description: 'Grounded answers: what was searched and found' })
  grounding: MessageGroundingDto | null;
  @ApiProperty() @Field() createdAt: Date;
  @ApiProperty() @Field() updatedAt: Date;

  static from(message: ConversationMessage): MessageDto {
    return {
      id: message.id,
      conversationId: message.conversationId,
      sequence: message.sequence,
      role: message.role,
      content: message.content,
      status: message.status,
      model: message.model,
      nodeId: message.nodeId,
      routing: message.routing,
      finishReason: message.finishReason,
      usage:
        message.promptTokens === null || message.completionTokens === null
          ? null
          : { promptTokens: message.promptTokens, completionTokens: message.completionTokens },
      error: message.errorCode === null ? null : { code: message.errorCode, message: message.errorMessage ?? '' },
      citations: message.citations,
      grounding: message.grounding,
      createdAt: message.createdAt,
      updatedAt: message.updatedAt,
    };
  }
}

@InputType('SendMessageInput')
export class SendMessageDto {
  @ApiProperty({ description: 'At most CHAT_MAX_PROMPT_CHARS characters' })
  @Field()
  @IsString()
  @Matches(/\S/, { message: 'content must not be empty' })
  content: string;

  @ApiPropertyOptional({ description: "Overrides the conversation's model for this message" })
  @Field(() => String, { nullable: true, description: "Overrides the conversation's model for this message" })
  @IsOptional()
  @IsString()
  @Length(1, 128)
  @Matches(MODEL_NAME_PATTERN, { message: MODEL_NAME_MESSAGE })
  model?: string;

  @ApiPropertyOptional({ minimum: 0, maximum: 2 })
  @Field(() => Float, { nullable: true })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(2)
  temperature?: number;

  @ApiPropertyOptional({ minimum: 1, description: 'At most CHAT_MAX_COMPLETION_TOKENS' })
  @Field(() => Int, { nullable: true })
  @IsOptional()
  @IsInt()
  @Min(1)
  maxTokens?: number;
}

/** The REST answer without streaming: both messages once the answer has ended. */
export class ChatTurnDto {
  @ApiProperty({ type: MessageDto }) userMessage: MessageDto;
  @ApiProperty({ type: MessageDto, description: 'complete, or incomplete/error with `error` saying why' })
  assistantMessage: MessageDto;
}

/** GraphQL and Socket.IO answer at once; the answer follows as stream events. */
@ObjectType('SentMessage')
export class SentMessageDto {
  @Field(() => MessageDto) userMessage: MessageDto;
  @Field(() => ID, { description: 'The answer being generated: follow it with conversationTokens' }) assistantMessageId: string;
}
