import { Module } from '@nestjs/common';
import { PubSubModule } from 'src/graphql/pubsub.module';
import { AuthModule } from 'src/modules/auth/auth.module';
import { ModelRouterModule } from 'src/modules/model-router/model-router.module';
import { ModelRegistryModule } from 'src/modules/model-router/registry/model-registry.module';
import { RealtimeModule } from 'src/modules/realtime/realtime.module';
import { ActiveTurns } from 'src/modules/conversations/active-turns';
import { ConversationChatService } from 'src/modules/conversations/conversation-chat.service';
import { ConversationEventsPublisher } from 'src/modules/conversations/conversation-events.publisher';
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
 * namespace it adds messages to authenticates its connections.
 */
@Module({
  imports: [AuthModule, ModelRouterModule, ModelRegistryModule, PubSubModule, RealtimeModule],
  controllers: [ConversationsController, ConversationMessagesController],
  providers: [
    ConversationsRepository,
    ConversationsService,
    ConversationChatService,
    ConversationEventsPublisher,
    ActiveTurns,
    ConversationsGateway,
    ConversationsResolver,
    StaleStreamSweeper,
  ],
})
export class ConversationsModule {}
