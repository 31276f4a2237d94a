import { Injectable, Logger, Module, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { getToken, makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { CacheStore } from 'src/common/cache/cache-store';
import { AppConfig } from 'src/config/app-config';
import { ChatGatewayService, LOCAL_LLM_PROVIDER } from 'src/modules/model-router/gateway/chat-gateway.service';
import {
  GatewayMetrics,
  ROUTER_DECISIONS_TOTAL,
  ROUTER_TOKENS_PER_SECOND,
  ROUTER_TOKENS_TOTAL,
  TOKENS_PER_SECOND_BUCKETS,
} from 'src/modules/model-router/gateway/gateway.metrics';
import { LocalModelRegistration } from 'src/modules/model-router/gateway/local-model.registration';
import { ResponseCache } from 'src/modules/model-router/gateway/response-cache';
import { NodePool } from 'src/modules/model-router/node-pool';
import { NodesController } from 'src/modules/model-router/nodes/nodes.controller';
import { NodesResolver } from 'src/modules/model-router/nodes/nodes.resolver';
import { NodesService } from 'src/modules/model-router/nodes/nodes.service';
import { OpenAiController } from 'src/modules/model-router/openai-api/openai.controller';
import { LlamaCppProvider } from 'src/modules/model-router/providers/llama-cpp.provider';
import { ModelRegistryModule } from 'src/modules/model-router/registry/model-registry.module';
import { UsageModule } from 'src/modules/model-router/usage/usage.module';
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
 * The `router` role: the chat gateway (model choice, quotas, cache, usage) over the Ollama
 * node pool (placement, admission, failover), OpenAI-compatible upstreams and the in-process
 * model. Other modules chat through ChatGatewayService; with neither OLLAMA_URLS nor
 * OLLAMA_DNS set the pool stays empty and idle.
 */
@Module({
  imports: [ModelRegistryModule, UsageModule],
  controllers: [OpenAiController, NodesController],
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
    NodesService,
    NodesResolver,
    makeCounterProvider({
      name: ROUTER_DECISIONS_TOTAL,
      help: 'Routing decisions by tier that answered, how the model was named, cache hit and fallback',
      labelNames: ['tier', 'via', 'cached', 'fallback'],
    }),
    makeHistogramProvider({
      name: ROUTER_TOKENS_PER_SECOND,
      help: 'Completion tokens per second after the first token, by node and model',
      labelNames: ['node', 'model'],
      buckets: TOKENS_PER_SECOND_BUCKETS,
    }),
    makeCounterProvider({
      name: ROUTER_TOKENS_TOTAL,
      help: 'Tokens processed by model and kind (prompt, completion)',
      labelNames: ['model', 'kind'],
    }),
    {
      provide: GatewayMetrics,
      inject: [getToken(ROUTER_DECISIONS_TOTAL), getToken(ROUTER_TOKENS_PER_SECOND), getToken(ROUTER_TOKENS_TOTAL)],
      useFactory: (
        decisions: Counter<'tier' | 'via' | 'cached' | 'fallback'>,
        speed: Histogram<'node' | 'model'>,
        tokens: Counter<'model' | 'kind'>,
      ) => new GatewayMetrics(decisions, speed, tokens),
    },
    {
      provide: ResponseCache,
      inject: [CacheStore, AppConfig],
      useFactory: (cache: CacheStore, config: AppConfig) =>
        new ResponseCache(cache.namespace('router-answers'), config.router.cacheTtlSeconds, config.router.cacheMaxEntryBytes),
    },
    {
      provide: LOCAL_LLM_PROVIDER,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => (config.llamaCpp ? new LlamaCppProvider(config.llamaCpp) : null),
    },
    LocalModelRegistration,
    ChatGatewayService,
  ],
  exports: [RouterService, NodePool, ChatGatewayService],
})
export class ModelRouterModule {}
