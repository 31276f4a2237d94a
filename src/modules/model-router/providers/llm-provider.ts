/**
 * The one interface every model backend implements (Ollama node, OpenAI-compatible upstream,
 * in-process llama.cpp). The router above it decides which provider and node serve a
 * request; a provider only talks to its own backend.
 */

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export interface ChatToolCall {
  id?: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: ChatRole;
  content: string;
  /** Base64 images for vision models. */
  images?: string[];
  toolCalls?: ChatToolCall[];
  toolCallId?: string;
  name?: string;
}

export interface ChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown> };
}

export interface ChatRequest {
  /** The backend's own model name (the router has already resolved aliases and tiers). */
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  topP?: number;
  seed?: number;
  maxTokens?: number;
  stop?: string[];
  tools?: ChatTool[];
  /** 'json' or a JSON schema for constrained output, passed through where supported. */
  responseFormat?: 'json' | { schema: Record<string, unknown> };
  /** keep_alive for Ollama: how long the model stays loaded after this call. */
  keepAlive?: string | number;
}

export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'error';

/** A piece of a streamed answer. The last chunk has `done: true` and carries usage. */
export interface ChatChunk {
  content: string;
  toolCalls?: ChatToolCall[];
  done: boolean;
  finishReason?: FinishReason;
  usage?: TokenUsage;
}

export interface ChatResult {
  content: string;
  toolCalls?: ChatToolCall[];
  finishReason: FinishReason;
  usage: TokenUsage;
}

export interface EmbedRequest {
  model: string;
  input: string[];
}

export interface EmbedResult {
  embeddings: number[][];
  usage: { promptTokens: number };
}

export interface ProviderModel {
  name: string;
  sizeBytes?: number;
  family?: string;
  parameterSize?: string;
  quantization?: string;
}

export interface LoadedModel {
  name: string;
  sizeVramBytes?: number;
  expiresAt?: Date;
}

/**
 * Where a failure happened matters to the router: before the first token it may retry on
 * another node; after it, it must report an explicit error to the client.
 */
export class ProviderError extends Error {
  constructor(
    message: string,
    /** connection refused/reset, timeout, 5xx, overloaded: worth trying another node. */
    readonly retryable: boolean,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ProviderError';
  }
}

export interface LlmProvider {
  /** Stable id of this backend instance, e.g. `ollama:http://gpu-1:11434`. */
  readonly id: string;
  readonly kind: 'ollama' | 'openai-compatible' | 'llama-cpp';

  /** Streams the answer; the iterator throws ProviderError on failure. Aborting the signal stops generation. */
  chatStream(request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk>;
  chat(request: ChatRequest, signal?: AbortSignal): Promise<ChatResult>;
  embed(request: EmbedRequest, signal?: AbortSignal): Promise<EmbedResult>;
  listModels(signal?: AbortSignal): Promise<ProviderModel[]>;
  /** Models currently loaded in memory (Ollama `/api/ps`); providers without the notion return all models as loaded. */
  listLoaded(signal?: AbortSignal): Promise<LoadedModel[]>;
  /** Cheap liveness probe (Ollama `/api/version`). */
  ping(signal?: AbortSignal): Promise<void>;
  /** Releases held connections once running calls end; for backends that leave the pool. */
  close?(): Promise<void>;
}
