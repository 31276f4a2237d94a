/**
 * Agent workflow orchestration against a model stand-in that answers at once (its own
 * process): what the engine itself adds per step (queueing, persistence, limits, access
 * checks, events), and throughput and integrity under 200 concurrent multi-agent runs.
 * PostgreSQL and BullMQ on Redis, as in production. Targets (issue 5): overhead per step at
 * most 5 ms median; 200 concurrent runs all complete, none lost or duplicated.
 *
 *   node -r @swc-node/register bench/agent-workflows.bench.ts [concurrentRuns] [sequentialRuns]
 *
 * Each run: a planner call, a researcher task and an analyst task in parallel (the analyst
 * calls the calculator), and the writer's aggregation: 5 model calls, 1 tool call, 6 steps.
 * "Overhead" is each job's wall time minus the time spent inside model calls and the tool
 * (measured around them in this process), divided by the job's steps.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { median } from 'bench/support';
import { PubSubService } from 'src/graphql/pubsub.service';
import { ModelCaller } from 'src/modules/agents/engine/model-caller';
import { WorkflowJobs } from 'src/modules/agents/engine/workflow.jobs';
import { AgentToolRegistry } from 'src/modules/agents/tools/agent-tool.registry';
import { ApiClient } from 'test/support/http';
import { deleteRedisKeysAt } from 'test/support/redis';
import { createScratchDatabase, REDIS_URL, startTestApp } from 'test/support/test-app';

const concurrentRuns = Number(process.argv[2] ?? 200);
const sequentialRuns = Number(process.argv[3] ?? 20);
const USERS = 10;
const MODEL_CALLS_PER_RUN = 5;
const STEPS_PER_RUN = 6;

interface JobRecord {
  kind: 'start' | 'task';
  waitedMs: number;
  totalMs: number;
  modelMs: number;
  toolMs: number;
  steps: number;
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))];
const fmt = (value: number) => value.toFixed(2);

function startUpstream(): Promise<{ child: ChildProcess; url: string }> {
  const child = fork('bench/agent-upstream.ts', [], {
    execArgv: ['-r', '@swc-node/register'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (message: { url: string }) => resolve({ child, url: message.url }));
    child.once('exit', (code) => reject(new Error(`stand-in exited with ${code}`)));
  });
}

function upstreamCalls(child: ChildProcess): Promise<{ calls: number; abandoned: number }> {
  return new Promise((resolve) => {
    child.once('message', (message: { calls: number; abandoned: number }) => resolve(message));
    child.send({ type: 'count' });
  });
}

async function main(): Promise<void> {
  const upstream = await startUpstream();
  const database = await createScratchDatabase();
  const prefix = `test:bench-${randomBytes(6).toString('hex')}:`;
  const testApp = await startTestApp({
    redis: true,
    env: {
      DATABASE_URL: database.url,
      REDIS_KEY_PREFIX: prefix,
      LOG_LEVEL: 'silent',
      OLLAMA_URLS: upstream.url,
      OLLAMA_NODE_MODEL_CONCURRENCY: '256',
      ROUTER_QUEUE_MAX: '100000',
      ROUTER_CACHE_TTL_SECONDS: '0',
      RATE_LIMIT_AUTHENTICATED_PER_HOUR: '1000000',
      AGENTS_WORKER_CONCURRENCY: '64',
      AGENTS_MAX_CONCURRENT_RUNS_PER_WORKSPACE: '1000',
    },
  });
  try {
    const app = testApp.app;
    // Time spent inside model calls and tool runs, per job, through the async context of the job.
    const context = new AsyncLocalStorage<JobRecord>();
    const records: JobRecord[] = [];
    const jobs = app.get(WorkflowJobs);
    for (const [method, kind] of [
      ['start', 'start'],
      ['runTask', 'task'],
    ] as const) {
      const original = jobs[method].bind(jobs) as (job: { enqueuedAt: Date }) => Promise<void>;
      (jobs as unknown as Record<string, unknown>)[method] = (job: { enqueuedAt: Date }) => {
        const record: JobRecord = { kind, waitedMs: Date.now() - job.enqueuedAt.getTime(), totalMs: 0, modelMs: 0, toolMs: 0, steps: 0 };
        const started = performance.now();
        return context
          .run(record, () => original(job))
          .finally(() => {
            record.totalMs = performance.now() - started;
            records.push(record);
          });
      };
    }
    const caller = app.get(ModelCaller);
    const call = caller.call.bind(caller);
    caller.call = async (input) => {
      const started = performance.now();
      try {
        return await call(input);
      } finally {
        const record = context.getStore();
        if (record) {
          record.modelMs += performance.now() - started;
          record.steps += 1;
        }
      }
    };
    const calculator = app.get(AgentToolRegistry).get('calculator');
    const run = calculator.run.bind(calculator);
    calculator.run = async (args, toolContext) => {
      const started = performance.now();
      try {
        return await run(args, toolContext);
      } finally {
        const record = context.getStore();
        if (record) {
          record.toolMs += performance.now() - started;
          record.steps += 1;
        }
      }
    };

    const api = new ApiClient(testApp.baseUrl);
    const users: Awaited<ReturnType<ApiClient['register']>>[] = [];
    for (let i = 0; i < USERS; i++) users.push(await api.register(`bench-${i}@example.com`));
    const db = app.get(DataSource);
    const startRun = async (index: number) => {
      const response = await api.post(
        '/api/v1/workflows/runs',
        { query: `Question ${index}`, mode: 'multi' },
        { token: users[index % USERS].accessToken },
      );
      if (response.status !== 202) throw new Error(`start: ${response.status} ${JSON.stringify(response.body)}`);
      return response.body.id as string;
    };
    // One run: its `finished` event (little polling load on the app); many: a count every 100 ms.
    const pubsub = app.get(PubSubService);
    const isOver = async (id: string) =>
      (await db.query<{ status: string }[]>(`SELECT status FROM agent_runs WHERE id = $1`, [id]))[0].status.match(
        /completed|failed|cancelled/,
      ) !== null;
    const runOne = async (index: number) => {
      const id = await startRun(index);
      const events = pubsub.subscribe('agent-run-event', id);
      let over = false;
      const finished = (async () => {
        for (let next = await events.next(); !next.done && !over; next = await events.next()) if (next.value.type === 'finished') return;
      })();
      // The run may end before the subscription is in place: a slow poll covers that.
      const polled = (async () => {
        while (!over && !(await isOver(id))) await new Promise((resolve) => setTimeout(resolve, 250));
      })();
      await Promise.race([finished, polled]);
      over = true;
      await events.return?.();
      return id;
    };
    const settled = async (ids: string[]) => {
      for (;;) {
        const rows = await db.query<{ n: number }[]>(
          `SELECT count(*)::int AS n FROM agent_runs WHERE id = ANY($1) AND status IN ('completed', 'failed', 'cancelled')`,
          [ids],
        );
        if (rows[0].n === ids.length) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };

    // What one committed write costs here, for scale: the engine makes about two per step.
    const writes: number[] = [];
    for (let i = 0; i < 100; i++) {
      const started = performance.now();
      await db.query(`UPDATE users SET updated_at = updated_at WHERE id = $1`, [users[0].user.id]);
      writes.push(performance.now() - started);
    }

    // Warm-up: JIT, connection pools, the calculator's sandbox.
    const warm = await Promise.all(Array.from({ length: 5 }, (_, i) => startRun(i)));
    await settled(warm);
    records.length = 0;

    // One run at a time: the engine's own cost per step, uncontended.
    const sequential: string[] = [];
    const sequentialStarted = performance.now();
    for (let i = 0; i < sequentialRuns; i++) sequential.push(await runOne(i));
    await settled(sequential);
    const sequentialMs = performance.now() - sequentialStarted;
    const uncontended = records.splice(0);

    // 200 at once.
    const before = await upstreamCalls(upstream.child);
    const burstStarted = performance.now();
    const burst = await Promise.all(Array.from({ length: concurrentRuns }, (_, i) => startRun(i)));
    await settled(burst);
    const burstMs = performance.now() - burstStarted;
    const contended = records.splice(0);
    const after = await upstreamCalls(upstream.child);

    // Integrity: every run completed, with exactly its tasks and steps, and every model call made once.
    const statuses = await db.query<{ status: string; n: number }[]>(
      `SELECT status, count(*)::int AS n FROM agent_runs WHERE id = ANY($1) GROUP BY status`,
      [burst],
    );
    const shapes = await db.query<{ tasks: number; steps: number; tools: number }[]>(
      `SELECT r.id, (SELECT count(*) FROM agent_run_tasks t WHERE t.run_id = r.id)::int AS tasks,
              (SELECT count(*) FROM agent_run_steps s WHERE s.run_id = r.id)::int AS steps,
              (SELECT count(*) FROM agent_run_steps s WHERE s.run_id = r.id AND s.type = 'tool')::int AS tools
         FROM agent_runs r WHERE r.id = ANY($1)`,
      [burst],
    );
    const wrongShape = shapes.filter((shape) => shape.tasks !== 4 || shape.steps !== STEPS_PER_RUN || shape.tools !== 1).length;
    const modelCalls = after.calls - before.calls;

    const perStep = (list: JobRecord[]) =>
      list.filter((record) => record.steps > 0).map((record) => (record.totalMs - record.modelMs - record.toolMs) / record.steps);
    const modelPerCall = (list: JobRecord[]) => {
      const withModel = list.filter((record) => record.modelMs > 0);
      return withModel.map((record) => record.modelMs / Math.max(1, record.steps - (record.toolMs > 0 ? 1 : 0)));
    };
    const quiet = perStep(uncontended);
    const busy = perStep(contended);

    console.log(`Agent workflows: PostgreSQL + BullMQ (Redis), instant model stand-in in its own process, ${STEPS_PER_RUN} steps per run`);
    console.log('');
    console.log('orchestration overhead per step (job wall time minus model and tool time, per step), ms');
    console.log(
      `  one run at a time (${sequentialRuns} runs):  median ${fmt(median(quiet))}  p95 ${fmt(percentile(quiet, 0.95))}   target <= 5 median`,
    );
    console.log(`  ${concurrentRuns} concurrent runs:        median ${fmt(median(busy))}  p95 ${fmt(percentile(busy, 0.95))}`);
    const byJob = (kind: JobRecord['kind'], steps: (n: number) => boolean) =>
      uncontended
        .filter((record) => record.kind === kind && steps(record.steps))
        .map((record) => (record.totalMs - record.modelMs - record.toolMs) / record.steps);
    console.log(
      `  by job, one at a time: start (admit + plan) ${fmt(median(byJob('start', () => true)))}, one-step task ${fmt(median(byJob('task', (n) => n === 1)))}, ` +
        `three-step task ${fmt(median(byJob('task', (n) => n === 3)))}`,
    );
    console.log(`  for scale: one committed single-row UPDATE through the app's pool: median ${fmt(median(writes))}`);
    console.log('model call through the gateway to the instant stand-in (router + HTTP, not orchestration), ms');
    console.log(
      `  one run at a time: median ${fmt(median(modelPerCall(uncontended)))}   concurrent: median ${fmt(median(modelPerCall(contended)))}`,
    );
    console.log('queue wait (job enqueued -> handler started), ms');
    console.log(
      `  one run at a time: median ${fmt(median(uncontended.map((r) => r.waitedMs)))}   concurrent: median ${fmt(median(contended.map((r) => r.waitedMs)))}  p95 ${fmt(
        percentile(
          contended.map((r) => r.waitedMs),
          0.95,
        ),
      )}`,
    );
    console.log('');
    console.log(`one run at a time: ${fmt(sequentialMs / sequentialRuns)} ms per run (end to end, 4 jobs, 5 model calls, 1 tool call)`);
    console.log(`${concurrentRuns} concurrent runs: ${fmt(burstMs)} ms, ${fmt((concurrentRuns / burstMs) * 1000)} runs/s`);
    console.log(`  statuses: ${statuses.map((row) => `${row.status} ${row.n}`).join(', ')}`);
    console.log(`  runs with other than 4 tasks / ${STEPS_PER_RUN} steps / 1 tool step: ${wrongShape}`);
    console.log(
      `  model calls received: ${modelCalls} (expected ${concurrentRuns * MODEL_CALLS_PER_RUN}), abandoned: ${after.abandoned - before.abandoned}`,
    );
    const ok = statuses.length === 1 && statuses[0].status === 'completed' && statuses[0].n === concurrentRuns && wrongShape === 0;
    console.log(`  none lost or duplicated: ${ok && modelCalls === concurrentRuns * MODEL_CALLS_PER_RUN ? 'yes' : 'NO'}`);
  } finally {
    await testApp.close();
    await database.drop();
    await deleteRedisKeysAt(REDIS_URL, prefix);
    upstream.child.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
