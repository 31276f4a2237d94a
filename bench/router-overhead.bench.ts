/**
 * What the model router adds on top of an upstream that answers at once, next to the
 * Portkey open-source gateway in front of the same upstream, all in one run. Rounds
 * interleave the targets (direct → ours via Ollama → ours via an OpenAI-compatible upstream
 * → Portkey) so that machine noise hits all of them alike; figures are medians over rounds
 * of each round's percentiles, overheads the median of each round's gateway figure minus
 * that round's direct figure.
 *
 *   npm run build && node -r @swc-node/register bench/router-overhead.bench.ts [rounds] [seconds] [openLoopRate]
 *
 * BENCH_CPU_PROF=<dir> starts our app with --cpu-prof and leaves the profile in <dir>.
 * GREMLINS_DIST=<dir> runs another build than dist/.
 */
import { resolve } from 'node:path';
import { ChatTarget, closedLoop, openLoop, streaming } from 'bench/latency-client';
import { latencyFigures, RoundFigures, StreamFigures, streamFigures } from 'bench/router-figures';
import { startRouterStack } from 'bench/router-stack';
import { median } from 'bench/support';

const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 5);
const openLoopRate = Number(process.argv[4] ?? 200);
const cpuProfileDir = process.env.BENCH_CPU_PROF;

const CHUNKS = 5;
const GAP_MS = 10;
const STREAMS = { s1: 60, s20: 400 } as const;

type Mode = 'c1' | 'c200' | 'open';
const MODES: Record<Mode, string> = {
  c1: 'non-streaming, 1 at a time',
  c200: 'non-streaming, 200 concurrent (closed loop)',
  open: `non-streaming, open loop ${openLoopRate} req/s (up to 200 connections)`,
};
type StreamMode = keyof typeof STREAMS;
const STREAM_MODES: Record<StreamMode, string> = { s1: 'streaming, 1 at a time', s20: 'streaming, 20 concurrent' };

const f = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : '—');
const pad = (text: string, width: number) => text.padStart(width);

/** Per mode and target, one entry per round. */
class Results<T> {
  private readonly byKey = new Map<string, T[]>();
  add(mode: string, target: string, figures: T): void {
    this.byKey.set(`${mode}|${target}`, [...(this.get(mode, target) ?? []), figures]);
  }
  get(mode: string, target: string): T[] {
    return this.byKey.get(`${mode}|${target}`) ?? [];
  }
  median(mode: string, target: string, pick: (figures: T) => number): number {
    return median(this.get(mode, target).map(pick));
  }
  /** Median over rounds of (target − baseline) in the same round. */
  overhead(mode: string, target: string, baseline: string, pick: (figures: T) => number): number {
    const base = this.get(mode, baseline);
    return median(this.get(mode, target).map((figures, round) => pick(figures) - pick(base[round])));
  }
  failures(mode: string, target: string): string {
    const rows = this.get(mode, target) as { failures: number; firstFailure?: string }[];
    const count = rows.reduce((sum, row) => sum + row.failures, 0);
    return count > 0 ? `${count} (${rows.find((row) => row.firstFailure)?.firstFailure})` : '0';
  }
}

function printLatencyTables(results: Results<RoundFigures>, targets: ChatTarget[]): void {
  const direct = targets[0].name;
  for (const mode of Object.keys(MODES) as Mode[]) {
    console.log(`\n${MODES[mode]}`);
    console.log(
      `${'target'.padEnd(18)}${pad('p50', 9)}${pad('p99', 9)}${pad('req/s', 9)}${pad('+p50', 9)}${pad('+p99', 9)}${pad('x p50', 8)}${pad('x p99', 8)}  failures`,
    );
    for (const { name } of targets) {
      const gateway = name !== direct;
      const p50 = results.median(mode, name, (r) => r.p50);
      const p99 = results.median(mode, name, (r) => r.p99);
      const cells = [
        pad(f(p50), 9),
        pad(f(p99), 9),
        pad(
          f(
            results.median(mode, name, (r) => r.rps),
            0,
          ),
          9,
        ),
        pad(gateway ? f(results.overhead(mode, name, direct, (r) => r.p50)) : '', 9),
        pad(gateway ? f(results.overhead(mode, name, direct, (r) => r.p99)) : '', 9),
        pad(gateway ? f(p50 / results.median(mode, direct, (r) => r.p50), 1) : '', 8),
        pad(gateway ? f(p99 / results.median(mode, direct, (r) => r.p99), 1) : '', 8),
      ];
      console.log(`${name.padEnd(18)}${cells.join('')}  ${results.failures(mode, name)}`);
    }
  }
}

function printStreamTables(results: Results<StreamFigures>, targets: ChatTarget[]): void {
  const direct = targets[0].name;
  for (const mode of Object.keys(STREAM_MODES) as StreamMode[]) {
    console.log(`\n${STREAM_MODES[mode]} (${STREAMS[mode]} streams a round)`);
    console.log(
      `${'target'.padEnd(18)}${pad('TTFT50', 9)}${pad('TTFT99', 9)}${pad('+TTFT50', 9)}${pad('+TTFT99', 9)}${pad('+tok50', 9)}${pad('+tok99', 9)}` +
        `${pad('gap50', 8)}${pad('|dev|50', 9)}${pad('|dev|max', 9)}${pad('merged', 9)}  failures`,
    );
    for (const { name } of targets) {
      const gateway = name !== direct;
      const rows = results.get(mode, name);
      const overhead = (pick: (r: StreamFigures) => number) => (gateway ? f(results.overhead(mode, name, direct, pick)) : '');
      const cells = [
        pad(f(results.median(mode, name, (r) => r.ttftP50)), 9),
        pad(f(results.median(mode, name, (r) => r.ttftP99)), 9),
        pad(
          overhead((r) => r.ttftP50),
          9,
        ),
        pad(
          overhead((r) => r.ttftP99),
          9,
        ),
        pad(
          overhead((r) => r.deliveryP50),
          9,
        ),
        pad(
          overhead((r) => r.deliveryP99),
          9,
        ),
        pad(f(results.median(mode, name, (r) => r.medianGap)), 8),
        pad(f(results.median(mode, name, (r) => r.gapDeviationP50)), 9),
        pad(f(Math.max(...rows.map((r) => r.gapDeviationMax))), 9),
        pad(`${rows.reduce((sum, r) => sum + r.merged, 0)}/${rows.reduce((sum, r) => sum + r.tokens, 0)}`, 9),
      ];
      console.log(`${name.padEnd(18)}${cells.join('')}  ${results.failures(mode, name)}`);
    }
  }
}

interface Summary {
  name: string;
  p50: number;
  p99: number;
  ttft: number;
}

function summarise(latency: Results<RoundFigures>, streams: Results<StreamFigures>, targets: ChatTarget[]): Summary[] {
  const direct = targets[0].name;
  return targets.slice(1).map(({ name }) => {
    const summary = {
      name,
      p50: latency.overhead('c200', name, direct, (r) => r.p50),
      p99: latency.overhead('c200', name, direct, (r) => r.p99),
      ttft: streams.overhead('s1', name, direct, (r) => r.ttftP50),
    };
    const label = name === 'Portkey' ? 'Portkey overhead' : `router overhead, ${name.replace(/^ours \((.*)\)$/, '$1')} path`;
    console.log(
      `${label}: non-streaming p50 ${f(summary.p50)} ms (target ≤1), p99 ${f(summary.p99)} ms (target ≤5) at 200 concurrent ` +
        `[1 at a time p50 ${f(latency.overhead('c1', name, direct, (r) => r.p50))} ms; ` +
        `open loop ${openLoopRate}/s p50 ${f(latency.overhead('open', name, direct, (r) => r.p50))} ms, p99 ${f(latency.overhead('open', name, direct, (r) => r.p99))} ms]; ` +
        `TTFT overhead p50 ${f(summary.ttft)} ms (target ≤1) [${f(streams.overhead('s20', name, direct, (r) => r.ttftP50))} ms at 20 concurrent]`,
    );
    return summary;
  });
}

async function main(): Promise<void> {
  const stack = await startRouterStack({
    dist: process.env.GREMLINS_DIST ?? 'dist',
    chunks: CHUNKS,
    gapMs: GAP_MS,
    appNodeArgs: cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', resolve(cpuProfileDir)] : [],
    portkey: true,
  });
  try {
    const { targets } = stack;
    if (stack.portkeyUnavailable) console.log(`Portkey: not measured. ${stack.portkeyUnavailable}`);
    // Warm-up: JIT, connection pools, the registry's and the access caches.
    for (const target of targets) {
      await closedLoop(target, 50, 2);
      await streaming(target, 5, 40);
    }

    const latency = new Results<RoundFigures>();
    const streams = new Results<StreamFigures>();
    for (let round = 1; round <= rounds; round++) {
      for (const target of targets) latency.add('c1', target.name, latencyFigures(await closedLoop(target, 1, seconds)));
      for (const target of targets) latency.add('c200', target.name, latencyFigures(await closedLoop(target, 200, seconds)));
      for (const target of targets) latency.add('open', target.name, latencyFigures(await openLoop(target, openLoopRate, seconds, 200)));
      for (const target of targets) streams.add('s1', target.name, streamFigures(await streaming(target, 1, STREAMS.s1)));
      for (const target of targets) streams.add('s20', target.name, streamFigures(await streaming(target, 20, STREAMS.s20)));
      console.log(
        `round ${round}/${rounds}: ${targets.map(({ name }) => `${name} c200 p50 ${f(latency.get('c200', name).at(-1)!.p50)} ms`).join(', ')}`,
      );
    }

    console.log(
      `\nmedian over ${rounds} rounds; load runs ${seconds} s; stand-in streams ${CHUNKS} tokens ${GAP_MS} ms apart; times in ms`,
    );
    printLatencyTables(latency, targets);
    printStreamTables(streams, targets);
    console.log(
      '\n+p50/+p99: overhead over direct (median of per-round differences); x: ratio to direct; +tok: per-token delivery delay ' +
        'over direct; |dev|: client-side gap minus the stand-in gap between the same two tokens; merged: tokens read in the same ' +
        'chunk as the one before.\n',
    );
    const summaries = summarise(latency, streams, targets);
    const portkey = summaries.find((summary) => summary.name === 'Portkey');
    for (const ours of summaries.filter((summary) => summary !== portkey)) {
      if (!portkey) continue;
      const lower = (mine: number, theirs: number) => (mine < theirs ? 'lower' : 'NOT lower');
      console.log(
        `${ours.name} vs Portkey: p50 ${lower(ours.p50, portkey.p50)}, p99 ${lower(ours.p99, portkey.p99)}, TTFT ${lower(ours.ttft, portkey.ttft)}`,
      );
    }
    if (stack.portkeyUnavailable) console.log(`Portkey: not measured. ${stack.portkeyUnavailable}`);
  } finally {
    await stack.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
