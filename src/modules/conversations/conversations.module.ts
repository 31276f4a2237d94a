import { Module } from '@nestjs/common';
import { PubSubModule } from 'src/graphql/pubsub.module';
import { AuthModule } from 'src/modules/auth/auth.module';
import { ModelRouterModule } from 'src/modules/model-router/model-router.module';
import { ModelRegistryModule } from 'src/modules/model-router/registry/model-registry.module';
import { RagGroundingModule } from 'src/modules/rag/grounding';
import { RealtimeModule } from 'src/modules/realtime/realtime.module';
import { ActiveTurns } from 'src/modules/conversations/active-turns';
import { ConversationChatService } from 'src/modules/conversations/conversation-chat.service';
import { ConversationEventsPublisher } from 'src/modules/conversations/conversation-events.publisher';
import { ConversationGrounding } from 'src/modules/conversations/conversation-grounding';
import { ConversationMessagesController } from 'src/modules/conversations/conversation-messages.controller';
import { ConversationsController } from 'src/modules/conversations/conversations.controller';
import { ConversationsGateway } from 'src/modules/conversations/conversations.gateway';
import { ConversationsRepository } from 'src/modules/conversations/conversations.repository';
import { ConversationsResolver } from 'src/modules/conversations/conversations.resolver';
import { ConversationsService } from 'src/modules/conversations/conversations.service';
import { StaleStreamSweeper } from 'src/modules/conversations/stale-stream.sweeper';

/**
 * Conversations over REST (with SSE), Socket.IO and GraphQL, answered through the chat
 * gateway. RealtimeModule is imported so that wherever this runs, the `/realtime`
 * namespace it adds messages to authenticates its connections. RagGroundingModule reaches the
 * `rag` role for grounded conversations (in this process or another), without loading RAG here.
 */
@Module({
  imports: [AuthModule, ModelRouterModule, ModelRegistryModule, PubSubModule, RealtimeModule, RagGroundingModule],
  controllers: [ConversationsController, ConversationMessagesController],
  providers: [
    ConversationsRepository,
    ConversationsService,
    ConversationChatService,
    ConversationGrounding,
    ConversationEventsPublisher,
    ActiveTurns,
    ConversationsGateway,
    ConversationsResolver,
    StaleStreamSweeper,
  ],
})
export class ConversationsModule {}
