import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from 'src/config/app-config';
import { ChatChunk, ChatRequest, ProviderError } from 'src/modules/model-router/providers/llm-provider';
import { LlamaCppProvider } from 'src/modules/model-router/providers/llama-cpp.provider';
import { writeTinyGguf } from 'test/support/tiny-gguf';

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

describe('LlamaCppProvider (real inference on a generated tiny GGUF)', () => {
  let dir: string;
  let modelPath: string;
  let provider: LlamaCppProvider;
  const ask = (extra: Partial<ChatRequest> = {}): ChatRequest => ({
    model: 'tiny',
    messages: [{ role: 'user', content: 'hello there' }],
    maxTokens: 8,
    seed: 7,
    ...extra,
  });

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'llama-cpp-spec-'));
    modelPath = join(dir, 'tiny.gguf');
    writeTinyGguf(modelPath);
    provider = new LlamaCppProvider({ modelPath, threads: 1, contextSize: 512, maxSequences: 1 });
  });

  afterAll(async () => {
    await provider?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reports the one model from its file, loaded only after first use', async () => {
    expect(provider.kind).toBe('llama-cpp');
    expect(provider.id).toBe('llama-cpp:tiny');
    await provider.ping();
    const [model] = await provider.listModels();
    expect(model).toMatchObject({ name: 'tiny', family: 'llama', quantization: 'ALL_F32' });
    expect(model.sizeBytes).toBeGreaterThan(100_000);
    expect(await provider.listLoaded()).toEqual([]);
    await provider.chat(ask({ maxTokens: 1 }));
    expect(await provider.listLoaded()).toEqual([{ name: 'tiny', sizeVramBytes: 0 }]);
  });

  it('streams tokens as chunks, stops at maxTokens and counts usage', async () => {
    const chunks = await collect(provider.chatStream(ask({ maxTokens: 6 })));
    const last = chunks.at(-1) as ChatChunk;
    const pieces = chunks.slice(0, -1);
    expect(last).toMatchObject({ done: true, content: '', finishReason: 'length' });
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.every((chunk) => !chunk.done && chunk.content.length > 0)).toBe(true);
    expect(last.usage?.completionTokens).toBe(6);
    // The prompt is at least the user's text plus BOS and the chat template around it.
    expect(last.usage?.promptTokens).toBeGreaterThan(3);
  });

  it('counts prompt tokens exactly: a longer prompt costs exactly its extra tokens', async () => {
    const short = await provider.chat(ask({ maxTokens: 2, messages: [{ role: 'user', content: 'abc' }] }));
    const long = await provider.chat(ask({ maxTokens: 2, messages: [{ role: 'user', content: 'abc!!!!!' }] }));
    // Five '!' are five single-character tokens in the tiny vocabulary.
    expect(long.usage.promptTokens - short.usage.promptTokens).toBe(5);
    expect(short.usage.completionTokens).toBe(2);
  });

  it('is deterministic for a fixed seed', async () => {
    const first = await provider.chat(ask({ seed: 123 }));
    const second = await provider.chat(ask({ seed: 123 }));
    expect(first.content).toBe(second.content);
    expect(first.content.length).toBeGreaterThan(0);
  });

  it('aborts mid-generation and frees the slot for the next request', async () => {
    const controller = new AbortController();
    const seen: ChatChunk[] = [];
    const error = await caught(
      (async () => {
        for await (const chunk of provider.chatStream(ask({ maxTokens: 400 }), controller.signal)) {
          seen.push(chunk);
          if (seen.length === 2) controller.abort();
        }
      })(),
    );
    expect(error.message).toMatch(/aborted/);
    expect(error.retryable).toBe(false);
    expect(seen.length).toBeLessThan(20);
    const after = await provider.chat(ask({ maxTokens: 2 }));
    expect(after.usage.completionTokens).toBe(2);
  });

  it('stops generating when the consumer leaves the stream early', async () => {
    for await (const chunk of provider.chatStream(ask({ maxTokens: 400 }))) {
      expect(chunk.done).toBe(false);
      break;
    }
    // With one sequence, a generation still running would make this wait for 400 tokens.
    const started = Date.now();
    await provider.chat(ask({ maxTokens: 2 }));
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('queues requests beyond the sequence limit and a queued request can be aborted', async () => {
    const controller = new AbortController();
    const first = provider.chat(ask({ maxTokens: 30 }));
    const second = provider.chat(ask({ maxTokens: 3 }), controller.signal);
    controller.abort();
    expect((await caught(second)).message).toMatch(/aborted/);
    expect((await first).usage.completionTokens).toBe(30);
  });

  it('constrains output to a JSON schema', async () => {
    const schema = {
      type: 'object',
      properties: {
        ok: { type: 'boolean' },
        color: { enum: ['red', 'green', 'blue'] },
        tags: { type: 'array', items: { enum: ['a', 'b', 'c'] }, minItems: 1, maxItems: 3 },
      },
      required: ['ok', 'color', 'tags'],
      additionalProperties: false,
    };
    for (const seed of [1, 2, 3]) {
      const result = await provider.chat(ask({ seed, maxTokens: 80, responseFormat: { schema } }));
      const parsed = JSON.parse(result.content) as { ok: unknown; color: unknown; tags: unknown[] };
      expect(Object.keys(parsed).sort()).toEqual(['color', 'ok', 'tags']);
      expect(typeof parsed.ok).toBe('boolean');
      expect(['red', 'green', 'blue']).toContain(parsed.color);
      expect(parsed.tags.length).toBeGreaterThanOrEqual(1);
      expect(parsed.tags.length).toBeLessThanOrEqual(3);
      expect(parsed.tags.every((tag) => ['a', 'b', 'c'].includes(tag as string))).toBe(true);
      expect(result.finishReason).toBe('stop');
    }
  });

  it('without a schema, free text from the same model is not JSON', async () => {
    const result = await provider.chat(ask({ seed: 1, maxTokens: 12 }));
    expect(() => JSON.parse(result.content)).toThrow();
  });

  it('stops at a caller stop sequence', async () => {
    const free = await provider.chat(ask({ seed: 5, maxTokens: 20 }));
    const stopAt = free.content.slice(4, 6);
    expect(stopAt.length).toBe(2);
    const stopped = await provider.chat(ask({ seed: 5, maxTokens: 20, stop: [stopAt] }));
    expect(stopped.finishReason).toBe('stop');
    expect(stopped.content).toBe(free.content.slice(0, free.content.indexOf(stopAt)));
  });

  it('embeds text with the model', async () => {
    const result = await provider.embed({ model: 'tiny', input: ['hello', 'the world'] });
    expect(result.embeddings).toHaveLength(2);
    expect(result.embeddings[0]).toHaveLength(64);
    expect(result.embeddings[0]).not.toEqual(result.embeddings[1]);
    expect(result.usage.promptTokens).toBeGreaterThan(2);
  });

  it('rejects another model name, tools, images and empty messages without loading anything new', async () => {
    expect((await caught(provider.chat(ask({ model: 'llama3.2:3b' })))).status).toBe(404);
    expect((await caught(provider.embed({ model: 'other', input: ['x'] }))).status).toBe(404);
    const tool = { type: 'function' as const, function: { name: 'f', parameters: { type: 'object' } } };
    expect((await caught(provider.chat(ask({ tools: [tool] })))).status).toBe(400);
    expect((await caught(provider.chat(ask({ messages: [{ role: 'user', content: 'x', images: ['aGk='] }] })))).status).toBe(400);
    expect((await caught(provider.chat(ask({ messages: [] })))).status).toBe(400);
  });

  it('reports a broken model file as a non-retryable load error, and a missing one on ping', async () => {
    const broken = join(dir, 'broken.gguf');
    writeFileSync(broken, 'not a gguf file');
    const bad = new LlamaCppProvider({ modelPath: broken, threads: 1, maxSequences: 1 });
    const error = await caught(bad.chat({ model: 'broken', messages: [{ role: 'user', content: 'x' }], maxTokens: 1 }));
    expect(error.message).toMatch(/failed to load/);
    expect(error.retryable).toBe(false);
    const missing = new LlamaCppProvider({ modelPath: join(dir, 'gone.gguf'), threads: 1, maxSequences: 1 });
    expect((await caught(missing.ping())).status).toBe(503);
  });

  it('config: LLAMA_MODEL_PATH must be an existing .gguf file', () => {
    const base = { NODE_ENV: 'test', DATA_DIR: dir, JWT_SECRET: 'k3Yq9vT2mZ8rW4pL7nB1cX6dF0gH5jQs' };
    expect(loadConfig(base).llamaCpp).toBeUndefined();
    expect(loadConfig({ ...base, LLAMA_MODEL_PATH: modelPath, LLAMA_THREADS: '2' }).llamaCpp).toEqual({
      modelPath,
      threads: 2,
      contextSize: undefined,
      maxSequences: 1,
    });
    expect(() => loadConfig({ ...base, LLAMA_MODEL_PATH: join(dir, 'nope.gguf') })).toThrow(/LLAMA_MODEL_PATH/);
    expect(() => loadConfig({ ...base, LLAMA_MODEL_PATH: dir })).toThrow(/LLAMA_MODEL_PATH/);
    expect(() => loadConfig({ ...base, LLAMA_MODEL_PATH: modelPath, LLAMA_THREADS: '0' })).toThrow(/LLAMA_THREADS/);
  });
});
