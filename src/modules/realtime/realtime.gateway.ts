import { HttpStatus, UseFilters } from '@nestjs/common';
import { MessageBody, OnGatewayConnection, OnGatewayInit, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Authenticated } from 'src/common/auth/auth.decorator';
import { AllExceptionsFilter } from 'src/common/errors/all-exceptions.filter';
import { AppException, CommonErrorCode } from 'src/common/errors/app.exception';
import { toErrorBody } from 'src/common/errors/error-body';
import {
  AckResponse,
  PingResponse,
  REALTIME_NAMESPACE,
  RealtimeNamespace,
  RealtimeSocket,
  roomsFor,
} from 'src/modules/realtime/realtime-events';
import { MessageBudget } from 'src/modules/realtime/message-budget';
import { RealtimeHandshake } from 'src/modules/realtime/realtime-handshake.service';
import { PingDto } from 'src/modules/realtime/realtime.dto';
import { RealtimeService } from 'src/modules/realtime/realtime.service';

const MESSAGE_BURST = 40;
const MESSAGES_PER_SECOND = 20;

const tooManyMessages = () =>
  new AppException(CommonErrorCode.RateLimited, HttpStatus.TOO_MANY_REQUESTS, `Too many messages; at most ${MESSAGES_PER_SECOND} a second`);

/**
 * The `/realtime` namespace. Clients are authenticated in a namespace middleware, so an
 * unauthenticated client never becomes connected and never joins a room.
 */
@WebSocketGateway({ namespace: REALTIME_NAMESPACE })
// Global filters do not reach gateways; this one answers errors through the client's ack.
@UseFilters(AllExceptionsFilter)
export class RealtimeGateway implements OnGatewayInit<RealtimeNamespace>, OnGatewayConnection<RealtimeSocket> {
  constructor(
    private readonly handshake: RealtimeHandshake,
    private readonly realtime: RealtimeService,
  ) {}

  afterInit(namespace: RealtimeNamespace): void {
    namespace.use((socket, next) => {
      this.handshake.authenticate(socket.handshake).then(
        (auth) => {
          socket.data.auth = auth;
          next();
        },
        (error: unknown) => next(this.handshake.toConnectError(error)),
      );
    });
    this.realtime.attach(namespace);
  }

  async handleConnection(socket: RealtimeSocket): Promise<void> {
    const budget = new MessageBudget(MESSAGE_BURST, MESSAGES_PER_SECOND);
    socket.use((packet, next) => {
      if (budget.take()) return next();
      // Dropped unanswered unless the client waits for an ack.
      const ack: unknown = packet[packet.length - 1];
      if (typeof ack === 'function') (ack as (response: AckResponse<never>) => void)({ ok: false, error: toErrorBody(tooManyMessages()) });
    });
    await socket.join(roomsFor(socket.data.auth));
  }

  @Authenticated()
  @SubscribeMessage('ping')
  ping(@MessageBody() request: PingDto): AckResponse<PingResponse> {
    return {
      ok: true,
      data: { serverTime: new Date().toISOString(), ...(request.clientTime !== undefined && { clientTime: request.clientTime }) },
    };
  }
}
