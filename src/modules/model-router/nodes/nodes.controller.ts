import { Body, Controller, Get, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiOkResponse, ApiParam, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { toErrorBody } from 'src/common/errors/error-body';
import { LoadModelDto, NodeDto, PullModelDto, UnloadModelDto } from 'src/modules/model-router/nodes/dto/nodes.dto';
import { NodesService } from 'src/modules/model-router/nodes/nodes.service';
import { SseStream, wantsEventStream } from 'src/modules/model-router/nodes/sse-stream';

const NODE_ID_PARAM = {
  name: 'nodeId',
  description: 'Short id (`gpu-1-11434`, from GET /admin/nodes) or the pool id `ollama:http://gpu-1:11434`, URL-encoded',
};

@ApiTags('admin')
@Controller('admin/nodes')
export class NodesController {
  constructor(private readonly nodes: NodesService) {}

  @Get()
  @Authenticated({ permission: Permission.AdminModelManage })
  @ApiOkResponse({ type: [NodeDto] })
  list(): NodeDto[] {
    return this.nodes.list();
  }

  @Get(':nodeId')
  @Authenticated({ permission: Permission.AdminModelManage })
  @ApiParam(NODE_ID_PARAM)
  @ApiOkResponse({ type: NodeDto })
  get(@Param('nodeId') nodeId: string): NodeDto {
    return this.nodes.get(nodeId);
  }

  /**
   * With `Accept: text/event-stream`: `progress` events, then `done` (the node) or `error`;
   * closing the stream cancels the pull. Otherwise waits (OLLAMA_ADMIN_TIMEOUT_MS) and returns the node.
   */
  @Post(':nodeId/pull')
  @HttpCode(200)
  @Authenticated({ permission: Permission.AdminModelManage, sessionOnly: true })
  @ApiParam(NODE_ID_PARAM)
  @ApiProduces('application/json', 'text/event-stream')
  @ApiOkResponse({ type: NodeDto })
  async pull(
    @Auth() auth: AuthContext,
    @Param('nodeId') nodeId: string,
    @Body() dto: PullModelDto,
    @Headers('accept') accept: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    if (!wantsEventStream(accept)) {
      const node = await this.nodes.pull(auth, nodeId, dto.model, { bounded: true, signal: closeSignal(reply) });
      await reply.status(200).send(node);
      return;
    }
    this.nodes.checkPull(nodeId, dto.model);
    const stream = new SseStream(reply);
    try {
      const node = await this.nodes.pull(auth, nodeId, dto.model, {
        bounded: false,
        signal: stream.signal,
        onProgress: (progress) => stream.send('progress', progress),
      });
      stream.send('done', node);
    } catch (error) {
      stream.send('error', toErrorBody(error));
    } finally {
      stream.end();
    }
  }

  @Post(':nodeId/load')
  @HttpCode(200)
  @Authenticated({ permission: Permission.AdminModelManage, sessionOnly: true })
  @ApiParam(NODE_ID_PARAM)
  @ApiOkResponse({ type: NodeDto })
  load(@Auth() auth: AuthContext, @Param('nodeId') nodeId: string, @Body() dto: LoadModelDto): Promise<NodeDto> {
    return this.nodes.load(auth, nodeId, dto.model, dto.keepAlive);
  }

  @Post(':nodeId/unload')
  @HttpCode(200)
  @Authenticated({ permission: Permission.AdminModelManage, sessionOnly: true })
  @ApiParam(NODE_ID_PARAM)
  @ApiOkResponse({ type: NodeDto })
  unload(@Auth() auth: AuthContext, @Param('nodeId') nodeId: string, @Body() dto: UnloadModelDto): Promise<NodeDto> {
    return this.nodes.unload(auth, nodeId, dto.model);
  }
}

/** Aborts when the client disconnects before the answer is sent: a pull nobody waits for is cancelled. */
function closeSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('client went away'));
  });
  return controller.signal;
}
