/**
 * Is a change to how the app runs (a node flag, an env setting) worth it? Starts one app per
 * variant side by side, each twice, and measures them in alternating rounds: server CPU per
 * request (from /proc) and requests per second on one route under autocannon. On this shared
 * machine two identical instances measured one after the other can differ by 30%; two copies
 * of each variant, interleaved, show how large the noise is next to the difference.
 *
 *   npm run build && node -r @swc-node/register bench/app-variants.bench.ts [rounds] [seconds] [path]
 *
 * Variants come from VARIANTS, `name|ENV=value,ENV2=value|--flag --flag2` separated by `;`,
 * on top of `npm start`'s flags, for example:
 *   VARIANTS='now||;single-gc||--single-threaded-gc' node -r @swc-node/register bench/app-variants.bench.ts 8 3
 * Default path: GET /api/v1/auth/me with a JWT (issue 2's route).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appStartFlags, median, registerBenchUser, requestsPerSecond, startProcess, stopProcess, waitFor } from 'bench/support';

const rounds = Number(process.argv[2] ?? 6);
const seconds = Number(process.argv[3] ?? 3);
const path = process.argv[4] ?? '/api/v1/auth/me';
const FIRST_PORT = 3980;

interface Variant {
  name: string;
  env: Record<string, string>;
  flags: string[];
}

interface Instance extends Variant {
  label: string;
  port: number;
  dataDir: string;
  child: ChildProcess;
  headers: Record<string, string>;
  cpuMicros: number[];
  rps: number[];
}

function parseVariants(spec: string): Variant[] {
  return spec.split(';').map((entry) => {
    const [name, env = '', flags = ''] = entry.split('|');
    if (!name) throw new Error(`A variant needs a name: "${entry}"`);
    const pairs = env
      .split(',')
      .filter(Boolean)
      .map((pair) => pair.split('=') as [string, string]);
    return { name, env: Object.fromEntries(pairs), flags: flags.split(' ').filter(Boolean) };
  });
}

/** User plus system CPU of a process so far, in clock ticks (10 ms each). */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

async function start(variant: Variant, copy: number, port: number): Promise<Instance> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gremlins-variants-'));
  const child = startProcess([...appStartFlags(), ...variant.flags, 'dist/src/main.js'], {
    NODE_ENV: 'production',
    JWT_SECRET: 'bench-secret-4f8a1c9e7b2d6f0a3c5e8b1d4f7a0c2e',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    RATE_LIMIT_AUTHENTICATED_PER_HOUR: '1000000000',
    RATE_LIMIT_ANONYMOUS_PER_HOUR: '1000000000',
    ...variant.env,
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitFor(`${base}/api/v1/auth/me`, (status) => status === 401);
    const headers = { authorization: `Bearer ${await registerBenchUser(base)}` };
    await requestsPerSecond(`${base}${path}`, headers, 2); // warm-up: JIT, caches
    return { ...variant, label: `${variant.name}#${copy}`, port, dataDir, child, headers, cpuMicros: [], rps: [] };
  } catch (error) {
    await stopProcess(child);
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

async function main(): Promise<void> {
  const variants = parseVariants(process.env.VARIANTS ?? 'now||');
  const instances: Instance[] = [];
  try {
    for (const copy of [1, 2]) {
      for (const variant of variants) instances.push(await start(variant, copy, FIRST_PORT + instances.length));
    }
    for (let round = 0; round < rounds; round++) {
      // Each round starts with a different instance, so no variant always runs first.
      const order = instances.map((_, i) => instances[(i + round) % instances.length]);
      for (const instance of order) {
        const before = cpuTicks(instance.child.pid!);
        const rps = await requestsPerSecond(`http://127.0.0.1:${instance.port}${path}`, instance.headers, seconds);
        const ticks = cpuTicks(instance.child.pid!) - before;
        instance.rps.push(rps);
        instance.cpuMicros.push((ticks * 10_000) / (rps * seconds));
      }
    }
    console.log(`GET ${path}: ${rounds} rounds x ${seconds}s per instance, 100 connections, two instances per variant`);
    for (const instance of instances) {
      console.log(
        `${instance.label.padEnd(20)} server CPU ${median(instance.cpuMicros).toFixed(1)} µs/request (median; ${instance.cpuMicros
          .map((value) => value.toFixed(0))
          .join(' ')})   ${median(instance.rps).toFixed(0)} req/s`,
      );
    }
  } finally {
    await Promise.all(instances.map((instance) => stopProcess(instance.child)));
    for (const instance of instances) rmSync(instance.dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
