import { Ollama } from 'ollama';
import type { ChatResponse, Message, ProgressResponse, Tool } from 'ollama';
import {
  ChatChunk,
  ChatMessage,
  ChatRequest,
  ChatResult,
  EmbedRequest,
  EmbedResult,
  FinishReason,
  LlmProvider,
  LoadedModel,
  ProviderError,
  ProviderModel,
} from 'src/modules/model-router/providers/llm-provider';
import { PooledFetch, pooledFetch } from 'src/modules/model-router/providers/pooled-fetch';

export interface OllamaProviderOptions {
  /** Base URL of one Ollama node, e.g. `http://gpu-1:11434`. */
  host: string;
  /** Bound for the short admin calls (ping, tags, ps); inference is bounded by the caller's signal. */
  probeTimeoutMs?: number;
}

/** One Ollama node, spoken to with the official `ollama` client. */
export class OllamaProvider implements LlmProvider {
  readonly kind = 'ollama' as const;
  readonly id: string;
  readonly host: string;
  private readonly probeTimeoutMs: number;
  /** Keep-alive connections to this node, shared by every call. */
  private readonly http: PooledFetch;

  constructor(options: OllamaProviderOptions) {
    this.host = options.host.replace(/\/$/, '');
    this.id = `ollama:${this.host}`;
    this.probeTimeoutMs = options.probeTimeoutMs ?? 5000;
    this.http = pooledFetch(this.host);
  }

  close(): Promise<void> {
    return this.http.close();
  }

  async *chatStream(request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk> {
    const cancel = linkedAbort(signal);
    let finished = false;
    try {
      const client = this.client(cancel.signal);
      const stream = await this.call(() => client.chat({ ...toOllamaChat(request), stream: true }), signal);
      const parts = iterate(stream, signal);
      for (;;) {
        let next: IteratorResult<ChatResponse>;
        try {
          next = await parts.next();
          if (!next.done && next.value.done) {
            // The final line: read the body to its end before handing it out, so the
            // connection goes back to the pool whether or not the consumer asks for more.
            while (!(await parts.next()).done);
            finished = true;
          }
        } catch (error) {
          throw toProviderError(error, signal);
        }
        if (next.done) break;
        yield toChunk(next.value);
      }
      finished = true;
    } finally {
      // Stops generation on the node when the consumer leaves early (which also drops the
      // connection); a body read to its end has nothing left to stop.
      cancel.release(!finished);
    }
  }

  async chat(request: ChatRequest, signal?: AbortSignal): Promise<ChatResult> {
    const client = this.client(signal);
    const response = await this.call(() => client.chat({ ...toOllamaChat(request), stream: false }), signal);
    const chunk = toChunk(response);
    return {
      content: chunk.content,
      toolCalls: chunk.toolCalls,
      finishReason: chunk.finishReason ?? 'stop',
      usage: chunk.usage ?? zeroUsage(),
    };
  }

  async embed(request: EmbedRequest, signal?: AbortSignal): Promise<EmbedResult> {
    const client = this.client(signal);
    const response = await this.call(() => client.embed({ model: request.model, input: request.input }), signal);
    return { embeddings: response.embeddings, usage: { promptTokens: response.prompt_eval_count ?? 0 } };
  }

  async listModels(signal?: AbortSignal): Promise<ProviderModel[]> {
    const probe = this.probeSignal(signal);
    const response = await this.call(() => this.client(probe).list(), signal);
    return response.models.map((m) => ({
      name: m.name,
      sizeBytes: m.size,
      family: m.details?.family,
      parameterSize: m.details?.parameter_size,
      quantization: m.details?.quantization_level,
    }));
  }

  async listLoaded(signal?: AbortSignal): Promise<LoadedModel[]> {
    const probe = this.probeSignal(signal);
    const response = await this.call(() => this.client(probe).ps(), signal);
    return response.models.map((m) => ({
      name: m.name,
      sizeVramBytes: m.size_vram,
      expiresAt: m.expires_at ? new Date(m.expires_at) : undefined,
    }));
  }

  async ping(signal?: AbortSignal): Promise<void> {
    const probe = this.probeSignal(signal);
    await this.call(() => this.client(probe).version(), signal);
  }

  /**
   * Downloads a model onto this node (`/api/pull`), reporting each progress line. Aborting
   * the signal cancels the download; Ollama keeps the layers it has, so a later pull resumes.
   */
  async pull(model: string, onProgress?: (progress: PullProgress) => void, signal?: AbortSignal): Promise<PullProgress> {
    const cancel = linkedAbort(signal);
    let finished = false;
    let last: PullProgress = { status: 'started' };
    try {
      const stream = await this.call(() => this.client(cancel.signal).pull({ model, stream: true }), signal);
      try {
        for await (const part of iterate(stream, signal)) {
          last = toPullProgress(part);
          onProgress?.(last);
        }
        finished = true;
      } catch (error) {
        throw toStreamError(error, signal);
      }
    } finally {
      cancel.release(!finished);
    }
    return last;
  }

  /** Loads a model into memory and keeps it for `keepAlive` (seconds, a duration like "30m", or -1: until unloaded). */
  async load(model: string, keepAlive: string | number, signal?: AbortSignal): Promise<void> {
    await this.setKeepAlive(model, keepAlive, signal);
  }

  async unload(model: string, signal?: AbortSignal): Promise<void> {
    await this.setKeepAlive(model, 0, signal);
  }

  /** An empty request with keep_alive is how Ollama loads (or, with 0, unloads) a model without generating. */
  private async setKeepAlive(model: string, keepAlive: string | number, signal?: AbortSignal): Promise<void> {
    const client = this.client(signal);
    try {
      await client.generate({ model, prompt: '', keep_alive: keepAlive, stream: false });
    } catch (error) {
      const failure = toProviderError(error, signal);
      if (failure.status !== 400) throw failure;
      // Embedding-only models refuse /api/generate; an empty /api/embed loads them the same way.
      await this.call(() => client.embed({ model, input: [], keep_alive: keepAlive }), signal);
    }
  }

  /**
   * The client only aborts streams, and only all at once per instance; a per-call instance
   * whose fetch carries the caller's signal gives each request its own cancellation. (The
   * client's own stream signal is dropped: streams are cancelled through `signal` instead.)
   * Every instance sends through this node's one connection pool.
   */
  private client(signal?: AbortSignal): Ollama {
    const send = this.http.fetch;
    return new Ollama({
      host: this.host,
      fetch: signal ? (input, init) => send(input, { ...init, signal }) : send,
    });
  }

  /** Errors are judged against the caller's signal: our own probe timeout is the node's fault, retryable. */
  private probeSignal(signal?: AbortSignal): AbortSignal {
    const timeout = AbortSignal.timeout(this.probeTimeoutMs);
    return signal ? AbortSignal.any([signal, timeout]) : timeout;
  }

  private async call<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toProviderError(error, signal);
    }
  }
}

/**
 * A request's own cancellation, fired by the caller's signal or by `release(true)` when the
 * consumer leaves before the body's end. Cheaper than AbortSignal.any (weak references and
 * GC work per call), and a body read to its end is not aborted at all (which would build an
 * AbortError for nothing).
 */
function linkedAbort(parent?: AbortSignal): { signal: AbortSignal; release(abort: boolean): void } {
  const controller = new AbortController();
  const forward = () => controller.abort(parent?.reason);
  if (parent?.aborted) forward();
  else parent?.addEventListener('abort', forward, { once: true });
  return {
    signal: controller.signal,
    release(abort) {
      parent?.removeEventListener('abort', forward);
      if (abort && !controller.signal.aborted) controller.abort();
    },
  };
}

/** One line of `/api/pull` progress; `total`/`completed` (bytes) come with layer downloads only. */
export interface PullProgress {
  status: string;
  digest?: string;
  total?: number;
  completed?: number;
}

function toPullProgress(part: ProgressResponse): PullProgress {
  const progress: PullProgress = { status: part.status };
  if (part.digest) progress.digest = part.digest;
  if (typeof part.total === 'number') progress.total = part.total;
  if (typeof part.completed === 'number') progress.completed = part.completed;
  return progress;
}

/**
 * Ollama reports failures after the headers as an `{"error"}` line, which the client throws
 * as a plain Error: that is the node's verdict, not a lost connection.
 */
function toStreamError(error: unknown, signal?: AbortSignal): ProviderError {
  const failure = toProviderError(error, signal);
  const reported = error instanceof Error && error.constructor === Error && !signal?.aborted && !failure.retryable;
  return reported ? new ProviderError(`ollama reported: ${error.message}`, false, undefined, { cause: error }) : failure;
}

/** Rejects promptly on abort even when the body read is stuck waiting for the next byte. */
async function* iterate<T>(stream: AsyncIterable<T>, signal?: AbortSignal): AsyncGenerator<T> {
  const iterator = stream[Symbol.asyncIterator]();
  while (true) {
    if (signal?.aborted) throw signal.reason;
    const next = await iterator.next();
    if (next.done) return;
    yield next.value;
  }
}

function toOllamaChat(request: ChatRequest): {
  model: string;
  messages: Message[];
  tools?: Tool[];
  format?: string | object;
  keep_alive?: string | number;
  options: Record<string, unknown>;
} {
  const options: Record<string, unknown> = {};
  if (request.temperature !== undefined) options.temperature = request.temperature;
  if (request.topP !== undefined) options.top_p = request.topP;
  if (request.seed !== undefined) options.seed = request.seed;
  if (request.maxTokens !== undefined) options.num_predict = request.maxTokens;
  if (request.stop !== undefined) options.stop = request.stop;
  return {
    model: request.model,
    messages: request.messages.map(toOllamaMessage),
    tools: request.tools,
    format: request.responseFormat === undefined ? undefined : request.responseFormat === 'json' ? 'json' : request.responseFormat.schema,
    keep_alive: request.keepAlive,
    options,
  };
}

function toOllamaMessage(message: ChatMessage): Message {
  return {
    role: message.role,
    content: message.content,
    images: message.images,
    tool_calls: message.toolCalls?.map((call) => ({
      function: { name: call.function.name, arguments: parseArguments(call.function.arguments) },
    })),
    tool_name: message.role === 'tool' ? message.name : undefined,
  };
}

function parseArguments(raw: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(raw);
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function toChunk(part: ChatResponse): ChatChunk {
  const toolCalls = part.message?.tool_calls?.map((call) => ({
    type: 'function' as const,
    function: { name: call.function.name, arguments: JSON.stringify(call.function.arguments ?? {}) },
  }));
  const chunk: ChatChunk = { content: part.message?.content ?? '', done: part.done };
  if (toolCalls && toolCalls.length > 0) chunk.toolCalls = toolCalls;
  if (part.done) {
    chunk.finishReason = toolCalls?.length ? 'tool_calls' : finishReason(part.done_reason);
    chunk.usage = { promptTokens: part.prompt_eval_count ?? 0, completionTokens: part.eval_count ?? 0 };
  }
  return chunk;
}

function finishReason(reason: string | undefined): FinishReason {
  return reason === 'length' ? 'length' : 'stop';
}

function zeroUsage(): { promptTokens: number; completionTokens: number } {
  return { promptTokens: 0, completionTokens: 0 };
}

/**
 * Connection failures, timeouts and 5xx are the node's trouble (another node may serve);
 * 4xx are the request's (another node would answer the same).
 */
export function toProviderError(error: unknown, signal?: AbortSignal): ProviderError {
  if (error instanceof ProviderError) return error;
  if (signal?.aborted) {
    return new ProviderError('request aborted', false, undefined, { cause: error });
  }
  const status = (error as { status_code?: unknown }).status_code;
  if (typeof status === 'number') {
    const message = error instanceof Error ? error.message : String(error);
    return new ProviderError(`ollama answered ${status}: ${message}`, status >= 500 || status === 429, status, { cause: error });
  }
  const name = (error as { name?: unknown }).name;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: unknown }).code;
  const retryable =
    name === 'TimeoutError' ||
    name === 'AbortError' ||
    error instanceof TypeError ||
    // undici's own failures (closed socket, connect or headers timeout) and the system's.
    (typeof code === 'string' && /^(UND_ERR_|ECONN|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ENOTFOUND)/.test(code)) ||
    /ECONN|EPIPE|socket|terminated|fetch failed/i.test(message);
  return new ProviderError(`ollama unreachable: ${message}`, retryable, undefined, { cause: error });
}
