import { randomBytes } from 'node:crypto';
import type { GatewayChatRequest, RoutingDecision } from 'src/modules/model-router/gateway/chat-gateway.types';
import type { ChatChunk, ChatMessage, ChatToolCall, FinishReason, TokenUsage } from 'src/modules/model-router/providers/llm-provider';
import type { ChatCompletionBody, ChatCompletionMessage } from 'src/modules/model-router/openai-api/openai.schemas';

/** Translation between OpenAI's wire format and the gateway's, both ways. */

export function toGatewayRequest(body: ChatCompletionBody): GatewayChatRequest {
  const maxTokens = body.max_completion_tokens ?? body.max_tokens ?? undefined;
  const stop = body.stop === null || body.stop === undefined ? undefined : Array.isArray(body.stop) ? body.stop : [body.stop];
  return {
    model: body.model,
    messages: body.messages.map(toChatMessage),
    ...(body.temperature != null && { temperature: body.temperature }),
    ...(body.top_p != null && { topP: body.top_p }),
    ...(body.seed != null && { seed: body.seed }),
    ...(maxTokens !== undefined && { maxTokens }),
    ...(stop && { stop }),
    ...(body.tools &&
      body.tools.length > 0 &&
      body.tool_choice !== 'none' && {
        tools: body.tools.map((tool) => ({
          type: 'function' as const,
          function: {
            name: tool.function.name,
            ...(tool.function.description !== undefined && { description: tool.function.description }),
            parameters: tool.function.parameters ?? { type: 'object', properties: {} },
          },
        })),
      }),
    ...(body.response_format?.type === 'json_object' && { responseFormat: 'json' as const }),
    ...(body.response_format?.type === 'json_schema' && {
      responseFormat: body.response_format.json_schema.schema ? { schema: body.response_format.json_schema.schema } : ('json' as const),
    }),
  };
}

function toChatMessage(message: ChatCompletionMessage): ChatMessage {
  const { text, images } = flatten(message.content ?? '');
  switch (message.role) {
    case 'system':
    case 'developer':
      return { role: 'system', content: text };
    case 'user':
      return { role: 'user', content: text, ...(images.length > 0 && { images }), ...(message.name && { name: message.name }) };
    case 'assistant':
      return {
        role: 'assistant',
        content: text,
        ...(message.tool_calls && {
          toolCalls: message.tool_calls.map((call) => ({ id: call.id, type: 'function' as const, function: call.function })),
        }),
      };
    case 'tool':
      return { role: 'tool', content: text, toolCallId: message.tool_call_id };
  }
}

function flatten(content: NonNullable<ChatCompletionMessage['content']>): { text: string; images: string[] } {
  if (typeof content === 'string') return { text: content, images: [] };
  const texts: string[] = [];
  const images: string[] = [];
  for (const part of content) {
    if (part.type === 'text') texts.push(part.text);
    else images.push(part.image_url.url.slice(part.image_url.url.indexOf(',') + 1));
  }
  return { text: texts.join('\n'), images };
}

export function completionId(): string {
  return `chatcmpl-${randomBytes(12).toString('base64url')}`;
}

const FINISH_REASONS: Record<FinishReason, string> = { stop: 'stop', length: 'length', tool_calls: 'tool_calls', error: 'stop' };

function toolCallsOut(calls: ChatToolCall[]): { id: string; type: 'function'; function: { name: string; arguments: string } }[] {
  return calls.map((call, index) => ({
    id: call.id ?? `call_${index}_${randomBytes(6).toString('hex')}`,
    type: 'function',
    function: call.function,
  }));
}

function usageOut(usage: TokenUsage): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    total_tokens: usage.promptTokens + usage.completionTokens,
  };
}

/** Routing metadata, in the body (`gremlins`) and in the `x-gremlins-route` header. */
export function routingHeader(routing: RoutingDecision): string {
  const parts = [
    `model=${routing.model}`,
    `tier=${routing.tier}`,
    `via=${routing.via}`,
    `node=${routing.nodeId}`,
    `cached=${routing.cached}`,
  ];
  if (routing.fallbackFrom) parts.push(`fallback-from=${routing.fallbackFrom}`);
  if (routing.complexity) parts.push(`score=${routing.complexity.score}`);
  return parts.join('; ');
}

export function completionBody(
  id: string,
  created: number,
  result: { content: string; toolCalls?: ChatToolCall[]; finishReason: FinishReason; usage: TokenUsage; routing: RoutingDecision },
): Record<string, unknown> {
  const toolCalls = result.toolCalls && result.toolCalls.length > 0 ? toolCallsOut(result.toolCalls) : undefined;
  return {
    id,
    object: 'chat.completion',
    created,
    model: result.routing.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: toolCalls && !result.content ? null : result.content,
          ...(toolCalls && { tool_calls: toolCalls }),
          refusal: null,
        },
        finish_reason: toolCalls ? 'tool_calls' : FINISH_REASONS[result.finishReason],
        logprobs: null,
      },
    ],
    usage: usageOut(result.usage),
    system_fingerprint: null,
    gremlins: { routing: result.routing },
  };
}

/** Serialises chat.completion.chunk events; holds what every chunk of one completion repeats. */
export class ChunkWriter {
  private toolCallIndex = 0;

  constructor(
    private readonly id: string,
    private readonly created: number,
    private readonly model: string,
  ) {}

  /** The opening event: the assistant role, and our routing metadata. */
  first(routing: RoutingDecision): string {
    return this.event({ role: 'assistant', content: '' }, null, { gremlins: { routing } });
  }

  /** The events one gateway chunk becomes: content, tool calls, then the finish reason on the last. */
  chunk(chunk: ChatChunk): string {
    let out = '';
    if (chunk.content) out += this.event({ content: chunk.content }, null);
    if (chunk.toolCalls && chunk.toolCalls.length > 0) {
      const calls = toolCallsOut(chunk.toolCalls).map((call) => ({ index: this.toolCallIndex++, ...call }));
      out += this.event({ tool_calls: calls }, null);
    }
    if (chunk.done) out += this.event({}, this.toolCallIndex > 0 ? 'tool_calls' : FINISH_REASONS[chunk.finishReason ?? 'stop']);
    return out;
  }

  /** With `stream_options.include_usage`: one last event with empty choices and the usage. */
  usage(usage: TokenUsage): string {
    return sse({
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [],
      usage: usageOut(usage),
    });
  }

  private event(delta: Record<string, unknown>, finishReason: string | null, extra: Record<string, unknown> = {}): string {
    return sse({
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      system_fingerprint: null,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...extra,
    });
  }
}

export function sse(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

export function embeddingVector(values: number[], format: 'float' | 'base64'): number[] | string {
  if (format === 'float') return values;
  return Buffer.from(new Float32Array(values).buffer).toString('base64');
}
