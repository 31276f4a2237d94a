import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished, vi } from 'vitest';
import { loadConfig } from 'src/config/app-config';
import { NodePool } from 'src/modules/model-router/node-pool';
import { RouterService } from 'src/modules/model-router/router.service';
import { GraphqlClient } from 'test/support/graphql';
import { ApiClient } from 'test/support/http';
import { OllamaTestServer } from 'test/support/ollama-test-server';
import { startTestApp, TestApp } from 'test/support/test-app';

const MODEL = 'llama3.2:3b';
const PULLABLE = ['tinyllama', 'qwen2.5:0.5b', 'qwen2.5:1.5b', 'phi3:mini', 'slow:7b', 'gql:1b', 'hf.co/org/repo:Q4_K_M'];

interface SseEvent {
  event: string;
  data: any;
}

function parseEvents(text: string): SseEvent[] {
  return text
    .split('\n\n')
    .map((block) => block.split('\n').filter((line) => line && !line.startsWith(':')))
    .filter((lines) => lines.length > 0)
    .map((lines) => ({
      event: lines.find((line) => line.startsWith('event: '))!.slice(7),
      data: JSON.parse(lines.find((line) => line.startsWith('data: '))!.slice(6)),
    }));
}

describe('admin node operations: pull, load, unload on Ollama nodes', () => {
  let a: OllamaTestServer;
  let b: OllamaTestServer;
  let testApp: TestApp;
  let api: ApiClient;
  let gql: GraphqlClient;
  let admin: Awaited<ReturnType<ApiClient['register']>>;
  let member: Awaited<ReturnType<ApiClient['register']>>;
  const asAdmin = () => ({ token: admin.accessToken as string });
  const slug = (server: OllamaTestServer) => `127.0.0.1-${new URL(server.url).port}`;
  const nodePath = (server: OllamaTestServer, action = '') => `/api/v1/admin/nodes/${slug(server)}${action && `/${action}`}`;

  async function ssePull(server: OllamaTestServer, model: string, signal?: AbortSignal): Promise<Response> {
    return fetch(`${testApp.baseUrl}${nodePath(server, 'pull')}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.accessToken}`, 'content-type': 'application/json', accept: 'text/event-stream' },
      body: JSON.stringify({ model }),
      signal,
    });
  }

  async function auditEvents(action: string): Promise<any[]> {
    const events = await api.get(`/api/v1/admin/audit-events?action=${action}`, asAdmin());
    expect(events.status).toBe(200);
    return events.body;
  }

  beforeAll(async () => {
    [a, b] = await Promise.all([
      new OllamaTestServer({ models: [MODEL], pullable: PULLABLE }).start(),
      new OllamaTestServer({ models: [MODEL], pullable: PULLABLE }).start(),
    ]);
    testApp = await startTestApp({
      env: {
        GREMLINS_ROLES: 'api,router',
        OLLAMA_URLS: `${a.url},${b.url}`,
        OLLAMA_HEALTH_INTERVAL_MS: '200',
        OLLAMA_PROBE_TIMEOUT_MS: '300',
        OLLAMA_ADMIN_TIMEOUT_MS: '1500',
      },
    });
    api = new ApiClient(testApp.baseUrl);
    gql = new GraphqlClient(testApp.baseUrl);
    admin = await api.register('admin@example.com');
    member = await api.register('member@example.com');
    const pool = testApp.app.get(NodePool);
    await vi.waitFor(() => expect(pool.nodes.every((node) => node.healthy)).toBe(true), { timeout: 3000 });
  });
  afterAll(async () => {
    await testApp?.close();
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('lists every node with health, circuit, models on disk and in memory', async () => {
    const listed = await api.get('/api/v1/admin/nodes', asAdmin());
    expect(listed.status).toBe(200);
    expect(listed.body).toHaveLength(2);
    const [first] = listed.body.filter((node: any) => node.url === a.url);
    expect(first).toMatchObject({
      id: slug(a),
      providerId: `ollama:${a.url}`,
      source: 'static',
      healthy: true,
      circuit: 'closed',
      lastError: null,
      models: [MODEL],
      loaded: [],
      inFlight: [],
    });
    expect(Date.parse(first.lastSeenAt)).toBeGreaterThan(Date.now() - 5000);

    const bySlug = await api.get(nodePath(a), asAdmin());
    const byPoolId = await api.get(`/api/v1/admin/nodes/${encodeURIComponent(`ollama:${a.url}`)}`, asAdmin());
    expect(bySlug.body.id).toBe(slug(a));
    expect(byPoolId.body.id).toBe(slug(a));

    const nodes = await gql.request('{ nodes { id healthy circuit models loaded { name pinned } } }', undefined, asAdmin());
    expect(nodes.errors).toBeUndefined();
    expect(nodes.data.nodes).toContainEqual({ id: slug(b), healthy: true, circuit: 'closed', models: [MODEL], loaded: [] });
  });

  it('load pins a model (ps shows it) and the router then prefers that node; unload releases it', async () => {
    const loaded = await api.post(nodePath(b, 'load'), { model: MODEL, keepAlive: '-1' }, asAdmin());
    expect(loaded.status).toBe(200);
    expect(loaded.body.loaded).toEqual([{ name: MODEL, sizeVramBytes: 500, expiresAt: expect.any(String), pinned: true }]);
    expect(b.loaded).toEqual([MODEL]);
    expect(b.requests.at(-1)).toEqual({ path: '/api/generate', model: MODEL });

    const router = testApp.app.get(RouterService);
    for (let i = 0; i < 3; i++) {
      const answer = await router.complete({ model: MODEL, messages: [{ role: 'user', content: 'who serves' }] });
      expect(answer.route).toMatchObject({ nodeId: `ollama:${b.url}`, loaded: true });
    }
    // A chat without its own keep_alive leaves the pin alone.
    expect((await api.get(nodePath(b), asAdmin())).body.loaded[0].pinned).toBe(true);

    const timed = await api.post(nodePath(a, 'load'), { model: MODEL, keepAlive: '30m' }, asAdmin());
    expect(timed.body.loaded[0].pinned).toBe(false);
    expect(Date.parse(timed.body.loaded[0].expiresAt) - Date.now()).toBeGreaterThan(29 * 60_000);
    const seconds = await api.post(nodePath(a, 'load'), { model: MODEL, keepAlive: 120 }, asAdmin());
    expect(Date.parse(seconds.body.loaded[0].expiresAt) - Date.now()).toBeLessThanOrEqual(120_000);

    const unloaded = await api.post(nodePath(b, 'unload'), { model: MODEL }, asAdmin());
    expect(unloaded.status).toBe(200);
    expect(unloaded.body.loaded).toEqual([]);
    expect(b.loaded).toEqual([]);
    // Unloading what is not loaded is not an error.
    expect((await api.post(nodePath(b, 'unload'), { model: MODEL }, asAdmin())).status).toBe(200);

    const [event] = await auditEvents('model.node.loaded');
    expect(event).toMatchObject({ actorUserId: admin.user.id, targetType: 'ollama-node', targetId: slug(a) });
    expect(event.metadata).toMatchObject({ model: MODEL, keepAlive: 120, outcome: 'succeeded', url: a.url });
    expect(await auditEvents('model.node.unloaded')).toHaveLength(2);
  });

  it('refuses to load a model the node does not have, but sees one pulled on the node directly', async () => {
    const missing = await api.post(nodePath(a, 'load'), { model: 'phi3:mini' }, asAdmin());
    expect(missing.status).toBe(409);
    expect(missing.body).toMatchObject({ code: 'NODE_MODEL_NOT_PULLED', details: { nodeId: slug(a), model: 'phi3:mini' } });
    expect((await api.post(nodePath(a, 'unload'), { model: 'phi3:mini' }, asAdmin())).body.code).toBe('NODE_MODEL_NOT_PULLED');

    a.models.push('direct:1b');
    const direct = await api.post(nodePath(a, 'load'), { model: 'direct:1b' }, asAdmin());
    expect(direct.status).toBe(200);
    expect(direct.body.models).toContain('direct:1b');
    expect(direct.body.loaded.map((m: any) => m.name)).toContain('direct:1b');
  });

  it('pulls and waits for the final state without an event stream', async () => {
    const pulled = await api.post(nodePath(a, 'pull'), { model: 'qwen2.5:0.5b' }, asAdmin());
    expect(pulled.status).toBe(200);
    expect(pulled.body.id).toBe(slug(a));
    expect(pulled.body.models).toContain('qwen2.5:0.5b');
    expect(b.pulls).not.toContain('qwen2.5:0.5b');
    // A bare name lands as :latest and loads under either spelling.
    const bare = await api.post(nodePath(a, 'pull'), { model: 'tinyllama' }, asAdmin());
    expect(bare.body.models).toContain('tinyllama:latest');
    const loadedBare = await api.post(nodePath(a, 'load'), { model: 'tinyllama', keepAlive: 60 }, asAdmin());
    expect(loadedBare.status).toBe(200);
    expect(loadedBare.body.loaded.map((m: any) => m.name)).toContain('tinyllama:latest');

    const unknown = await api.post(nodePath(a, 'pull'), { model: 'no-such-model:1b' }, asAdmin());
    expect(unknown.status).toBe(502);
    expect(unknown.body.code).toBe('NODE_OPERATION_FAILED');
    expect(unknown.body.message).toContain('file does not exist');

    const events = await auditEvents('model.node.pulled');
    expect(events.map((event) => [event.metadata.model, event.metadata.outcome])).toEqual(
      expect.arrayContaining([
        ['qwen2.5:0.5b', 'succeeded'],
        ['no-such-model:1b', 'failed'],
      ]),
    );
  });

  it('streams pull progress as server-sent events, ending with the node or an error', async () => {
    b.faults.pullChunkDelayMs = 10;
    const response = await ssePull(b, 'qwen2.5:1.5b');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = parseEvents(await response.text());
    expect(events[0]).toEqual({ event: 'progress', data: { status: 'pulling manifest' } });
    const layers = events.filter((event) => event.event === 'progress' && event.data.total !== undefined);
    expect(layers.map((event) => event.data.completed)).toEqual([0, 250, 500, 750, 1000]);
    expect(events.at(-2)).toEqual({ event: 'progress', data: { status: 'success' } });
    expect(events.at(-1)?.event).toBe('done');
    expect(events.at(-1)?.data).toMatchObject({ id: slug(b), models: expect.arrayContaining(['qwen2.5:1.5b']) });

    const failed = parseEvents(await (await ssePull(b, 'unknown:1b')).text());
    expect(failed).toEqual([
      {
        event: 'error',
        data: expect.objectContaining({
          statusCode: 502,
          code: 'NODE_OPERATION_FAILED',
          message: expect.stringContaining('file does not exist'),
        }),
      },
    ]);
    b.faults.pullChunkDelayMs = 0;
  });

  it('cancels the pull when the event-stream client goes away', async () => {
    b.faults.pullChunkDelayMs = 200;
    const controller = new AbortController();
    const response = await ssePull(b, 'slow:7b', controller.signal);
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('event: progress');
    controller.abort();
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(b.models).not.toContain('slow:7b');
    expect((await auditEvents('model.node.pulled')).find((event) => event.metadata.model === 'slow:7b')?.metadata).toMatchObject({
      outcome: 'failed',
      error: 'NODE_OPERATION_ABORTED',
    });
    b.faults.pullChunkDelayMs = 0;
  });

  it('times out a waiting pull after OLLAMA_ADMIN_TIMEOUT_MS (the stream has no limit)', async () => {
    b.faults.pullChunkDelayMs = 400;
    const slow = await api.post(nodePath(b, 'pull'), { model: 'slow:7b' }, asAdmin());
    expect(slow.status).toBe(504);
    expect(slow.body.code).toBe('NODE_OPERATION_TIMEOUT');
    b.faults.pullChunkDelayMs = 0;
  });

  it('exposes the same operations as GraphQL mutations', async () => {
    const pull = await gql.request(
      'mutation($id: ID!) { pullModel(nodeId: $id, input: { model: "gql:1b" }) { id models } }',
      { id: slug(a) },
      asAdmin(),
    );
    expect(pull.errors).toBeUndefined();
    expect(pull.data.pullModel.models).toContain('gql:1b');
    const load = await gql.request(
      'mutation($id: ID!) { loadModel(nodeId: $id, input: { model: "gql:1b", keepAlive: "-1" }) { loaded { name pinned } } }',
      { id: slug(a) },
      asAdmin(),
    );
    expect(load.data.loadModel.loaded).toContainEqual({ name: 'gql:1b', pinned: true });
    const unload = await gql.request(
      'mutation($id: ID!) { unloadModel(nodeId: $id, input: { model: "gql:1b" }) { loaded { name } } }',
      { id: slug(a) },
      asAdmin(),
    );
    expect(unload.data.unloadModel.loaded).not.toContainEqual({ name: 'gql:1b' });

    const badKeep = await gql.request(
      'mutation($id: ID!) { loadModel(nodeId: $id, input: { model: "gql:1b", keepAlive: "forever" }) { id } }',
      { id: slug(a) },
      asAdmin(),
    );
    expect(badKeep.errors?.[0].extensions.code).toBe('VALIDATION_FAILED');
    const unknownNode = await gql.request('{ node(nodeId: "nowhere-1") { id } }', undefined, asAdmin());
    expect(unknownNode.errors?.[0].extensions.code).toBe('NODE_NOT_FOUND');
    const denied = await gql.request('{ nodes { id } }', undefined, { token: member.accessToken });
    expect(denied.errors?.[0].extensions.code).toBe('FORBIDDEN');
  });

  it('refuses non-admins, API keys for writes, unknown nodes, bad model names and bad keepAlive', async () => {
    for (const response of [
      await api.get('/api/v1/admin/nodes', { token: member.accessToken }),
      await api.get(nodePath(a), { token: member.accessToken }),
      await api.post(nodePath(a, 'pull'), { model: 'phi3:mini' }, { token: member.accessToken }),
      await api.post(nodePath(a, 'load'), { model: MODEL }, { token: member.accessToken }),
      await api.post(nodePath(a, 'unload'), { model: MODEL }, { token: member.accessToken }),
    ]) {
      expect(response.status).toBe(403);
    }
    expect((await api.get('/api/v1/admin/nodes')).status).toBe(401);

    const key = (await api.post('/api/v1/api-keys', { name: 'ops' }, asAdmin())).body.key as string;
    expect((await api.post(nodePath(a, 'load'), { model: MODEL }, { apiKey: key })).status).toBe(403);
    expect((await api.post(nodePath(a, 'pull'), { model: 'phi3:mini' }, { apiKey: key })).status).toBe(403);

    const unknown = await api.get('/api/v1/admin/nodes/nowhere-11434', asAdmin());
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('NODE_NOT_FOUND');
    expect((await api.post('/api/v1/admin/nodes/10.9.9.9-11434/load', { model: MODEL }, asAdmin())).body.code).toBe('NODE_NOT_FOUND');
    const otherHost = encodeURIComponent('ollama:http://169.254.169.254:80');
    expect((await api.post(`/api/v1/admin/nodes/${otherHost}/pull`, { model: 'phi3:mini' }, asAdmin())).status).toBe(404);
    for (const nodeId of ['..%2F..%2Fetc', 'UPPER', encodeURIComponent('ollama:file:///etc/passwd'), 'a_b']) {
      const invalid = await api.get(`/api/v1/admin/nodes/${nodeId}`, asAdmin());
      expect(invalid.status, nodeId).toBe(400);
      expect(invalid.body.code).toBe('NODE_INVALID_ID');
    }
    // Fastify refuses path parameters over 100 characters before any handler runs.
    expect((await api.get(`/api/v1/admin/nodes/${'x'.repeat(301)}`, asAdmin())).status).toBe(414);
    const longId = await gql.request(`{ node(nodeId: "${'x'.repeat(301)}") { id } }`, undefined, asAdmin());
    expect(longId.errors?.[0].extensions.code).toBe('NODE_INVALID_ID');

    const pullsBefore = a.pulls.length;
    for (const body of [
      {},
      { model: '' },
      { model: '../x' },
      { model: 'a/../../b' },
      { model: 'http://evil' },
      { model: 'https://evil.example/ns/m' },
      { model: 'bad name' },
      { model: 'x'.repeat(300) },
      { model: 42 },
      { model: ['phi3'] },
      { model: 'phi3:mini', url: 'http://evil:11434' },
      { model: 'phi3:mini', insecure: true },
    ]) {
      const response = await api.post(nodePath(a, 'pull'), body, asAdmin());
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(response.body.code).toBe('VALIDATION_FAILED');
    }
    const registry = await api.post(nodePath(a, 'pull'), { model: 'evil.example.com/ns/m:1' }, asAdmin());
    expect(registry.status).toBe(400);
    expect(registry.body.code).toBe('NODE_REGISTRY_NOT_ALLOWED');
    expect(a.pulls).toHaveLength(pullsBefore);
    // An allowed registry goes through.
    expect((await api.post(nodePath(a, 'pull'), { model: 'hf.co/org/repo:Q4_K_M' }, asAdmin())).status).toBe(200);

    for (const keepAlive of ['0', 0, '-5', -2, 1.5, 'forever', '10d', '1.5h', '', 400 * 24 * 3600, true, { h: 1 }]) {
      const response = await api.post(nodePath(a, 'load'), { model: MODEL, keepAlive }, asAdmin());
      expect(response.status, JSON.stringify(keepAlive)).toBe(400);
    }
    expect((await api.post(nodePath(a, 'load'), { model: '../x' }, asAdmin())).status).toBe(400);
    expect((await api.post(nodePath(a, 'unload'), { model: 'http://evil' }, asAdmin())).status).toBe(400);
  });

  it('answers 503 NODE_UNHEALTHY for a node that is down, before contacting it or opening a stream', async () => {
    await a.stop();
    await expect.poll(async () => (await api.get(nodePath(a), asAdmin())).body.healthy, { timeout: 3000 }).toBe(false);
    expect((await api.get(nodePath(a), asAdmin())).body.lastError).toEqual(expect.any(String));
    for (const response of [
      await api.post(nodePath(a, 'load'), { model: MODEL }, asAdmin()),
      await api.post(nodePath(a, 'unload'), { model: MODEL }, asAdmin()),
      await api.post(nodePath(a, 'pull'), { model: 'phi3:mini' }, asAdmin()),
    ]) {
      expect(response.status).toBe(503);
      expect(response.body.code).toBe('NODE_UNHEALTHY');
    }
    const streamed = await ssePull(a, 'phi3:mini');
    expect(streamed.status).toBe(503);
    expect(((await streamed.json()) as { code: string }).code).toBe('NODE_UNHEALTHY');

    await a.start();
    await expect.poll(async () => (await api.get(nodePath(a), asAdmin())).body.healthy, { timeout: 3000 }).toBe(true);
    expect((await api.get(nodePath(a), asAdmin())).body.lastError).toBeNull();
  });
});

describe('node admin configuration', () => {
  it('parses OLLAMA_PULL_REGISTRIES and OLLAMA_ADMIN_TIMEOUT_MS and refuses URLs as registries', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gremlins-nodes-config-'));
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    expect(loadConfig({ DATA_DIR: dataDir }).router).toMatchObject({
      adminTimeoutMs: 600_000,
      pullRegistries: ['registry.ollama.ai', 'hf.co', 'huggingface.co'],
    });
    expect(loadConfig({ DATA_DIR: dataDir, OLLAMA_PULL_REGISTRIES: ' Registry.Example:5000 , hf.co ' }).router.pullRegistries).toEqual([
      'registry.example:5000',
      'hf.co',
    ]);
    expect(() => loadConfig({ DATA_DIR: dataDir, OLLAMA_PULL_REGISTRIES: 'https://evil.example/' })).toThrow(/OLLAMA_PULL_REGISTRIES/);
    expect(() => loadConfig({ DATA_DIR: dataDir, OLLAMA_ADMIN_TIMEOUT_MS: '0' })).toThrow(/OLLAMA_ADMIN_TIMEOUT_MS/);
  });
});
