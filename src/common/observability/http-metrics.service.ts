import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { FastifyInstance } from 'fastify';
import type { Counter, Histogram } from 'prom-client';

export const HTTP_REQUESTS_TOTAL = 'http_requests_total';
export const HTTP_REQUEST_DURATION_SECONDS = 'http_request_duration_seconds';
export const HTTP_METRIC_LABELS = ['method', 'route', 'status'] as const;
/** Up to two minutes: model calls and streamed answers are slow by nature. */
export const HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** The `route` label of requests that matched no route (404s, scans). */
export const UNMATCHED_ROUTE = 'unmatched';

type Label = (typeof HTTP_METRIC_LABELS)[number];

interface Series {
  requests: Counter.Internal;
  duration: Histogram.Internal<Label>;
}

/**
 * Counts every HTTP response, errors and 404s included, from a Fastify `onResponse` hook
 * (an interceptor would miss requests rejected before a handler runs). The `route` label is
 * the route template, never the raw URL, so the number of series stays bounded. Each
 * label combination is resolved once and cached: the per-request cost is a map lookup, an
 * increment and a bucket search.
 */
@Injectable()
export class HttpMetricsService implements OnModuleInit {
  private readonly series = new Map<string, Series>();

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @InjectMetric(HTTP_REQUESTS_TOTAL) private readonly requests: Counter<Label>,
    @InjectMetric(HTTP_REQUEST_DURATION_SECONDS) private readonly duration: Histogram<Label>,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (request, reply, done) => {
      this.record(request.method, request.routeOptions.url ?? UNMATCHED_ROUTE, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }

  record(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let series = this.series.get(key);
    if (!series) {
      const labels = { method, route, status: String(status) };
      series = { requests: this.requests.labels(labels), duration: this.duration.labels(labels) };
      this.series.set(key, series);
    }
    series.requests.inc();
    series.duration.observe(seconds);
  }
}
