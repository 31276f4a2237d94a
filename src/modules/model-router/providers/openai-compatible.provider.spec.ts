import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ChatChunk, ChatRequest, ProviderError } from 'src/modules/model-router/providers/llm-provider';
import { OpenAiCompatibleProvider } from 'src/modules/model-router/providers/openai-compatible.provider';
import { OpenAiTestServer } from 'test/support/openai-test-server';

const API_KEY = 'sk-upstream-secret';

async function collect(stream: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const chunks: ChatChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

async function caught(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

const hello: ChatRequest = { model: 'test-model', messages: [{ role: 'user', content: 'say hello please' }] };
const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};

describe('OpenAiCompatibleProvider', () => {
  const server = new OpenAiTestServer({ apiKey: API_KEY, models: ['test-model', 'embed-model'] });
  let provider: OpenAiCompatibleProvider;

  beforeAll(async () => {
    await server.start();
    provider = new OpenAiCompatibleProvider({ id: 'upstream-1', baseUrl: server.url, apiKey: API_KEY, timeoutMs: 2000 });
  });
  afterAll(() => server.stop());
  beforeEach(() => {
    server.requests.length = 0;
    server.faults.length = 0;
  });

  it('streams content and takes usage from the stream', async () => {
    const chunks = await collect(provider.chatStream(hello));
    expect(chunks.map((chunk) => chunk.content)).toEqual(['Hello', ' there', '!', '']);
    expect(chunks.at(-1)).toEqual({
      content: '',
      done: true,
      finishReason: 'stop',
      toolCalls: undefined,
      usage: { promptTokens: 3, completionTokens: 3 },
    });
    expect(server.requests[0].body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(server.requests[0].authorization).toBe(`Bearer ${API_KEY}`);
  });

  it('answers without streaming', async () => {
    const result = await provider.chat({ ...hello, temperature: 0, seed: 7, maxTokens: 20, stop: ['\n'], topP: 0.5 });
    expect(result).toEqual({
      content: 'Hello there!',
      toolCalls: undefined,
      finishReason: 'stop',
      usage: { promptTokens: 3, completionTokens: 3 },
    });
    expect(server.requests[0].body).toMatchObject({ temperature: 0, seed: 7, max_tokens: 20, stop: ['\n'], top_p: 0.5 });
  });

  it('passes tools through and assembles streamed tool-call deltas', async () => {
    const chunks = await collect(provider.chatStream({ ...hello, tools: [weatherTool] }));
    const last = chunks.at(-1)!;
    expect(last.finishReason).toBe('tool_calls');
    expect(last.toolCalls).toEqual([{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }]);
    expect(server.requests[0].body?.tools).toEqual([weatherTool]);

    const result = await provider.chat({ ...hello, tools: [weatherTool] });
    expect(result.toolCalls?.[0].function).toEqual({ name: 'get_weather', arguments: '{"city":"Paris"}' });
  });

  it('maps messages: tool turns, images as data URLs, response_format', async () => {
    await provider.chat({
      model: 'test-model',
      responseFormat: { schema: { type: 'object' } },
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'what is this?', images: ['iVBORw0KGgo='] },
        { role: 'assistant', content: '', toolCalls: [{ id: 'call_9', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', content: '42', toolCallId: 'call_9' },
      ],
    });
    const body = server.requests[0].body!;
    expect(body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema: { type: 'object' } } });
    expect(body.messages).toEqual([
      { role: 'system', content: 'be brief' },
      {
        role: 'user',
        content: [
          { type: 'text', text: 'what is this?' },
          { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        ],
      },
      { role: 'assistant', content: '', tool_calls: [{ id: 'call_9', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', content: '42', tool_call_id: 'call_9' },
    ]);

    await provider.chat({ ...hello, responseFormat: 'json' });
    expect(server.requests[1].body?.response_format).toEqual({ type: 'json_object' });
  });

  it('refuses a tool message without its call id before calling the upstream', async () => {
    const error = await caught(provider.chat({ model: 'test-model', messages: [{ role: 'tool', content: 'x' }] }));
    expect(error.retryable).toBe(false);
    expect(server.requests).toHaveLength(0);
  });

  it('embeds in input order and lists models', async () => {
    const result = await provider.embed({ model: 'embed-model', input: ['a b', 'ccc'] });
    expect(result).toEqual({
      embeddings: [
        [3, 97, 1],
        [3, 99, 1],
      ],
      usage: { promptTokens: 3 },
    });
    expect(await provider.listModels()).toEqual([{ name: 'test-model' }, { name: 'embed-model' }]);
    expect(await provider.listLoaded()).toEqual([{ name: 'test-model' }, { name: 'embed-model' }]);
    await expect(provider.ping()).resolves.toBeUndefined();
  });

  it('maps 429 and 5xx to retryable errors, 4xx to final ones', async () => {
    server.faults.push(
      { kind: 'status', status: 429 },
      { kind: 'status', status: 503 },
      { kind: 'status', status: 400, message: 'bad request' },
    );
    const limited = await caught(provider.chat(hello));
    expect([limited.retryable, limited.status]).toEqual([true, 429]);
    const unavailable = await caught(collect(provider.chatStream(hello)));
    expect([unavailable.retryable, unavailable.status]).toEqual([true, 503]);
    const bad = await caught(provider.chat(hello));
    expect([bad.retryable, bad.status]).toEqual([false, 400]);
    expect(bad.message).toContain('bad request');
    // The SDK's own retries are off: the router decides where a retry goes.
    expect(server.requests).toHaveLength(3);
  });

  it('reports an unknown model and a wrong key as final errors', async () => {
    const missing = await caught(provider.chat({ ...hello, model: 'nope' }));
    expect([missing.retryable, missing.status]).toEqual([false, 404]);
    const wrongKey = new OpenAiCompatibleProvider({ baseUrl: server.url, apiKey: 'sk-wrong' });
    const denied = await caught(wrongKey.listModels());
    expect([denied.retryable, denied.status]).toEqual([false, 401]);
    expect(denied.message).not.toContain('sk-wrong');
  });

  it('sends no Authorization header when no key is configured', async () => {
    const open = new OpenAiTestServer();
    await open.start();
    try {
      const keyless = new OpenAiCompatibleProvider({ baseUrl: open.url });
      expect((await keyless.chat(hello)).content).toBe('Hello there!');
      expect(open.requests[0].authorization).toBeUndefined();
    } finally {
      await open.stop();
    }
  });

  it('fails with an explicit error when the connection drops mid-stream', async () => {
    server.faults.push({ kind: 'drop-mid-stream', afterChunks: 3 });
    const received: string[] = [];
    const error = await caught(
      (async () => {
        for await (const chunk of provider.chatStream(hello)) received.push(chunk.content);
      })(),
    );
    expect(received).toEqual(['Hello', ' there']);
    expect(error.retryable).toBe(true);
  });

  it('maps a refused connection to a retryable error', async () => {
    const port = await freePort();
    const down = new OpenAiCompatibleProvider({ baseUrl: `http://127.0.0.1:${port}/v1`, timeoutMs: 1000 });
    const error = await caught(down.ping());
    expect(error.retryable).toBe(true);
    expect(error.status).toBeUndefined();
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    controller.abort();
    const error = await caught(provider.chat(hello, controller.signal));
    expect(error.retryable).toBe(false);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
