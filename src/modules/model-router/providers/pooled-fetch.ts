import type { Readable } from 'node:stream';
import type { Dispatcher, Pool } from 'undici';

/**
 * The part of a fetch `Response` the model clients read. The `ollama` client: `ok`, `status`,
 * `headers.get`, `json()`/`text()`, and `body.getReader()` for NDJSON streams. The `openai`
 * SDK: the same plus `url`, `headers.entries()` and the body as an async iterable (its SSE
 * reader and its stream cancellation both take an async iterable in place of a web stream).
 */
interface ClientResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly statusText: string;
  readonly url: string;
  readonly headers: ResponseHeaders;
  json(): Promise<unknown>;
  text(): Promise<string>;
  readonly body: ResponseBody;
}

interface ResponseBody extends AsyncIterable<Uint8Array> {
  getReader(): { read(): Promise<IteratorResult<Uint8Array>>; releaseLock(): void };
}

interface ClientRequestInit {
  method?: string;
  /** A plain object (the ollama client) or a `Headers` (the openai SDK): undici takes both. */
  headers?: Record<string, string> | Iterable<[string, string]>;
  body?: string;
  signal?: AbortSignal | null;
}

export interface PooledFetch {
  /** Hand this to a client's `fetch` option; every URL must be on the pool's origin. */
  readonly fetch: typeof fetch;
  /** Lets running requests finish, then closes the idle connections. */
  close(): Promise<void>;
}

/**
 * A fetch for one upstream origin, built on undici's `request` over a keep-alive pool.
 *
 * Why not the global fetch: per call it builds WHATWG streams, a `Request`, `Headers` and a
 * `Response`, and on this machine that costs about 4x the CPU of `request` on the same
 * socket (ADR 21: ~280 vs ~70 µs per small JSON round trip, client and server together). The
 * router pays it on every model call, so it was the largest single item of the router's
 * added latency. The body is handed out as Node's own stream.
 */
export function pooledFetch(origin: string): PooledFetch {
  const expectedOrigin = new URL(origin).origin;
  // undici (1 MB of source) loads with the first call: an embedded start with no upstream
  // configured never needs it.
  let pool: Promise<Pool> | undefined;
  const connect = () => (pool ??= import('undici').then(({ Pool }) => new Pool(expectedOrigin)));
  const send = async (input: string | URL | Request, init: ClientRequestInit = {}): Promise<ClientResponse> => {
    const url = typeof input === 'string' ? new URL(input) : input instanceof URL ? input : new URL(input.url);
    // Clients build every URL from their configured base; anything else is a bug, not a request to send.
    if (url.origin !== expectedOrigin) throw new TypeError(`${url.origin} is not this pool's origin (${expectedOrigin})`);
    const answer = await (
      await connect()
    ).request({
      path: `${url.pathname}${url.search}`,
      method: init.method ?? 'GET',
      headers: init.headers,
      body: init.body,
      signal: init.signal ?? undefined,
    });
    return toClientResponse(answer, url.href);
  };
  return {
    fetch: send as unknown as typeof fetch,
    close: async () => {
      if (pool) await (await pool).close();
    },
  };
}

function toClientResponse(answer: Dispatcher.ResponseData, url: string): ClientResponse {
  const { statusCode, body } = answer;
  return {
    ok: statusCode >= 200 && statusCode < 300,
    status: statusCode,
    statusText: '',
    url,
    headers: new ResponseHeaders(answer.headers),
    json: () => body.json(),
    text: () => body.text(),
    body: streamBody(body),
  };
}

/** One pass over the body, as an async iterable or through a reader; leaving early destroys the request. */
function streamBody(stream: Readable): ResponseBody {
  const chunks = () => stream[Symbol.asyncIterator]() as AsyncIterator<Uint8Array>;
  return {
    [Symbol.asyncIterator]: chunks,
    getReader() {
      const iterator = chunks();
      return {
        read: () => iterator.next(),
        // The client releases the reader at the end of the body; nothing is held past it.
        releaseLock: () => undefined,
      };
    },
  };
}

/** Read-only response headers, names lower-case as undici gives them (the `Headers` reading methods clients use). */
class ResponseHeaders {
  constructor(private readonly raw: Record<string, string | string[] | undefined>) {}

  get(name: string): string | null {
    const value = this.raw[name.toLowerCase()];
    return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
  }

  has(name: string): boolean {
    return this.raw[name.toLowerCase()] !== undefined;
  }

  *entries(): IterableIterator<[string, string]> {
    for (const name of Object.keys(this.raw)) {
      const value = this.get(name);
      if (value !== null) yield [name, value];
    }
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  forEach(callback: (value: string, name: string) => void): void {
    for (const [name, value] of this.entries()) callback(value, name);
  }
}
