import OpenAI from 'openai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NodePool } from 'src/modules/model-router/node-pool';
import { UsageService } from 'src/modules/model-router/usage/usage.service';
import { ApiClient } from 'test/support/http';
import { OllamaTestServer } from 'test/support/ollama-test-server';
import { OpenAiTestServer } from 'test/support/openai-test-server';
import { startTestApp, TestApp } from 'test/support/test-app';
import { writeTinyGguf } from 'test/support/tiny-gguf';

const FAST = 'llama3.2:3b';
const BALANCED = 'llama3.1:8b';
const EMBEDDER = 'nomic-embed-text';
const PROMPT_LIMIT = 4_000;

describe('OpenAI-compatible API at /v1, driven by the official openai SDK', () => {
  let nodes: OllamaTestServer[];
  let upstream: OpenAiTestServer;
  let testApp: TestApp;
  let api: ApiClient;
  let admin: Awaited<ReturnType<ApiClient['register']>>;
  let client: OpenAI;
  let ggufDir: string;

  beforeAll(async () => {
    nodes = await Promise.all([
      new OllamaTestServer({ models: [FAST, BALANCED, EMBEDDER], embeddingModels: [EMBEDDER] }).start(),
      new OllamaTestServer({ models: [FAST, BALANCED, EMBEDDER], embeddingModels: [EMBEDDER], loaded: [FAST] }).start(),
    ]);
    upstream = await new OpenAiTestServer({ apiKey: 'sk-upstream', answer: ['from', ' the', ' upstream'], models: ['vllm-model'] }).start();
    ggufDir = mkdtempSync(join(tmpdir(), 'gremlins-gguf-'));
    writeTinyGguf(join(ggufDir, 'tiny-local.gguf'));
    testApp = await startTestApp({
      env: {
        OLLAMA_URLS: nodes.map((node) => node.url).join(','),
        CHAT_MAX_PROMPT_CHARS: String(PROMPT_LIMIT),
        CHAT_MAX_COMPLETION_TOKENS: '1000',
        LLAMA_MODEL_PATH: join(ggufDir, 'tiny-local.gguf'),
        LLAMA_CONTEXT_SIZE: '512',
      },
    });
    api = new ApiClient(testApp.baseUrl);
    admin = await api.register('ada@example.com');
    const key = await api.post('/api/v1/api-keys', { name: 'sdk' }, { token: admin.accessToken });
    client = new OpenAI({ baseURL: `${testApp.baseUrl}/v1`, apiKey: key.body.key, maxRetries: 0 });
    const embedder = await api.post(
      '/api/v1/admin/models',
      {
        name: EMBEDDER,
        tier: 'fast',
        priority: 500,
        providerKind: 'ollama',
        capabilities: { tools: false, vision: false, embeddings: true },
      },
      { token: admin.accessToken },
    );
    expect(embedder.status).toBe(201);
    const pool = testApp.app.get(NodePool);
    await vi.waitFor(() => expect(pool.nodes.every((node) => node.healthy && (node.models?.size ?? 0) > 0)).toBe(true), { timeout: 5_000 });
  });

  afterAll(async () => {
    await testApp?.close();
    await Promise.all(nodes.map((node) => node.stop()));
    await upstream?.stop();
    rmSync(ggufDir, { recursive: true, force: true });
  });

  it('lists models by name and alias, with auto and the tiers', async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(expect.arrayContaining(['auto', 'fast', 'balanced', 'powerful', FAST, 'llama3.2', BALANCED, 'tiny-local']));
    expect(await client.models.retrieve('llama3.2')).toMatchObject({ id: 'llama3.2', object: 'model', owned_by: 'ollama' });
  });

  it('answers a chat completion, with usage and the routing decision in body and header', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: FAST, messages: [{ role: 'user', content: 'hello from the sdk' }] })
      .withResponse();
    expect(data.choices[0]).toMatchObject({
      index: 0,
      finish_reason: 'stop',
      message: { role: 'assistant', content: 'hello from the sdk' },
    });
    expect(data.usage).toEqual({ prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 });
    expect(data.model).toBe(FAST);
    const routing = (data as unknown as { gremlins: { routing: Record<string, unknown> } }).gremlins.routing;
    expect(routing).toMatchObject({
      requested: FAST,
      model: FAST,
      tier: 'fast',
      via: 'name',
      nodeId: `ollama:${nodes[1].url}`,
      cached: false,
    });
    expect(response.headers.get('x-gremlins-route')).toContain(`model=${FAST}; tier=fast; via=name`);
  });

  it('streams tokens as server-sent events, then usage, then [DONE]', async () => {
    nodes.forEach((node) => (node.faults.interChunkDelayMs = 20));
    try {
      const stream = await client.chat.completions.create({
        model: 'llama3.2',
        messages: [{ role: 'user', content: 'one two three four' }],
        stream: true,
        stream_options: { include_usage: true },
      });
      const deltas: string[] = [];
      const arrivals: number[] = [];
      let finish: string | null = null;
      let usage: OpenAI.CompletionUsage | undefined | null;
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) {
          deltas.push(chunk.choices[0].delta.content);
          arrivals.push(performance.now());
        }
        finish = chunk.choices[0]?.finish_reason ?? finish;
        if (chunk.usage) usage = chunk.usage;
      }
      expect(deltas).toEqual(['one', ' two', ' three', ' four']);
      expect(finish).toBe('stop');
      expect(usage).toEqual({ prompt_tokens: 4, completion_tokens: 4, total_tokens: 8 });
      // Forwarded as they come: the node's 20 ms gaps survive (no buffering into one write).
      expect(arrivals[3] - arrivals[0]).toBeGreaterThanOrEqual(40);
    } finally {
      nodes.forEach((node) => (node.faults.interChunkDelayMs = 0));
    }
  });

  it('routes auto by complexity and falls back along the tier chain when a tier has no node', async () => {
    const simple = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hi there' }] });
    expect(routingOf(simple)).toMatchObject({ via: 'auto', tier: 'fast', model: FAST, complexity: { tier: 'fast' } });

    const hard = 'First, explain step by step why the proof fails, then compare the trade-offs. ```ts\nconst x = 1;\n```';
    const complex = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: hard }] });
    // powerful (llama3.1:70b) is registered but no node has it: the chain goes on to balanced.
    expect(routingOf(complex)).toMatchObject({ via: 'auto', tier: 'balanced', model: BALANCED, fallbackFrom: 'llama3.1:70b' });
    expect(routingOf(complex).complexity).toMatchObject({ tier: 'powerful' });

    const metrics = await (await fetch(`${testApp.baseUrl}/metrics`)).text();
    expect(metrics).toMatch(/gremlins_router_decisions_total\{tier="balanced",via="auto",cached="false",fallback="true"\} 1/);
    expect(metrics).toMatch(/gremlins_router_tokens_total\{model="llama3\.2:3b",kind="completion"\} \d+/);
  });

  it('embeds, in the base64 encoding the SDK asks for by default and in floats', async () => {
    const result = await client.embeddings.create({ model: EMBEDDER, input: ['abc', 'hello'] });
    expect(result.data.map((item) => item.embedding)).toEqual([
      [3, 1, 0],
      [5, 1, 0],
    ]);
    expect(result).toMatchObject({ model: EMBEDDER, usage: { prompt_tokens: 2, total_tokens: 2 } });
    const floats = await client.embeddings.create({ model: EMBEDDER, input: 'abcd', encoding_format: 'float' });
    expect(floats.data[0].embedding).toEqual([4, 1, 0]);
    await expect(client.embeddings.create({ model: FAST, input: 'x' })).rejects.toMatchObject({ status: 400, code: 'model_cannot_embed' });
  });

  it('routes to an admin-configured OpenAI-compatible upstream with its stored key', async () => {
    const created = await api.post(
      '/api/v1/admin/upstreams',
      { name: 'vllm', kind: 'openai-compatible', baseUrl: upstream.url, apiKey: 'sk-upstream' },
      { token: admin.accessToken },
    );
    await api.post(
      '/api/v1/admin/models',
      { name: 'vllm-model', tier: 'balanced', priority: 900, providerKind: 'openai-compatible', upstreamId: created.body.id },
      { token: admin.accessToken },
    );
    const answer = await client.chat.completions.create({ model: 'vllm-model', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0].message.content).toBe('from the upstream');
    expect(routingOf(answer)).toMatchObject({ provider: 'openai-compatible', nodeId: `openai-compatible:${created.body.id}` });
    expect(upstream.requests.at(-1)?.authorization).toBe('Bearer sk-upstream');
  });

  it('passes tools and response_format through and returns tool calls, streamed and not', async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather for a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } } },
        },
      },
    ];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather in Paris?' }];
    const answer = await client.chat.completions.create({ model: 'vllm-model', messages, tools });
    expect(answer.choices[0]).toMatchObject({
      finish_reason: 'tool_calls',
      message: { tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
    });
    expect(upstream.requests.at(-1)?.body?.tools).toEqual(tools);

    const stream = await client.chat.completions.create({ model: 'vllm-model', messages, tools, stream: true });
    const calls: OpenAI.ChatCompletionChunk.Choice.Delta.ToolCall[] = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      calls.push(...(chunk.choices[0]?.delta.tool_calls ?? []));
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(calls).toEqual([expect.objectContaining({ index: 0, function: { name: 'get_weather', arguments: '{"city":"Paris"}' } })]);
    expect(finish).toBe('tool_calls');

    // The result goes back as a tool turn; a JSON schema reaches the upstream as response_format.
    await client.chat.completions.create({
      model: 'vllm-model',
      messages: [
        ...messages,
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'call_1', content: '21°C' },
      ],
      response_format: { type: 'json_schema', json_schema: { name: 'report', schema: { type: 'object' } } },
    });
    const sent = upstream.requests.at(-1)?.body as { messages: { role: string; tool_call_id?: string }[]; response_format: unknown };
    expect(sent.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'tool']);
    expect(sent.messages[2].tool_call_id).toBe('call_1');
    expect(sent.response_format).toMatchObject({ type: 'json_schema', json_schema: { schema: { type: 'object' } } });
  });

  it('chats with the in-process llama.cpp model, registered from LLAMA_MODEL_PATH (real inference)', async () => {
    const stream = await client.chat.completions.create({
      model: 'tiny-local',
      messages: [{ role: 'user', content: 'hello' }],
      max_tokens: 5,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | undefined | null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(usage?.completion_tokens).toBe(5);
  });

  it('serves repeated deterministic requests from the cache, per workspace', async () => {
    const request = { model: FAST, temperature: 0, messages: [{ role: 'user' as const, content: 'cache me please' }] };
    const first = await client.chat.completions.create(request);
    const second = await client.chat.completions.create(request);
    expect(routingOf(first).cached).toBe(false);
    expect(routingOf(second)).toMatchObject({ cached: true, nodeId: 'cache' });
    expect(second.choices[0].message.content).toBe('cache me please');
    expect(second.usage).toEqual({ prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });

    // Another workspace asking the same thing gets its own answer, not this one's entry.
    const other = await api.register('bob@example.com');
    const otherKey = await api.post('/api/v1/api-keys', { name: 'sdk' }, { token: other.accessToken });
    const otherClient = new OpenAI({ baseURL: `${testApp.baseUrl}/v1`, apiKey: otherKey.body.key, maxRetries: 0 });
    expect(routingOf(await otherClient.chat.completions.create(request)).cached).toBe(false);
  });

  it('ends an interrupted stream with an explicit error event that the SDK raises', async () => {
    nodes.forEach((node) => Object.assign(node.faults, { dropAfterChunks: 2, interChunkDelayMs: 20 }));
    try {
      const stream = await client.chat.completions.create({
        model: FAST,
        messages: [{ role: 'user', content: 'this answer will be cut short' }],
        stream: true,
      });
      const received: string[] = [];
      const consume = async (): Promise<void> => {
        for await (const chunk of stream) received.push(chunk.choices[0]?.delta.content ?? '');
      };
      await expect(consume()).rejects.toThrow(/incomplete/);
      expect(received.join('')).toBe('this answer');
    } finally {
      nodes.forEach((node) => Object.assign(node.faults, { dropAfterChunks: undefined, interChunkDelayMs: 0 }));
    }
  });

  it('records a usage row for every call, complete, incomplete or failed', async () => {
    await testApp.app.get(UsageService).flush();
    const rows: { outcome: string; model: string | null; cached: boolean }[] = await testApp.app
      .get(DataSource)
      .query(`SELECT outcome, model, cached FROM usage_records WHERE user_id = $1`, [admin.user.id]);
    expect(rows.filter((row) => row.outcome === 'complete').length).toBeGreaterThanOrEqual(8);
    expect(rows.some((row) => row.outcome === 'incomplete' && row.model === FAST)).toBe(true);
    expect(rows.some((row) => row.outcome === 'error')).toBe(true);
    expect(rows.some((row) => row.cached)).toBe(true);
  });

  describe('bad input gets OpenAI-shaped errors and calls no model', () => {
    const chat = (body: unknown, key?: string) =>
      fetch(`${testApp.baseUrl}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key ?? client.apiKey}` },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }).then(async (response) => ({ status: response.status, body: (await response.json()) as { error: Record<string, unknown> } }));
    const hello = [{ role: 'user', content: 'hello' }];

    it('unknown model', async () => {
      await expect(client.chat.completions.create({ model: 'gpt-17', messages: [{ role: 'user', content: 'x' }] })).rejects.toMatchObject({
        status: 404,
        code: 'model_not_found',
        type: 'not_found_error',
      });
    });

    it('no credentials, a forged key, a JWT with a bad signature', async () => {
      const anonymous = new OpenAI({ baseURL: `${testApp.baseUrl}/v1`, apiKey: 'gai_forged_secret', maxRetries: 0 });
      await expect(anonymous.models.list()).rejects.toMatchObject({ status: 401, type: 'authentication_error' });
      const response = await fetch(`${testApp.baseUrl}/v1/models`);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: { type: 'authentication_error', code: 'unauthenticated' } });
    });

    it('a key without model.invoke may list models but not call them', async () => {
      const readOnly = await api.post('/api/v1/api-keys', { name: 'ro', permissions: ['model.read'] }, { token: admin.accessToken });
      expect((await chat({ model: FAST, messages: hello }, readOnly.body.key)).body.error).toMatchObject({ type: 'permission_error' });
    });

    it('malformed JSON, malformed messages, unknown roles and fields', async () => {
      const before = nodes.reduce((sum, node) => sum + node.requests.length, 0);
      expect(await chat('{"model": "llama3.2:3b", "messages": [')).toMatchObject({
        status: 400,
        body: { error: { code: 'malformed_body' } },
      });
      expect(await chat({ model: FAST, messages: 'hello' })).toMatchObject({ status: 400, body: { error: { param: 'messages' } } });
      expect(await chat({ model: FAST, messages: [] })).toMatchObject({ status: 400 });
      expect(await chat({ model: FAST, messages: [{ role: 'wizard', content: 'x' }] })).toMatchObject({ status: 400 });
      expect(await chat({ model: FAST, messages: [{ role: 'user' }] })).toMatchObject({
        status: 400,
        body: { error: { param: 'messages[0].content' } },
      });
      expect(await chat({ model: FAST, messages: hello, temperature: 7 })).toMatchObject({
        status: 400,
        body: { error: { param: 'temperature' } },
      });
      expect(await chat({ model: FAST, messages: hello, logprobs: true })).toMatchObject({ status: 400 });
      expect(nodes.reduce((sum, node) => sum + node.requests.length, 0)).toBe(before);
    });

    it('a caller-supplied base URL or remote image is refused, never fetched (SSRF)', async () => {
      for (const field of ['api_base', 'base_url', 'baseURL']) {
        const response = await chat({ model: FAST, messages: hello, [field]: 'http://169.254.169.254/latest' });
        expect(response.status).toBe(400);
        expect(String(response.body.error.message)).toMatch(/unrecognized key/i);
      }
      const image = [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://10.0.0.1/cat.png' } }] }];
      const response = await chat({ model: FAST, messages: image });
      expect(response).toMatchObject({ status: 400, body: { error: { param: 'messages[0].content[0].image_url.url' } } });
    });

    it('n above 1, max_tokens above the limit, an oversized prompt', async () => {
      expect(await chat({ model: FAST, messages: hello, n: 2 })).toMatchObject({ status: 400, body: { error: { param: 'n' } } });
      expect(await chat({ model: FAST, messages: hello, max_tokens: 5000 })).toMatchObject({
        status: 400,
        body: { error: { code: 'invalid_chat_request' } },
      });
      const huge = [{ role: 'user', content: 'x'.repeat(PROMPT_LIMIT + 1) }];
      expect(await chat({ model: FAST, messages: huge })).toMatchObject({ status: 413, body: { error: { code: 'prompt_too_large' } } });
    });
  });
});

function routingOf(completion: unknown): Record<string, any> {
  return (completion as { gremlins: { routing: Record<string, any> } }).gremlins.routing;
}
