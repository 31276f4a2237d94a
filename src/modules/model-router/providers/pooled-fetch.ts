import type { Dispatcher, Pool } from 'undici';

/**
 * The part of a fetch `Response` that the `ollama` client reads: `ok`/`status`/`statusText`
 * and `headers.get` to judge the answer, `json()`/`text()` for whole bodies and
 * `body.getReader()` for NDJSON streams.
 */
interface ClientResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly headers: { get(name: string): string | null };
  json(): Promise<unknown>;
  text(): Promise<string>;
  readonly body: { getReader(): { read(): Promise<IteratorResult<Uint8Array>>; releaseLock(): void } };
}

interface ClientRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal | null;
}

export interface PooledFetch {
  /** Hand this to `new Ollama({ fetch })`; the URL must be on the pool's origin. */
  readonly fetch: typeof fetch;
  /** Lets running requests finish, then closes the idle connections. */
  close(): Promise<void>;
}

/**
 * A fetch for one upstream origin, built on undici's `request` over a keep-alive pool.
 *
 * Why not the global fetch: per call it builds WHATWG streams, a `Request`, `Headers` and a
 * `Response`, and on this machine that costs about 4x the CPU of `request` on the same
 * socket (`.tmp`-style micro benchmark: ~280 vs ~70 µs per small JSON round trip, client and
 * server together). The router pays it on every model call, so it is the largest single
 * item of the router's added latency. The body is handed out as Node's own stream, read
 * through the small reader the client asks for.
 */
export function pooledFetch(origin: string): PooledFetch {
  const expectedOrigin = new URL(origin).origin;
  // undici (1 MB of source) loads with the first call: an embedded start with no Ollama
  // node configured never needs it.
  let pool: Promise<Pool> | undefined;
  const connect = () => (pool ??= import('undici').then(({ Pool }) => new Pool(expectedOrigin)));
  const send = async (input: string | URL | Request, init: ClientRequestInit = {}): Promise<ClientResponse> => {
    const url = typeof input === 'string' ? new URL(input) : input instanceof URL ? input : new URL(input.url);
    // The client builds every URL from its host; anything else is a bug, not a request to send.
    if (url.origin !== expectedOrigin) throw new TypeError(`${url.origin} is not this pool's origin (${expectedOrigin})`);
    const answer = await (await connect()).request({
      path: `${url.pathname}${url.search}`,
      method: (init.method ?? 'GET'),
      headers: init.headers,
      body: init.body,
      signal: init.signal ?? undefined,
    });
    return toClientResponse(answer);
  };
  return {
    fetch: send as unknown as typeof fetch,
    close: async () => {
      if (pool) await (await pool).close();
    },
  };
}

function toClientResponse(answer: Dispatcher.ResponseData): ClientResponse {
  const { statusCode, headers, body } = answer;
  return {
    ok: statusCode >= 200 && statusCode < 300,
    status: statusCode,
    statusText: '',
    headers: {
      get(name: string) {
        const value = headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
      },
    },
    json: () => body.json(),
    text: () => body.text(),
    body: {
      getReader() {
        const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
        return {
          read: () => chunks.next(),
          // The client releases the reader at the end of the body; nothing is held past it.
          releaseLock: () => undefined,
        };
      },
    },
  };
}
