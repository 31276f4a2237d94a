import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { PassThrough } from 'node:stream';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { CreateRunDto, RunDto, RunPageArgs, RunStartedDto } from 'src/modules/agents/dto/runs.dto';
import { RunEventStream } from 'src/modules/agents/events/run-event-stream';
import { RunsService } from 'src/modules/agents/runs/runs.service';

const EVENT_STREAM = 'text/event-stream';

@ApiTags('workflows')
@ApiHeader({ name: 'X-Workspace-Id', required: false, description: 'Workspace to act in; defaults to your personal workspace' })
@Controller('workflows/runs')
export class RunsController {
  constructor(
    private readonly runs: RunsService,
    private readonly events: RunEventStream,
  ) {}

  @Post()
  @HttpCode(202)
  @Authenticated({ permission: Permission.WorkflowRun })
  @ApiOperation({
    summary: 'Start a workflow run',
    description:
      'Needs model.invoke too. The run is queued and executes on the agents workers; follow it with GET .../events (SSE), ' +
      'the Socket.IO room (agent-run:join) or the workflowRunEvents subscription, and read it back with GET .../:runId.',
  })
  @ApiAcceptedResponse({ type: RunStartedDto })
  start(@Auth() auth: AuthContext, @Body() dto: CreateRunDto): Promise<RunStartedDto> {
    return this.runs.start(auth, dto);
  }

  @Get()
  @Authenticated({ permission: Permission.WorkflowRead })
  @ApiOkResponse({ type: [RunDto], description: 'Your runs in the workspace, newest first (without tasks)' })
  list(@Auth() auth: AuthContext, @Query() page: RunPageArgs): Promise<RunDto[]> {
    return this.runs.list(auth, page);
  }

  @Get(':runId')
  @Authenticated({ permission: Permission.WorkflowRead })
  @ApiOkResponse({
    type: RunDto,
    description: 'Status, plan, tasks with every step (model calls, tool calls with arguments and results), usage and result',
  })
  get(@Auth() auth: AuthContext, @Param('runId', ParseUUIDPipe) id: string): Promise<RunDto> {
    return this.runs.get(auth, id);
  }

  @Post(':runId/cancel')
  @HttpCode(200)
  @Authenticated({ permission: Permission.WorkflowRun })
  @ApiOkResponse({
    type: RunDto,
    description: 'Cancelled: in-flight model and tool calls are aborted. 409 when the run has already ended.',
  })
  cancel(@Auth() auth: AuthContext, @Param('runId', ParseUUIDPipe) id: string): Promise<RunDto> {
    return this.runs.cancel(auth, id);
  }

  @Get(':runId/events')
  @Authenticated({ permission: Permission.WorkflowRead })
  @ApiOperation({
    summary: 'Follow a run as server-sent events',
    description:
      'First a `status` event with where the run stands, then its events as they happen (plan, task.started, tool.called, ' +
      'tool.result, token, task.finished), ending with `finished`; a run already over sends `finished` at once.',
  })
  @ApiProduces(EVENT_STREAM)
  async follow(
    @Auth() auth: AuthContext,
    @Param('runId', ParseUUIDPipe) id: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PassThrough> {
    const stream = await this.events.open(auth, id);
    void reply
      .header('content-type', `${EVENT_STREAM}; charset=utf-8`)
      .header('cache-control', 'no-cache')
      .header('x-accel-buffering', 'no');
    const body = new PassThrough();
    reply.raw.once('close', () => void stream.close());
    stream
      .relay(
        (event) => {
          const { type, ...payload } = event;
          if (!body.destroyed) body.write(`event: ${type}\ndata: ${JSON.stringify(payload)}\n\n`);
        },
        () => !body.destroyed && body.write(': keep-alive\n\n'),
      )
      .then(
        () => body.end(),
        (error: Error) => body.destroy(error),
      );
    return body;
  }

  @Get(':runId/artifacts/:artifactId')
  @Authenticated({ permission: Permission.WorkflowRead })
  @ApiOperation({ summary: 'Download a file a tool made (a chart as SVG or PNG)' })
  @ApiProduces('image/svg+xml', 'image/png')
  async artifact(
    @Auth() auth: AuthContext,
    @Param('runId', ParseUUIDPipe) runId: string,
    @Param('artifactId', ParseUUIDPipe) artifactId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Buffer> {
    const artifact = await this.runs.artifact(auth, runId, artifactId);
    const name = artifact.name.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100) || 'artifact';
    void reply
      .header('content-type', artifact.mediaType)
      .header('content-disposition', `attachment; filename="${name}"`)
      .header('x-content-type-options', 'nosniff')
      // An SVG opened directly must not run script or load anything.
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; sandbox");
    return artifact.bytes;
  }
}
