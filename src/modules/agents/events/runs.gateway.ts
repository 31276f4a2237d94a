import { UseFilters } from '@nestjs/common';
import { ConnectedSocket, MessageBody, OnGatewayInit, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { IsUUID } from 'class-validator';
import type { Namespace, Socket } from 'socket.io';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { AllExceptionsFilter } from 'src/common/errors/all-exceptions.filter';
import { AckResponse, REALTIME_NAMESPACE } from 'src/modules/realtime/realtime-events';
import { runRoom, RunEventsPublisher } from 'src/modules/agents/events/run-events.publisher';
import { RunStatus } from 'src/modules/agents/runs/agent-run.entity';
import { RunsService } from 'src/modules/agents/runs/runs.service';

export class RunRefDto {
  @IsUUID()
  runId: string;
}

export interface RunJoined {
  runId: string;
  /** Where the run stands as the connection joins; events from then on arrive as `agent-run:<type>`. */
  status: RunStatus;
}

/**
 * Workflow runs on the `/realtime` namespace: `agent-run:join` puts the connection in the
 * run's room after checking it is the caller's run; every event of the run then arrives as
 * `agent-run:<type>` (plan, task.started, tool.called, tool.result, token, task.finished,
 * finished), from whichever replica executes it.
 */
@WebSocketGateway({ namespace: REALTIME_NAMESPACE })
// Global filters do not reach gateways; this one answers errors through the client's ack.
@UseFilters(AllExceptionsFilter)
export class RunsGateway implements OnGatewayInit<Namespace> {
  constructor(
    private readonly runs: RunsService,
    private readonly publisher: RunEventsPublisher,
  ) {}

  afterInit(namespace: Namespace): void {
    this.publisher.attach(namespace);
  }

  @Authenticated({ permission: Permission.WorkflowRead })
  @SubscribeMessage('agent-run:join')
  async join(
    @Auth() auth: AuthContext,
    @ConnectedSocket() socket: Socket,
    @MessageBody() request: RunRefDto,
  ): Promise<AckResponse<RunJoined>> {
    await this.runs.require(auth, request.runId);
    await socket.join(runRoom(request.runId));
    this.publisher.follow(request.runId);
    socket.once('disconnect', () => this.publisher.unfollowIfEmpty(request.runId));
    // Read after following, so that no event falls between the status and the relay.
    const run = await this.runs.require(auth, request.runId);
    return { ok: true, data: { runId: run.id, status: run.status } };
  }

  @Authenticated()
  @SubscribeMessage('agent-run:leave')
  async leave(@ConnectedSocket() socket: Socket, @MessageBody() request: RunRefDto): Promise<AckResponse<{ runId: string }>> {
    await socket.leave(runRoom(request.runId));
    this.publisher.unfollowIfEmpty(request.runId);
    return { ok: true, data: { runId: request.runId } };
  }
}
