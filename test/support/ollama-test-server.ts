import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';

/**
 * An Ollama API stand-in on 127.0.0.1 with per-server fault injection. Answers are
 * deterministic: the assistant echoes the words of the last user message, one NDJSON chunk
 * per word, so tests can assert on content and on where a stream was cut.
 */
export interface OllamaFaults {
  /** Added before any response starts. */
  latencyMs: number;
  /** Answer every chat/generate/embed request with 503 (the status Ollama uses when overloaded). */
  status503: boolean;
  /** Destroy the socket after this many streamed chunks (a node dying mid-answer). */
  dropAfterChunks?: number;
  /** Delay before the first chunk only (headers are sent at once, like Ollama). */
  firstTokenDelayMs: number;
  /** Delay between streamed chunks. */
  interChunkDelayMs: number;
  /** Delay between /api/pull progress lines. */
  pullChunkDelayMs: number;
  /** /api/pull sends this many progress lines, then an error line (a download failing half-way). */
  pullFailAfterChunks?: number;
}

export interface OllamaTestServerOptions {
  /** Models this node has on disk (/api/tags). */
  models: string[];
  /** Models loaded in memory (/api/ps); defaults to none. */
  loaded?: string[];
  /** Names /api/pull can fetch; any other fails like an unknown name on ollama.com. Default: every name. */
  pullable?: string[];
  /** Embedding-only models: /api/generate and /api/chat refuse them with 400, as Ollama does. */
  embeddingModels?: string[];
}

/** What Ollama reports for keep_alive -1: `time.Now().Add(MaxInt64)`, about 292 years ahead. */
const FOREVER_MS = 292 * 365 * 24 * 3600_000;
const DEFAULT_KEEP_ALIVE_MS = 300_000;

export class OllamaTestServer {
  readonly faults: OllamaFaults = { latencyMs: 0, status503: false, firstTokenDelayMs: 0, interChunkDelayMs: 0, pullChunkDelayMs: 0 };
  /** Every chat/generate request the server received, by model. */
  readonly requests: { path: string; model: string }[] = [];
  /** The messages of every /api/chat request, in order (to check what a model was prompted with). */
  readonly chats: { model: string; messages: { role: string; content: string }[] }[] = [];
  models: string[];
  loaded: string[];
  pullable?: string[];
  readonly embeddingModels: string[];
  /** Expiry (epoch ms) of loaded models whose keep_alive the server was told; others report the default. */
  readonly expiresAt = new Map<string, number>();
  /** Every /api/pull, by model name. */
  readonly pulls: string[] = [];
  /** When set, every chat/generate answer is these words instead of the echo (for tests that need a given answer). */
  answer?: string;
  /** Streams currently being written, to check the router's concurrency caps. */
  active = 0;
  maxActive = 0;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  constructor(options: OllamaTestServerOptions) {
    this.models = [...options.models];
    this.loaded = [...(options.loaded ?? [])];
    this.pullable = options.pullable && [...options.pullable];
    this.embeddingModels = [...(options.embeddingModels ?? [])];
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts listening; after stop() it restarts on the same port (a node coming back). */
  async start(): Promise<this> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Closes the listener and every open connection: the node is down and refuses connections. */
  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req);
    if (this.faults.latencyMs > 0) await sleep(this.faults.latencyMs);
    const path = (req.url ?? '').split('?')[0];
    switch (path) {
      case '/api/version':
        return json(res, 200, { version: '0.12.0-test' });
      case '/api/tags':
        return json(res, 200, {
          models: this.models.map((name) => ({
            name,
            model: name,
            size: 1000,
            details: { family: 'test', parameter_size: '1B', quantization_level: 'Q4_0' },
          })),
        });
      case '/api/ps':
        this.dropExpired();
        return json(res, 200, {
          models: this.loaded.map((name) => ({
            name,
            model: name,
            size: 600,
            size_vram: 500,
            expires_at: new Date(this.expiresAt.get(name) ?? Date.now() + DEFAULT_KEEP_ALIVE_MS).toISOString(),
          })),
        });
      case '/api/pull':
        return this.pull(body, res);
      case '/api/chat':
      case '/api/generate':
      case '/api/embed':
        return this.inference(path, body, res);
      default:
        return json(res, 404, { error: 'not found' });
    }
  }

  private async inference(path: string, body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const requested = typeof body.model === 'string' ? body.model : '';
    // Like Ollama, a name without a tag means `:latest`.
    const model = !requested.includes(':') && this.models.includes(`${requested}:latest`) ? `${requested}:latest` : requested;
    this.requests.push({ path, model });
    if (path === '/api/chat' && Array.isArray(body.messages)) {
      this.chats.push({ model, messages: body.messages as { role: string; content: string }[] });
    }
    if (this.faults.status503) return json(res, 503, { error: 'server busy, please try again.  maximum pending requests exceeded' });
    if (!this.models.includes(model)) return json(res, 404, { error: `model "${model}" not found, try pulling it first` });
    if (path !== '/api/embed' && this.embeddingModels.includes(model))
      return json(res, 400, { error: `"${model}" does not support generate` });
    if (keepAliveMs(body.keep_alive) === 'invalid')
      return json(res, 400, { error: `time: missing unit in duration "${String(body.keep_alive)}"` });
    // An empty prompt (or message list, or input) only loads or unloads the model: Ollama's preload idiom.
    if (isLoadOnly(path, body)) return this.loadOnly(path, model, body, res);
    this.keepLoaded(model, body.keep_alive);

    if (path === '/api/embed') {
      const input = Array.isArray(body.input) ? (body.input as string[]) : [String(body.input)];
      return json(res, 200, { model, embeddings: input.map((text) => [text.length, 1, 0]), prompt_eval_count: input.length });
    }

    const echoed = this.answer === undefined ? echoWords(path, body) : splitWords(this.answer);
    // Like Ollama, options.num_predict caps the answer (one word is one token here).
    const limit = (body.options as { num_predict?: unknown } | undefined)?.num_predict;
    const words = typeof limit === 'number' && limit >= 0 ? echoed.slice(0, limit) : echoed;
    const doneReason = words.length < echoed.length ? 'length' : 'stop';
    const stream = body.stream !== false;
    const piece = (content: string): Record<string, unknown> =>
      path === '/api/chat' ? { message: { role: 'assistant', content } } : { response: content };
    const final = (content: string): Record<string, unknown> => ({
      model,
      created_at: new Date().toISOString(),
      ...piece(content),
      done: true,
      done_reason: doneReason,
      prompt_eval_count: echoed.length,
      eval_count: words.length,
    });

    if (!stream) {
      if (this.faults.firstTokenDelayMs > 0) await sleep(this.faults.firstTokenDelayMs);
      return json(res, 200, final(words.join('')));
    }

    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      for (let i = 0; i < words.length; i++) {
        if (res.destroyed) return;
        await sleep(i === 0 ? this.faults.firstTokenDelayMs : this.faults.interChunkDelayMs);
        if (this.faults.dropAfterChunks !== undefined && i >= this.faults.dropAfterChunks) {
          res.socket?.destroy();
          return;
        }
        res.write(`${JSON.stringify({ model, created_at: new Date().toISOString(), ...piece(words[i]), done: false })}\n`);
      }
      res.end(`${JSON.stringify(final(''))}\n`);
    } finally {
      this.active -= 1;
    }
  }

  private loadOnly(path: string, model: string, body: Record<string, unknown>, res: ServerResponse): void {
    const unload = keepAliveMs(body.keep_alive) === 0;
    if (unload) {
      this.loaded = this.loaded.filter((name) => name !== model);
      this.expiresAt.delete(model);
    } else {
      this.keepLoaded(model, body.keep_alive);
    }
    const reason = unload ? 'unload' : 'load';
    if (path === '/api/embed') return json(res, 200, { model, embeddings: [] });
    const piece = path === '/api/chat' ? { message: { role: 'assistant', content: '' } } : { response: '' };
    const final = { model, created_at: new Date().toISOString(), ...piece, done: true, done_reason: reason };
    if (body.stream === false) return json(res, 200, final);
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    res.end(`${JSON.stringify(final)}\n`);
  }

  private keepLoaded(model: string, keepAlive: unknown): void {
    if (!this.loaded.includes(model)) this.loaded.push(model);
    const ms = keepAliveMs(keepAlive);
    if (typeof ms === 'number') this.expiresAt.set(model, Date.now() + ms);
  }

  private dropExpired(): void {
    const now = Date.now();
    this.loaded = this.loaded.filter((name) => (this.expiresAt.get(name) ?? Infinity) > now);
    for (const [name, at] of this.expiresAt) if (at <= now) this.expiresAt.delete(name);
  }

  /** NDJSON progress like Ollama's: manifest, one layer in quarters, verify, write, success. */
  private async pull(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const requested = typeof body.name === 'string' ? body.name : typeof body.model === 'string' ? body.model : '';
    const model = requested.includes(':') ? requested : `${requested}:latest`;
    this.pulls.push(requested);
    const streamed = body.stream !== false;
    const known = this.pullable === undefined || this.pullable.includes(requested) || this.pullable.includes(model);
    if (!known) {
      const error = { error: 'pull model manifest: file does not exist' };
      if (!streamed) return json(res, 500, error);
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      return void res.end(`${JSON.stringify(error)}\n`);
    }
    const digest = `sha256:${Buffer.from(model).toString('hex').padEnd(64, '0').slice(0, 64)}`;
    const lines: Record<string, unknown>[] = [
      { status: 'pulling manifest' },
      ...[0, 250, 500, 750, 1000].map((completed) => ({ status: `pulling ${digest.slice(7, 19)}`, digest, total: 1000, completed })),
      { status: 'verifying sha256 digest' },
      { status: 'writing manifest' },
      { status: 'success' },
    ];
    if (!streamed) {
      for (const _ of lines) await sleep(this.faults.pullChunkDelayMs);
      if (this.faults.pullFailAfterChunks !== undefined) return json(res, 500, { error: 'max retries exceeded: unexpected EOF' });
      this.addModel(model);
      return json(res, 200, { status: 'success' });
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (const [i, line] of lines.entries()) {
      if (res.destroyed) return;
      if (i > 0) await sleep(this.faults.pullChunkDelayMs);
      if (i === this.faults.pullFailAfterChunks)
        return void res.end(`${JSON.stringify({ error: 'max retries exceeded: unexpected EOF' })}\n`);
      if (line.status === 'success') this.addModel(model);
      res.write(`${JSON.stringify(line)}\n`);
    }
    res.end();
  }

  private addModel(model: string): void {
    if (!this.models.includes(model)) this.models.push(model);
  }
}

/**
 * Ollama's keep_alive: seconds as a JSON number, or a Go duration string ("30m", "1h30m",
 * "-1m"); negative means forever. Like Go's time.ParseDuration, a string without a unit
 * ("3600", "-1") is invalid. Undefined: not given.
 */
function keepAliveMs(value: unknown): number | undefined | 'invalid' {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return value < 0 ? FOREVER_MS : value * 1000;
  if (typeof value !== 'string' || !/^-?(\d+(\.\d+)?(ms|s|m|h))+$/.test(value)) return 'invalid';
  const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000 };
  const ms = [...value.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)].reduce((sum, [, amount, unit]) => sum + Number(amount) * unitMs[unit], 0);
  return value.startsWith('-') ? FOREVER_MS : ms;
}

function isLoadOnly(path: string, body: Record<string, unknown>): boolean {
  if (path === '/api/chat') return Array.isArray(body.messages) && body.messages.length === 0;
  if (path === '/api/embed') return Array.isArray(body.input) && body.input.length === 0;
  return typeof body.prompt !== 'string' || body.prompt === '';
}

/** The words of the last user message (or prompt), each but the first with its leading space. */
function echoWords(path: string, body: Record<string, unknown>): string[] {
  let text = '';
  if (path === '/api/chat') {
    const messages = (body.messages as { role: string; content: string }[] | undefined) ?? [];
    text = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  } else {
    text = typeof body.prompt === 'string' ? body.prompt : '';
  }
  return splitWords(text);
}

function splitWords(text: string): string[] {
  const words = text.split(/\s+/).filter(Boolean);
  return words.map((word, i) => (i === 0 ? word : ` ${word}`));
}

function json(res: ServerResponse, status: number, payload: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(payload));
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  if (parts.length === 0) return {};
  try {
    return JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
