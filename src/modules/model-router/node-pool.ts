import { promises as dns } from 'node:dns';
import { Logger } from '@nestjs/common';
import { CircuitBreaker, CircuitBreakerOptions } from 'src/modules/model-router/circuit-breaker';
import { LlmProvider, LoadedModel } from 'src/modules/model-router/providers/llm-provider';
import { OllamaProvider } from 'src/modules/model-router/providers/ollama.provider';

export interface NodePoolOptions {
  /** Static node URLs (OLLAMA_URLS). */
  urls: string[];
  /** `host:port` of a headless Service whose A records are the nodes (OLLAMA_DNS). */
  dns?: string;
  dnsRefreshMs: number;
  healthIntervalMs: number;
  psIntervalMs: number;
  probeTimeoutMs: number;
  circuit: CircuitBreakerOptions;
}

export type Resolver = (hostname: string) => Promise<string[]>;

export interface NodePoolDeps {
  resolver?: Resolver;
  providerFactory?: (url: string) => LlmProvider;
  now?: () => number;
}

/** One Ollama node and what the router knows about it. */
export class PoolNode {
  healthy = false;
  /** Null until the first successful /api/tags: an unprobed node serves nothing. */
  models: Set<string> | null = null;
  loaded = new Set<string>();
  /** The last /api/ps answer in full (VRAM, expiry), for the admin view; `loaded` is what placement uses. */
  loadedDetails: LoadedModel[] = [];
  /** Last successful probe or poll, and the last failure's message (cleared by a success). */
  lastSeenAt: Date | null = null;
  lastError: string | null = null;
  readonly inFlight = new Map<string, number>();

  constructor(
    readonly url: string,
    readonly source: 'static' | 'dns',
    readonly provider: LlmProvider,
    readonly breaker: CircuitBreaker,
  ) {}

  get id(): string {
    return this.provider.id;
  }

  serves(model: string): boolean {
    return this.models?.has(model) ?? false;
  }

  inFlightFor(model: string): number {
    return this.inFlight.get(model) ?? 0;
  }
}

/**
 * The set of Ollama nodes: from static URLs and/or a DNS name re-resolved periodically so
 * nodes join and leave, each health-checked (/api/version) and polled for what it has on
 * disk (/api/tags) and in memory (/api/ps).
 */
export class NodePool {
  private readonly logger = new Logger(NodePool.name);
  private readonly byUrl = new Map<string, PoolNode>();
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private readonly resolver: Resolver;
  private readonly providerFactory: (url: string) => LlmProvider;
  private readonly now: () => number;
  /** Called when a node may have become usable, so queued requests get a chance. */
  onChange: () => void = () => undefined;

  constructor(
    private readonly options: NodePoolOptions,
    deps: NodePoolDeps = {},
  ) {
    this.resolver = deps.resolver ?? ((hostname) => dns.resolve4(hostname));
    this.providerFactory = deps.providerFactory ?? ((url) => new OllamaProvider({ host: url, probeTimeoutMs: options.probeTimeoutMs }));
    this.now = deps.now ?? Date.now;
    for (const url of options.urls) this.add(url, 'static');
  }

  get nodes(): PoolNode[] {
    return [...this.byUrl.values()];
  }

  get(id: string): PoolNode | undefined {
    return this.nodes.find((node) => node.id === id);
  }

  /** First resolution and probe, then periodic timers; with no nodes configured it does nothing. */
  async start(): Promise<void> {
    if (this.options.urls.length === 0 && !this.options.dns) return;
    await this.refresh();
    // stop() may have come while the first probe was in flight (a short-lived app or test).
    if (this.stopped) return;
    if (this.options.dns) this.every(this.options.dnsRefreshMs, () => this.resolveDns());
    this.every(this.options.healthIntervalMs, () => this.checkHealth());
    this.every(this.options.psIntervalMs, () => this.pollLoaded());
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    for (const node of this.nodes) this.close(node);
  }

  /** Re-resolves DNS and probes every node now. */
  async refresh(): Promise<void> {
    await this.resolveDns();
    await this.checkHealth();
  }

  async resolveDns(): Promise<void> {
    if (!this.options.dns) return;
    const { hostname, port, protocol } = parseDnsTarget(this.options.dns);
    let addresses: string[];
    try {
      addresses = await this.resolver(hostname);
    } catch (error) {
      // A failed lookup keeps the last known set: a DNS blip must not empty the pool.
      this.logger.warn(`resolving ${hostname} failed: ${(error as Error).message}`);
      return;
    }
    const wanted = new Set(addresses.map((address) => `${protocol}//${address.includes(':') ? `[${address}]` : address}:${port}`));
    for (const node of this.nodes) {
      if (node.source === 'dns' && !wanted.has(node.url)) this.remove(node.url);
    }
    const joined = [...wanted].filter((url) => !this.byUrl.has(url)).map((url) => this.add(url, 'dns'));
    await Promise.all(joined.map((node) => this.probe(node)));
  }

  async checkHealth(): Promise<void> {
    await Promise.all(this.nodes.map((node) => this.probe(node)));
  }

  async pollLoaded(): Promise<void> {
    await Promise.all(
      this.nodes
        .filter((node) => node.healthy)
        .map(async (node) => {
          try {
            this.setLoaded(node, await node.provider.listLoaded());
          } catch (error) {
            node.healthy = false;
            node.lastError = (error as Error).message;
          }
        }),
    );
  }

  add(url: string, source: 'static' | 'dns'): PoolNode {
    const normalized = url.replace(/\/$/, '');
    const existing = this.byUrl.get(normalized);
    if (existing) return existing;
    const node = new PoolNode(normalized, source, this.providerFactory(normalized), new CircuitBreaker(this.options.circuit, this.now));
    this.byUrl.set(normalized, node);
    return node;
  }

  /** Requests already running on the node finish or fail on their own; no new ones go there. */
  remove(url: string): void {
    const key = url.replace(/\/$/, '');
    const node = this.byUrl.get(key);
    this.byUrl.delete(key);
    if (node) this.close(node);
  }

  /** The node's connections close once its running requests end (close waits for them). */
  private close(node: PoolNode): void {
    node.provider.close?.().catch((error: Error) => this.logger.warn(`closing ${node.url}: ${error.message}`));
  }

  /** Health, models on disk and models in memory of one node. */
  async probe(node: PoolNode): Promise<void> {
    try {
      await node.provider.ping();
      const [models, loaded] = await Promise.all([node.provider.listModels(), node.provider.listLoaded()]);
      node.models = new Set(models.map((m) => m.name));
      this.setLoaded(node, loaded);
      node.lastError = null;
      const wasHealthy = node.healthy;
      node.healthy = true;
      if (!wasHealthy) this.onChange();
    } catch (error) {
      node.healthy = false;
      node.lastError = (error as Error).message;
    }
  }

  private setLoaded(node: PoolNode, loaded: LoadedModel[]): void {
    node.loaded = new Set(loaded.map((m) => m.name));
    node.loadedDetails = loaded;
    node.lastSeenAt = new Date(this.now());
  }

  private every(ms: number, task: () => Promise<void>): void {
    const timer = setInterval(() => void task().catch((error: Error) => this.logger.warn(error.message)), ms);
    // Polling must never keep a process (or a test run) alive on its own.
    timer.unref();
    this.timers.push(timer);
  }
}

/** `ollama-headless:11434` or `http://ollama-headless:11434`. */
export function parseDnsTarget(value: string): { hostname: string; port: string; protocol: string } {
  const url = new URL(value.includes('://') ? value : `http://${value}`);
  return { hostname: url.hostname, port: url.port || '11434', protocol: url.protocol };
}
