import { Field, ID, Int, ObjectType, registerEnumType } from '@nestjs/graphql';
import { JsonObjectScalar } from 'src/graphql/json-object.scalar';
import type { RoutingDecision } from 'src/modules/model-router/gateway/chat-gateway.types';
import { ConversationStreamEvent, ConversationStreamEventType } from 'src/modules/conversations/conversation-stream';
import { MessageDto } from 'src/modules/conversations/dto/messages.dto';

const StreamEventTypeEnum = {
  message: 'message',
  route: 'route',
  token: 'token',
  done: 'done',
  error: 'error',
} as const satisfies Record<ConversationStreamEventType, ConversationStreamEventType>;
registerEnumType(StreamEventTypeEnum, {
  name: 'ConversationStreamEventType',
  description: 'message (user message stored), route (a model answers), token, then done or error',
});

@ObjectType('StreamError')
export class StreamErrorDto {
  @Field(() => Int) statusCode: number;
  @Field() code: string;
  @Field() message: string;
}

/** One event of a turn; which fields are set depends on `type`. */
@ObjectType('ConversationStreamEvent')
export class ConversationStreamEventDto {
  @Field(() => StreamEventTypeEnum) type: ConversationStreamEventType;
  @Field(() => ID) conversationId: string;
  @Field(() => ID, { description: 'The assistant message being generated' }) messageId: string;
  @Field(() => String, { nullable: true, description: 'token: the text added' }) delta: string | null;
  @Field(() => MessageDto, {
    nullable: true,
    description: 'message: the stored user message; done: the answer; error: the stored answer (incomplete or error), if any',
  })
  message: MessageDto | null;
  @Field(() => JsonObjectScalar, { nullable: true, description: 'route: which model and node answer, and why' })
  routing: RoutingDecision | null;
  @Field(() => StreamErrorDto, { nullable: true }) error: StreamErrorDto | null;

  static from(event: ConversationStreamEvent): ConversationStreamEventDto {
    const base = { type: event.type, conversationId: event.conversationId, messageId: event.messageId };
    const empty = { delta: null, message: null, routing: null, error: null };
    switch (event.type) {
      case 'message':
        return { ...base, ...empty, message: event.userMessage };
      case 'route':
        return { ...base, ...empty, routing: event.routing };
      case 'token':
        return { ...base, ...empty, delta: event.delta };
      case 'done':
        return { ...base, ...empty, message: event.message };
      case 'error':
        return { ...base, ...empty, message: event.message, error: event.error };
    }
  }
}
