import { createHash } from 'node:crypto';
import { CacheStore } from 'src/common/cache/cache-store';
import type { ChatResult } from 'src/modules/model-router/providers/llm-provider';
import type { GatewayChatRequest } from 'src/modules/model-router/gateway/chat-gateway.types';

export interface CachedAnswer extends Omit<ChatResult, 'usage'> {
  /** The usage of the call that produced the answer, for information only. */
  originalUsage: ChatResult['usage'];
}

/**
 * Exact-match cache of complete answers to deterministic requests (temperature 0 or a fixed
 * seed), keyed by workspace, the concrete model and everything that shapes the answer. A
 * workspace never sees another's entries: the workspace id is part of the hashed key.
 */
export class ResponseCache {
  constructor(
    private readonly store: CacheStore,
    private readonly ttlSeconds: number,
    private readonly maxEntryBytes: number,
  ) {}

  /** Only requests whose answer does not depend on chance are worth an entry. */
  isCacheable(request: GatewayChatRequest): boolean {
    return this.ttlSeconds > 0 && (request.temperature === 0 || request.seed !== undefined);
  }

  key(workspaceId: string, model: string, request: GatewayChatRequest): string {
    const shape = {
      workspaceId,
      model,
      messages: request.messages,
      temperature: request.temperature,
      topP: request.topP,
      seed: request.seed,
      maxTokens: request.maxTokens,
      stop: request.stop,
      tools: request.tools,
      responseFormat: request.responseFormat,
    };
    return createHash('sha256').update(JSON.stringify(shape)).digest('base64url');
  }

  get(key: string): Promise<CachedAnswer | undefined> {
    return this.store.get<CachedAnswer>(key);
  }

  async set(key: string, answer: CachedAnswer): Promise<void> {
    if (Buffer.byteLength(JSON.stringify(answer)) > this.maxEntryBytes) return;
    await this.store.set(key, answer, this.ttlSeconds * 1000);
  }
}
