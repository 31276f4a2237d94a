import { Injectable, Logger, Module, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { getToken, makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { AppConfig } from 'src/config/app-config';
import { NodePool } from 'src/modules/model-router/node-pool';
import {
  ROUTER_CIRCUIT_STATE,
  ROUTER_ERRORS_TOTAL,
  ROUTER_IN_FLIGHT,
  ROUTER_QUEUE_DEPTH,
  ROUTER_TTFT_SECONDS,
  RouterMetrics,
  TTFT_BUCKETS,
} from 'src/modules/model-router/router.metrics';
import { RouterService } from 'src/modules/model-router/router.service';

/** Starts node discovery and polling after boot, stops it on shutdown. */
@Injectable()
class NodePoolLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('ModelRouter');

  constructor(private readonly pool: NodePool) {}

  onApplicationBootstrap(): void {
    // Not awaited: an unreachable node must not hold up boot; it joins once it answers.
    this.pool.start().catch((error: Error) => this.logger.error(`node pool failed to start: ${error.message}`));
  }

  onModuleDestroy(): void {
    this.pool.stop();
  }
}

/**
 * The `router` role: Ollama node pool, placement and admission, failover. Other modules use
 * RouterService; with neither OLLAMA_URLS nor OLLAMA_DNS set the pool stays empty and idle.
 */
@Module({
  providers: [
    makeGaugeProvider({ name: ROUTER_IN_FLIGHT, help: 'Requests running, by node and model', labelNames: ['node', 'model'] }),
    makeGaugeProvider({ name: ROUTER_QUEUE_DEPTH, help: 'Requests waiting for a node slot' }),
    makeHistogramProvider({
      name: ROUTER_TTFT_SECONDS,
      help: 'Time from dispatch to the first chunk, by node and model',
      labelNames: ['node', 'model'],
      buckets: TTFT_BUCKETS,
    }),
    makeCounterProvider({
      name: ROUTER_ERRORS_TOTAL,
      help: 'Router errors by node, model and kind',
      labelNames: ['node', 'model', 'kind'],
    }),
    makeGaugeProvider({
      name: ROUTER_CIRCUIT_STATE,
      help: 'Circuit breaker state per node: 0 closed, 1 half-open, 2 open',
      labelNames: ['node'],
    }),
    {
      provide: RouterMetrics,
      inject: [
        getToken(ROUTER_IN_FLIGHT),
        getToken(ROUTER_QUEUE_DEPTH),
        getToken(ROUTER_TTFT_SECONDS),
        getToken(ROUTER_ERRORS_TOTAL),
        getToken(ROUTER_CIRCUIT_STATE),
      ],
      useFactory: (
        inFlight: Gauge<'node' | 'model'>,
        queue: Gauge,
        ttft: Histogram<'node' | 'model'>,
        errors: Counter<'node' | 'model' | 'kind'>,
        circuit: Gauge<'node'>,
      ) => new RouterMetrics(inFlight, queue, ttft, errors, circuit),
    },
    {
      provide: NodePool,
      inject: [AppConfig],
      useFactory: (config: AppConfig) =>
        new NodePool({
          urls: config.router.ollamaUrls,
          dns: config.router.ollamaDns,
          dnsRefreshMs: config.router.dnsRefreshMs,
          healthIntervalMs: config.router.healthIntervalMs,
          psIntervalMs: config.router.psIntervalMs,
          probeTimeoutMs: config.router.probeTimeoutMs,
          circuit: config.router.circuit,
        }),
    },
    {
      provide: RouterService,
      inject: [NodePool, AppConfig, RouterMetrics],
      useFactory: (pool: NodePool, config: AppConfig, metrics: RouterMetrics) => new RouterService(pool, config.router, metrics),
    },
    NodePoolLifecycle,
  ],
  exports: [RouterService, NodePool],
})
export class ModelRouterModule {}
