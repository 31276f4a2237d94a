import { afterEach, describe, expect, it, vi } from 'vitest';
import { ChatChunk, ProviderError } from 'src/modules/model-router/providers/llm-provider';
import { OllamaProvider, PullProgress } from 'src/modules/model-router/providers/ollama.provider';
import { OllamaTestServer } from 'test/support/ollama-test-server';

const MODEL = 'llama3.2:3b';
let server: OllamaTestServer;

async function start(): Promise<OllamaProvider> {
  server = await new OllamaTestServer({ models: [MODEL, 'nomic-embed-text'], loaded: [MODEL] }).start();
  return new OllamaProvider({ host: `${server.url}/`, probeTimeoutMs: 200 });
}

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    return error as ProviderError;
  }
  throw new Error('expected a failure');
}

async function drain(stream: AsyncIterable<ChatChunk>): Promise<ChatChunk[]> {
  const chunks: ChatChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

afterEach(async () => {
  await server.stop();
});

describe('OllamaProvider', () => {
  it('streams chat chunks with usage on the final one', async () => {
    const provider = await start();
    expect(provider.id).toBe(`ollama:${server.url}`);
    const chunks = await drain(
      provider.chatStream({ model: MODEL, messages: [{ role: 'user', content: 'hi there you' }], temperature: 0 }),
    );
    expect(chunks.map((c) => c.content).join('')).toBe('hi there you');
    expect(chunks.at(-1)).toMatchObject({ done: true, finishReason: 'stop', usage: { promptTokens: 3, completionTokens: 3 } });
    expect(chunks.slice(0, -1).every((c) => !c.done)).toBe(true);
  });

  it('aborts nothing once the final chunk has arrived, whether the consumer reads on or stops there', async () => {
    const provider = await start();
    const request = { model: MODEL, messages: [{ role: 'user' as const, content: 'one two' }] };
    // An abort after the end stops nothing and builds an AbortError (with its stack) per answer.
    const abort = vi.spyOn(AbortController.prototype, 'abort');
    try {
      for (let i = 0; i < 3; i++) await drain(provider.chatStream(request));
      for (let i = 0; i < 3; i++) {
        for await (const chunk of provider.chatStream(request)) if (chunk.done) break;
      }
      expect(abort).not.toHaveBeenCalled();
      // Still cancelled when the consumer leaves before the end.
      for await (const chunk of provider.chatStream(request)) if (!chunk.done) break;
      expect(abort).toHaveBeenCalled();
    } finally {
      abort.mockRestore();
    }
  });

  it('answers non-streaming chat, embed, tags, ps and version', async () => {
    const provider = await start();
    await expect(provider.chat({ model: MODEL, messages: [{ role: 'user', content: 'a b' }] })).resolves.toMatchObject({
      content: 'a b',
      finishReason: 'stop',
    });
    expect((await provider.listLoaded()).map((m) => m.name)).toEqual([MODEL]);
    await expect(provider.embed({ model: 'nomic-embed-text', input: ['abc', 'de'] })).resolves.toEqual({
      embeddings: [
        [3, 1, 0],
        [2, 1, 0],
      ],
      usage: { promptTokens: 2 },
    });
    expect((await provider.listModels()).map((m) => m.name)).toEqual([MODEL, 'nomic-embed-text']);
    await expect(provider.ping()).resolves.toBeUndefined();
  });

  it('maps 503 to a retryable error and an unknown model (404) to a non-retryable one', async () => {
    const provider = await start();
    const missing = await failure(provider.chat({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }));
    expect(missing).toMatchObject({ retryable: false, status: 404 });
    server.faults.status503 = true;
    const busy = await failure(drain(provider.chatStream({ model: MODEL, messages: [{ role: 'user', content: 'x' }] })));
    expect(busy).toMatchObject({ retryable: true, status: 503 });
  });

  it('maps a refused connection and a probe timeout to retryable errors', async () => {
    const provider = await start();
    server.faults.latencyMs = 500;
    expect(await failure(provider.ping())).toMatchObject({ retryable: true });
    server.faults.latencyMs = 0;
    await server.stop();
    expect(await failure(provider.ping())).toMatchObject({ retryable: true });
  });

  it('throws a retryable error when the connection drops mid-stream', async () => {
    const provider = await start();
    server.faults.dropAfterChunks = 1;
    server.faults.interChunkDelayMs = 20;
    const received: string[] = [];
    const error = await failure(
      (async () => {
        for await (const chunk of provider.chatStream({ model: MODEL, messages: [{ role: 'user', content: 'one two three' }] }))
          received.push(chunk.content);
      })(),
    );
    expect(received).toEqual(['one']);
    expect(error.retryable).toBe(true);
  });

  it('stops the upstream stream when the caller aborts', async () => {
    const provider = await start();
    server.faults.interChunkDelayMs = 30;
    const controller = new AbortController();
    const iterator = provider
      .chatStream({ model: MODEL, messages: [{ role: 'user', content: 'a b c d e f' }] }, controller.signal)
      [Symbol.asyncIterator]();
    await iterator.next();
    controller.abort();
    expect(await failure(iterator.next())).toMatchObject({ retryable: false });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(server.active).toBe(0);
  });
});

describe('OllamaProvider model management (pull, load, unload)', () => {
  async function startWith(options: ConstructorParameters<typeof OllamaTestServer>[0]): Promise<OllamaProvider> {
    server = await new OllamaTestServer(options).start();
    return new OllamaProvider({ host: server.url, probeTimeoutMs: 200 });
  }

  it('pulls with progress and the model then appears in /api/tags', async () => {
    const provider = await startWith({ models: [] });
    const progress: PullProgress[] = [];
    const final = await provider.pull('qwen2.5:0.5b', (p) => progress.push(p));
    expect(final).toEqual({ status: 'success' });
    expect(progress[0]).toEqual({ status: 'pulling manifest' });
    const layers = progress.filter((p) => p.total !== undefined);
    expect(layers.map((p) => p.completed)).toEqual([0, 250, 500, 750, 1000]);
    expect(layers[0]).toMatchObject({ total: 1000, digest: expect.stringMatching(/^sha256:[0-9a-f]{64}$/) });
    expect((await provider.listModels()).map((m) => m.name)).toEqual(['qwen2.5:0.5b']);
  });

  it("reports an error line from the pull stream as a non-retryable failure with the node's words", async () => {
    const provider = await startWith({ models: [], pullable: ['llama3.2:3b'] });
    const unknown = await failure(provider.pull('no-such-model'));
    expect(unknown).toMatchObject({ retryable: false, message: 'ollama reported: pull model manifest: file does not exist' });

    server.faults.pullFailAfterChunks = 3;
    const progress: PullProgress[] = [];
    const broken = await failure(provider.pull('llama3.2:3b', (p) => progress.push(p)));
    expect(broken.message).toBe('ollama reported: max retries exceeded: unexpected EOF');
    expect(progress).toHaveLength(3);
    expect(server.models).toEqual([]);
  });

  it('cancels a pull when the signal aborts', async () => {
    const provider = await startWith({ models: [] });
    server.faults.pullChunkDelayMs = 50;
    const controller = new AbortController();
    const pulling = provider.pull('big:70b', () => controller.abort(), controller.signal);
    expect(await failure(pulling)).toMatchObject({ message: 'request aborted', retryable: false });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(server.models).toEqual([]);
  });

  it('loads with keep_alive (pinned with -1), unloads with 0, and refuses an unknown model with 404', async () => {
    const provider = await startWith({ models: [MODEL, 'other:1b'] });
    await provider.load(MODEL, -1);
    await provider.load('other:1b', '30m');
    const loaded = await provider.listLoaded();
    const expiry = new Map(loaded.map((m) => [m.name, m.expiresAt!.getTime()]));
    expect(expiry.get(MODEL)! - Date.now()).toBeGreaterThan(200 * 365 * 24 * 3600_000);
    expect(expiry.get('other:1b')! - Date.now()).toBeGreaterThan(29 * 60_000);
    expect(expiry.get('other:1b')! - Date.now()).toBeLessThanOrEqual(30 * 60_000);
    expect(loaded[0].sizeVramBytes).toBe(500);

    await provider.unload(MODEL);
    expect((await provider.listLoaded()).map((m) => m.name)).toEqual(['other:1b']);
    expect(await failure(provider.load('missing:1b', -1))).toMatchObject({ status: 404, retryable: false });
    // Only empty requests were sent: nothing was generated.
    expect(server.requests.every((r) => r.path === '/api/generate')).toBe(true);
  });

  it('loads embedding-only models through /api/embed', async () => {
    const provider = await startWith({ models: ['nomic-embed-text:latest'], embeddingModels: ['nomic-embed-text:latest'] });
    await provider.load('nomic-embed-text:latest', 600);
    expect((await provider.listLoaded()).map((m) => m.name)).toEqual(['nomic-embed-text:latest']);
    expect(server.requests.map((r) => r.path)).toEqual(['/api/generate', '/api/embed']);
    await provider.unload('nomic-embed-text:latest');
    expect(await provider.listLoaded()).toEqual([]);
  });
});
