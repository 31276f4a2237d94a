// The SDK is imported as ESM at run time (below); its types must be the ESM flavour too.
import type * as OpenAiSdkModule from 'openai' with { 'resolution-mode': 'import' };
import type { APIError, OpenAI } from 'openai' with { 'resolution-mode': 'import' };
import type {
  ChatCompletionChunk,
  ChatCompletionContentPart,
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions/completions';
import {
  ChatChunk,
  ChatMessage,
  ChatRequest,
  ChatResult,
  ChatToolCall,
  EmbedRequest,
  EmbedResult,
  FinishReason,
  LlmProvider,
  LoadedModel,
  ProviderError,
  ProviderModel,
  TokenUsage,
} from 'src/modules/model-router/providers/llm-provider';
import { PooledFetch, pooledFetch } from 'src/modules/model-router/providers/pooled-fetch';

/**
 * What an admin configures for an upstream. The base URL and key come only from here (the
 * model registry), never from a caller's request: a caller-chosen URL is an SSRF hole
 * (LiteLLM `api_base`, CVE-2024-6587).
 */
export interface OpenAiCompatibleConfig {
  /** Stable id, e.g. the registry's upstream id. Defaults to `openai-compatible:<baseUrl>`. */
  id?: string;
  /** Ends in `/v1` for most servers, e.g. `http://vllm:8000/v1`. */
  baseUrl: string;
  apiKey?: string | null;
  /** Per request; the router owns retries across upstreams, so the SDK's are off. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 120_000;

type OpenAiSdk = typeof OpenAiSdkModule;
/** The SDK weighs ~10 MB resident: loaded when the first upstream is used, not at boot. */
let sdkLoad: Promise<OpenAiSdk> | undefined;
let loadedSdk: OpenAiSdk | undefined;
const loadSdk = (): Promise<OpenAiSdk> =>
  (sdkLoad ??= import('openai').then((sdk) => {
    loadedSdk = sdk;
    return sdk;
  }));

export class OpenAiCompatibleProvider implements LlmProvider {
  readonly id: string;
  readonly kind = 'openai-compatible' as const;
  private clientLoad?: Promise<OpenAI>;
  /** Keep-alive connections to the upstream, shared by every call (ADR 21). */
  private readonly http: PooledFetch;

  constructor(private readonly config: OpenAiCompatibleConfig) {
    this.id = config.id ?? `openai-compatible:${config.baseUrl}`;
    this.http = pooledFetch(config.baseUrl);
  }

  close(): Promise<void> {
    return this.http.close();
  }

  private client(): Promise<OpenAI> {
    return (this.clientLoad ??= loadSdk().then((sdk) => this.createClient(sdk)));
  }

  private createClient({ default: OpenAIClient }: OpenAiSdk): OpenAI {
    const config = this.config;
    return new OpenAIClient({
      baseURL: config.baseUrl,
      // The SDK insists on a key; keyless servers (LM Studio, vLLM without --api-key) get no
      // Authorization header at all rather than a made-up one.
      apiKey: config.apiKey || 'none',
      defaultHeaders: config.apiKey ? undefined : { Authorization: null },
      maxRetries: 0,
      timeout: config.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      // Explicit values above; never fall back to OPENAI_* environment variables.
      organization: null,
      project: null,
      logLevel: 'off',
      fetch: this.http.fetch,
    });
  }

  async *chatStream(request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk> {
    const toolCalls = new Map<number, ChatToolCall>();
    let finishReason: FinishReason | undefined;
    let usage: TokenUsage | undefined;
    let completionChars = 0;
    try {
      const stream = await (
        await this.client()
      ).chat.completions.create({ ...toParams(request), stream: true, stream_options: { include_usage: true } }, { signal });
      for await (const chunk of stream) {
        if (chunk.usage) usage = { promptTokens: chunk.usage.prompt_tokens, completionTokens: chunk.usage.completion_tokens };
        const choice = chunk.choices[0];
        if (!choice) continue;
        collectToolCallDeltas(toolCalls, choice.delta.tool_calls);
        if (choice.finish_reason) finishReason = mapFinishReason(choice.finish_reason);
        const content = choice.delta.content ?? '';
        if (content) {
          completionChars += content.length;
          yield { content, done: false };
        }
      }
    } catch (error) {
      throw this.toProviderError(error);
    }
    // A stream that ends without a finish reason was cut off upstream; never pass it off as complete.
    if (!finishReason) throw new ProviderError(`Upstream ${this.id} ended the stream without a finish reason`, true);
    const calls = [...toolCalls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
    yield {
      content: '',
      done: true,
      finishReason,
      toolCalls: calls.length > 0 ? calls : undefined,
      // Servers that ignore stream_options send no usage: estimate rather than record zero.
      usage: usage ?? {
        promptTokens: estimateTokens(request.messages.map((m) => m.content).join('')),
        completionTokens: Math.ceil(completionChars / 4),
      },
    };
  }

  async chat(request: ChatRequest, signal?: AbortSignal): Promise<ChatResult> {
    try {
      const completion = await (await this.client()).chat.completions.create({ ...toParams(request), stream: false }, { signal });
      const choice = completion.choices[0];
      if (!choice) throw new ProviderError(`Upstream ${this.id} returned no choices`, true);
      const calls = (choice.message.tool_calls ?? []).flatMap((call): ChatToolCall[] =>
        call.type === 'function'
          ? [{ id: call.id, type: 'function', function: { name: call.function.name, arguments: call.function.arguments } }]
          : [],
      );
      return {
        content: choice.message.content ?? '',
        toolCalls: calls.length > 0 ? calls : undefined,
        finishReason: mapFinishReason(choice.finish_reason),
        usage: {
          promptTokens: completion.usage?.prompt_tokens ?? estimateTokens(request.messages.map((m) => m.content).join('')),
          completionTokens: completion.usage?.completion_tokens ?? estimateTokens(choice.message.content ?? ''),
        },
      };
    } catch (error) {
      throw this.toProviderError(error);
    }
  }

  async embed(request: EmbedRequest, signal?: AbortSignal): Promise<EmbedResult> {
    try {
      const response = await (
        await this.client()
      ).embeddings.create({ model: request.model, input: request.input, encoding_format: 'float' }, { signal });
      const embeddings = [...response.data].sort((a, b) => a.index - b.index).map((item) => item.embedding);
      return { embeddings, usage: { promptTokens: response.usage?.prompt_tokens ?? estimateTokens(request.input.join('')) } };
    } catch (error) {
      throw this.toProviderError(error);
    }
  }

  async listModels(signal?: AbortSignal): Promise<ProviderModel[]> {
    try {
      const models: ProviderModel[] = [];
      for await (const model of (await this.client()).models.list({ signal })) models.push({ name: model.id });
      return models;
    } catch (error) {
      throw this.toProviderError(error);
    }
  }

  /** OpenAI-style servers have no notion of loading: every listed model counts as loaded. */
  async listLoaded(signal?: AbortSignal): Promise<LoadedModel[]> {
    return (await this.listModels(signal)).map((model) => ({ name: model.name }));
  }

  async ping(signal?: AbortSignal): Promise<void> {
    await this.listModels(signal);
  }

  private toProviderError(error: unknown): ProviderError {
    if (error instanceof ProviderError) return error;
    const sdk = loadedSdk;
    if (sdk && error instanceof sdk.APIUserAbortError)
      return new ProviderError(`Request to ${this.id} was aborted`, false, undefined, { cause: error });
    // Includes timeouts (APIConnectionTimeoutError extends it): worth another upstream.
    if (sdk && error instanceof sdk.APIConnectionError) {
      return new ProviderError(`Cannot reach upstream ${this.id}: ${error.message}`, true, undefined, { cause: error });
    }
    if (sdk && error instanceof sdk.APIError) {
      const apiError = error as APIError<number | undefined, Headers | undefined, object | undefined>;
      const status = apiError.status;
      if (status !== undefined) {
        const retryable = status === 408 || status === 429 || status >= 500;
        return new ProviderError(`Upstream ${this.id} answered ${status}: ${upstreamMessage(apiError)}`, retryable, status, {
          cause: error,
        });
      }
    }
    // Anything else (a socket reset mid-body surfaces as a plain TypeError from fetch) is a transport failure.
    const message = error instanceof Error ? error.message : String(error);
    return new ProviderError(`Upstream ${this.id} failed: ${message}`, true, undefined, { cause: error });
  }
}

function toParams(request: ChatRequest): ChatCompletionCreateParamsBase {
  return {
    model: request.model,
    messages: request.messages.map(toMessageParam),
    temperature: request.temperature,
    top_p: request.topP,
    seed: request.seed,
    max_tokens: request.maxTokens,
    stop: request.stop,
    tools: request.tools,
    response_format:
      request.responseFormat === undefined
        ? undefined
        : request.responseFormat === 'json'
          ? { type: 'json_object' }
          : { type: 'json_schema', json_schema: { name: 'response', schema: request.responseFormat.schema } },
  };
}

function toMessageParam(message: ChatMessage, index: number): ChatCompletionMessageParam {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user': {
      if (!message.images?.length) return { role: 'user', content: message.content, name: message.name };
      const parts: ChatCompletionContentPart[] = [
        { type: 'text', text: message.content },
        ...message.images.map((image): ChatCompletionContentPart => ({ type: 'image_url', image_url: { url: toDataUrl(image) } })),
      ];
      return { role: 'user', content: parts, name: message.name };
    }
    case 'assistant':
      return {
        role: 'assistant',
        content: message.content,
        tool_calls: message.toolCalls?.map((call, callIndex) => ({
          id: call.id ?? `call_${index}_${callIndex}`,
          type: 'function',
          function: call.function,
        })),
      };
    case 'tool':
      if (!message.toolCallId) throw new ProviderError('A tool message needs the id of the tool call it answers', false, 400);
      return { role: 'tool', content: message.content, tool_call_id: message.toolCallId };
  }
}

function collectToolCallDeltas(calls: Map<number, ChatToolCall>, deltas: ChatCompletionChunk.Choice.Delta['tool_calls']): void {
  for (const delta of deltas ?? []) {
    const call = calls.get(delta.index) ?? { type: 'function' as const, function: { name: '', arguments: '' } };
    if (delta.id) call.id = delta.id;
    if (delta.function?.name) call.function.name += delta.function.name;
    if (delta.function?.arguments) call.function.arguments += delta.function.arguments;
    calls.set(delta.index, call);
  }
}

function mapFinishReason(reason: string | null): FinishReason {
  switch (reason) {
    case 'length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'content_filter':
      return 'error';
    default:
      return 'stop';
  }
}

const IMAGE_SIGNATURES: [string, string][] = [
  ['/9j/', 'image/jpeg'],
  ['iVBOR', 'image/png'],
  ['R0lG', 'image/gif'],
  ['UklG', 'image/webp'],
];

/** The interface carries bare base64 (Ollama's format); OpenAI wants data URLs. */
function toDataUrl(image: string): string {
  if (image.startsWith('data:')) return image;
  const mime = IMAGE_SIGNATURES.find(([prefix]) => image.startsWith(prefix))?.[1] ?? 'image/png';
  return `data:${mime};base64,${image}`;
}

function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

function upstreamMessage(error: APIError<number | undefined, Headers | undefined, object | undefined>): string {
  const body = error.error as { message?: unknown } | undefined;
  return typeof body?.message === 'string' ? body.message : error.message;
}
