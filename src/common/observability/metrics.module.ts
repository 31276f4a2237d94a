import { Module, OnModuleInit } from '@nestjs/common';
import { makeCounterProvider, makeHistogramProvider, PrometheusModule } from '@willsoto/nestjs-prometheus';
import { collectDefaultMetrics, register } from 'prom-client';
import {
  HTTP_DURATION_BUCKETS,
  HTTP_METRIC_LABELS,
  HTTP_REQUEST_DURATION_SECONDS,
  HTTP_REQUESTS_TOTAL,
  HttpMetricsService,
} from 'src/common/observability/http-metrics.service';
import { MetricsController } from 'src/common/observability/metrics.controller';

/**
 * Process metrics are process-wide and prom-client's registry refuses a second copy, so they
 * are collected once per process however many applications it boots (the tests boot several).
 */
function collectProcessMetricsOnce(): void {
  if (!register.getSingleMetric('process_cpu_user_seconds_total')) collectDefaultMetrics();
}

/**
 * Prometheus metrics at `GET /metrics`: Node process metrics plus HTTP request counts and
 * latencies by route template. Other modules add their own metrics with
 * `makeCounterProvider` / `@InjectMetric` on the same default registry.
 */
@Module({
  imports: [PrometheusModule.register({ path: '/metrics', controller: MetricsController, defaultMetrics: { enabled: false } })],
  providers: [
    makeCounterProvider({ name: HTTP_REQUESTS_TOTAL, help: 'HTTP responses sent, by route template', labelNames: HTTP_METRIC_LABELS }),
    makeHistogramProvider({
      name: HTTP_REQUEST_DURATION_SECONDS,
      help: 'Time from request arrival to response sent, by route template',
      labelNames: HTTP_METRIC_LABELS,
      buckets: HTTP_DURATION_BUCKETS,
    }),
    HttpMetricsService,
  ],
})
export class MetricsModule implements OnModuleInit {
  onModuleInit(): void {
    collectProcessMetricsOnce();
  }
}
