import { ParseUUIDPipe } from '@nestjs/common';
import { Args, ID, Int, Mutation, Parent, Query, ResolveField, Resolver } from '@nestjs/graphql';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { PubSubService } from 'src/graphql/pubsub.service';
import { AuthorizedSubscription } from 'src/graphql/subscription-access.interceptor';
import { WorkspaceArg } from 'src/graphql/workspace-arg.decorator';
import { toGraphQLError } from 'src/graphql/graphql-errors';
import { CommonErrors } from 'src/common/errors/app.exception';
import { ConversationChatService } from 'src/modules/conversations/conversation-chat.service';
import { ConversationStreamEvent } from 'src/modules/conversations/conversation-stream';
import { ConversationsService } from 'src/modules/conversations/conversations.service';
import { ConversationStreamEventDto } from 'src/modules/conversations/dto/conversation-stream-event.dto';
import { ConversationDto, CreateConversationDto, PageArgs, UpdateConversationDto } from 'src/modules/conversations/dto/conversations.dto';
import { MessageDto, SendMessageDto, SentMessageDto } from 'src/modules/conversations/dto/messages.dto';

const idArg = (name: string) => Args(name, { type: () => ID }, ParseUUIDPipe);

@Resolver(() => ConversationDto)
export class ConversationsResolver {
  constructor(
    private readonly service: ConversationsService,
    private readonly chat: ConversationChatService,
    private readonly pubsub: PubSubService,
  ) {}

  @Query(() => [ConversationDto], { description: 'Your conversations in the workspace, most recently active first' })
  @Authenticated({ permission: Permission.ConversationRead })
  conversations(@Auth() auth: AuthContext, @Args() page: PageArgs, @WorkspaceArg() _workspaceId?: string): Promise<ConversationDto[]> {
    return this.service.list(auth, page);
  }

  @Query(() => ConversationDto)
  @Authenticated({ permission: Permission.ConversationRead })
  conversation(@Auth() auth: AuthContext, @idArg('id') id: string, @WorkspaceArg() _workspaceId?: string): Promise<ConversationDto> {
    return this.service.get(auth, id);
  }

  /** The parent was already found for its owner by the query above, which also checked access. */
  @ResolveField(() => [MessageDto], { description: 'Oldest first: the newest `limit` messages, or those before the `before` cursor' })
  messages(
    @Parent() conversation: ConversationDto,
    @Args('before', { type: () => ID, nullable: true, description: 'Cursor: the id of the oldest message of the previous page' })
    before: string | null,
    @Args('limit', { type: () => Int, defaultValue: 50, description: '1 to 200' }) limit: number,
  ): Promise<MessageDto[]> {
    return this.service.listMessagesOf(
      { workspaceId: conversation.workspaceId, userId: conversation.userId },
      conversation.id,
      validPage({ before: before ?? undefined, limit }),
    );
  }

  @Mutation(() => ConversationDto)
  @Authenticated({ permission: Permission.ConversationWrite })
  createConversation(
    @Auth() auth: AuthContext,
    @Args('input', { type: () => CreateConversationDto, nullable: true }) input: CreateConversationDto | null,
    @WorkspaceArg() _workspaceId?: string,
  ): Promise<ConversationDto> {
    return this.service.create(auth, input ?? {});
  }

  @Mutation(() => ConversationDto)
  @Authenticated({ permission: Permission.ConversationWrite })
  updateConversation(
    @Auth() auth: AuthContext,
    @idArg('id') id: string,
    @Args('input') input: UpdateConversationDto,
    @WorkspaceArg() _workspaceId?: string,
  ): Promise<ConversationDto> {
    return this.service.update(auth, id, input);
  }

  @Mutation(() => Boolean)
  @Authenticated({ permission: Permission.ConversationWrite })
  async deleteConversation(@Auth() auth: AuthContext, @idArg('id') id: string, @WorkspaceArg() _workspaceId?: string): Promise<boolean> {
    await this.service.delete(auth, id);
    return true;
  }

  @Mutation(() => SentMessageDto, {
    description: 'Stores the message and returns at once; subscribe to conversationTokens first to follow the answer',
  })
  @Authenticated({ permission: Permission.ConversationWrite })
  async sendMessage(
    @Auth() auth: AuthContext,
    @idArg('conversationId') conversationId: string,
    @Args('input') input: SendMessageDto,
    @WorkspaceArg() _workspaceId?: string,
  ): Promise<SentMessageDto> {
    const turn = await this.chat.send(auth, conversationId, input);
    return { userMessage: turn.userMessage, assistantMessageId: turn.assistantMessageId };
  }

  @AuthorizedSubscription(() => ConversationStreamEventDto, {
    description: "Every turn's events in a conversation you own, from any surface: message, route, tokens, done or error",
    resolve: (event: ConversationStreamEvent) => ConversationStreamEventDto.from(event),
  })
  @Authenticated({ permission: Permission.ConversationRead })
  async conversationTokens(
    @Auth() auth: AuthContext,
    @idArg('conversationId') conversationId: string,
    @WorkspaceArg() _workspaceId?: string,
  ) {
    await this.service.require(auth, conversationId);
    return this.pubsub.subscribe('conversation-stream', conversationId);
  }
}

/**
 * Nested fields get neither the validation pipe's DTO nor an exception filter, so the
 * arguments are checked here and a refusal is raised as the GraphQL error it must become.
 */
function validPage(raw: { before?: string; limit: number }): PageArgs {
  const page = plainToInstance(PageArgs, raw);
  const problems = validateSync(page).flatMap((error) => Object.values(error.constraints ?? {}));
  if (problems.length > 0) throw toGraphQLError(CommonErrors.validation(problems.join('; ')));
  return page;
}
