import { Body, Controller, Get, Headers, HttpCode, Param, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { PassThrough } from 'node:stream';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { ConversationChatService } from 'src/modules/conversations/conversation-chat.service';
import { ConversationStreamEvent } from 'src/modules/conversations/conversation-stream';
import { ConversationsService } from 'src/modules/conversations/conversations.service';
import { PageArgs } from 'src/modules/conversations/dto/conversations.dto';
import { ChatTurnDto, MessageDto, SendMessageDto } from 'src/modules/conversations/dto/messages.dto';

const EVENT_STREAM = 'text/event-stream';

@ApiTags('conversations')
@ApiHeader({ name: 'X-Workspace-Id', required: false, description: 'Workspace to act in; defaults to your personal workspace' })
@Controller('conversations/:conversationId/messages')
export class ConversationMessagesController {
  constructor(
    private readonly conversations: ConversationsService,
    private readonly chat: ConversationChatService,
  ) {}

  @Get()
  @Authenticated({ permission: Permission.ConversationRead })
  @ApiOkResponse({ type: [MessageDto], description: 'Oldest first: the newest `limit` messages, or those before the `before` cursor' })
  list(@Auth() auth: AuthContext, @Param('conversationId', ParseUUIDPipe) id: string, @Query() page: PageArgs): Promise<MessageDto[]> {
    return this.conversations.listMessages(auth, id, page);
  }

  @Post()
  @HttpCode(200)
  @Authenticated({ permission: Permission.ConversationWrite })
  @ApiOperation({
    summary: 'Send a message and get the answer',
    description:
      'Needs model.invoke too. With `Accept: text/event-stream` the answer streams as server-sent events ' +
      '(message, route, token..., then done or error); otherwise both messages come back once the answer has ended. ' +
      'Failures before the first token are ordinary error responses.',
  })
  @ApiProduces('application/json', EVENT_STREAM)
  @ApiOkResponse({ type: ChatTurnDto })
  async send(
    @Auth() auth: AuthContext,
    @Param('conversationId', ParseUUIDPipe) id: string,
    @Body() dto: SendMessageDto,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<ChatTurnDto | PassThrough> {
    const signal = abortOnDisconnect(reply);
    if (!accept?.includes(EVENT_STREAM)) return this.chat.complete(auth, id, dto, signal);

    const turn = await this.chat.begin(auth, id, dto);
    turn.stopOn(signal, 'the client closed the connection');
    // Until the first token the answer can still be an ordinary error response with its own status.
    await turn.connect();
    void reply
      .header('content-type', `${EVENT_STREAM}; charset=utf-8`)
      .header('cache-control', 'no-cache')
      .header('x-accel-buffering', 'no');
    // Relayed whether or not the client reads, so the answer is always stored; a client that
    // goes away aborts it through the signal.
    const body = new PassThrough();
    const write = (event: ConversationStreamEvent) => {
      if (!body.destroyed) body.write(serverSentEvent(event));
    };
    write(turn.messageEvent);
    turn.relay(write).then(
      () => body.end(),
      (error: Error) => body.destroy(error),
    );
    return body;
  }
}

function serverSentEvent({ type, ...payload }: ConversationStreamEvent): string {
  return `event: ${type}\ndata: ${JSON.stringify(payload)}\n\n`;
}

/** Aborts the model call when the client goes away before the response is complete. */
function abortOnDisconnect(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
