import { NodePool, PoolNode } from 'src/modules/model-router/node-pool';
import { RouterErrorCode, RouterException } from 'src/modules/model-router/router.exception';
import { RouterMetrics } from 'src/modules/model-router/router.metrics';

export interface AdmissionOptions {
  /** Concurrent requests per node and model (like OLLAMA_NUM_PARALLEL). */
  modelConcurrency: number;
  /** Requests allowed to wait for a slot; past it, ROUTER_OVERLOADED (429). */
  queueMax: number;
  /** Longest wait for a slot; past it, ROUTER_OVERLOADED (429). */
  queueTimeoutMs: number;
}

/** A claimed slot on one node for one model; release() is idempotent. */
export interface Lease {
  readonly node: PoolNode;
  readonly model: string;
  readonly queuedMs: number;
  release(): void;
}

interface Waiter {
  model: string;
  excluded: ReadonlySet<string>;
  enqueuedAt: number;
  grant(node: PoolNode): void;
  fail(error: Error): void;
}

/**
 * Placement and admission: picks a node for a model and holds its slot. Candidates are
 * healthy nodes with the model on disk whose breaker lets a request through; among those
 * with a free slot, nodes with the model already loaded come first, then the least busy,
 * ties round-robin. With every slot taken the request waits in a bounded FIFO queue rather
 * than piling onto Ollama until it answers 503.
 */
export class Admission {
  private readonly queue: Waiter[] = [];
  private readonly roundRobin = new Map<string, number>();

  constructor(
    private readonly pool: NodePool,
    private readonly options: AdmissionOptions,
    private readonly metrics?: RouterMetrics,
  ) {
    pool.onChange = () => this.drain();
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  /** Resolves with a slot, or rejects with ROUTER_NO_NODE, ROUTER_OVERLOADED or ROUTER_ABORTED. */
  acquire(model: string, excluded: ReadonlySet<string>, signal?: AbortSignal): Promise<Lease> {
    if (signal?.aborted) return Promise.reject(new RouterException(RouterErrorCode.Aborted, 'request aborted'));
    const candidates = this.candidates(model, excluded);
    if (candidates.length === 0) {
      return Promise.reject(new RouterException(RouterErrorCode.NoNode, `no healthy node serves model "${model}"`));
    }
    const node = this.pick(model, candidates);
    if (node) return Promise.resolve(this.lease(node, model, 0));
    if (this.queue.length >= this.options.queueMax) {
      return Promise.reject(
        new RouterException(
          RouterErrorCode.Overloaded,
          `all ${model} slots are busy and ${this.queue.length} requests are already waiting; retry later`,
        ),
      );
    }
    return new Promise<Lease>((resolve, reject) => {
      const enqueuedAt = Date.now();
      const leave = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const index = this.queue.indexOf(waiter);
        if (index >= 0) this.queue.splice(index, 1);
        this.metrics?.queueDepth(this.queue.length);
      };
      const waiter: Waiter = {
        model,
        excluded,
        enqueuedAt,
        grant: (granted) => {
          leave();
          resolve(this.lease(granted, model, Date.now() - enqueuedAt));
        },
        fail: (error) => {
          leave();
          reject(error);
        },
      };
      const timer = setTimeout(
        () =>
          waiter.fail(
            new RouterException(RouterErrorCode.Overloaded, `no ${model} slot freed within ${this.options.queueTimeoutMs} ms; retry later`),
          ),
        this.options.queueTimeoutMs,
      );
      const onAbort = (): void => waiter.fail(new RouterException(RouterErrorCode.Aborted, 'request aborted while queued'));
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.metrics?.queueDepth(this.queue.length);
    });
  }

  /** Hands freed slots to waiters in arrival order; a waiter whose model has no free slot keeps its place. */
  drain(): void {
    for (const waiter of [...this.queue]) {
      const candidates = this.candidates(waiter.model, waiter.excluded);
      if (candidates.length === 0) {
        waiter.fail(new RouterException(RouterErrorCode.NoNode, `no healthy node serves model "${waiter.model}"`));
        continue;
      }
      const node = this.pick(waiter.model, candidates);
      if (node) waiter.grant(node);
    }
  }

  private candidates(model: string, excluded: ReadonlySet<string>): PoolNode[] {
    return this.pool.nodes.filter((node) => node.healthy && node.serves(model) && !excluded.has(node.id) && node.breaker.canAttempt());
  }

  private pick(model: string, candidates: PoolNode[]): PoolNode | undefined {
    const free = candidates.filter((node) => node.inFlightFor(model) < this.options.modelConcurrency);
    if (free.length === 0) return undefined;
    const rank = (node: PoolNode): [number, number] => [node.loaded.has(model) ? 0 : 1, node.inFlightFor(model)];
    const best = free.reduce((a, b) => (compare(rank(b), rank(a)) < 0 ? b : a));
    const ties = free.filter((node) => compare(rank(node), rank(best)) === 0);
    const turn = this.roundRobin.get(model) ?? 0;
    this.roundRobin.set(model, turn + 1);
    const chosen = ties[turn % ties.length];
    // In half-open only one caller wins the probe; a loser is simply not placed there.
    return chosen.breaker.tryAcquire() ? chosen : undefined;
  }

  private lease(node: PoolNode, model: string, queuedMs: number): Lease {
    node.inFlight.set(model, node.inFlightFor(model) + 1);
    this.metrics?.inFlight(node.id, model, node.inFlightFor(model));
    let released = false;
    return {
      node,
      model,
      queuedMs,
      release: () => {
        if (released) return;
        released = true;
        node.inFlight.set(model, Math.max(0, node.inFlightFor(model) - 1));
        this.metrics?.inFlight(node.id, model, node.inFlightFor(model));
        // After the current call stack, so a stream's cleanup completes before a waiter starts.
        queueMicrotask(() => this.drain());
      },
    };
  }
}

function compare(a: [number, number], b: [number, number]): number {
  return a[0] - b[0] || a[1] - b[1];
}
