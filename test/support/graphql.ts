import { INestApplication } from '@nestjs/common';
import { Client, createClient, FormattedExecutionResult } from 'graphql-ws';
import { vi } from 'vitest';
import WebSocket from 'ws';
import { PubSubService } from 'src/graphql/pubsub.service';
import type { PubSubTopic } from 'src/graphql/pubsub-topics';
import { RequestOptions } from 'test/support/http';

export interface GraphqlResponse<T = any> {
  status: number;
  data?: T;
  errors?: { message: string; path?: (string | number)[]; extensions: Record<string, unknown> }[];
  headers: Headers;
}

/** Drives /graphql over HTTP like an outside client: one POST per operation. */
export class GraphqlClient {
  constructor(readonly baseUrl: string) {}

  async request<T = any>(query: string, variables?: Record<string, unknown>, options: RequestOptions = {}): Promise<GraphqlResponse<T>> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.apiKey) headers['x-api-key'] = options.apiKey;
    if (options.workspaceId) headers['x-workspace-id'] = options.workspaceId;
    const response = await fetch(`${this.baseUrl}/graphql`, {
      method: 'POST',
      headers,
      body: options.rawBody ?? JSON.stringify({ query, variables }),
    });
    const body = (await response.json()) as Omit<GraphqlResponse<T>, 'status' | 'headers'>;
    return { status: response.status, headers: response.headers, ...body };
  }

  /** A graphql-ws client; `connectionParams` carry the credential, as a browser would send it. */
  socket(connectionParams: Record<string, unknown>): Client {
    return createClient({
      url: `${this.baseUrl.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams,
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined,
    });
  }

  /** Opens a raw socket, sends `connection_init`, and reports how the server answered. */
  async handshake(payload: Record<string, unknown>): Promise<{ acknowledged: boolean; code?: number; reason?: string }> {
    const socket = new WebSocket(`${this.baseUrl.replace(/^http/, 'ws')}/graphql`, 'graphql-transport-ws');
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload })));
      socket.on('message', (data: Buffer) => {
        if ((JSON.parse(data.toString()) as { type: string }).type === 'connection_ack') {
          socket.close();
          resolve({ acknowledged: true });
        }
      });
      socket.once('close', (code: number, reason: Buffer) => resolve({ acknowledged: false, code, reason: reason.toString() }));
    });
  }
}

/** Pulls results one at a time, failing instead of hanging when none comes. */
export class Subscription<T = any> {
  private readonly iterator: AsyncIterator<FormattedExecutionResult<T, unknown>>;

  constructor(client: Client, query: string, variables?: Record<string, unknown>) {
    this.iterator = client.iterate<T>({ query, variables });
  }

  async next(timeoutMs = 10_000): Promise<IteratorResult<FormattedExecutionResult<T, unknown>>> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no subscription result within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([this.iterator.next(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    await this.iterator.return?.();
  }
}

/**
 * Resolves when the app's pub/sub has started listening for the next subscription to
 * `topic`. A subscriber only sees events published after that point, and the protocol has
 * no "subscribed" acknowledgement, so tests wait here before they cause the event.
 */
export function nextSubscriptionTo(app: INestApplication, topic: PubSubTopic): Promise<void> {
  const pubsub = app.get(PubSubService);
  const subscribe: PubSubService['subscribe'] = pubsub.subscribe.bind(pubsub);
  return new Promise((resolve) => {
    const spy = vi.spyOn(pubsub, 'subscribe').mockImplementation((subscribedTopic, scope) => {
      const iterator = subscribe(subscribedTopic, scope);
      if (subscribedTopic !== topic) return iterator;
      spy.mockRestore();
      const next = iterator.next.bind(iterator);
      // Both engines register their listener on the iterator's first pull.
      iterator.next = () => {
        iterator.next = next;
        const pulled = next();
        setImmediate(resolve);
        return pulled;
      };
      return iterator;
    });
  });
}
