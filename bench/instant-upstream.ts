/**
 * An upstream stand-in that answers at once, speaking both the Ollama API and the OpenAI
 * API, for measuring what a gateway in front of it adds. Meant to run in its own process
 * (forked) so its work does not share the client's or the gateway's event loop.
 *
 *   node -r @swc-node/register bench/instant-upstream.ts <port> [chunks] [gapMs]
 *
 * A model whose name contains "paced" streams its chunks `gapMs` apart (the first at once);
 * any other model sends every chunk in the same tick. Each streamed token carries the
 * moment it was written (`performance.timeOrigin + performance.now()`, ms) as `<t=…>`, so a
 * client on the same machine can tell how long each token took to reach it.
 */
import { createServer, IncomingMessage, ServerResponse } from 'node:http';

const port = Number(process.argv[2] ?? 11500);
const chunkCount = Number(process.argv[3] ?? 5);
const gapMs = Number(process.argv[4] ?? 10);

/** What `/api/tags` and `/v1/models` list; chat answers any model name. */
const BENCH_MODELS = { instant: 'bench-instant', paced: 'bench-paced' } as const;

interface ChatBody {
  model?: string;
  stream?: boolean;
}

const now = () => performance.timeOrigin + performance.now();
const token = (index: number) => `tok${index}<t=${now().toFixed(3)}> `;
const promptTokens = 12;

function ollamaModel(name: string) {
  return {
    name,
    model: name,
    modified_at: '2026-11-01T00:00:00Z',
    size: 1_000_000,
    digest: 'sha256:0000',
    details: { format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '1B', quantization_level: 'Q4_0' },
  };
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Writes `chunkCount` chunks through `write`, paced or all at once, then calls `end`. */
function emit(paced: boolean, write: (index: number) => void, end: () => void, res: ServerResponse): void {
  if (!paced) {
    for (let index = 0; index < chunkCount; index++) write(index);
    end();
    return;
  }
  let index = 0;
  const next = () => {
    if (res.destroyed) return;
    write(index++);
    if (index < chunkCount) setTimeout(next, gapMs);
    else end();
  };
  next();
}

function ollamaChat(body: ChatBody, res: ServerResponse): void {
  const model = body.model ?? '';
  const createdAt = new Date().toISOString();
  const final = {
    model,
    created_at: createdAt,
    message: { role: 'assistant', content: '' },
    done: true,
    done_reason: 'stop',
    total_duration: 1,
    load_duration: 0,
    prompt_eval_count: promptTokens,
    prompt_eval_duration: 0,
    eval_count: chunkCount,
    eval_duration: 1,
  };
  if (body.stream === false) {
    let content = '';
    for (let index = 0; index < chunkCount; index++) content += token(index);
    json(res, 200, { ...final, message: { role: 'assistant', content } });
    return;
  }
  res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  emit(
    model.includes('paced'),
    (index) =>
      res.write(
        `${JSON.stringify({ model, created_at: createdAt, message: { role: 'assistant', content: token(index) }, done: false })}\n`,
      ),
    () => res.end(`${JSON.stringify(final)}\n`),
    res,
  );
}

function openAiChat(body: ChatBody & { stream_options?: { include_usage?: boolean } }, res: ServerResponse): void {
  const model = body.model ?? '';
  const id = `chatcmpl-${Math.random().toString(36).slice(2)}`;
  const created = Math.floor(Date.now() / 1000);
  const usage = { prompt_tokens: promptTokens, completion_tokens: chunkCount, total_tokens: promptTokens + chunkCount };
  if (!body.stream) {
    let content = '';
    for (let index = 0; index < chunkCount; index++) content += token(index);
    json(res, 200, {
      id,
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop', logprobs: null }],
      usage,
    });
    return;
  }
  const event = (delta: Record<string, unknown>, finishReason: string | null = null) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finishReason }] })}\n\n`;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(event({ role: 'assistant', content: '' }));
  emit(
    model.includes('paced'),
    (index) => res.write(event({ content: token(index) })),
    () => {
      let tail = event({}, 'stop');
      if (body.stream_options?.include_usage) {
        tail += `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`;
      }
      res.end(`${tail}data: [DONE]\n\n`);
    },
    res,
  );
}

function readBody(req: IncomingMessage, then: (body: Record<string, unknown>) => void, res: ServerResponse): void {
  const parts: Buffer[] = [];
  req.on('data', (part: Buffer) => parts.push(part));
  req.on('end', () => {
    try {
      then(JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>);
    } catch {
      json(res, 400, { error: 'invalid JSON body' });
    }
  });
}

const server = createServer((req, res) => {
  const route = `${req.method} ${req.url?.split('?')[0]}`;
  switch (route) {
    case 'GET /api/version':
      return json(res, 200, { version: '0.12.0' });
    case 'GET /api/tags':
      return json(res, 200, { models: Object.values(BENCH_MODELS).map(ollamaModel) });
    case 'GET /api/ps':
      return json(res, 200, {
        models: Object.values(BENCH_MODELS).map((name) => ({
          ...ollamaModel(name),
          size_vram: 1_000_000,
          expires_at: '2099-01-01T00:00:00Z',
        })),
      });
    case 'POST /api/chat':
      return readBody(req, (body) => ollamaChat(body, res), res);
    case 'GET /v1/models':
      return json(res, 200, {
        object: 'list',
        data: Object.values(BENCH_MODELS).map((id) => ({ id, object: 'model', created: 0, owned_by: 'bench' })),
      });
    case 'POST /v1/chat/completions':
      return readBody(req, (body) => openAiChat(body, res), res);
    default:
      return json(res, 404, { error: `no route ${route}` });
  }
});
server.keepAliveTimeout = 60_000;
server.listen(port, '127.0.0.1', () => process.send?.('ready'));
