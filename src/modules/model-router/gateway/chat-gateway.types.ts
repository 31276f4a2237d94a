import type { ComplexityDecision, ModelTier } from 'src/modules/model-router/complexity';
import type { ChatChunk, ChatRequest, ChatResult, EmbedResult } from 'src/modules/model-router/providers/llm-provider';
import type { ProviderKind } from 'src/modules/model-router/registry/model.entity';
import type { RouteAttempt } from 'src/modules/model-router/router.service';
import type { UsageSubject } from 'src/modules/model-router/usage/usage.contract';

/** A chat request as callers send it: `model` is a name, an alias, a tier or `auto`. */
export type GatewayChatRequest = Omit<ChatRequest, 'keepAlive'>;

/** How the gateway chose: returned to clients as response metadata and an `x-gremlins-route` header. */
export interface RoutingDecision {
  /** What the caller asked for. */
  requested: string;
  /** The concrete model that answers. */
  model: string;
  tier: ModelTier;
  provider: ProviderKind;
  /** The Ollama node or upstream that answers; `cache` for a cached answer. */
  nodeId: string;
  via: 'name' | 'alias' | 'tier' | 'auto';
  /** Set when the first choice could not serve and a fallback (same tier, then the tier chain) did. */
  fallbackFrom?: string;
  /** Present for `auto`: the score and the reasons behind the tier. */
  complexity?: ComplexityDecision;
  /** The answer came from the response cache. */
  cached: boolean;
  queuedMs: number;
  timeToFirstTokenMs: number;
  failedAttempts: RouteAttempt[];
}

export interface GatewayStream {
  routing: RoutingDecision;
  /**
   * Starts with the first chunk; the last has `done: true`, `finishReason` and `usage`. After
   * the first chunk a failure is thrown as RouterStreamInterruptedError (never a silent end).
   * Usage is recorded by the gateway when the stream ends, whichever way it ends.
   */
  chunks: AsyncIterable<ChatChunk>;
}

export type GatewayChatResult = ChatResult & { routing: RoutingDecision };

export interface GatewayEmbedResult extends EmbedResult {
  model: string;
}

export interface GatewayCallOptions {
  signal?: AbortSignal;
}

/** The front door other modules (conversations, RAG, agents) and the `/v1` API use. */
export interface ChatGateway {
  stream(request: GatewayChatRequest, subject: UsageSubject, options?: GatewayCallOptions): Promise<GatewayStream>;
  complete(request: GatewayChatRequest, subject: UsageSubject, options?: GatewayCallOptions): Promise<GatewayChatResult>;
  embed(request: { model: string; input: string[] }, subject: UsageSubject, options?: GatewayCallOptions): Promise<GatewayEmbedResult>;
}
