import { Inject, Injectable, Optional } from '@nestjs/common';
import { AppException } from 'src/common/errors/app.exception';
import { AppConfig, RouterConfig } from 'src/config/app-config';
import {
  ChatGateway,
  GatewayCallOptions,
  GatewayChatRequest,
  GatewayChatResult,
  GatewayEmbedResult,
  GatewayStream,
  RoutingDecision,
} from 'src/modules/model-router/gateway/chat-gateway.types';
import { openDirectStream } from 'src/modules/model-router/gateway/direct-stream';
import { GatewayErrorCode, GatewayException } from 'src/modules/model-router/gateway/gateway.exception';
import { GatewayMetrics } from 'src/modules/model-router/gateway/gateway.metrics';
import { meterStream, StreamOutcome } from 'src/modules/model-router/gateway/metered-stream';
import { Candidate, ModelPlan, planModels } from 'src/modules/model-router/gateway/model-plan';
import { CachedAnswer, ResponseCache } from 'src/modules/model-router/gateway/response-cache';
import {
  ChatChunk,
  ChatMessage,
  ChatToolCall,
  EmbedResult,
  LlmProvider,
  TokenUsage,
} from 'src/modules/model-router/providers/llm-provider';
import { ModelDto } from 'src/modules/model-router/registry/dto/models.dto';
import { ModelRegistryService } from 'src/modules/model-router/registry/model-registry.service';
import { UpstreamsService } from 'src/modules/model-router/registry/upstreams.service';
import { RouterErrorCode, RouterException } from 'src/modules/model-router/router.exception';
import { RouteAttempt, RouterService } from 'src/modules/model-router/router.service';
import { QuotaReservation, TokenQuotas, UsageRecorder, UsageSubject } from 'src/modules/model-router/usage/usage.contract';

/** The in-process llama.cpp provider, present only when LLAMA_MODEL_PATH is set. */
export const LOCAL_LLM_PROVIDER = Symbol('LOCAL_LLM_PROVIDER');

/** Failures after which the next candidate model (same tier, then the fallback chain) is tried. */
const FALLBACK_CODES = new Set<string>([RouterErrorCode.NoNode, RouterErrorCode.UpstreamFailed]);

interface Opened {
  chunks: AsyncIterable<ChatChunk>;
  nodeId: string;
  queuedMs: number;
  timeToFirstTokenMs: number;
  failedAttempts: RouteAttempt[];
}

/**
 * The front door to every model: checks the request against the limits, picks the model
 * (name, alias, tier or `auto`), holds quota, answers from the cache when it may, sends the
 * request to the provider that serves the model (falling back along the tier chain when a
 * model has no servable node), and records usage however the call ends.
 */
@Injectable()
export class ChatGatewayService implements ChatGateway {
  private readonly limits: RouterConfig;

  constructor(
    config: AppConfig,
    private readonly registry: ModelRegistryService,
    private readonly upstreams: UpstreamsService,
    private readonly router: RouterService,
    private readonly quotas: TokenQuotas,
    private readonly usage: UsageRecorder,
    private readonly cache: ResponseCache,
    private readonly metrics: GatewayMetrics,
    @Optional() @Inject(LOCAL_LLM_PROVIDER) private readonly local: LlmProvider | null,
  ) {
    this.limits = config.router;
  }

  async stream(request: GatewayChatRequest, subject: UsageSubject, { signal }: GatewayCallOptions = {}): Promise<GatewayStream> {
    const started = performance.now();
    this.checkLimits(request);
    let plan: ModelPlan;
    try {
      plan = await planModels(this.registry, request.model, request.messages, this.limits);
    } catch (error) {
      this.recordFailure(subject, request.model, null, started, error);
      throw error;
    }

    const cacheKey = this.cache.isCacheable(request) ? this.cache.key(subject.workspaceId, plan.candidates[0].model.name, request) : null;
    if (cacheKey) {
      const hit = await this.cache.get(cacheKey);
      if (hit) return this.fromCache(hit, plan, request, subject, started);
    }

    const promptTokens = estimatePromptTokens(request.messages);
    let reservation: QuotaReservation;
    try {
      reservation = await this.quotas.reserve(subject, {
        promptTokens,
        maxCompletionTokens: request.maxTokens ?? this.limits.quotaCompletionReserveTokens,
      });
    } catch (error) {
      this.recordFailure(subject, request.model, plan.candidates[0].model, started, error);
      throw error;
    }
    const capped =
      reservation.completionTokenCap === null
        ? request
        : { ...request, maxTokens: Math.min(request.maxTokens ?? Number.MAX_SAFE_INTEGER, reservation.completionTokenCap) };

    const failures: RouteAttempt[] = [];
    let lastError: unknown;
    for (const candidate of plan.candidates) {
      let opened: Opened;
      try {
        opened = await this.open(candidate.model, capped, signal);
      } catch (error) {
        lastError = error;
        if (error instanceof RouterException && FALLBACK_CODES.has(error.code)) {
          failures.push({ nodeId: `model:${candidate.model.name}`, error: error.message });
          continue;
        }
        break;
      }
      const routing = this.routingOf(plan, candidate, request.model, opened, failures);
      this.metrics.decision(routing.tier, routing.via, false, routing.fallbackFrom !== undefined);
      const chunks = meterStream(opened.chunks, (outcome) =>
        this.finish(outcome, { subject, request, routing, reservation, started, cacheKey, promptTokens }),
      );
      return { routing, chunks };
    }
    await this.quotas.settle(reservation, 0).catch(() => undefined);
    const failed = lastError instanceof Error ? lastError : new RouterException(RouterErrorCode.NoNode, 'no model could serve the request');
    this.recordFailure(subject, request.model, plan.candidates[plan.candidates.length - 1].model, started, failed);
    throw failed;
  }

  async complete(request: GatewayChatRequest, subject: UsageSubject, options: GatewayCallOptions = {}): Promise<GatewayChatResult> {
    const { routing, chunks } = await this.stream(request, subject, options);
    let content = '';
    const toolCalls: ChatToolCall[] = [];
    let usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
    let finishReason: GatewayChatResult['finishReason'] = 'stop';
    for await (const chunk of chunks) {
      content += chunk.content;
      if (chunk.toolCalls) toolCalls.push(...chunk.toolCalls);
      if (chunk.done) {
        usage = chunk.usage ?? usage;
        finishReason = chunk.finishReason ?? finishReason;
      }
    }
    return { content, toolCalls: toolCalls.length > 0 ? toolCalls : undefined, finishReason, usage, routing };
  }

  async embed(
    request: { model: string; input: string[] },
    subject: UsageSubject,
    { signal }: GatewayCallOptions = {},
  ): Promise<GatewayEmbedResult> {
    const started = performance.now();
    const characters = request.input.reduce((sum, text) => sum + text.length, 0);
    if (characters > this.limits.maxPromptChars) {
      throw new GatewayException(
        GatewayErrorCode.PromptTooLarge,
        `input is ${characters} characters; the limit is ${this.limits.maxPromptChars}`,
      );
    }
    let model: ModelDto | undefined;
    let reservation: QuotaReservation | undefined;
    try {
      const resolved = await this.registry.resolveModel(request.model);
      model = resolved.models.find((candidate) => candidate.capabilities.embeddings);
      if (!model) {
        throw new GatewayException(
          GatewayErrorCode.ModelCannotEmbed,
          `${request.model} does not produce embeddings; an admin marks embedding models with capabilities.embeddings`,
        );
      }
      reservation = await this.quotas.reserve(subject, { promptTokens: Math.ceil(characters / 4), maxCompletionTokens: 0 });
      const { result, nodeId } = await this.embedOn(model, request.input, signal);
      await this.quotas.settle(reservation, result.usage.promptTokens);
      this.usage.record({
        subject,
        kind: 'embedding',
        requestedModel: request.model,
        model: model.name,
        provider: model.providerKind,
        nodeId,
        promptTokens: result.usage.promptTokens,
        completionTokens: 0,
        timeToFirstTokenMs: null,
        durationMs: Math.round(performance.now() - started),
        outcome: 'complete',
        cached: false,
        errorCode: null,
      });
      this.metrics.tokensUsed(model.name, result.usage.promptTokens, 0);
      return { ...result, model: model.name };
    } catch (error) {
      if (reservation) await this.quotas.settle(reservation, 0).catch(() => undefined);
      this.recordFailure(subject, request.model, model ?? null, started, error, 'embedding');
      throw error;
    }
  }

  private checkLimits(request: GatewayChatRequest): void {
    if (request.messages.length === 0) throw new GatewayException(GatewayErrorCode.InvalidRequest, 'messages must not be empty');
    if (request.messages.length > this.limits.maxMessages) {
      throw new GatewayException(
        GatewayErrorCode.InvalidRequest,
        `${request.messages.length} messages; the limit is ${this.limits.maxMessages}`,
      );
    }
    if (request.maxTokens !== undefined && request.maxTokens > this.limits.maxCompletionTokens) {
      throw new GatewayException(
        GatewayErrorCode.InvalidRequest,
        `max tokens ${request.maxTokens} is above the limit of ${this.limits.maxCompletionTokens}`,
      );
    }
    const characters = promptCharacters(request.messages);
    if (characters > this.limits.maxPromptChars) {
      throw new GatewayException(
        GatewayErrorCode.PromptTooLarge,
        `the prompt is ${characters} characters; the limit is ${this.limits.maxPromptChars}`,
        { characters, limit: this.limits.maxPromptChars },
      );
    }
  }

  /** Opens a stream on whichever backend serves the model; resolves after its first chunk. */
  private async open(model: ModelDto, request: GatewayChatRequest, signal: AbortSignal | undefined): Promise<Opened> {
    const concrete = { ...request, model: model.name };
    switch (model.providerKind) {
      case 'ollama': {
        const { route, chunks } = await this.router.stream(concrete, { signal });
        return {
          chunks,
          nodeId: route.nodeId,
          queuedMs: route.queuedMs,
          timeToFirstTokenMs: route.timeToFirstTokenMs,
          failedAttempts: route.failedAttempts,
        };
      }
      case 'openai-compatible': {
        const provider = await this.upstreams.providerFor(model.upstreamId ?? '');
        const { chunks, timeToFirstTokenMs } = await openDirectStream(provider, concrete, signal, this.limits.firstTokenTimeoutMs);
        return { chunks, nodeId: provider.id, queuedMs: 0, timeToFirstTokenMs, failedAttempts: [] };
      }
      case 'llama-cpp': {
        const provider = this.localProviderFor(model);
        const { chunks, timeToFirstTokenMs } = await openDirectStream(provider, concrete, signal, this.limits.firstTokenTimeoutMs);
        return { chunks, nodeId: provider.id, queuedMs: 0, timeToFirstTokenMs, failedAttempts: [] };
      }
    }
  }

  private async embedOn(
    model: ModelDto,
    input: string[],
    signal: AbortSignal | undefined,
  ): Promise<{ result: EmbedResult; nodeId: string }> {
    const request = { model: model.name, input };
    switch (model.providerKind) {
      case 'ollama': {
        const { nodeId, ...result } = await this.router.embed(request, { signal });
        return { result, nodeId };
      }
      case 'openai-compatible': {
        const provider = await this.upstreams.providerFor(model.upstreamId ?? '');
        return { result: await this.directEmbed(provider, request, signal), nodeId: provider.id };
      }
      case 'llama-cpp': {
        const provider = this.localProviderFor(model);
        return { result: await this.directEmbed(provider, request, signal), nodeId: provider.id };
      }
    }
  }

  private async directEmbed(
    provider: LlmProvider,
    request: { model: string; input: string[] },
    signal?: AbortSignal,
  ): Promise<EmbedResult> {
    try {
      return await provider.embed(request, signal);
    } catch (error) {
      if (signal?.aborted) throw new RouterException(RouterErrorCode.Aborted, 'request aborted');
      const retryable = (error as { retryable?: unknown }).retryable === true;
      const message = error instanceof Error ? error.message : String(error);
      throw new RouterException(
        retryable ? RouterErrorCode.UpstreamFailed : RouterErrorCode.UpstreamRejected,
        `${provider.id}: ${message}`,
      );
    }
  }

  private localProviderFor(model: ModelDto): LlmProvider {
    if (!this.local) {
      throw new RouterException(RouterErrorCode.NoNode, `model "${model.name}" runs in-process, but LLAMA_MODEL_PATH is not set here`);
    }
    return this.local;
  }

  private routingOf(plan: ModelPlan, chosen: Candidate, requested: string, opened: Opened, failures: RouteAttempt[]): RoutingDecision {
    const first = plan.candidates[0].model;
    return {
      requested,
      model: chosen.model.name,
      tier: chosen.model.tier,
      provider: chosen.model.providerKind,
      nodeId: opened.nodeId,
      via: plan.via,
      ...(chosen.model.name !== first.name && { fallbackFrom: first.name }),
      ...(plan.complexity && { complexity: plan.complexity }),
      cached: false,
      queuedMs: opened.queuedMs,
      timeToFirstTokenMs: Math.round(opened.timeToFirstTokenMs * 100) / 100,
      failedAttempts: [...failures, ...opened.failedAttempts],
    };
  }

  private fromCache(
    hit: CachedAnswer,
    plan: ModelPlan,
    request: GatewayChatRequest,
    subject: UsageSubject,
    started: number,
  ): GatewayStream {
    const model = plan.candidates[0].model;
    const routing: RoutingDecision = {
      requested: request.model,
      model: model.name,
      tier: model.tier,
      provider: model.providerKind,
      nodeId: 'cache',
      via: plan.via,
      ...(plan.complexity && { complexity: plan.complexity }),
      cached: true,
      queuedMs: 0,
      timeToFirstTokenMs: 0,
      failedAttempts: [],
    };
    this.metrics.decision(routing.tier, routing.via, true, false);
    this.usage.record({
      subject,
      kind: 'chat',
      requestedModel: request.model,
      model: model.name,
      provider: model.providerKind,
      nodeId: 'cache',
      promptTokens: 0,
      completionTokens: 0,
      timeToFirstTokenMs: 0,
      durationMs: Math.round(performance.now() - started),
      outcome: 'complete',
      cached: true,
      errorCode: null,
    });
    // A cached answer costs no tokens: nothing is generated and nothing counts against quotas.
    const chunk: ChatChunk = {
      content: hit.content,
      ...(hit.toolCalls && { toolCalls: hit.toolCalls }),
      done: true,
      finishReason: hit.finishReason,
      usage: { promptTokens: 0, completionTokens: 0 },
    };
    return { routing, chunks: single(chunk) };
  }

  private finish(
    outcome: StreamOutcome,
    call: {
      subject: UsageSubject;
      request: GatewayChatRequest;
      routing: RoutingDecision;
      reservation: QuotaReservation;
      started: number;
      cacheKey: string | null;
      promptTokens: number;
    },
  ): void {
    const { routing } = call;
    // An interrupted answer has no usage from the backend: count what was generated, roughly.
    const usage = outcome.usage ?? { promptTokens: call.promptTokens, completionTokens: Math.ceil(outcome.content.length / 4) };
    const total = usage.promptTokens + usage.completionTokens;
    void this.quotas.settle(call.reservation, total).catch(() => undefined);
    const errorCode = outcome.error instanceof AppException ? outcome.error.code : outcome.status === 'complete' ? null : 'CLIENT_CLOSED';
    this.usage.record({
      subject: call.subject,
      kind: 'chat',
      requestedModel: call.request.model,
      model: routing.model,
      provider: routing.provider,
      nodeId: routing.nodeId,
      promptTokens: usage.promptTokens,
      completionTokens: usage.completionTokens,
      timeToFirstTokenMs: Math.round(routing.timeToFirstTokenMs),
      durationMs: Math.round(outcome.endedAt - call.started),
      outcome: outcome.status,
      cached: false,
      errorCode,
    });
    this.metrics.tokensUsed(routing.model, usage.promptTokens, usage.completionTokens);
    if (outcome.status !== 'complete') return;
    const generationSeconds = (outcome.endedAt - call.started) / 1000 - routing.timeToFirstTokenMs / 1000 - routing.queuedMs / 1000;
    this.metrics.generation(routing.nodeId, routing.model, usage.completionTokens, generationSeconds);
    if (call.cacheKey && outcome.finishReason) {
      const answer: CachedAnswer = {
        content: outcome.content,
        ...(outcome.toolCalls.length > 0 && { toolCalls: outcome.toolCalls }),
        finishReason: outcome.finishReason,
        originalUsage: usage,
      };
      void this.cache.set(call.cacheKey, answer).catch(() => undefined);
    }
  }

  private recordFailure(
    subject: UsageSubject,
    requestedModel: string,
    model: ModelDto | null,
    started: number,
    error: unknown,
    kind: 'chat' | 'embedding' = 'chat',
  ): void {
    this.usage.record({
      subject,
      kind,
      requestedModel,
      model: model?.name ?? null,
      provider: model?.providerKind ?? null,
      nodeId: null,
      promptTokens: 0,
      completionTokens: 0,
      timeToFirstTokenMs: null,
      durationMs: Math.round(performance.now() - started),
      outcome: 'error',
      cached: false,
      errorCode: error instanceof AppException ? error.code : 'INTERNAL_ERROR',
    });
  }
}

function single(chunk: ChatChunk): AsyncIterable<ChatChunk> {
  return {
    [Symbol.asyncIterator]: () => {
      let sent = false;
      return {
        next: () => {
          const result: IteratorResult<ChatChunk> = sent ? { done: true, value: undefined } : { done: false, value: chunk };
          sent = true;
          return Promise.resolve(result);
        },
      };
    },
  };
}

function promptCharacters(messages: readonly ChatMessage[]): number {
  let characters = 0;
  for (const message of messages) {
    characters += message.content.length;
    for (const call of message.toolCalls ?? []) characters += call.function.arguments.length + call.function.name.length;
  }
  return characters;
}

/** About four characters a token plus a few per message for the chat template; settled to the real count after. */
export function estimatePromptTokens(messages: readonly ChatMessage[]): number {
  return Math.ceil(promptCharacters(messages) / 4) + 4 * messages.length;
}
