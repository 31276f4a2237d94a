import type { Counter, Gauge, Histogram } from 'prom-client';
import type { CircuitState } from 'src/modules/model-router/circuit-breaker';

export const ROUTER_IN_FLIGHT = 'gremlins_router_in_flight';
export const ROUTER_QUEUE_DEPTH = 'gremlins_router_queue_depth';
export const ROUTER_TTFT_SECONDS = 'gremlins_router_time_to_first_token_seconds';
export const ROUTER_ERRORS_TOTAL = 'gremlins_router_errors_total';
export const ROUTER_CIRCUIT_STATE = 'gremlins_router_circuit_state';
export const TTFT_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const CIRCUIT_VALUE: Record<CircuitState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** What the router reports; the Prometheus-backed one is wired by the module, tests may omit it. */
export class RouterMetrics {
  constructor(
    private readonly inFlightGauge: Gauge<'node' | 'model'>,
    private readonly queueGauge: Gauge,
    private readonly ttftHistogram: Histogram<'node' | 'model'>,
    private readonly errorsCounter: Counter<'node' | 'model' | 'kind'>,
    private readonly circuitGauge: Gauge<'node'>,
  ) {}

  inFlight(node: string, model: string, value: number): void {
    this.inFlightGauge.set({ node, model }, value);
  }

  queueDepth(value: number): void {
    this.queueGauge.set(value);
  }

  timeToFirstToken(node: string, model: string, seconds: number): void {
    this.ttftHistogram.observe({ node, model }, seconds);
  }

  /** kind: retried (failed before the first token), interrupted (after it), rejected (4xx), overloaded, no_node. */
  error(node: string, model: string, kind: string): void {
    this.errorsCounter.inc({ node, model, kind });
  }

  circuit(node: string, state: CircuitState): void {
    this.circuitGauge.set({ node }, CIRCUIT_VALUE[state]);
  }
}
