import { io, Socket } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { JobQueue } from 'src/common/queue/job-queue';
import { NodePool } from 'src/modules/model-router/node-pool';
import { GraphqlClient, nextSubscriptionTo, Subscription } from 'test/support/graphql';
import { ApiClient } from 'test/support/http';
import { startReplicas, Replicas } from 'test/support/replicas';
import { isAggregator, isAgent, isPlanner, promptOf, ScriptedOllama, toolResultsOf } from 'test/support/scripted-ollama';
import type { TestApp } from 'test/support/test-app';

const MODELS = ['llama3.2:3b', 'llama3.1:8b', 'llama3.1:70b'];
const HANDBOOK = [
  'Expense policy. Travel is reimbursed at 0.42 per kilometre driven.',
  'The office in Lyon opened in 2019 and has 37 employees.',
].join('\n\n');

interface Recorded {
  event: string;
  payload: any;
}

async function* readEvents(response: Response): AsyncGenerator<Recorded> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const part of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(part, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const raw = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (raw.startsWith(':')) continue;
      yield { event: /^event: (.*)$/m.exec(raw)?.[1] ?? 'message', payload: JSON.parse(/^data: (.*)$/m.exec(raw)?.[1] ?? 'null') };
    }
  }
}

/**
 * The "done when" of the agents issue, on two replicas sharing PostgreSQL and Redis: a
 * multi-part question is planned into researcher and analyst tasks that run in parallel and
 * call document_search (over a real ingested knowledge base) and the calculator; the writer
 * aggregates; the answer streams to a Socket.IO client, an SSE client and a GraphQL
 * subscriber connected to the replica that does NOT execute the run; and the run reads back
 * step by step.
 */
describe('agent workflow events across replicas', () => {
  let ollama: ScriptedOllama;
  let replicas: Replicas;
  let executor: TestApp;
  let watcher: TestApp;
  let owner: Awaited<ReturnType<ApiClient['register']>>;
  let stranger: Awaited<ReturnType<ApiClient['register']>>;
  let knowledgeBaseId: string;
  const sockets: Socket[] = [];

  const connect = async (token: string): Promise<Socket> => {
    const socket = io(`${watcher.baseUrl}/realtime`, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token } });
    sockets.push(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('connect_error', reject);
    });
    return socket;
  };

  beforeAll(async () => {
    ollama = await new ScriptedOllama(MODELS).start();
    replicas = await startReplicas(2, {
      OLLAMA_URLS: ollama.url,
      OLLAMA_NODE_MODEL_CONCURRENCY: '8',
      ROUTER_CACHE_TTL_SECONDS: '0',
      ROUTER_CIRCUIT_FAILURE_THRESHOLD: '1000',
    });
    [executor, watcher] = replicas.apps;
    // The watcher takes no jobs: every event it delivers was published by the other replica.
    await watcher.app.get(JobQueue).stopProcessing();
    for (const replica of replicas.apps) {
      const pool = replica.app.get(NodePool);
      await vi.waitFor(() => expect(pool.nodes.every((node) => node.healthy)).toBe(true), { timeout: 5_000 });
    }
    const api = new ApiClient(executor.baseUrl);
    owner = await api.register('owner@example.com');
    stranger = await api.register('stranger@example.com');
    knowledgeBaseId = (await api.post('/api/v1/knowledge-bases', { name: 'Handbook' }, { token: owner.accessToken })).body.id;
    const form = new FormData();
    form.append('file', new Blob([HANDBOOK], { type: 'text/plain' }), 'handbook.txt');
    const uploaded = await fetch(`${executor.baseUrl}/api/v1/knowledge-bases/${knowledgeBaseId}/documents`, {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.accessToken}` },
      body: form,
    });
    expect(uploaded.status).toBe(201);
    const documentId = ((await uploaded.json()) as { id: string }).id;
    await vi.waitFor(
      async () =>
        expect(
          (await api.get(`/api/v1/knowledge-bases/${knowledgeBaseId}/documents/${documentId}`, { token: owner.accessToken })).body.status,
        ).toBe('indexed'),
      { timeout: 60_000, interval: 200 },
    );
  }, 120_000);

  afterAll(async () => {
    sockets.forEach((socket) => socket.disconnect());
    await replicas?.close();
    await ollama?.stop();
  });
  afterEach(() => ollama.reset());

  it('plans, runs researcher and analyst in parallel with their tools, streams the answer everywhere, and reads back', async () => {
    let release!: () => void;
    const followersReady = new Promise<void>((resolve) => (release = resolve));
    ollama
      .on(isPlanner, () => ({
        gate: followersReady,
        content: JSON.stringify({
          tasks: [
            { id: 'policy', agent: 'researcher', instruction: 'Find the mileage rate in the handbook', dependsOn: [] },
            { id: 'cost', agent: 'analyst', instruction: 'Compute the cost of 250 km at 0.42 per km', dependsOn: [] },
          ],
        }),
      }))
      .on(isAgent('researcher'), (call) =>
        toolResultsOf(call).length === 0
          ? { toolCalls: [{ name: 'document_search', arguments: { query: 'mileage reimbursement per kilometre' } }], delayMs: 150 }
          : {
              content: `The handbook says: ${JSON.parse(toolResultsOf(call)[0].content).passages[0].text.includes('0.42') ? '0.42 per km' : 'unknown'}`,
            },
      )
      .on(isAgent('analyst'), (call) =>
        toolResultsOf(call).length === 0
          ? { toolCalls: [{ name: 'calculator', arguments: { expression: '250 * 0.42' } }], delayMs: 150 }
          : { content: `The cost is ${JSON.parse(toolResultsOf(call)[0].content).result}.` },
      )
      .on(isAggregator, (call) => ({
        content:
          promptOf(call).includes('0.42 per km') && promptOf(call).includes('The cost is 105.')
            ? 'Driving 250 km is reimbursed 105 at 0.42 per km.'
            : 'missing',
        chunkDelayMs: 10,
      }));

    const api = new ApiClient(watcher.baseUrl);
    const gql = new GraphqlClient(watcher.baseUrl);
    const started = await api.post(
      '/api/v1/workflows/runs',
      { query: 'What is the mileage rate, and what does a 250 km trip cost?', mode: 'multi', knowledgeBaseIds: [knowledgeBaseId] },
      { token: owner.accessToken },
    );
    expect(started.status).toBe(202);
    const runId = started.body.id as string;
    expect(started.body).toEqual({ id: runId, status: 'queued', eventsUrl: `/api/v1/workflows/runs/${runId}/events` });

    // The planner's reply is held, so the run stays in planning once the executor has taken it;
    // wait for that so that every surface starts from the same state however loaded the machine is.
    await vi.waitFor(
      async () => expect((await api.get(`/api/v1/workflows/runs/${runId}`, { token: owner.accessToken })).body.status).toBe('planning'),
      { timeout: 30_000, interval: 50 },
    );

    // Socket.IO: the owner joins the run's room; a stranger cannot.
    const socket = await connect(owner.accessToken);
    const socketEvents: Recorded[] = [];
    socket.onAny((event: string, payload: unknown) => event.startsWith('agent-run:') && socketEvents.push({ event, payload }));
    expect(await socket.timeout(5_000).emitWithAck('agent-run:join', { runId })).toEqual({ ok: true, data: { runId, status: 'planning' } });
    const strangerSocket = await connect(stranger.accessToken);
    const refused = await strangerSocket.timeout(5_000).emitWithAck('agent-run:join', { runId });
    expect(refused).toMatchObject({ ok: false, error: { statusCode: 404, code: 'WORKFLOW_RUN_NOT_FOUND' } });

    // SSE.
    const sse = await fetch(`${watcher.baseUrl}${started.body.eventsUrl}`, { headers: { authorization: `Bearer ${owner.accessToken}` } });
    expect(sse.status).toBe(200);
    expect(sse.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const sseEvents: Recorded[] = [];
    const sseDone = (async () => {
      for await (const event of readEvents(sse)) sseEvents.push(event);
    })();

    // GraphQL subscription.
    const graphqlSocket = gql.socket({ authorization: `Bearer ${owner.accessToken}` });
    const subscribed = nextSubscriptionTo(watcher.app, 'agent-run-event');
    const feed = new Subscription(
      graphqlSocket,
      'subscription($id: ID!) { workflowRunEvents(runId: $id) { type runId taskId delta payload } }',
      {
        id: runId,
      },
    );
    const firstGraphql = feed.next();
    await subscribed;

    release();
    const graphqlEvents = [(await firstGraphql).value?.data?.workflowRunEvents];
    while (graphqlEvents.at(-1)?.type !== 'finished') graphqlEvents.push((await feed.next()).value?.data?.workflowRunEvents);
    await sseDone;
    await vi.waitFor(() => expect(socketEvents.at(-1)?.event).toBe('agent-run:finished'), { timeout: 5_000 });
    await feed.close();
    await graphqlSocket.dispose();

    // Every surface saw the same run unfold from the moment all three were following (the
    // planner's reply was held until then); the socket joined first and saw the start too.
    const socketTypes = socketEvents.map((event) => event.event.slice('agent-run:'.length));
    // Before that, the socket may have seen the planning start (it joined while the run was planning).
    const beforePlanned = socketTypes.slice(0, socketTypes.indexOf('task.finished'));
    for (const type of beforePlanned) expect(['status', 'task.started']).toContain(type);
    expect(socketEvents[socketTypes.indexOf('task.finished')].payload).toMatchObject({ key: 'plan', status: 'completed' });
    const sincePlanned = (types: string[]) => types.slice(types.indexOf('task.finished'));
    expect(sseEvents[0]).toEqual({ event: 'status', payload: { runId, status: 'planning' } });
    expect(sincePlanned(sseEvents.map((event) => event.event))).toEqual(sincePlanned(socketTypes));
    expect(sincePlanned(graphqlEvents.map((event) => event.type))).toEqual(sincePlanned(socketTypes));
    expect(socketTypes.filter((type) => type === 'token').length).toBeGreaterThan(3);
    for (const type of ['plan', 'status', 'task.started', 'tool.called', 'tool.result', 'task.finished'])
      expect(socketTypes).toContain(type);
    expect(socketTypes.at(-1)).toBe('finished');
    const answer = socketEvents
      .filter((event) => event.event === 'agent-run:token')
      .map((event) => event.payload.delta)
      .join('');
    expect(answer).toBe('Driving 250 km is reimbursed 105 at 0.42 per km.');
    const tools = socketEvents.filter((event) => event.event === 'agent-run:tool.called').map((event) => event.payload.tool);
    expect(tools.sort()).toEqual(['calculator', 'document_search']);
    const finishedEvent = socketEvents.at(-1)!.payload;
    expect(finishedEvent).toMatchObject({ runId, status: 'completed', result: answer, error: null, usage: { toolCalls: 2 } });

    // Read back step by step.
    const run = (await api.get(`/api/v1/workflows/runs/${runId}`, { token: owner.accessToken })).body;
    expect(run).toMatchObject({ status: 'completed', result: answer, resolvedMode: 'multi', knowledgeBaseIds: [knowledgeBaseId] });
    const [policy, cost] = [run.tasks[1], run.tasks[2]];
    expect(policy.steps.map((step: any) => step.tool ?? step.type)).toEqual(['model', 'document_search', 'model']);
    expect(policy.steps[1].data.passages[0]).toMatchObject({ documentName: 'handbook.txt', knowledgeBaseId });
    expect(cost.steps[1]).toMatchObject({ tool: 'calculator', arguments: { expression: '250 * 0.42' }, status: 'completed' });
    expect(Date.parse(policy.startedAt)).toBeLessThan(Date.parse(cost.finishedAt));
    expect(Date.parse(cost.startedAt)).toBeLessThan(Date.parse(policy.finishedAt));

    // An SSE client arriving after the end gets the outcome at once.
    const late = await fetch(`${watcher.baseUrl}${started.body.eventsUrl}`, { headers: { authorization: `Bearer ${owner.accessToken}` } });
    const lateEvents: Recorded[] = [];
    for await (const event of readEvents(late)) lateEvents.push(event);
    expect(lateEvents.map((event) => event.event)).toEqual(['status', 'finished']);
    expect(lateEvents[1].payload).toMatchObject({ status: 'completed', result: answer });
  });
});
