import type { Counter, Histogram } from 'prom-client';

export const ROUTER_DECISIONS_TOTAL = 'gremlins_router_decisions_total';
export const ROUTER_TOKENS_PER_SECOND = 'gremlins_router_tokens_per_second';
export const ROUTER_TOKENS_TOTAL = 'gremlins_router_tokens_total';
export const TOKENS_PER_SECOND_BUCKETS = [1, 5, 10, 20, 40, 80, 160, 320, 640];

/** What the gateway reports on top of the node-level router metrics. */
export class GatewayMetrics {
  constructor(
    private readonly decisions: Counter<'tier' | 'via' | 'cached' | 'fallback'>,
    private readonly tokensPerSecond: Histogram<'node' | 'model'>,
    private readonly tokens: Counter<'model' | 'kind'>,
  ) {}

  decision(tier: string, via: string, cached: boolean, fallback: boolean): void {
    this.decisions.inc({ tier, via, cached: String(cached), fallback: String(fallback) });
  }

  /** Generation speed after the first token, the figure users feel while reading. */
  generation(node: string, model: string, completionTokens: number, generationSeconds: number): void {
    if (completionTokens > 1 && generationSeconds > 0) this.tokensPerSecond.observe({ node, model }, completionTokens / generationSeconds);
  }

  tokensUsed(model: string, promptTokens: number, completionTokens: number): void {
    if (promptTokens > 0) this.tokens.inc({ model, kind: 'prompt' }, promptTokens);
    if (completionTokens > 0) this.tokens.inc({ model, kind: 'completion' }, completionTokens);
  }
}
