import { Injectable } from '@nestjs/common';
import { PubSubService } from 'src/graphql/pubsub.service';
import { ConversationNamespace, conversationRoom } from 'src/modules/conversations/conversation-socket-events';
import { ConversationStreamEvent, ConversationStreamPayloads } from 'src/modules/conversations/conversation-stream';

/**
 * Sends every stream event to the conversation's followers on Socket.IO and GraphQL,
 * whichever surface started the turn, so a conversation can be watched from another device.
 * Both go through Redis when it is configured, reaching followers on every replica.
 */
@Injectable()
export class ConversationEventsPublisher {
  private namespace?: ConversationNamespace;

  constructor(private readonly pubsub: PubSubService) {}

  /** Called by the socket gateway once Socket.IO is up. */
  attach(namespace: ConversationNamespace): void {
    this.namespace = namespace;
  }

  publish(event: ConversationStreamEvent): void {
    this.pubsub.publish('conversation-stream', event, event.conversationId);
    const { type, ...payload } = event;
    // Each event name is paired with its payload by the mapped type; Socket.IO's typings cannot follow a union.
    const pair = [`conversation:${type}`, payload] as ['conversation:token', ConversationStreamPayloads['token']];
    this.namespace?.to(conversationRoom(event.conversationId)).emit(...pair);
  }
}
