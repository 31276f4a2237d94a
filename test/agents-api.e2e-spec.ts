import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { NodePool } from 'src/modules/model-router/node-pool';
import { GraphqlClient } from 'test/support/graphql';
import { ApiClient } from 'test/support/http';
import { isAgent, ScriptedOllama, toolResultsOf } from 'test/support/scripted-ollama';
import { startTestApp, TestApp } from 'test/support/test-app';

const MODELS = ['llama3.2:3b', 'llama3.1:8b', 'llama3.1:70b'];
type User = Awaited<ReturnType<ApiClient['register']>>;

/**
 * Agents and runs as clients see them: CRUD over REST and GraphQL, who may do what, every
 * kind of bad input with its code, artifacts, and admission by priority under the
 * per-workspace limit (one run at a time in this file).
 */
describe('agents and workflow runs API', () => {
  let ollama: ScriptedOllama;
  let testApp: TestApp;
  let api: ApiClient;
  let gql: GraphqlClient;
  let owner: User;
  let member: User;
  let viewer: User;
  let outsider: User;
  let teamId: string;
  let outsiderKnowledgeBase: string;

  const as = (user: User, workspaceId = teamId) => ({ token: user.accessToken, workspaceId });
  const expectError = (response: { status: number; body: any }, status: number, code: string) => {
    expect(response.status, JSON.stringify(response.body)).toBe(status);
    expect(response.body).toMatchObject({ statusCode: status, code, message: expect.any(String) });
  };
  const finished = async (runId: string, options: { token: string; workspaceId?: string } = as(member)) => {
    let run: any;
    await vi.waitFor(
      async () => {
        run = (await api.get(`/api/v1/workflows/runs/${runId}`, options)).body;
        expect(['completed', 'failed', 'cancelled']).toContain(run.status);
      },
      { timeout: 20_000, interval: 50 },
    );
    return run;
  };

  beforeAll(async () => {
    ollama = await new ScriptedOllama(MODELS).start();
    testApp = await startTestApp({
      database: 'postgres',
      env: {
        OLLAMA_URLS: ollama.url,
        OLLAMA_NODE_MODEL_CONCURRENCY: '8',
        ROUTER_CACHE_TTL_SECONDS: '0',
        ROUTER_CIRCUIT_FAILURE_THRESHOLD: '1000',
        AGENTS_MAX_CONCURRENT_RUNS_PER_WORKSPACE: '1',
        AGENTS_MAX_STEPS: '30',
        AGENTS_MAX_TOKEN_BUDGET: '50000',
      },
    });
    api = new ApiClient(testApp.baseUrl);
    gql = new GraphqlClient(testApp.baseUrl);
    const pool = testApp.app.get(NodePool);
    await vi.waitFor(() => expect(pool.nodes.every((node) => node.healthy)).toBe(true), { timeout: 5_000 });
    owner = await api.register('owner@example.com');
    member = await api.register('member@example.com');
    viewer = await api.register('viewer@example.com');
    outsider = await api.register('outsider@example.com');
    teamId = (await api.post('/api/v1/workspaces', { name: 'Team' }, { token: owner.accessToken })).body.id;
    await api.post(`/api/v1/workspaces/${teamId}/members`, { email: 'member@example.com', role: 'member' }, { token: owner.accessToken });
    await api.post(`/api/v1/workspaces/${teamId}/members`, { email: 'viewer@example.com', role: 'viewer' }, { token: owner.accessToken });
    outsiderKnowledgeBase = (await api.post('/api/v1/knowledge-bases', { name: 'Private' }, { token: outsider.accessToken })).body.id;
  });
  afterAll(async () => {
    await testApp?.close();
    await ollama?.stop();
  });
  afterEach(() => ollama.reset());

  describe('agents', () => {
    it('lists the built-in agents, and members create, read, change and delete custom ones', async () => {
      const listed = await api.get('/api/v1/agents', as(viewer));
      expect(listed.status).toBe(200);
      expect(listed.body.map((agent: any) => agent.name)).toEqual(['general', 'researcher', 'analyst', 'writer']);
      expect(listed.body[2]).toMatchObject({
        id: null,
        builtIn: true,
        model: 'balanced',
        tools: ['calculator', 'data_analyzer', 'chart_generator', 'document_search'],
      });

      const created = await api.post(
        '/api/v1/agents',
        {
          name: 'translator',
          description: ' Translates ',
          systemPrompt: 'You translate.',
          tier: 'fast',
          tools: ['text_processor'],
          maxSteps: 5,
        },
        as(member),
      );
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({
        name: 'translator',
        description: 'Translates',
        model: 'fast',
        tools: ['text_processor'],
        maxSteps: 5,
        maxToolCalls: 8,
        builtIn: false,
      });
      const id = created.body.id as string;
      expect((await api.get(`/api/v1/agents/${id}`, as(viewer))).body.name).toBe('translator');

      const updated = await api.patch(`/api/v1/agents/${id}`, { model: 'llama3.2:3b', maxSteps: null, tools: [] }, as(member));
      expect(updated.body).toMatchObject({ model: 'llama3.2:3b', maxSteps: 12, tools: [] });
      expect((await api.get('/api/v1/agents', as(viewer))).body.map((agent: any) => agent.name)).toContain('translator');

      expect((await api.delete(`/api/v1/agents/${id}`, as(member))).status).toBe(204);
      expectError(await api.get(`/api/v1/agents/${id}`, as(member)), 404, 'AGENT_NOT_FOUND');
    });

    it('refuses bad agent definitions with clear codes', async () => {
      const base = { name: 'checker', description: 'Checks', systemPrompt: 'You check.' };
      expectError(await api.post('/api/v1/agents', { ...base, tools: ['calculator', 'shell'] }, as(member)), 400, 'AGENT_TOOL_UNKNOWN');
      expectError(await api.post('/api/v1/agents', { ...base, name: 'writer' }, as(member)), 409, 'AGENT_NAME_TAKEN');
      expectError(await api.post('/api/v1/agents', { ...base, name: 'Bad Name' }, as(member)), 400, 'VALIDATION_FAILED');
      expectError(await api.post('/api/v1/agents', { ...base, tier: 'fast', model: 'llama3.2:3b' }, as(member)), 400, 'VALIDATION_FAILED');
      expectError(await api.post('/api/v1/agents', { ...base, model: 'no-such-model' }, as(member)), 404, 'MODEL_NOT_FOUND');
      expectError(await api.post('/api/v1/agents', { ...base, maxSteps: 31 }, as(member)), 400, 'WORKFLOW_LIMIT_ABOVE_MAXIMUM');
      expectError(await api.post('/api/v1/agents', { ...base, workspaceId: teamId }, as(member)), 400, 'VALIDATION_FAILED');
      expectError(await api.post('/api/v1/agents', { ...base, systemPrompt: 'x'.repeat(20_001) }, as(member)), 400, 'VALIDATION_FAILED');
      expectError(await api.post('/api/v1/agents', base, as(viewer)), 403, 'FORBIDDEN');
      const created = await api.post('/api/v1/agents', base, as(member));
      expect(created.status).toBe(201);
      expectError(await api.post('/api/v1/agents', base, as(owner)), 409, 'AGENT_NAME_TAKEN');
      // Another workspace's agent does not exist for the outsider.
      expectError(await api.get(`/api/v1/agents/${created.body.id}`, { token: outsider.accessToken }), 404, 'AGENT_NOT_FOUND');
      expectError(
        await api.patch(`/api/v1/agents/${created.body.id}`, { description: 'x' }, { token: outsider.accessToken }),
        404,
        'AGENT_NOT_FOUND',
      );
      expectError(await api.delete(`/api/v1/agents/${created.body.id}`, as(viewer)), 403, 'FORBIDDEN');
      expectError(await api.get('/api/v1/agents/not-a-uuid', as(member)), 400, 'VALIDATION_FAILED');
    });

    it('works over GraphQL too', async () => {
      const create = await gql.request(
        'mutation($input: CreateAgentInput!, $ws: ID) { createAgent(input: $input, workspaceId: $ws) { id name model tools builtIn } }',
        { input: { name: 'graphy', description: 'GraphQL agent', systemPrompt: 'You graph.', tools: ['calculator'] }, ws: teamId },
        { token: member.accessToken },
      );
      expect(create.errors).toBeUndefined();
      expect(create.data.createAgent).toMatchObject({ name: 'graphy', model: 'balanced', tools: ['calculator'], builtIn: false });
      const id = create.data.createAgent.id;
      const list = await gql.request(
        'query($ws: ID) { agents(workspaceId: $ws) { name builtIn } }',
        { ws: teamId },
        { token: viewer.accessToken },
      );
      expect(list.data.agents.map((agent: any) => agent.name)).toContain('graphy');
      const update = await gql.request(
        'mutation($id: ID!, $ws: ID) { updateAgent(id: $id, input: { tier: "powerful" }, workspaceId: $ws) { model } }',
        { id, ws: teamId },
        { token: member.accessToken },
      );
      expect(update.data.updateAgent.model).toBe('powerful');
      const forbidden = await gql.request(
        'mutation($id: ID!, $ws: ID) { deleteAgent(id: $id, workspaceId: $ws) }',
        { id, ws: teamId },
        { token: viewer.accessToken },
      );
      expect(forbidden.errors?.[0].extensions.code).toBe('FORBIDDEN');
      const badTool = await gql.request(
        'mutation($ws: ID) { createAgent(input: { name: "x1", description: "d", systemPrompt: "p", tools: ["rm"] }, workspaceId: $ws) { id } }',
        { ws: teamId },
        { token: member.accessToken },
      );
      expect(badTool.errors?.[0].extensions.code).toBe('AGENT_TOOL_UNKNOWN');
      const deleted = await gql.request(
        'mutation($id: ID!, $ws: ID) { deleteAgent(id: $id, workspaceId: $ws) }',
        { id, ws: teamId },
        { token: member.accessToken },
      );
      expect(deleted.data.deleteAgent).toBe(true);
    });
  });

  describe('runs', () => {
    it('refuses bad runs with clear codes, before anything is stored', async () => {
      const post = (body: unknown, user = member) => api.post('/api/v1/workflows/runs', body, as(user));
      expectError(await post({ query: 'x', agents: ['astrologer'] }), 400, 'AGENT_UNKNOWN');
      expectError(await post({ query: 'x', limits: { maxSteps: 31 } }), 400, 'WORKFLOW_LIMIT_ABOVE_MAXIMUM');
      expectError(await post({ query: 'x', limits: { tokenBudget: 50_001 } }), 400, 'WORKFLOW_LIMIT_ABOVE_MAXIMUM');
      expectError(await post({ query: 'x', limits: { maxSteps: 0 } }), 400, 'VALIDATION_FAILED');
      expectError(await post({ query: 'x', limits: { steps: 3 } }), 400, 'VALIDATION_FAILED');
      expectError(await post({ query: 'x', workspaceId: teamId }), 400, 'VALIDATION_FAILED');
      expectError(await post({ query: '   ' }), 400, 'VALIDATION_FAILED');
      expectError(await post({ query: 'x'.repeat(20_001) }), 400, 'VALIDATION_FAILED');
      expectError(await post({ query: 'x', mode: 'swarm' }), 400, 'VALIDATION_FAILED');
      expectError(await post({ query: 'x', priority: 11 }), 400, 'VALIDATION_FAILED');
      expectError(await post({ query: 'x', knowledgeBaseIds: ['not-a-uuid'] }), 400, 'VALIDATION_FAILED');
      // Another workspace's knowledge base, and one that does not exist: the same answer.
      expectError(await post({ query: 'x', knowledgeBaseIds: [outsiderKnowledgeBase] }), 404, 'KNOWLEDGE_BASE_NOT_FOUND');
      expectError(await post({ query: 'x', knowledgeBaseIds: ['00000000-0000-4000-8000-000000000000'] }), 404, 'KNOWLEDGE_BASE_NOT_FOUND');
      expectError(await post({ query: 'x' }, viewer), 403, 'FORBIDDEN');
      expect((await api.get('/api/v1/workflows/runs', as(member))).body).toEqual([]);
    });

    it('keeps runs private: another user or workspace gets 404 on every route', async () => {
      ollama.on(isAgent('general'), { content: 'mine' });
      const runId = (await api.post('/api/v1/workflows/runs', { query: 'hello', mode: 'single', agents: ['general'] }, as(member))).body.id;
      expect((await finished(runId)).result).toBe('mine');
      for (const user of [outsider, owner, viewer]) {
        const options = user === outsider ? { token: outsider.accessToken } : as(user);
        expectError(await api.get(`/api/v1/workflows/runs/${runId}`, options), 404, 'WORKFLOW_RUN_NOT_FOUND');
        expectError(await api.get(`/api/v1/workflows/runs/${runId}/events`, options), 404, 'WORKFLOW_RUN_NOT_FOUND');
        expectError(
          await api.get(`/api/v1/workflows/runs/${runId}/artifacts/00000000-0000-4000-8000-000000000000`, options),
          404,
          'WORKFLOW_ARTIFACT_NOT_FOUND',
        );
      }
      expectError(
        await api.post(`/api/v1/workflows/runs/${runId}/cancel`, undefined, { token: outsider.accessToken }),
        404,
        'WORKFLOW_RUN_NOT_FOUND',
      );
      expectError(await api.get('/api/v1/workflows/runs/nope', as(member)), 400, 'VALIDATION_FAILED');
      expect((await api.get('/api/v1/workflows/runs', as(member))).body.map((run: any) => run.id)).toEqual([runId]);
      expect((await api.get('/api/v1/workflows/runs', as(owner))).body).toEqual([]);
      const gqlForeign = await gql.request(
        'query($id: ID!) { workflowRun(id: $id) { id } }',
        { id: runId },
        { token: outsider.accessToken },
      );
      expect(gqlForeign.errors?.[0].extensions.code).toBe('WORKFLOW_RUN_NOT_FOUND');
    });

    it('stores the charts a tool makes and serves them to the run owner only', async () => {
      ollama.on(isAgent('analyst'), (call) =>
        toolResultsOf(call).length === 0
          ? {
              toolCalls: [
                {
                  name: 'chart_generator',
                  arguments: {
                    name: 'sales',
                    spec: {
                      data: {
                        values: [
                          { month: 'Jan', sales: 3 },
                          { month: 'Feb', sales: 5 },
                        ],
                      },
                      mark: 'bar',
                      encoding: { x: { field: 'month', type: 'nominal' }, y: { field: 'sales', type: 'quantitative' } },
                    },
                  },
                },
              ],
            }
          : { content: 'Here is the chart.' },
      );
      const runId = (
        await api.post('/api/v1/workflows/runs', { query: 'Chart the sales', mode: 'single', agents: ['analyst'] }, as(member))
      ).body.id;
      const run = await finished(runId);
      expect(run.status, JSON.stringify(run.error)).toBe('completed');
      const artifacts = run.tasks[0].steps[1].artifacts;
      expect(artifacts.map((artifact: any) => [artifact.name, artifact.mediaType])).toEqual([
        ['sales.svg', 'image/svg+xml'],
        ['sales.png', 'image/png'],
      ]);
      const svg = await fetch(`${testApp.baseUrl}${artifacts[0].url}`, {
        headers: { authorization: `Bearer ${member.accessToken}`, 'x-workspace-id': teamId },
      });
      expect(svg.status).toBe(200);
      expect(svg.headers.get('content-type')).toBe('image/svg+xml');
      expect(svg.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(await svg.text()).toMatch(/^<svg/);
      const png = await fetch(`${testApp.baseUrl}${artifacts[1].url}`, {
        headers: { authorization: `Bearer ${member.accessToken}`, 'x-workspace-id': teamId },
      });
      expect(
        Buffer.from(await png.arrayBuffer())
          .subarray(1, 4)
          .toString(),
      ).toBe('PNG');
      expect(Number(png.headers.get('content-length'))).toBe(artifacts[1].sizeBytes);
      expectError(await api.get(artifacts[0].url, { token: outsider.accessToken }), 404, 'WORKFLOW_ARTIFACT_NOT_FOUND');
    });

    it('starts, reads, lists and cancels runs over GraphQL', async () => {
      ollama.on(isAgent('general'), (call) =>
        toolResultsOf(call).length === 0
          ? { toolCalls: [{ name: 'calculator', arguments: { expression: '2^10' } }] }
          : { content: 'done', delayMs: 300 },
      );
      const started = await gql.request(
        'mutation($ws: ID) { startWorkflowRun(input: { query: "hi", mode: "single", agents: ["general"], limits: { maxSteps: 5 } }, workspaceId: $ws) { id status eventsUrl } }',
        { ws: teamId },
        { token: member.accessToken },
      );
      expect(started.errors).toBeUndefined();
      const id = started.data.startWorkflowRun.id;
      await finished(id);
      const read = await gql.request(
        `query($id: ID!, $ws: ID) { workflowRun(id: $id, workspaceId: $ws) {
          status result limits { maxSteps } usage { steps toolCalls }
          tasks { key status steps { sequence type tool arguments result dataJson toolCalls { name arguments } } } } }`,
        { id, ws: teamId },
        { token: member.accessToken },
      );
      expect(read.errors).toBeUndefined();
      expect(read.data.workflowRun).toMatchObject({
        status: 'completed',
        result: 'done',
        limits: { maxSteps: 5 },
        usage: { toolCalls: 1 },
      });
      const steps = read.data.workflowRun.tasks[0].steps;
      expect(steps[0].toolCalls).toEqual([{ name: 'calculator', arguments: '{"expression":"2^10"}' }]);
      expect(steps[1]).toMatchObject({ type: 'tool', tool: 'calculator', arguments: { expression: '2^10' } });
      expect(JSON.parse(steps[1].dataJson)).toMatchObject({ result: '1024' });
      const listed = await gql.request(
        'query($ws: ID) { workflowRuns(workspaceId: $ws, limit: 1) { id } }',
        { ws: teamId },
        { token: member.accessToken },
      );
      expect(listed.errors).toBeUndefined();
      expect(listed.data.workflowRuns).toEqual([{ id }]);
      const cancel = await gql.request(
        'mutation($id: ID!, $ws: ID) { cancelWorkflowRun(id: $id, workspaceId: $ws) { status } }',
        { id, ws: teamId },
        { token: member.accessToken },
      );
      expect(cancel.errors?.[0].extensions.code).toBe('WORKFLOW_RUN_FINISHED');
    });

    it('admits one run at a time per workspace here, higher priority first', async () => {
      let releaseFirst!: () => void;
      const first = new Promise<void>((resolve) => (releaseFirst = resolve));
      ollama
        .on((call) => isAgent('general')(call) && call.messages.some((message) => message.content === 'blocker'), {
          content: 'blocked',
          gate: first,
        })
        .on(isAgent('general'), { content: 'ok', delayMs: 50 });
      const start = async (query: string, priority: number) =>
        (await api.post('/api/v1/workflows/runs', { query, priority, mode: 'single', agents: ['general'] }, as(member))).body.id as string;
      const blocker = await start('blocker', 5);
      await vi.waitFor(() => expect(ollama.calls).toHaveLength(1), { timeout: 5_000 });
      const low = await start('low', 1);
      const high = await start('high', 9);
      const alsoHigh = await start('also high', 9);
      // Another workspace is not held up by this one's limit.
      const elsewhere = (
        await api.post(
          '/api/v1/workflows/runs',
          { query: 'elsewhere', mode: 'single', agents: ['general'] },
          { token: outsider.accessToken },
        )
      ).body.id;
      expect((await finished(elsewhere, { token: outsider.accessToken })).status).toBe('completed');
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const id of [low, high, alsoHigh])
        expect((await api.get(`/api/v1/workflows/runs/${id}`, as(member))).body.status).toBe('queued');

      releaseFirst();
      const runs = await Promise.all([blocker, low, high, alsoHigh].map((id) => finished(id)));
      expect(runs.map((run) => run.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
      const order = [...runs].sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt)).map((run) => run.query);
      expect(order).toEqual(['blocker', 'high', 'also high', 'low']);
      // Never two at once.
      for (let i = 1; i < runs.length; i++) {
        const [before, after] = [runs.find((run) => run.query === order[i - 1]), runs.find((run) => run.query === order[i])];
        expect(Date.parse(after.startedAt)).toBeGreaterThanOrEqual(Date.parse(before.finishedAt));
      }
    });
  });
});
