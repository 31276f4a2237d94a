/**
 * Per-round figures of a router benchmark run: latency percentiles of plain requests, and
 * for streams the time to first token, each token's delivery delay and whether the gaps
 * between tokens survived the trip.
 */
import { LatencyRun, percentile, StreamRun } from 'bench/latency-client';

export interface RoundFigures {
  p50: number;
  p99: number;
  rps: number;
  failures: number;
  firstFailure?: string;
}

export function latencyFigures(run: LatencyRun): RoundFigures {
  return {
    p50: percentile(run.latencies, 50),
    p99: percentile(run.latencies, 99),
    rps: run.requestsPerSecond,
    failures: run.failures,
    firstFailure: run.firstFailure,
  };
}

export interface StreamFigures {
  ttftP50: number;
  ttftP99: number;
  /** Stand-in wrote a token → client read it; includes a constant clock offset that cancels against direct. */
  deliveryP50: number;
  deliveryP99: number;
  /** Client-side gap minus the stand-in's own gap between the same two tokens, absolute. */
  gapDeviationP50: number;
  gapDeviationMax: number;
  medianGap: number;
  /** Tokens that arrived in the same read as the one before: buffered, not forwarded as they came. */
  merged: number;
  tokens: number;
  failures: number;
  firstFailure?: string;
}

export function streamFigures(run: StreamRun): StreamFigures {
  const delivery: number[] = [];
  const deviation: number[] = [];
  const gaps: number[] = [];
  let merged = 0;
  for (const tokens of run.streams) {
    tokens.forEach((token, index) => {
      delivery.push(token.arrivedAt - token.sentAt);
      if (index === 0) return;
      const seen = token.arrivedAt - tokens[index - 1].arrivedAt;
      gaps.push(seen);
      deviation.push(Math.abs(seen - (token.sentAt - tokens[index - 1].sentAt)));
      if (seen === 0) merged++;
    });
  }
  return {
    ttftP50: percentile(run.ttft, 50),
    ttftP99: percentile(run.ttft, 99),
    deliveryP50: percentile(delivery, 50),
    deliveryP99: percentile(delivery, 99),
    gapDeviationP50: percentile(deviation, 50),
    gapDeviationMax: Math.max(...deviation),
    medianGap: percentile(gaps, 50),
    merged,
    tokens: delivery.length,
    failures: run.failures,
    firstFailure: run.firstFailure,
  };
}
