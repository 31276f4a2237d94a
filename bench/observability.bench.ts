/**
 * What request logging costs on the hot path: GET /api/v1/auth/me with LOG_LEVEL=info (one
 * JSON line per request, request context for every log) against LOG_LEVEL=silent (no
 * per-request logging work), side by side in one run, alternating rounds. Metrics are on in
 * both; their per-request cost is measured in-process at the end.
 *
 *   npm run build && node -r @swc-node/register bench/observability.bench.ts [rounds] [seconds]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Counter, Histogram, Registry } from 'prom-client';
import { median, registerBenchUser, requestsPerSecond, startProcess, stopProcess, waitFor } from 'bench/support';

const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 8);
const dist = process.env.GREMLINS_DIST ?? 'dist';
const PORTS = { info: 3993, silent: 3994 } as const;

/** The HTTP metrics' per-request work (cached label lookup, increment, histogram observe), in ns. */
function metricsCostNs(): number {
  const registry = new Registry();
  const labelNames = ['method', 'route', 'status'];
  const counter = new Counter({ name: 'c', help: 'c', labelNames, registers: [registry] });
  const histogram = new Histogram({ name: 'h', help: 'h', labelNames, registers: [registry] });
  const cache = new Map<string, { c: Counter.Internal; h: Histogram.Internal<string> }>();
  const routes = ['/api/v1/auth/me', '/api/v1/workspaces/:workspaceId', '/health/live', 'unmatched'];
  const iterations = 1_000_000;
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const route = routes[i & 3];
    const key = `GET 200 ${route}`;
    let series = cache.get(key);
    if (!series) {
      const labels = { method: 'GET', route, status: '200' };
      series = { c: counter.labels(labels), h: histogram.labels(labels) };
      cache.set(key, series);
    }
    series.c.inc();
    series.h.observe(0.003);
  }
  return Number(process.hrtime.bigint() - started) / iterations;
}

async function main(): Promise<void> {
  const dirs = { info: mkdtempSync(join(tmpdir(), 'gremlins-bench-')), silent: mkdtempSync(join(tmpdir(), 'gremlins-bench-')) };
  const start = (level: keyof typeof PORTS) =>
    startProcess([`${dist}/src/main.js`], {
      NODE_ENV: 'production',
      JWT_SECRET: 'bench-secret-4f8a1c9e7b2d6f0a3c5e8b1d4f7a0c2e',
      PORT: String(PORTS[level]),
      HOST: '127.0.0.1',
      DATA_DIR: dirs[level],
      LOG_LEVEL: level,
      RATE_LIMIT_AUTHENTICATED_PER_HOUR: '1000000000',
      RATE_LIMIT_ANONYMOUS_PER_HOUR: '1000000000',
    });
  const apps = { info: start('info'), silent: start('silent') };
  try {
    const urls = { info: `http://127.0.0.1:${PORTS.info}`, silent: `http://127.0.0.1:${PORTS.silent}` };
    await Promise.all(Object.values(urls).map((base) => waitFor(`${base}/health/ready`, (status) => status === 200)));
    const headers = {
      info: { authorization: `Bearer ${await registerBenchUser(urls.info)}` },
      silent: { authorization: `Bearer ${await registerBenchUser(urls.silent)}` },
    };
    for (const level of ['info', 'silent'] as const) await requestsPerSecond(`${urls[level]}/api/v1/auth/me`, headers[level], 2);

    const results = { info: [] as number[], silent: [] as number[] };
    for (let round = 1; round <= rounds; round++) {
      for (const level of ['info', 'silent'] as const) {
        results[level].push(await requestsPerSecond(`${urls[level]}/api/v1/auth/me`, headers[level], seconds));
      }
      console.log(`round ${round}: info ${results.info.at(-1)!.toFixed(0)} rps, silent ${results.silent.at(-1)!.toFixed(0)} rps`);
    }
    const info = median(results.info);
    const silent = median(results.silent);
    console.log(`\nmedian of ${rounds} rounds x ${seconds}s, 100 connections, GET /api/v1/auth/me with a JWT`);
    console.log(`LOG_LEVEL=silent : ${silent.toFixed(0)} req/s`);
    console.log(`LOG_LEVEL=info   : ${info.toFixed(0)} req/s  ratio to silent ${(info / silent).toFixed(2)}`);
    console.log(`HTTP metrics     : ${metricsCostNs().toFixed(0)} ns per request (in-process)`);
  } finally {
    await Promise.all(Object.values(apps).map((child) => stopProcess(child)));
    for (const dir of Object.values(dirs)) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
