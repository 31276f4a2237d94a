import { statSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type * as NodeLlamaCpp from 'node-llama-cpp' with { 'resolution-mode': 'import' };
import type { LlamaCppConfig } from 'src/config/app-config';
import {
  ChatChunk,
  ChatMessage,
  ChatRequest,
  ChatResult,
  EmbedRequest,
  EmbedResult,
  FinishReason,
  LlmProvider,
  LoadedModel,
  ProviderError,
  ProviderModel,
} from 'src/modules/model-router/providers/llm-provider';

type NodeLlamaCppModule = typeof NodeLlamaCpp;

/**
 * node-llama-cpp is ESM-only with top-level await, so `require()` cannot load it: it must come
 * through a real dynamic import (the swc build keeps it one with `module.ignoreDynamic`).
 * Loading lazily keeps the native library out of processes that never serve a local model.
 */
let moduleLoad: Promise<NodeLlamaCppModule> | undefined;
function loadNodeLlamaCpp(): Promise<NodeLlamaCppModule> {
  moduleLoad ??= import('node-llama-cpp');
  return moduleLoad;
}

interface Loaded {
  lib: NodeLlamaCppModule;
  llama: NodeLlamaCpp.Llama;
  model: NodeLlamaCpp.LlamaModel;
  context: NodeLlamaCpp.LlamaContext;
}

/** FIFO counting semaphore; waiting callers can give up through their abort signal. */
class Slots {
  private free: number;
  private readonly waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];

  constructor(size: number) {
    this.free = size;
  }

  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw abortError(signal);
    if (this.free > 0) {
      this.free--;
    } else {
      await new Promise<void>((resolve, reject) => {
        const waiter = {
          resolve: () => {
            signal?.removeEventListener('abort', onAbort);
            resolve();
          },
          reject,
        };
        const onAbort = () => {
          const index = this.waiters.indexOf(waiter);
          if (index >= 0) this.waiters.splice(index, 1);
          reject(abortError(signal));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        this.waiters.push(waiter);
      });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiters.shift();
      if (next) next.resolve();
      else this.free++;
    };
  }
}

function abortError(signal?: AbortSignal): ProviderError {
  return new ProviderError('request aborted', false, undefined, { cause: signal?.reason });
}

/**
 * Serves one GGUF file in-process with llama.cpp (CPU only), so a machine without a model
 * server still chats. The model loads on first use and stays loaded; at most `maxSequences`
 * requests generate at once (each gets its own sequence of one shared context), the rest wait.
 */
export class LlamaCppProvider implements LlmProvider {
  readonly kind = 'llama-cpp' as const;
  readonly id: string;
  /** The model's name as clients see it: the file name without `.gguf`. */
  readonly modelName: string;

  private readonly slots: Slots;
  private loading?: Promise<Loaded>;
  private embedding?: Promise<NodeLlamaCpp.LlamaEmbeddingContext>;
  private fileInfo?: Promise<ProviderModel>;

  constructor(private readonly config: LlamaCppConfig) {
    this.modelName = basename(config.modelPath).replace(/\.gguf$/i, '');
    this.id = `llama-cpp:${this.modelName}`;
    this.slots = new Slots(Math.max(1, config.maxSequences));
  }

  async *chatStream(request: ChatRequest, signal?: AbortSignal): AsyncIterable<ChatChunk> {
    this.assertModel(request.model);
    if (request.tools?.length) throw new ProviderError('the llama-cpp provider does not support tool calling', false, 400);
    if (request.messages.some((message) => message.images?.length)) {
      throw new ProviderError('the llama-cpp provider does not support images', false, 400);
    }
    if (request.messages.length === 0) throw new ProviderError('messages must not be empty', false, 400);

    const release = await this.slots.acquire(signal);
    // Aborted by the caller's signal or by the consumer leaving the loop early.
    const stop = new AbortController();
    const onAbort = () => stop.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let sequence: NodeLlamaCpp.LlamaContextSequence | undefined;
    try {
      const { lib, llama, context } = await this.load();
      if (signal?.aborted) throw abortError(signal);
      const grammar = await this.grammarFor(llama, request.responseFormat);
      sequence = context.getSequence();
      const chat = new lib.LlamaChat({ contextSequence: sequence, autoDisposeSequence: false });
      const meterBefore = sequence.tokenMeter.getState();

      const pending: string[] = [];
      let wake: (() => void) | undefined;
      let finished = false;
      let failure: unknown;
      let stopReason: string | undefined;
      const notify = () => {
        wake?.();
        wake = undefined;
      };

      const generation = chat
        .generateResponse(toHistory(request.messages), {
          signal: stop.signal,
          maxTokens: request.maxTokens,
          temperature: request.temperature ?? 0.8,
          topP: request.topP,
          seed: request.seed,
          customStopTriggers: request.stop?.length ? request.stop : undefined,
          ...(grammar ? { grammar } : {}),
          onTextChunk: (text) => {
            if (text.length === 0) return;
            pending.push(text);
            notify();
          },
        })
        .then(
          (result) => {
            stopReason = result.metadata.stopReason;
          },
          (error: unknown) => {
            failure = error;
          },
        )
        .finally(() => {
          finished = true;
          notify();
        });

      try {
        for (;;) {
          while (pending.length > 0) yield { content: pending.shift() as string, done: false };
          if (finished) break;
          await new Promise<void>((resolve) => (wake = resolve));
        }
      } finally {
        // Leaving early (break, error downstream) must stop the native generation too.
        if (!finished) stop.abort();
        await generation;
      }

      if (failure !== undefined) {
        if (stop.signal.aborted) throw abortError(signal);
        throw toProviderError(failure);
      }
      // The sequence is fresh, so its meter holds exactly this request: prompt tokens evaluated
      // and tokens sampled (text chunks withhold partial UTF-8 bytes, so they cannot be counted).
      const meter = sequence.tokenMeter.getState();
      const promptTokens = meter.usedInputTokens - meterBefore.usedInputTokens;
      const completionTokens = meter.usedOutputTokens - meterBefore.usedOutputTokens;
      const finishReason: FinishReason = stopReason === 'maxTokens' ? 'length' : 'stop';
      yield { content: '', done: true, finishReason, usage: { promptTokens, completionTokens } };
    } finally {
      signal?.removeEventListener('abort', onAbort);
      try {
        await sequence?.dispose();
      } finally {
        release();
      }
    }
  }

  async chat(request: ChatRequest, signal?: AbortSignal): Promise<ChatResult> {
    let content = '';
    for await (const chunk of this.chatStream(request, signal)) {
      content += chunk.content;
      if (chunk.done) {
        return { content, finishReason: chunk.finishReason ?? 'stop', usage: chunk.usage ?? { promptTokens: 0, completionTokens: 0 } };
      }
    }
    throw new ProviderError('generation ended without a final chunk', false, 500);
  }

  async embed(request: EmbedRequest, signal?: AbortSignal): Promise<EmbedResult> {
    this.assertModel(request.model);
    const release = await this.slots.acquire(signal);
    try {
      const { model } = await this.load();
      const context = await this.embeddingContext(model);
      const embeddings: number[][] = [];
      let promptTokens = 0;
      for (const text of request.input) {
        if (signal?.aborted) throw abortError(signal);
        promptTokens += model.tokenize(text).length;
        const embedding = await context.getEmbeddingFor(text);
        embeddings.push([...embedding.vector]);
      }
      return { embeddings, usage: { promptTokens } };
    } finally {
      release();
    }
  }

  async listModels(): Promise<ProviderModel[]> {
    this.fileInfo ??= this.readFileInfo().catch((error: unknown) => {
      this.fileInfo = undefined;
      throw toProviderError(error);
    });
    return [await this.fileInfo];
  }

  /** The model counts as loaded once it is; until the first request it is only on disk. */
  async listLoaded(): Promise<LoadedModel[]> {
    if (!this.loading) return [];
    try {
      await this.loading;
      // CPU only: the weights live in RAM, none in VRAM.
      return [{ name: this.modelName, sizeVramBytes: 0 }];
    } catch {
      return [];
    }
  }

  async ping(): Promise<void> {
    try {
      if (!(await stat(this.config.modelPath)).isFile()) throw new Error('not a file');
    } catch (error) {
      throw new ProviderError(`model file ${this.config.modelPath} is not readable`, false, 503, { cause: error });
    }
  }

  /** Frees the native model and contexts; the next request loads them again. */
  async close(): Promise<void> {
    const loading = this.loading;
    this.loading = undefined;
    this.embedding = undefined;
    if (!loading) return;
    const loaded = await loading.catch(() => undefined);
    await loaded?.llama.dispose();
  }

  private assertModel(model: string): void {
    if (model !== this.modelName) {
      throw new ProviderError(`model "${model}" is not served here; this llama-cpp provider serves "${this.modelName}"`, false, 404);
    }
  }

  private load(): Promise<Loaded> {
    this.loading ??= this.loadOnce().catch((error: unknown) => {
      // A failed load is retried by the next request (the file may have been fixed).
      this.loading = undefined;
      throw new ProviderError(`failed to load ${this.config.modelPath}: ${message(error)}`, false, 500, { cause: error });
    });
    return this.loading;
  }

  private async loadOnce(): Promise<Loaded> {
    const lib = await loadNodeLlamaCpp();
    // build 'never' + CPU only: never download or compile llama.cpp at run time; the prebuilt
    // @node-llama-cpp/linux-x64 binary is the only one used.
    const llama = await lib.getLlama({
      gpu: false,
      build: 'never',
      skipDownload: true,
      logLevel: lib.LlamaLogLevel.error,
      progressLogs: false,
    });
    try {
      const model = await llama.loadModel({ modelPath: this.config.modelPath });
      const context = await model.createContext({
        contextSize: this.config.contextSize,
        sequences: Math.max(1, this.config.maxSequences),
        threads: this.config.threads,
      });
      return { lib, llama, model, context };
    } catch (error) {
      await llama.dispose();
      throw error;
    }
  }

  private embeddingContext(model: NodeLlamaCpp.LlamaModel): Promise<NodeLlamaCpp.LlamaEmbeddingContext> {
    this.embedding ??= model
      .createEmbeddingContext({ contextSize: this.config.contextSize, threads: this.config.threads })
      .catch((error: unknown) => {
        this.embedding = undefined;
        throw new ProviderError(`model "${this.modelName}" does not support embeddings: ${message(error)}`, false, 400, { cause: error });
      });
    return this.embedding;
  }

  private async grammarFor(
    llama: NodeLlamaCpp.Llama,
    format: ChatRequest['responseFormat'],
  ): Promise<NodeLlamaCpp.LlamaGrammar | undefined> {
    if (format === undefined) return undefined;
    try {
      if (format === 'json') return await llama.getGrammarFor('json');
      // The schema is validated by the grammar builder itself; a bad one throws here.
      return await llama.createGrammarForJsonSchema(format.schema as never);
    } catch (error) {
      throw new ProviderError(`unsupported response format schema: ${message(error)}`, false, 400, { cause: error });
    }
  }

  private async readFileInfo(): Promise<ProviderModel> {
    const lib = await loadNodeLlamaCpp();
    const info = await lib.readGgufFileInfo(this.config.modelPath, { readTensorInfo: false });
    const general = info.metadata.general as { architecture?: string; file_type?: number } | undefined;
    const fileType = general?.file_type;
    return {
      name: this.modelName,
      sizeBytes: statSync(this.config.modelPath).size,
      family: general?.architecture,
      quantization: fileType === undefined ? undefined : lib.GgufFileType[fileType],
    };
  }
}

/** llama.cpp chat wrappers know system, user and model turns; tool results ride as user turns. */
function toHistory(messages: ChatMessage[]): NodeLlamaCpp.ChatHistoryItem[] {
  return messages.map((message): NodeLlamaCpp.ChatHistoryItem => {
    switch (message.role) {
      case 'system':
        return { type: 'system', text: message.content };
      case 'assistant':
        return { type: 'model', response: [message.content] };
      case 'tool':
        return { type: 'user', text: `Tool result${message.name ? ` (${message.name})` : ''}: ${message.content}` };
      default:
        return { type: 'user', text: message.content };
    }
  });
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function toProviderError(error: unknown): ProviderError {
  if (error instanceof ProviderError) return error;
  return new ProviderError(`llama.cpp generation failed: ${message(error)}`, false, 500, { cause: error });
}
