/**
 * GET /api/v1/auth/me (whole middleware stack) against a bare NestJS-on-Fastify hello
 * route, and an API key against a JWT, measured side by side in one run, alternating
 * rounds so that machine noise hits both alike. Prints medians and ratios.
 *
 *   npm run build && node -r @swc-node/register bench/auth-me.bench.ts [rounds] [seconds]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appStartFlags, median, registerBenchUser, requestsPerSecond, startProcess, stopProcess, waitFor } from 'bench/support';

const rounds = Number(process.argv[2] ?? 3);
const seconds = Number(process.argv[3] ?? 8);
const BARE_PORT = 3991;
const APP_PORT = 3992;

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gremlins-bench-'));
  const bare = startProcess(['-r', '@swc-node/register', 'bench/bare-hello.ts', String(BARE_PORT)], {});
  // Started as `npm start` starts it (its node flags).
  const app = startProcess([...appStartFlags(), 'dist/src/main.js'], {
    NODE_ENV: 'production',
    JWT_SECRET: 'bench-secret-4f8a1c9e7b2d6f0a3c5e8b1d4f7a0c2e',
    PORT: String(APP_PORT),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    // The limiter still runs on every request; the budget is just large enough for a benchmark.
    RATE_LIMIT_AUTHENTICATED_PER_HOUR: '1000000000',
    RATE_LIMIT_ANONYMOUS_PER_HOUR: '1000000000',
  });
  try {
    const base = `http://127.0.0.1:${APP_PORT}`;
    await waitFor(`http://127.0.0.1:${BARE_PORT}/hello`, (status) => status === 200);
    await waitFor(`${base}/api/v1/auth/me`, (status) => status === 401);
    const jwt = { authorization: `Bearer ${await registerBenchUser(base)}` };
    const key = (await (
      await fetch(`${base}/api/v1/api-keys`, {
        method: 'POST',
        headers: { ...jwt, 'content-type': 'application/json' },
        body: '{"name":"bench"}',
      })
    ).json()) as { key: string };
    const apiKey = { 'x-api-key': key.key };

    // Warm-up: JIT, connection pools, caches.
    await requestsPerSecond(`http://127.0.0.1:${BARE_PORT}/hello`, {}, 2);
    await requestsPerSecond(`${base}/api/v1/auth/me`, jwt, 2);
    await requestsPerSecond(`${base}/api/v1/auth/me`, apiKey, 2);

    const results = { bare: [] as number[], jwt: [] as number[], apiKey: [] as number[] };
    for (let round = 1; round <= rounds; round++) {
      results.bare.push(await requestsPerSecond(`http://127.0.0.1:${BARE_PORT}/hello`, {}, seconds));
      results.jwt.push(await requestsPerSecond(`${base}/api/v1/auth/me`, jwt, seconds));
      results.apiKey.push(await requestsPerSecond(`${base}/api/v1/auth/me`, apiKey, seconds));
      console.log(
        `round ${round}: bare ${results.bare.at(-1)!.toFixed(0)} rps, jwt ${results.jwt.at(-1)!.toFixed(0)} rps, api key ${results.apiKey.at(-1)!.toFixed(0)} rps`,
      );
    }
    const bareRps = median(results.bare);
    const jwtRps = median(results.jwt);
    const keyRps = median(results.apiKey);
    console.log(`\nmedian of ${rounds} rounds x ${seconds}s, 100 connections`);
    console.log(`bare NestJS+Fastify hello : ${bareRps.toFixed(0)} req/s`);
    console.log(`/auth/me with JWT          : ${jwtRps.toFixed(0)} req/s  ratio to bare ${(jwtRps / bareRps).toFixed(2)} (target >= 0.50)`);
    console.log(`/auth/me with API key      : ${keyRps.toFixed(0)} req/s  ratio to JWT  ${(keyRps / jwtRps).toFixed(2)} (target >= 0.80)`);
  } finally {
    await Promise.all([stopProcess(bare), stopProcess(app)]);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
