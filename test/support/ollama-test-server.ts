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
}

export interface OllamaTestServerOptions {
  /** Models this node has on disk (/api/tags). */
  models: string[];
  /** Models loaded in memory (/api/ps); defaults to none. */
  loaded?: string[];
}

export class OllamaTestServer {
  readonly faults: OllamaFaults = { latencyMs: 0, status503: false, firstTokenDelayMs: 0, interChunkDelayMs: 0 };
  /** Every chat/generate request the server received, by model. */
  readonly requests: { path: string; model: string }[] = [];
  models: string[];
  loaded: string[];
  /** Streams currently being written, to check the router's concurrency caps. */
  active = 0;
  maxActive = 0;
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private port = 0;

  constructor(options: OllamaTestServerOptions) {
    this.models = [...options.models];
    this.loaded = [...(options.loaded ?? [])];
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
        return json(res, 200, {
          models: this.loaded.map((name) => ({
            name,
            model: name,
            size_vram: 500,
            expires_at: new Date(Date.now() + 300_000).toISOString(),
          })),
        });
      case '/api/chat':
      case '/api/generate':
      case '/api/embed':
        return this.inference(path, body, res);
      default:
        return json(res, 404, { error: 'not found' });
    }
  }

  private async inference(path: string, body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const model = typeof body.model === 'string' ? body.model : '';
    this.requests.push({ path, model });
    if (this.faults.status503) return json(res, 503, { error: 'server busy, please try again.  maximum pending requests exceeded' });
    if (!this.models.includes(model)) return json(res, 404, { error: `model "${model}" not found, try pulling it first` });
    if (!this.loaded.includes(model)) this.loaded.push(model);

    if (path === '/api/embed') {
      const input = Array.isArray(body.input) ? (body.input as string[]) : [String(body.input)];
      return json(res, 200, { model, embeddings: input.map((text) => [text.length, 1, 0]), prompt_eval_count: input.length });
    }

    const words = echoWords(path, body);
    const stream = body.stream !== false;
    const piece = (content: string): Record<string, unknown> =>
      path === '/api/chat' ? { message: { role: 'assistant', content } } : { response: content };
    const final = (content: string): Record<string, unknown> => ({
      model,
      created_at: new Date().toISOString(),
      ...piece(content),
      done: true,
      done_reason: 'stop',
      prompt_eval_count: words.length,
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
