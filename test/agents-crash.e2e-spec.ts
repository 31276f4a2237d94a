import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { AppProcess, startAppProcess } from 'test/support/app-process';
import { ApiClient } from 'test/support/http';
import { deleteRedisKeysAt } from 'test/support/redis';
import { isAgent, ScriptedOllama, toolResultsOf } from 'test/support/scripted-ollama';
import { createScratchDatabase, REDIS_URL, startTestApp, TestApp } from 'test/support/test-app';

const MODELS = ['llama3.2:3b', 'llama3.1:8b', 'llama3.1:70b'];

/**
 * Durability across a worker crash: a worker process (only the `agents` role) is killed with
 * SIGKILL while its task waits on a model call; a second process sharing the PostgreSQL
 * database and Redis takes the stalled job over, resumes from the stored steps and completes
 * the run, with no model or tool call that had completed made twice.
 */
describe('agent workflows survive a killed worker', () => {
  let ollama: ScriptedOllama;
  let database: Awaited<ReturnType<typeof createScratchDatabase>>;
  let worker: AppProcess | undefined;
  let survivor: TestApp | undefined;
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  const env = () => ({
    DATABASE_URL: database.url,
    REDIS_URL,
    REDIS_KEY_PREFIX: prefix,
    JWT_SECRET: randomSecret,
    OLLAMA_URLS: ollama.url,
    OLLAMA_NODE_MODEL_CONCURRENCY: '8',
    ROUTER_CACHE_TTL_SECONDS: '0',
    ROUTER_CIRCUIT_FAILURE_THRESHOLD: '1000',
    // A dead worker's job is taken over within a few seconds instead of the default 30-60.
    AGENTS_JOB_LOCK_MS: '2000',
    // The tools bring the RAG module; this machine's PostgreSQL has no pgvector.
    PGVECTOR_URL: 'embedded',
  });
  const randomSecret = randomBytes(32).toString('base64url');

  beforeAll(async () => {
    ollama = await new ScriptedOllama(MODELS).start();
    database = await createScratchDatabase();
    worker = await startAppProcess({ ...env(), GREMLINS_ROLES: 'agents' });
  }, 120_000);

  afterAll(async () => {
    await worker?.stop('SIGKILL');
    await survivor?.close();
    await ollama?.stop();
    await database?.drop();
    await deleteRedisKeysAt(REDIS_URL, prefix);
  });

  it('resumes the task on another process from its stored steps: nothing completed is repeated', async () => {
    let releaseHeld!: () => void;
    const held = new Promise<void>((resolve) => (releaseHeld = resolve));
    let heldCallSeen!: () => void;
    const heldCallArrived = new Promise<void>((resolve) => (heldCallSeen = resolve));
    ollama
      .on((call) => isAgent('analyst')(call) && toolResultsOf(call).length === 0, {
        toolCalls: [{ name: 'calculator', arguments: { expression: '6 * 7' } }],
      })
      .on((call) => isAgent('analyst')(call) && toolResultsOf(call).length === 1, {
        toolCalls: [{ name: 'calculator', arguments: { expression: '42 + 1' } }],
      })
      // The third model call is held on the first worker until it is killed...
      .on(
        (call) => isAgent('analyst')(call) && toolResultsOf(call).length === 2,
        () => {
          heldCallSeen();
          return { content: 'never sent', gate: held };
        },
        { times: 1 },
      )
      // ...and answered when the survivor makes it again.
      .on((call) => isAgent('analyst')(call) && toolResultsOf(call).length === 2, { content: 'The answer is 43.' });

    const api = new ApiClient(worker!.baseUrl);
    const user = await api.register('crash@example.com');
    const started = await api.post(
      '/api/v1/workflows/runs',
      { query: 'Calculate 6 * 7, then add one', mode: 'single' },
      { token: user.accessToken },
    );
    expect(started.status).toBe(202);
    const runId = started.body.id as string;

    await heldCallArrived;
    const before = (await api.get(`/api/v1/workflows/runs/${runId}`, { token: user.accessToken })).body;
    expect(before.status).toBe('running');
    expect(before.tasks[0].steps.map((step: any) => `${step.sequence}:${step.type}`)).toEqual(['1:model', '2:tool', '3:model', '4:tool']);

    await worker!.stop('SIGKILL');
    worker = undefined;
    releaseHeld();

    survivor = await startTestApp({ env: env() });
    const survivorApi = new ApiClient(survivor.baseUrl);
    let run: any;
    await vi.waitFor(
      async () => {
        run = (await survivorApi.get(`/api/v1/workflows/runs/${runId}`, { token: user.accessToken })).body;
        expect(run.status).toBe('completed');
      },
      { timeout: 30_000, interval: 250 },
    );

    expect(run.result).toBe('The answer is 43.');
    const steps = run.tasks[0].steps;
    expect(steps.map((step: any) => `${step.sequence}:${step.type}:${step.status}`)).toEqual([
      '1:model:completed',
      '2:tool:completed',
      '3:model:completed',
      '4:tool:completed',
      '5:model:completed',
    ]);
    expect(steps.filter((step: any) => step.tool === 'calculator').map((step: any) => step.arguments.expression)).toEqual([
      '6 * 7',
      '42 + 1',
    ]);
    // Each completed model call reached the model once; only the one in flight at the kill was made again.
    const byTurn = [0, 1, 2].map((results) => ollama.calls.filter((call) => toolResultsOf(call).length === results));
    expect(byTurn.map((calls) => calls.length)).toEqual([1, 1, 2]);
    expect(byTurn[2][0].abandoned).toBe(true);
    expect(run.usage.toolCalls).toBe(2);
  }, 120_000);
});
