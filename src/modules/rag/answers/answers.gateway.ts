import { UseFilters } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { IsUUID } from 'class-validator';
import { randomUUID } from 'node:crypto';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { AllExceptionsFilter } from 'src/common/errors/all-exceptions.filter';
import { toErrorBody } from 'src/common/errors/error-body';
import type { AnswerSocket, AskStarted, SocketAsk } from 'src/modules/rag/answers/answer-socket-events';
import { AnswersService } from 'src/modules/rag/answers/answers.service';
import { AskDto } from 'src/modules/rag/answers/ask.dto';
import { AckResponse, REALTIME_NAMESPACE } from 'src/modules/realtime/realtime-events';

export class SocketAskDto extends AskDto implements SocketAsk {
  @IsUUID()
  knowledgeBaseId: string;
}

/**
 * `rag:ask` on the `/realtime` namespace: the same answer as the REST route, streamed to the
 * asking connection only. The ack carries the sources and routing; tokens may arrive right
 * behind it, each tagged with the ack's askId.
 */
@WebSocketGateway({ namespace: REALTIME_NAMESPACE })
// Global filters do not reach gateways; this one answers errors through the client's ack.
@UseFilters(AllExceptionsFilter)
export class AnswersGateway {
  constructor(private readonly answers: AnswersService) {}

  @Authenticated({ permission: Permission.KnowledgeBaseRead })
  @SubscribeMessage('rag:ask')
  async ask(
    @Auth() auth: AuthContext,
    @ConnectedSocket() socket: AnswerSocket,
    @MessageBody() request: SocketAskDto,
  ): Promise<AckResponse<AskStarted>> {
    const { knowledgeBaseId, ...dto } = request;
    const controller = new AbortController();
    const abort = () => controller.abort();
    socket.once('disconnect', abort);
    const askId = randomUUID();
    const run = await this.answers.begin(auth, knowledgeBaseId, dto, controller.signal).catch((error: unknown) => {
      socket.off('disconnect', abort);
      throw error;
    });
    // Relayed after the ack has been handed to Socket.IO, so that it arrives first.
    setImmediate(() => {
      run
        .relay((delta) => socket.emit('rag:ask.token', { askId, delta }))
        .then(
          (outcome) => socket.emit('rag:ask.done', { askId, ...outcome }),
          (error: unknown) => {
            const { code, message } = toErrorBody(error);
            socket.emit('rag:ask.error', { askId, code: code ?? 'INTERNAL_ERROR', message });
          },
        )
        .finally(() => socket.off('disconnect', abort));
    });
    return { ok: true, data: { askId, sources: run.sources, routing: run.routing } };
  }
}
