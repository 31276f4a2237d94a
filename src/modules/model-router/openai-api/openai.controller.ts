import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import { ApiBody, ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { AuthContext } from 'src/common/auth/auth-context';
import { Auth, Authenticated } from 'src/common/auth/auth.decorator';
import { Permission } from 'src/common/auth/permission.enum';
import { toErrorBody } from 'src/common/errors/error-body';
import { toOpenAiError } from 'src/common/errors/openai-error';
import { ZodBodyPipe } from 'src/common/validation/zod-body.pipe';
import { MODEL_TIERS } from 'src/modules/model-router/complexity';
import { ChatGatewayService } from 'src/modules/model-router/gateway/chat-gateway.service';
import type { GatewayStream } from 'src/modules/model-router/gateway/chat-gateway.types';
import {
  ChunkWriter,
  completionBody,
  completionId,
  embeddingVector,
  routingHeader,
  sse,
  toGatewayRequest,
} from 'src/modules/model-router/openai-api/openai.mapper';
import {
  ChatCompletionBody,
  chatCompletionSchema,
  EmbeddingsBody,
  embeddingsSchema,
} from 'src/modules/model-router/openai-api/openai.schemas';
import { ModelRegistryErrorCode, ModelRegistryException } from 'src/modules/model-router/registry/model-registry.exception';
import { ModelRegistryService } from 'src/modules/model-router/registry/model-registry.service';
import type { UsageSubject } from 'src/modules/model-router/usage/usage.contract';

/** Names that route rather than name a model; listed so OpenAI clients can pick them. */
const VIRTUAL_MODELS = ['auto', ...MODEL_TIERS];

interface OpenAiModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

/**
 * The OpenAI-compatible API at `/v1`: any OpenAI SDK works against it unchanged, with a
 * GremlinsAI API key as its API key. Model names, aliases, tiers and `auto` all route.
 * Errors come in OpenAI's shape (see AllExceptionsFilter).
 */
@ApiTags('OpenAI-compatible')
@Controller('v1')
export class OpenAiController {
  constructor(
    private readonly gateway: ChatGatewayService,
    private readonly registry: ModelRegistryService,
  ) {}

  @Post('chat/completions')
  @HttpCode(200)
  @Authenticated({ permission: Permission.ModelInvoke })
  @ApiOperation({ summary: 'Chat completion, streamed as server-sent events with `stream: true` (OpenAI format)' })
  @ApiBody({ schema: z.toJSONSchema(chatCompletionSchema, { io: 'input', unrepresentable: 'any' }) as object })
  @ApiProduces('application/json', 'text/event-stream')
  async chatCompletions(
    @Body(new ZodBodyPipe(chatCompletionSchema)) body: ChatCompletionBody,
    @Auth() auth: AuthContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Record<string, unknown> | Readable> {
    const signal = abortOnDisconnect(reply);
    const request = toGatewayRequest(body);
    const id = completionId();
    const created = Math.floor(Date.now() / 1000);
    if (!body.stream) {
      const result = await this.gateway.complete(request, subjectOf(auth), { signal });
      void reply.header('x-gremlins-route', routingHeader(result.routing));
      return completionBody(id, created, result);
    }
    const stream = await this.gateway.stream(request, subjectOf(auth), { signal });
    void reply
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('x-accel-buffering', 'no')
      .header('x-gremlins-route', routingHeader(stream.routing));
    return Readable.from(events(stream, new ChunkWriter(id, created, stream.routing.model), body.stream_options?.include_usage === true));
  }

  @Post('embeddings')
  @HttpCode(200)
  @Authenticated({ permission: Permission.ModelInvoke })
  @ApiOperation({ summary: 'Embeddings (OpenAI format; `encoding_format: base64` is what the OpenAI SDKs ask for by default)' })
  @ApiBody({ schema: z.toJSONSchema(embeddingsSchema, { io: 'input' }) as object })
  async embeddings(
    @Body(new ZodBodyPipe(embeddingsSchema)) body: EmbeddingsBody,
    @Auth() auth: AuthContext,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<Record<string, unknown>> {
    const input = typeof body.input === 'string' ? [body.input] : body.input;
    const result = await this.gateway.embed({ model: body.model, input }, subjectOf(auth), { signal: abortOnDisconnect(reply) });
    const format = body.encoding_format ?? 'float';
    return {
      object: 'list',
      data: result.embeddings.map((embedding, index) => ({ object: 'embedding', index, embedding: embeddingVector(embedding, format) })),
      model: result.model,
      usage: { prompt_tokens: result.usage.promptTokens, total_tokens: result.usage.promptTokens },
    };
  }

  @Get('models')
  @Authenticated({ permission: Permission.ModelRead })
  @ApiOperation({ summary: 'Enabled models by name and alias, plus `auto` and the tiers (OpenAI format)' })
  @ApiOkResponse({ description: '`{ object: "list", data: [{ id, object: "model", created, owned_by }] }`' })
  async listModels(): Promise<{ object: 'list'; data: OpenAiModel[] }> {
    return { object: 'list', data: await this.openAiModels() };
  }

  @Get('models/:model')
  @Authenticated({ permission: Permission.ModelRead })
  @ApiOperation({ summary: 'One model by name, alias, tier or `auto` (OpenAI format)' })
  async getModel(@Param('model') model: string): Promise<OpenAiModel> {
    const found = (await this.openAiModels()).find((candidate) => candidate.id === model);
    if (!found)
      throw new ModelRegistryException(ModelRegistryErrorCode.ModelNotFound, `Unknown model ${JSON.stringify(model.slice(0, 128))}`);
    return found;
  }

  private async openAiModels(): Promise<OpenAiModel[]> {
    const models = await this.registry.enabledModels();
    const oldest = models.reduce((min, model) => Math.min(min, toEpoch(model.createdAt)), Math.floor(Date.now() / 1000));
    return [
      ...VIRTUAL_MODELS.map((id) => ({ id, object: 'model' as const, created: oldest, owned_by: 'gremlins-router' })),
      ...models.flatMap((model) =>
        [model.name, ...model.aliases].map((id) => ({
          id,
          object: 'model' as const,
          created: toEpoch(model.createdAt),
          owned_by: model.providerKind,
        })),
      ),
    ];
  }
}

async function* events(stream: GatewayStream, writer: ChunkWriter, includeUsage: boolean): AsyncGenerator<string> {
  yield writer.first(stream.routing);
  try {
    for await (const chunk of stream.chunks) {
      yield writer.chunk(chunk);
      if (chunk.done && includeUsage) yield writer.usage(chunk.usage ?? { promptTokens: 0, completionTokens: 0 });
    }
    yield 'data: [DONE]\n\n';
  } catch (error) {
    // Headers are gone: the failure travels as an error event (OpenAI SDKs raise it), never a silent end.
    yield sse(toOpenAiError(toErrorBody(error)));
  }
}

/** Aborts the model call when the client goes away before the response is complete. */
function abortOnDisconnect(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('client closed the connection'));
  });
  return controller.signal;
}

function subjectOf(auth: AuthContext): UsageSubject {
  return { workspaceId: auth.workspaceId, userId: auth.userId, apiKeyId: auth.apiKeyId ?? null };
}

function toEpoch(date: Date | string): number {
  return Math.floor(new Date(date).getTime() / 1000);
}
