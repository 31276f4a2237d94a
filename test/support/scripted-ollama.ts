import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { BUILT_IN_AGENTS } from 'src/modules/agents/definitions/built-in-agents';

/**
 * An Ollama API stand-in that answers chat requests by rule, for deterministic tests of the
 * agent engine: plans, native tool calls, JSON replies, answers, delays and gates (a reply
 * held until the test lets it go, to kill a worker mid-call or overlap parallel tasks).
 * Every chat request is recorded with when it started and ended.
 */

export interface ChatMessageIn {
  role: string;
  content: string;
  tool_calls?: { function: { name: string; arguments: Record<string, unknown> } }[];
  tool_name?: string;
}

export interface ChatCall {
  id: number;
  model: string;
  messages: ChatMessageIn[];
  /** Names of the native tools offered. */
  tools: string[];
  /** Ollama's `format`: 'json' or a JSON schema (JSON tool mode, the planner). */
  format: unknown;
  maxTokens?: number;
  startedAt: number;
  endedAt?: number;
  /** The connection went away before the reply was sent (a killed worker, an aborted call). */
  abandoned: boolean;
}

export interface ScriptedReply {
  content?: string;
  toolCalls?: { name: string; arguments: Record<string, unknown> }[];
  /** Wait before the first chunk. */
  delayMs?: number;
  /** The reply is sent only once this settles. */
  gate?: Promise<unknown>;
  /** Content streamed in this many pieces (default: one per word). */
  chunkDelayMs?: number;
  promptTokens?: number;
  completionTokens?: number;
  /** Answer with this HTTP status and an error instead. */
  status?: number;
}

export interface Rule {
  when: (call: ChatCall) => boolean;
  reply: (call: ChatCall) => ScriptedReply | Promise<ScriptedReply>;
  /** Used this many times, then skipped; unlimited when absent. */
  times?: number;
  label?: string;
}

export const systemOf = (call: ChatCall) => call.messages.find((message) => message.role === 'system')?.content ?? '';
/** The first user message: the task's prompt. */
export const promptOf = (call: ChatCall) => call.messages.find((message) => message.role === 'user')?.content ?? '';
export const lastOf = (call: ChatCall) => call.messages[call.messages.length - 1];
/** Tool results (native tool messages, or JSON mode's "Result of" user messages) so far. */
export const toolResultsOf = (call: ChatCall) =>
  call.messages.filter((message) => message.role === 'tool' || (message.role === 'user' && message.content.startsWith('Result of ')));

export const isPlanner = (call: ChatCall) => systemOf(call).includes('You plan the work of a team of AI agents');
export const isAggregator = (call: ChatCall) => promptOf(call).startsWith('The user asked:');
/** A task of a built-in agent, or of any agent whose system prompt starts with `promptStart`. */
export const isAgent = (name: string, promptStart?: string) => (call: ChatCall) => {
  const prefix = promptStart ?? (BUILT_IN_AGENTS as Record<string, { systemPrompt: string } | undefined>)[name]?.systemPrompt.slice(0, 40);
  return prefix !== undefined && !isPlanner(call) && !isAggregator(call) && systemOf(call).startsWith(prefix);
};

export class ScriptedOllama {
  readonly calls: ChatCall[] = [];
  private rules: Rule[] = [];
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private port = 0;
  private nextId = 1;

  constructor(readonly models: string[]) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Adds a rule; earlier rules win. */
  on(when: Rule['when'], reply: Rule['reply'] | ScriptedReply, options: { times?: number; label?: string } = {}): this {
    this.rules.push({ when, reply: typeof reply === 'function' ? reply : () => reply, ...options });
    return this;
  }

  reset(): void {
    this.rules = [];
    this.calls.length = 0;
  }

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

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req);
    const path = (req.url ?? '').split('?')[0];
    const model = typeof body.model === 'string' ? body.model : '';
    switch (path) {
      case '/api/version':
        return json(res, 200, { version: '0.12.0-scripted' });
      case '/api/tags':
        return json(res, 200, { models: this.models.map((name) => ({ name, model: name, size: 1000, details: { family: 'test' } })) });
      case '/api/ps':
        return json(res, 200, { models: this.models.map((name) => ({ name, model: name, size: 600, size_vram: 500 })) });
      case '/api/chat':
        if (!this.models.includes(model)) return json(res, 404, { error: `model "${model}" not found, try pulling it first` });
        if (Array.isArray(body.messages) && body.messages.length === 0) return json(res, 200, { model, done: true, done_reason: 'load' });
        return this.chat(body, res);
      default:
        return json(res, 404, { error: 'not found' });
    }
  }

  private async chat(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const call: ChatCall = {
      id: this.nextId++,
      model: String(body.model),
      messages: (body.messages as ChatMessageIn[]) ?? [],
      tools: ((body.tools as { function: { name: string } }[] | undefined) ?? []).map((tool) => tool.function.name),
      format: body.format,
      maxTokens: (body.options as { num_predict?: number } | undefined)?.num_predict,
      startedAt: performance.now(),
      abandoned: false,
    };
    this.calls.push(call);
    res.on('close', () => {
      if (!res.writableFinished) call.abandoned = true;
    });
    const rule = this.rules.find((candidate) => (candidate.times === undefined || candidate.times > 0) && candidate.when(call));
    if (!rule) {
      call.endedAt = performance.now();
      return json(res, 500, { error: `no scripted rule matches call ${call.id}: ${JSON.stringify(call.messages.slice(-1))}` });
    }
    if (rule.times !== undefined) rule.times -= 1;
    const reply = await rule.reply(call);
    if (reply.gate) await reply.gate;
    if (reply.delayMs) await sleep(reply.delayMs);
    if (res.destroyed) return;
    if (reply.status) {
      call.endedAt = performance.now();
      return json(res, reply.status, { error: reply.content ?? 'scripted failure' });
    }
    const content = reply.content ?? '';
    const promptTokens = reply.promptTokens ?? Math.ceil(call.messages.reduce((sum, message) => sum + message.content.length, 0) / 4);
    const completionTokens = reply.completionTokens ?? Math.max(1, Math.ceil(content.length / 4));
    const toolCalls = reply.toolCalls?.map((toolCall) => ({ function: { name: toolCall.name, arguments: toolCall.arguments } }));
    const final = {
      model: call.model,
      created_at: new Date().toISOString(),
      message: { role: 'assistant', content: '', ...(toolCalls && { tool_calls: toolCalls }) },
      done: true,
      done_reason: 'stop',
      prompt_eval_count: promptTokens,
      eval_count: completionTokens,
    };
    if (body.stream === false) {
      call.endedAt = performance.now();
      return json(res, 200, { ...final, message: { ...final.message, content } });
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' });
    const pieces = content.split(/(?<=\s)/).filter(Boolean);
    for (const [index, piece] of pieces.entries()) {
      if (res.destroyed) return;
      if (index > 0 && reply.chunkDelayMs) await sleep(reply.chunkDelayMs);
      res.write(
        `${JSON.stringify({ model: call.model, created_at: new Date().toISOString(), message: { role: 'assistant', content: piece }, done: false })}\n`,
      );
    }
    call.endedAt = performance.now();
    res.end(`${JSON.stringify(final)}\n`);
  }
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
  return new Promise((resolve) => setTimeout(resolve, ms));
}
