import { Admission, AdmissionOptions, Lease } from 'src/modules/model-router/admission';
import { NodePool, PoolNode } from 'src/modules/model-router/node-pool';
import {
  ChatChunk,
  ChatRequest,
  ChatResult,
  EmbedRequest,
  EmbedResult,
  ProviderError,
  TokenUsage,
} from 'src/modules/model-router/providers/llm-provider';
import { toProviderError } from 'src/modules/model-router/providers/ollama.provider';
import { RouterErrorCode, RouterException, RouterStreamInterruptedError } from 'src/modules/model-router/router.exception';
import { RouterMetrics } from 'src/modules/model-router/router.metrics';
import { continueAfterFirstChunk } from 'src/modules/model-router/first-chunk-stream';

export interface RouterOptions extends AdmissionOptions {
  /** Nodes tried for one request before the first token (1 = no retry). */
  maxAttempts: number;
  /** A node that sends no first chunk within this is abandoned for the next one. */
  firstTokenTimeoutMs: number;
}

export interface RouteAttempt {
  nodeId: string;
  error: string;
}

/** How a request was placed: the node that answers, and the failed attempts before it. */
export interface RouteDecision {
  nodeId: string;
  model: string;
  /** Whether the model was loaded on the node when it was chosen. */
  loaded: boolean;
  queuedMs: number;
  failedAttempts: RouteAttempt[];
  timeToFirstTokenMs: number;
}

export interface RoutedStream {
  route: RouteDecision;
  /**
   * The answer, starting with the first chunk. Consume it to the end or break out of it:
   * either releases the node slot. After the first chunk a node failure is thrown as
   * RouterStreamInterruptedError, never a silent end.
   */
  chunks: AsyncIterable<ChatChunk>;
}

class FirstTokenTimeout extends Error {}

/**
 * Routes chat requests to Ollama nodes: admission (slots and queue), retry on another node
 * while nothing has been sent, an explicit error once something has, breakers fed by results.
 */
export class RouterService {
  readonly admission: Admission;

  constructor(
    readonly pool: NodePool,
    private readonly options: RouterOptions,
    private readonly metrics?: RouterMetrics,
  ) {
    this.admission = new Admission(pool, options, metrics);
  }

  /**
   * Resolves once a node has sent the first chunk (so the route is final and a failure before
   * it can still become a clean HTTP error); rejects with a RouterException otherwise.
   */
  async stream(request: ChatRequest, { signal }: { signal?: AbortSignal } = {}): Promise<RoutedStream> {
    const failedAttempts: RouteAttempt[] = [];
    const tried = new Set<string>();
    for (let attempt = 0; attempt < this.options.maxAttempts; attempt++) {
      const lease = await this.nextLease(request.model, tried, failedAttempts, signal);
      if (!lease) break;
      const opened = await this.open(request, lease, signal);
      if ('stream' in opened) return { route: { ...opened.route, failedAttempts }, chunks: opened.stream };
      failedAttempts.push({ nodeId: lease.node.id, error: opened.error.message });
    }
    throw allFailed(request.model, failedAttempts);
  }

  /** The whole answer; retried like stream(), and an interrupted answer is an error, not a result. */
  async complete(request: ChatRequest, { signal }: { signal?: AbortSignal } = {}): Promise<ChatResult & { route: RouteDecision }> {
    const { route, chunks } = await this.stream(request, { signal });
    let content = '';
    const toolCalls: NonNullable<ChatChunk['toolCalls']> = [];
    let usage: TokenUsage = { promptTokens: 0, completionTokens: 0 };
    let finishReason: ChatResult['finishReason'] = 'stop';
    for await (const chunk of chunks) {
      content += chunk.content;
      if (chunk.toolCalls) toolCalls.push(...chunk.toolCalls);
      if (chunk.done) {
        usage = chunk.usage ?? usage;
        finishReason = chunk.finishReason ?? finishReason;
      }
    }
    return { content, toolCalls: toolCalls.length > 0 ? toolCalls : undefined, finishReason, usage, route };
  }

  /** Embeddings on a node that serves the model, under the same slots, retries and breakers as chat. */
  async embed(request: EmbedRequest, { signal }: { signal?: AbortSignal } = {}): Promise<EmbedResult & { nodeId: string }> {
    const failedAttempts: RouteAttempt[] = [];
    const tried = new Set<string>();
    for (let attempt = 0; attempt < this.options.maxAttempts; attempt++) {
      const lease = await this.nextLease(request.model, tried, failedAttempts, signal);
      if (!lease) break;
      const { node } = lease;
      try {
        const result = await node.provider.embed(request, signal);
        this.recordSuccess(node);
        node.loaded.add(request.model);
        return { ...result, nodeId: node.id };
      } catch (raw) {
        const error = this.judgeFailure(node, request.model, toProviderError(raw), signal);
        failedAttempts.push({ nodeId: node.id, error: error.message });
      } finally {
        lease.release();
      }
    }
    throw allFailed(request.model, failedAttempts);
  }

  /**
   * A slot on a node not tried yet; null when a retry finds no such node (the failures so far
   * are the answer). Admission errors are counted and thrown.
   */
  private async nextLease(model: string, tried: Set<string>, failedAttempts: RouteAttempt[], signal?: AbortSignal): Promise<Lease | null> {
    try {
      const lease = await this.admission.acquire(model, tried, signal);
      tried.add(lease.node.id);
      return lease;
    } catch (error) {
      if (error instanceof RouterException && error.code === (RouterErrorCode.NoNode as string) && failedAttempts.length > 0) return null;
      if (error instanceof RouterException) this.countAdmissionError(model, error.code);
      throw error;
    }
  }

  /**
   * A failure before any output, judged: the caller's abort and a rejection (4xx: the node is
   * alive, the request is at fault) are thrown; a retryable failure counts against the node's
   * breaker and is returned, so the next node may be tried.
   */
  private judgeFailure(node: PoolNode, model: string, error: ProviderError, signal?: AbortSignal): ProviderError {
    if (signal?.aborted) {
      node.breaker.releaseProbe();
      throw new RouterException(RouterErrorCode.Aborted, 'request aborted');
    }
    if (!error.retryable) {
      this.recordSuccess(node);
      this.metrics?.error(node.id, model, 'rejected');
      throw new RouterException(RouterErrorCode.UpstreamRejected, error.message);
    }
    node.breaker.recordFailure();
    this.reportCircuit(node.id, node.breaker.state);
    this.metrics?.error(node.id, model, 'retried');
    return error;
  }

  private recordSuccess(node: PoolNode): void {
    node.breaker.recordSuccess();
    this.reportCircuit(node.id, node.breaker.state);
  }

  /** One attempt on one node, up to its first chunk. */
  private async open(
    request: ChatRequest,
    lease: Lease,
    signal: AbortSignal | undefined,
  ): Promise<{ stream: AsyncIterable<ChatChunk>; route: Omit<RouteDecision, 'failedAttempts'> } | { error: ProviderError }> {
    const { node } = lease;
    const controller = new AbortController();
    const onAbort = (): void => {
      controller.abort(signal?.reason);
      // A consumer that aborts without reading on must not hold the slot.
      lease.release();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    // An abort between admission and here fired no event.
    if (signal?.aborted) onAbort();
    const detach = (): void => signal?.removeEventListener('abort', onAbort);
    const loaded = node.loaded.has(request.model);
    const started = Date.now();
    const timer = setTimeout(
      () => controller.abort(new FirstTokenTimeout(`no first token within ${this.options.firstTokenTimeoutMs} ms`)),
      this.options.firstTokenTimeoutMs,
    );
    const iterator = node.provider.chatStream(request, controller.signal)[Symbol.asyncIterator]();
    let first: IteratorResult<ChatChunk>;
    try {
      first = await iterator.next();
    } catch (raw) {
      clearTimeout(timer);
      detach();
      controller.abort();
      lease.release();
      const reason: unknown = controller.signal.reason;
      const error = reason instanceof FirstTokenTimeout ? new ProviderError(reason.message, true) : toProviderError(raw);
      return { error: this.judgeFailure(node, request.model, error, signal) };
    }
    clearTimeout(timer);
    const ttftMs = Date.now() - started;
    this.recordSuccess(node);
    this.metrics?.timeToFirstToken(node.id, request.model, ttftMs / 1000);
    node.loaded.add(request.model);
    const stream = continueAfterFirstChunk(first, iterator, {
      signal,
      interrupted: (sent, reason) => this.interrupted(node, request.model, sent, reason),
      cleanup: async (finished) => {
        detach();
        // Stops generation on the node when the consumer left early; harmless after the end.
        if (!finished) controller.abort();
        await iterator.return?.().catch(() => undefined);
        lease.release();
      },
    });
    return { stream, route: { nodeId: node.id, model: request.model, loaded, queuedMs: lease.queuedMs, timeToFirstTokenMs: ttftMs } };
  }

  private interrupted(node: PoolNode, model: string, sent: number, reason: string): RouterStreamInterruptedError {
    node.breaker.recordFailure();
    this.reportCircuit(node.id, node.breaker.state);
    this.metrics?.error(node.id, model, 'interrupted');
    return new RouterStreamInterruptedError(
      `node ${node.id} failed after ${sent} chunks: ${reason}; the answer is incomplete`,
      node.id,
      sent,
    );
  }

  private countAdmissionError(model: string, code: string): void {
    if (code === (RouterErrorCode.Overloaded as string)) this.metrics?.error('none', model, 'overloaded');
    if (code === (RouterErrorCode.NoNode as string)) this.metrics?.error('none', model, 'no_node');
  }

  private reportCircuit(nodeId: string, state: Parameters<RouterMetrics['circuit']>[1]): void {
    this.metrics?.circuit(nodeId, state);
  }
}

function allFailed(model: string, failedAttempts: RouteAttempt[]): RouterException {
  const summary = failedAttempts.map((a) => `${a.nodeId}: ${a.error}`).join('; ');
  return new RouterException(RouterErrorCode.UpstreamFailed, `model "${model}" failed on every node tried (${summary})`);
}
