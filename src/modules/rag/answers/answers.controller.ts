import { Body, Controller, Headers, HttpCode, Param, ParseUUIDPipe, Post, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { PassThrough } from 'node:stream';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { AuthContext } from 'src/common/auth/auth-context';
import { Permission } from 'src/common/auth/permission.enum';
import { toErrorBody } from 'src/common/errors/error-body';
import { AnswersService } from 'src/modules/rag/answers/answers.service';
import { AskDto, AskResponseDto } from 'src/modules/rag/answers/ask.dto';

const EVENT_STREAM = 'text/event-stream';

@ApiTags('knowledge-bases')
@ApiHeader({ name: 'X-Workspace-Id', required: false, description: 'Workspace to act in; defaults to your personal workspace' })
@Controller('knowledge-bases')
export class AnswersController {
  constructor(private readonly answers: AnswersService) {}

  @Post(':knowledgeBaseId/ask')
  @HttpCode(200)
  @Authenticated({ permission: Permission.KnowledgeBaseRead })
  @ApiOperation({
    summary: 'Answer a question from the knowledge base, with citations',
    description:
      'Needs model.invoke too. With `Accept: text/event-stream` the answer streams as server-sent events ' +
      '(sources, route, token..., then done or error); otherwise the whole answer comes back at once. ' +
      'Failures before the first token are ordinary error responses: 503 RAG_NO_CHAT_MODEL when no chat model can answer.',
  })
  @ApiProduces('application/json', EVENT_STREAM)
  @ApiOkResponse({ type: AskResponseDto })
  async ask(
    @Auth() auth: AuthContext,
    @Param('knowledgeBaseId', ParseUUIDPipe) id: string,
    @Body() dto: AskDto,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AskResponseDto | PassThrough> {
    const signal = abortOnDisconnect(reply);
    const run = await this.answers.begin(auth, id, dto, signal);
    if (!accept?.includes(EVENT_STREAM)) {
      const outcome = await run.relay(() => undefined);
      return { ...outcome, sources: run.sources, routing: run.routing };
    }

    void reply
      .header('content-type', `${EVENT_STREAM}; charset=utf-8`)
      .header('cache-control', 'no-cache')
      .header('x-accel-buffering', 'no');
    const body = new PassThrough();
    const write = (event: string, payload: unknown) => {
      if (!body.destroyed) body.write(`event: ${event}\ndata: ${JSON.stringify(payload)}\n\n`);
    };
    write('sources', { sources: run.sources });
    if (run.routing) write('route', { routing: run.routing });
    run
      .relay((delta) => write('token', { delta }))
      .then(
        (outcome) => write('done', outcome),
        (error: unknown) => {
          // The status line has gone: a failure after the first token is an explicit event, never a silent end.
          const { code, message } = toErrorBody(error);
          write('error', { code, message });
        },
      )
      .finally(() => body.end());
    return body;
  }
}

/** Aborts the model call when the client goes away before the response is complete. */
function abortOnDisconnect(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}
