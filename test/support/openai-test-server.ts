import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A small OpenAI-API stand-in (chat completions streaming and not, embeddings, models) so
 * the openai-compatible provider is tested against real HTTP and SSE, with fault injection.
 */

export interface OpenAiTestServerOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Words the assistant answers with, one SSE chunk each. */
  answer?: string[];
  models?: string[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization?: string;
  body: Record<string, unknown> | null;
}

export type Fault =
  | { kind: 'status'; status: number; message?: string }
  /** Sends this many chunks, then destroys the socket. */
  | { kind: 'drop-mid-stream'; afterChunks: number };

export class OpenAiTestServer {
  readonly requests: RecordedRequest[] = [];
  /** Faults consumed one per request, in order. */
  readonly faults: Fault[] = [];
  private server?: Server;

  constructor(private readonly options: OpenAiTestServerOptions = {}) {}

  get url(): string {
    const address = this.server?.address() as AddressInfo | null;
    if (!address) throw new Error('OpenAiTestServer not started');
    return `http://127.0.0.1:${address.port}/v1`;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => sendError(res, 400, String(error), 'bad_request'));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.server = undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : null;
    const path = (req.url ?? '').split('?')[0];
    this.requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, body });

    if (this.options.apiKey && req.headers.authorization !== `Bearer ${this.options.apiKey}`) {
      return sendError(res, 401, 'Incorrect API key provided', 'invalid_api_key');
    }
    const fault = this.faults.shift();
    if (fault?.kind === 'status') return sendError(res, fault.status, fault.message ?? `injected ${fault.status}`, 'injected');

    if (req.method === 'GET' && path === '/v1/models') {
      const models = this.options.models ?? ['test-model'];
      return sendJson(res, 200, {
        object: 'list',
        data: models.map((id) => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'test' })),
      });
    }
    if (req.method === 'POST' && path === '/v1/embeddings' && body) return this.embeddings(res, body);
    if (req.method === 'POST' && path === '/v1/chat/completions' && body) return this.chat(res, body, fault);
    return sendError(res, 404, `No route ${req.method} ${path}`, 'not_found');
  }

  private embeddings(res: ServerResponse, body: Record<string, unknown>): void {
    const input = Array.isArray(body.input) ? (body.input as string[]) : [String(body.input)];
    // Deterministic vectors derived from the text so tests can tell inputs apart.
    const data = input.map((text, index) => ({ object: 'embedding', index, embedding: [text.length, text.charCodeAt(0) || 0, 1] }));
    const tokens = input.reduce((sum, text) => sum + text.split(/\s+/).filter(Boolean).length, 0);
    sendJson(res, 200, { object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } });
  }

  private chat(res: ServerResponse, body: Record<string, unknown>, fault: Fault | undefined): void {
    const model = String(body.model);
    if (!(this.options.models ?? ['test-model']).includes(model)) {
      return sendError(res, 404, `The model \`${model}\` does not exist`, 'model_not_found');
    }
    const messages = body.messages as { content: string }[];
    const promptTokens = messages.reduce(
      (sum, message) =>
        sum +
        String(message.content ?? '')
          .split(/\s+/)
          .filter(Boolean).length,
      0,
    );
    const tools = body.tools as { function: { name: string } }[] | undefined;
    const toolCall = tools?.length
      ? { id: 'call_1', type: 'function', function: { name: tools[0].function.name, arguments: '{"city":"Paris"}' } }
      : undefined;
    const words = toolCall ? [] : (this.options.answer ?? ['Hello', ' there', '!']);
    const finishReason = toolCall ? 'tool_calls' : 'stop';
    const usage = { prompt_tokens: promptTokens, completion_tokens: words.length, total_tokens: promptTokens + words.length };
    const base = { id: 'chatcmpl-test', created: 1_700_000_000, model };

    if (!body.stream) {
      return sendJson(res, 200, {
        ...base,
        object: 'chat.completion',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: toolCall ? null : words.join(''), tool_calls: toolCall ? [toolCall] : undefined },
            finish_reason: finishReason,
          },
        ],
        usage,
      });
    }

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    const chunks = [chunk({ role: 'assistant', content: '' }, null)];
    if (toolCall) {
      // Arguments arrive in pieces, as OpenAI streams them.
      chunks.push(
        chunk(
          { tool_calls: [{ index: 0, id: toolCall.id, type: 'function', function: { name: toolCall.function.name, arguments: '' } }] },
          null,
        ),
      );
      chunks.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }, null));
      chunks.push(chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }, null));
    }
    for (const word of words) chunks.push(chunk({ content: word }, null));
    chunks.push(chunk({}, finishReason));
    const options = body.stream_options as { include_usage?: boolean } | undefined;
    if (options?.include_usage)
      chunks.push(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage })}\n\n`);
    chunks.push('data: [DONE]\n\n');

    if (fault?.kind === 'drop-mid-stream') {
      for (const part of chunks.slice(0, fault.afterChunks)) res.write(part);
      // Give the client time to read what was sent before the connection dies.
      setTimeout(() => res.socket?.destroy(), 20);
      return;
    }
    for (const part of chunks) res.write(part);
    res.end();
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

function sendError(res: ServerResponse, status: number, message: string, code: string): void {
  sendJson(res, status, { error: { message, type: 'invalid_request_error', param: null, code } });
}
