/**
 * The processes a router benchmark runs against: the instant upstream stand-in, our app
 * (built dist, fresh embedded data folder) routing to it over both the Ollama path and an
 * admin-configured OpenAI-compatible upstream, and the Portkey gateway in front of the same
 * stand-in. Each is its own process, so none shares an event loop with the client.
 */
import { ChildProcess, fork, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatTarget } from 'bench/latency-client';
import { appStartFlags, startProcess, stopProcess, waitFor } from 'bench/support';

const PORTS = { standIn: 3995, app: 3996, portkey: 3997 } as const;
const HIGH = '1000000000';
const standInUrl = `http://127.0.0.1:${PORTS.standIn}`;
const appUrl = `http://127.0.0.1:${PORTS.app}`;
const portkeyUrl = `http://127.0.0.1:${PORTS.portkey}`;

export interface StackOptions {
  /** Folder of the build to run (`dist` unless GREMLINS_DIST says otherwise). */
  dist: string;
  /** Streamed tokens per answer, and the gap between them for paced models. */
  chunks: number;
  gapMs: number;
  /** Extra node flags for our app, e.g. --cpu-prof. */
  appNodeArgs?: string[];
  portkey: boolean;
}

export interface RouterStack {
  /** direct, ours (Ollama), ours (OpenAI up), and Portkey when it runs. */
  targets: ChatTarget[];
  /** Why Portkey is not among the targets. */
  portkeyUnavailable?: string;
  appPid: number;
  stop(): Promise<void>;
}

function startStandIn(chunks: number, gapMs: number): Promise<ChildProcess> {
  const child = fork('bench/instant-upstream.ts', [String(PORTS.standIn), String(chunks), String(gapMs)], {
    execArgv: ['-r', '@swc-node/register'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((ready, fail) => {
    child.once('message', () => ready(child));
    child.once('exit', (code) => fail(new Error(`stand-in exited with ${code}`)));
  });
}

function startApp(dist: string, dataDir: string, nodeArgs: string[]): ChildProcess {
  const main = join(dist, 'src/main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run npm run build first`);
  // Started as `npm start` starts it (its node flags), plus the bench's own (e.g. --cpu-prof).
  return startProcess([...appStartFlags(), ...nodeArgs, main], {
    NODE_ENV: 'production',
    JWT_SECRET: 'bench-secret-4f8a1c9e7b2d6f0a3c5e8b1d4f7a0c2e',
    PORT: String(PORTS.app),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    // The limiter still runs on every request; the budget is just out of reach.
    RATE_LIMIT_AUTHENTICATED_PER_HOUR: HIGH,
    RATE_LIMIT_ANONYMOUS_PER_HOUR: HIGH,
    OLLAMA_URLS: standInUrl,
    // The stand-in answers at once: admission must not queue, or we would measure the cap.
    OLLAMA_NODE_MODEL_CONCURRENCY: '1000',
    ROUTER_QUEUE_MAX: '1000',
    ROUTER_CACHE_TTL_SECONDS: '0',
  });
}

/** Portkey's node entry, or why it could not run here. */
async function startPortkey(): Promise<{ child?: ChildProcess; unavailable?: string }> {
  let entry: string;
  try {
    entry = join(require.resolve('@portkey-ai/gateway/package.json').replace(/package\.json$/, ''), 'build/start-server.js');
  } catch {
    return { unavailable: '@portkey-ai/gateway is not installed (npm install)' };
  }
  const child = spawn(process.execPath, [entry, `--port=${PORTS.portkey}`, '--headless'], {
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    await waitFor(portkeyUrl, (status) => status === 200, 30_000);
    return { child };
  } catch (error) {
    await stopProcess(child);
    return { unavailable: `Portkey did not start: ${(error as Error).message}` };
  }
}

/** Rejects as soon as the app exits, so a failed boot does not wait out the ready timeout. */
function exitBeforeReady(child: ChildProcess): Promise<never> {
  const exited = new Promise<never>((_, fail) =>
    child.once('exit', (code) => fail(new Error(`the app exited (code ${code}) before it was ready`))),
  );
  exited.catch(() => undefined);
  return exited;
}

async function call<T>(method: string, path: string, body: unknown, token?: string): Promise<T> {
  const response = await fetch(`${appUrl}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** The first user (the admin), an API key, the stand-in's Ollama models, and the stand-in again as an OpenAI-compatible upstream. */
async function configureApp(): Promise<string> {
  const admin = await call<{ accessToken: string }>('POST', '/api/v1/auth/register', {
    email: 'bench@example.com',
    password: 'benchmark password',
    name: 'Bench',
  });
  const token = admin.accessToken;
  const { key } = await call<{ key: string }>('POST', '/api/v1/api-keys', { name: 'bench' }, token);
  for (const name of ['bench-instant', 'bench-paced']) {
    await call('POST', '/api/v1/admin/models', { name, tier: 'fast', priority: 500, providerKind: 'ollama' }, token);
  }
  const upstream = await call<{ id: string }>(
    'POST',
    '/api/v1/admin/upstreams',
    { name: 'stand-in', kind: 'openai-compatible', baseUrl: `${standInUrl}/v1`, apiKey: 'sk-bench' },
    token,
  );
  for (const name of ['oai-instant', 'oai-paced']) {
    await call(
      'POST',
      '/api/v1/admin/models',
      { name, tier: 'fast', priority: 600, providerKind: 'openai-compatible', upstreamId: upstream.id },
      token,
    );
  }
  return key;
}

/** The node pool probes the stand-in on its own schedule; wait until it routes. */
async function waitUntilRouting(target: ChatTarget): Promise<void> {
  const started = Date.now();
  for (;;) {
    const response = await fetch(target.url, {
      method: 'POST',
      headers: { ...target.headers, 'content-type': 'application/json' },
      body: JSON.stringify({ model: target.instantModel, messages: [{ role: 'user', content: 'ping' }] }),
    });
    if (response.ok) return;
    if (Date.now() - started > 30_000) throw new Error(`${target.name} not routing: ${response.status} ${await response.text()}`);
    await new Promise((done) => setTimeout(done, 200));
  }
}

export async function startRouterStack(options: StackOptions): Promise<RouterStack> {
  const dataDir = mkdtempSync(join(tmpdir(), 'gremlins-router-bench-'));
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map((child) => stopProcess(child)));
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    children.push(await startStandIn(options.chunks, options.gapMs));
    const app = startApp(options.dist, dataDir, options.appNodeArgs ?? []);
    children.push(app);
    const portkey = options.portkey ? await startPortkey() : { unavailable: 'not asked for' };
    if (portkey.child) children.push(portkey.child);
    await Promise.race([waitFor(`${appUrl}/health/ready`, (status) => status === 200, 120_000), exitBeforeReady(app)]);
    const ours = { authorization: `Bearer ${await configureApp()}` };
    const chat = '/v1/chat/completions';
    const targets: ChatTarget[] = [
      { name: 'direct', url: `${standInUrl}${chat}`, headers: {}, instantModel: 'bench-instant', pacedModel: 'bench-paced' },
      { name: 'ours (Ollama)', url: `${appUrl}${chat}`, headers: ours, instantModel: 'bench-instant', pacedModel: 'bench-paced' },
      { name: 'ours (OpenAI up)', url: `${appUrl}${chat}`, headers: ours, instantModel: 'oai-instant', pacedModel: 'oai-paced' },
    ];
    if (portkey.child) {
      targets.push({
        name: 'Portkey',
        url: `${portkeyUrl}${chat}`,
        headers: { 'x-portkey-provider': 'openai', 'x-portkey-custom-host': `${standInUrl}/v1`, authorization: 'Bearer sk-bench' },
        instantModel: 'bench-instant',
        pacedModel: 'bench-paced',
      });
    }
    for (const target of targets) await waitUntilRouting(target);
    return { targets, portkeyUnavailable: portkey.unavailable, appPid: app.pid!, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
